/* virtio-net on a host tap interface: one receive and one transmit queue,
 * checksum and TSO offloads passed through, mergeable receive buffers. */
#ifndef KVMKIT_VIRTIO_NET_H
#define KVMKIT_VIRTIO_NET_H

struct vm;
struct vm_net_config;

/* Opens the tap @cfg names (it must exist) and adds the device. */
int virtio_net_create(struct vm *vm, const struct vm_net_config *cfg);

#endif
