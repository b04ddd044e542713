/* virtio-net on a host tap interface: one receive and one transmit queue,
 * checksum and TSO offloads passed through, mergeable receive buffers. */
#ifndef KVMKIT_VIRTIO_NET_H
#define KVMKIT_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

struct device_host;
struct virtio_dev;

/* The "net" setting (--net, up to VM_MAX_NETS), registered in virtio_net.c. */
#define VM_MAX_NETS 4
#define VM_NET_NAME_MAX 15 /* IFNAMSIZ - 1 */

/* One --net tap=NAME[,mac=MAC]: a virtio-net device on an existing tap. */
struct vm_net_config {
	char tap[VM_NET_NAME_MAX + 1];
	bool has_mac; /* else derived from the tap's name */
	uint8_t mac[6];
};

/* Opens the tap @cfg names (it must exist) and adds the device. */
int virtio_net_create(struct device_host *host, const struct vm_net_config *cfg,
		      struct virtio_dev **out);

/* The same on @tap_fd, which it owns from here on (closed on failure too):
 * a tap opened elsewhere, or anything that, non-blocking, reads and writes
 * one frame with its vnet header per call (the fuzzer gives it a
 * SOCK_SEQPACKET socket). @cfg names the device and its MAC. */
int virtio_net_create_on_fd(struct device_host *host, const struct vm_net_config *cfg, int tap_fd,
			    struct virtio_dev **out);

#endif
