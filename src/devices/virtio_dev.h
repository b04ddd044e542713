/* A virtio device, independent of its transport (virtio 1.x): feature
 * negotiation, device status and DEVICE_NEEDS_RESET, the queues with their
 * locks, kick eventfds and the interrupt plumbing. Backends (blk, net,
 * console, rng) are written against this header and never name a transport;
 * a transport (virtio_mmio.c; later virtio-pci) decodes its registers into
 * the calls of devices/virtio_transport.h. */
#ifndef KVMKIT_VIRTIO_DEV_H
#define KVMKIT_VIRTIO_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtqueue.h"

struct device_host;
struct state_buf;
struct state_reader;
struct virtio_dev;

#define VIRTIO_MAX_QUEUES 8
/* The largest config space a transport must offer room for. */
#define VIRTIO_MAX_CONFIG_SIZE 0x100

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4

#define VIRTIO_F_VERSION_1 32

struct virtio_device_ops {
	const char *kind; /* "virtio-rng", ... */
	uint32_t device_id;
	unsigned nr_queues;
	uint16_t queue_max_size;
	uint64_t features; /* device-specific bits; the core adds its own */
	uint32_t config_size;
	/* Config space access at @offset (within config_size, any width), on a
	 * vCPU thread under the transport's lock. Optional. */
	void (*config_read)(void *backend, uint32_t offset, void *data, unsigned len);
	void (*config_write)(void *backend, uint32_t offset, const void *data, unsigned len);
	/* The driver set DRIVER_OK: queues are mapped, features final. Start
	 * serving (workers may be started here). Under the transport's lock. */
	int (*activate)(void *backend);
	/* Queue @index was kicked. On the main loop. */
	void (*queue_notify)(void *backend, unsigned index);
	/* The backend's own thread waits on the queues' kick eventfds
	 * (virtio_kick_fd()), so a kick wakes it directly instead of waking the
	 * main loop to wake it; queue_notify is then not called. */
	bool kicks_to_backend;
	/* Stop serving and forget per-driver state; returns once no work is in
	 * flight. Under the transport's lock (vCPU thread) or at teardown. */
	void (*reset)(void *backend);
	/* Queue @index stops being served for good: the driver made it not
	 * ready (to set it up again elsewhere, say). Forget every chain taken
	 * from it and not returned; its ring may be gone. With the queue's lock
	 * held. Optional; a device reset calls reset instead. */
	void (*queue_stop)(void *backend, unsigned index);
	/* The device pauses: stop starting work of your own (the core already
	 * serves no queue); give back what you took from a ring and did not
	 * use; send an interrupt you held back. The core holds every queue
	 * (virtio_queue_held()). Optional; unquiesce undoes it. */
	void (*quiesce)(void *backend);
	void (*unquiesce)(void *backend);
	/* State of the backend's own that the queues do not hold (virtio-
	 * console's pending input), for the transport's record. save writes
	 * one versioned record of its own kind (vmm/state.h) from a quiesced
	 * device; it is nested in the transport's record after the core's
	 * fields, and errors stick in out->err. load takes that record from @in
	 * once the core's fields are loaded, before the device is activated;
	 * it checks every field before it sets any and returns -EINVAL for a
	 * record it cannot take, the backend unchanged. Optional, both or
	 * neither: a backend without them keeps nothing beyond its queues. */
	void (*save)(void *backend, struct state_buf *out);
	int (*load)(void *backend, struct state_reader *in);
	void (*destroy)(void *backend);
};

/* Makes the device core for @backend; a transport then puts it on the
 * machine. On failure @backend is destroyed and the error reported. */
int virtio_dev_create(struct device_host *host, const char *name,
		      const struct virtio_device_ops *ops, void *backend, struct virtio_dev **out);

/* Stops everything, destroys the backend, frees the core: for a device
 * that never reached a transport (the transport destroys the others). */
void virtio_dev_destroy(struct virtio_dev *vdev);

/* Locks queue @index for serving and returns it, or NULL when the device is
 * not running or the queue is not ready or broken (the lock is then not
 * held). Pair with virtio_queue_put(). Any thread. */
struct virtq *virtio_queue_get(struct virtio_dev *vdev, unsigned index);
void virtio_queue_put(struct virtio_dev *vdev, unsigned index);

/* Inside the backend's quiesce (the core holds every queue): queue @index,
 * or NULL when it is not ready. */
struct virtq *virtio_queue_held(struct virtio_dev *vdev, unsigned index);

/* With the queue held: interrupts the driver if the ring asks for it. */
void virtio_queue_notify_driver(struct virtio_dev *vdev, unsigned index);

/* The backend ended a turn with work left on queue @index: queue_notify is
 * called again on a later turn of the main loop, after the loop's other
 * ready work (timers, the control socket, other devices), as if the queue
 * had been kicked. Any thread (a quiesced device ignores it until
 * unquiesce, which serves every queue). */
void virtio_queue_serve_later(struct virtio_dev *vdev, unsigned index);

/* With the queue held: the guest broke the queue's rules. Logs @why once,
 * sets DEVICE_NEEDS_RESET and stops serving this device until a reset. */
void virtio_queue_fail(struct virtio_dev *vdev, unsigned index, const char *why);

/* The eventfd that queue @index's kicks make readable (non-blocking; read
 * it to clear), for a backend with kicks_to_backend. */
int virtio_kick_fd(const struct virtio_dev *vdev, unsigned index);

/* The name it was created with, for messages. */
const char *virtio_dev_name(const struct virtio_dev *vdev);

/* Features the driver accepted. */
uint64_t virtio_features(const struct virtio_dev *vdev);

#endif
