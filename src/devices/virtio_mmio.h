/* The virtio-mmio transport (virtio 1.x, register layout version 2, no legacy
 * interface). It owns the registers, feature negotiation, the queues' rings
 * and the notification plumbing; a device backend supplies its config space
 * and serves its queues. Kicks arrive through one ioeventfd per queue and are
 * handed to the backend on the main loop; interrupts leave through an irqfd.
 * The vCPU threads therefore only ever touch registers. */
#ifndef KVMKIT_VIRTIO_MMIO_H
#define KVMKIT_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtqueue.h"

struct vm;
struct virtio_mmio;

#define VIRTIO_MMIO_SIZE 0x200
#define VIRTIO_MMIO_MAX_QUEUES 8

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
	uint64_t features; /* device-specific bits; the transport adds its own */
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
	 * (virtio_mmio_kick_fd()), so a kick wakes it directly instead of
	 * waking the main loop to wake it; queue_notify is then not called. */
	bool kicks_to_backend;
	/* Stop serving and forget per-driver state; returns once no work is in
	 * flight. Under the transport's lock (vCPU thread) or at teardown. */
	void (*reset)(void *backend);
	void (*destroy)(void *backend);
};

/* Creates the transport at the next virtio-mmio slot of the platform and
 * registers it with the VM, which then owns it (and the backend). */
int virtio_mmio_create(struct vm *vm, const char *name, const struct virtio_device_ops *ops,
		       void *backend, struct virtio_mmio **out);

/* Locks queue @index for serving and returns it, or NULL when the device is
 * not running or the queue is not ready or broken (the lock is then not
 * held). Pair with virtio_queue_put(). Any thread. */
struct virtq *virtio_queue_get(struct virtio_mmio *t, unsigned index);
void virtio_queue_put(struct virtio_mmio *t, unsigned index);

/* With the queue held: interrupts the driver if the ring asks for it. */
void virtio_queue_notify_driver(struct virtio_mmio *t, unsigned index);

/* With the queue held: the guest broke the queue's rules. Logs @why once,
 * sets DEVICE_NEEDS_RESET and stops serving this device until a reset. */
void virtio_queue_fail(struct virtio_mmio *t, unsigned index, const char *why);

/* The eventfd that queue @index's kicks make readable (non-blocking; read
 * it to clear), for a backend with kicks_to_backend. */
int virtio_mmio_kick_fd(const struct virtio_mmio *t, unsigned index);

/* Features the driver accepted. */
uint64_t virtio_mmio_features(const struct virtio_mmio *t);

#endif
