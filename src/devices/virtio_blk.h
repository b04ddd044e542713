/* virtio-blk: a raw disk image as a block device, served by a worker thread
 * of its own so that disk I/O never runs on a vCPU thread or the main loop. */
#ifndef KVMKIT_VIRTIO_BLK_H
#define KVMKIT_VIRTIO_BLK_H

struct device_host;
struct virtio_dev;
struct vm_disk_config;

/* Opens the image @cfg names and adds a virtio-blk device for it, called
 * "virtio-blk<index>". A file that cannot be used (missing, locked, size not
 * a multiple of 512, no O_DIRECT with ",direct") is an input error naming
 * it. The worker thread exists only while the driver has the device running
 * (DRIVER_OK until reset or teardown). */
int virtio_blk_create(struct device_host *host, unsigned index, const struct vm_disk_config *cfg,
		      struct virtio_dev **out);

#endif
