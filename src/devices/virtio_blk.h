/* virtio-blk: a raw disk image as a block device, served by a worker thread
 * of its own so that disk I/O never runs on a vCPU thread or the main loop. */
#ifndef KVMKIT_VIRTIO_BLK_H
#define KVMKIT_VIRTIO_BLK_H

#include <stdbool.h>

struct device_host;
struct virtio_dev;

/* The "disk" setting (--disk, up to VM_MAX_DISKS): its type is registered in
 * virtio_blk.c; configs are found with device_type_find("disk"). */
#define VM_MAX_DISKS 8
#define VM_DISK_PATH_MAX 4096
#define VM_DISK_SERIAL_MAX 20 /* VIRTIO_BLK_T_GET_ID answers 20 bytes */

/* One --disk PATH[,ro][,serial=ID][,direct]: a raw image. Copied out of the
 * option's value, which holds sub-options after the path. */
struct vm_disk_config {
	char path[VM_DISK_PATH_MAX];
	bool read_only;  /* O_RDONLY, and VIRTIO_BLK_F_RO for the guest */
	bool direct;     /* O_DIRECT: bypass the host page cache */
	bool has_serial; /* else the ID is derived from the path */
	char serial[VM_DISK_SERIAL_MAX + 1];
};

/* Opens the image @cfg names and adds a virtio-blk device for it, called
 * "virtio-blk<index>". A file that cannot be used (missing, locked, size not
 * a multiple of 512, no O_DIRECT with ",direct") is an input error naming
 * it. The worker thread exists only while the driver has the device running
 * (DRIVER_OK until reset or teardown). */
int virtio_blk_create(struct device_host *host, unsigned index, const struct vm_disk_config *cfg,
		      struct virtio_dev **out);

#endif
