/* virtio-net on a host tap interface: one receive and one transmit queue,
 * checksum and TSO offloads passed through, mergeable receive buffers. */
#ifndef KVMKIT_VIRTIO_NET_H
#define KVMKIT_VIRTIO_NET_H

struct device_host;
struct virtio_dev;
struct vm_net_config;

/* Opens the tap @cfg names (it must exist) and adds the device. */
int virtio_net_create(struct device_host *host, const struct vm_net_config *cfg,
		      struct virtio_dev **out);

#endif
