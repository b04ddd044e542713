/* What a virtio transport sees of the device core (virtio_dev.c): the state
 * every transport exposes in its own register layout. All calls are made
 * under the transport device's lock (struct device::lock), which serialises
 * the driver's register accesses. */
#ifndef KVMKIT_VIRTIO_TRANSPORT_H
#define KVMKIT_VIRTIO_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

/* devices/virtio_dev.h, which a transport includes too. */
struct virtio_dev;
struct virtio_device_ops;

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* Interrupt causes (the ISR bits of both virtio-mmio and virtio-pci). */
#define VIRTIO_INT_USED_BUFFER 1
#define VIRTIO_INT_CONFIG_CHANGE 2

/* How the transport delivers an interrupt: @queue is the queue that has
 * used buffers, or VIRTIO_CONFIG_VECTOR for a configuration change.
 * virtio-mmio signals its one irqfd; virtio-pci will pick the MSI-X vector. */
#define VIRTIO_CONFIG_VECTOR 0xffffu
struct virtio_transport {
	const char *kind;
	void (*signal)(void *opaque, unsigned queue);
	void *opaque;
};

/* Connects the transport: kicks are served from now on (the kick fds'
 * loop watches are added here). Once, after the transport is on its bus. */
int virtio_dev_attach(struct virtio_dev *vdev, const struct virtio_transport *transport);

const struct virtio_device_ops *virtio_dev_ops(const struct virtio_dev *vdev);

/* Features offered: the backend's plus VERSION_1, INDIRECT_DESC, EVENT_IDX. */
uint64_t virtio_dev_offered_features(const struct virtio_dev *vdev);
/* 32 bits of the driver's features at @sel (0 or 1; others are ignored);
 * ignored once FEATURES_OK was accepted. */
void virtio_dev_set_driver_features(struct virtio_dev *vdev, uint32_t sel, uint32_t value);

/* The status the driver reads (NEEDS_RESET included once reported). */
uint32_t virtio_dev_status(const struct virtio_dev *vdev);
/* A status write: 0 resets the device; FEATURES_OK is refused for features
 * not offered; DRIVER_OK activates the backend. */
void virtio_dev_set_status(struct virtio_dev *vdev, uint32_t value);
uint32_t virtio_dev_config_generation(const struct virtio_dev *vdev);
/* Reads and acknowledges the interrupt causes. */
uint32_t virtio_dev_isr(const struct virtio_dev *vdev);
void virtio_dev_ack_isr(struct virtio_dev *vdev, uint32_t bits);

/* Config space access; -EINVAL outside config_size or for a width other
 * than 1, 2, 4 or 8. */
int virtio_dev_config_access(struct virtio_dev *vdev, uint32_t offset, void *data, unsigned len,
			     bool is_write);

/* A queue's layout, as the driver writes it; none of it can change while
 * the queue is ready. */
enum virtio_queue_field {
	VIRTIO_QUEUE_NUM,
	VIRTIO_QUEUE_DESC,
	VIRTIO_QUEUE_DRIVER,
	VIRTIO_QUEUE_DEVICE,
};
bool virtio_dev_queue_exists(const struct virtio_dev *vdev, unsigned index);
bool virtio_dev_queue_ready(const struct virtio_dev *vdev, unsigned index);
uint64_t virtio_dev_queue_get(const struct virtio_dev *vdev, unsigned index,
			      enum virtio_queue_field field);
void virtio_dev_queue_set(struct virtio_dev *vdev, unsigned index, enum virtio_queue_field field,
			  uint64_t value);
/* Enabling checks the rings against guest memory; a bad layout breaks
 * the device (NEEDS_RESET) instead of being served. */
void virtio_dev_queue_set_ready(struct virtio_dev *vdev, unsigned index, bool ready);

/* Pausing: serves no queue from now on and returns once none is being
 * served (a request in flight completes); unquiesce serves again, every
 * queue as if kicked, so a kick that came meanwhile is not lost. */
void virtio_dev_quiesce(struct virtio_dev *vdev);
void virtio_dev_unquiesce(struct virtio_dev *vdev);

/* The core's state (status, features, interrupt causes, every queue's
 * layout and ring indices) as fields of the transport's record, followed by
 * the backend's own record when it has one (virtio_device_ops.save); load
 * checks each against the device and guest memory (-EINVAL) and, for a
 * device the driver had started, activates the backend. */
struct state_buf;
struct state_reader;
void virtio_dev_save(const struct virtio_dev *vdev, struct state_buf *out);
int virtio_dev_load(struct virtio_dev *vdev,
		    struct state_reader *in); /* the record's last fields */

/* A kick that reached the transport's notify register instead of the
 * ioeventfd. */
void virtio_dev_kick(struct virtio_dev *vdev, unsigned index);

#endif
