/* A Linux tap interface as the host end of a virtio-net device: frames are
 * read and written whole, each preceded by the 12-byte virtio_net_hdr_v1, so
 * that checksum and segmentation offloads pass between the guest and the
 * host's network stack untouched. */
#ifndef KVMKIT_TAP_H
#define KVMKIT_TAP_H

#include <stdbool.h>

struct device_host;

/* The vnet header both ends use: virtio 1.x always has num_buffers. */
#define TAP_VNET_HDR_LEN 12

/* What the guest takes from the host (TUNSETOFFLOAD): the tap hands it only
 * frames it accepted. */
struct tap_offloads {
	bool csum; /* partial checksums */
	bool tso4;
	bool tso6;
	bool ecn; /* TSO frames with ECN bits */
};

/* Attaches to the existing tap interface @name (as `ip tuntap add dev NAME
 * mode tap` creates it), non-blocking, with the vnet header on and every
 * offload off until tap_set_offloads(). Returns the fd, or -errno with the
 * message in the VM: a missing interface, or one that is not a tap, is the
 * user's input error. */
int tap_open(struct device_host *host, const char *name);

/* What tap_open() checks of the user's input first, without opening
 * anything: a valid name of an existing interface. Returns 0 or -errno with
 * an input error in the VM. */
int tap_check(struct device_host *host, const char *name);

/* Returns 0 or -errno (unreported: the caller knows its context). */
int tap_set_offloads(int fd, const struct tap_offloads *off);

#endif
