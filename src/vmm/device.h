/* The device model: a device is a struct device embedded in the device's own
 * state, plus an ops table. The core dispatches bus accesses to the ops under
 * the device's lock; the device never sees an access outside its range. */
#ifndef KVMKIT_DEVICE_H
#define KVMKIT_DEVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct device_desc;
struct device_host;
struct state_buf;
struct state_reader;

enum bus_space { BUS_MMIO, BUS_PIO };

struct device;

struct device_ops {
	const char *kind; /* e.g. "uart-16550", used in messages */
	/* Register access of @len bytes (1, 2, 4 or 8) at @offset inside the device.
	 * Return 0, or -EINVAL for an access the device does not implement (a width
	 * it does not support): the core then reports it and reads see all ones. */
	int (*read)(struct device *dev, uint64_t offset, void *data, unsigned len);
	int (*write)(struct device *dev, uint64_t offset, const void *data, unsigned len);
	/* Back to power-on state (guest reset). Optional. */
	void (*reset)(struct device *dev);
	/* Paused means quiesced (docs/ARCHITECTURE.md): quiesce returns once
	 * the device's own threads and loop callbacks no longer touch guest
	 * memory or the device's state (work in flight completes; nothing new
	 * starts; kicks and timers that come meanwhile are served after
	 * unquiesce). On the thread that pauses the VM, vCPUs parked. Optional:
	 * a device with no work of its own has nothing to stop. */
	void (*quiesce)(struct device *dev);
	void (*unquiesce)(struct device *dev);
	/* One versioned record of the device's state (devices/..., vmm/state.h),
	 * from a quiesced device. Optional: no record means nothing to keep. */
	int (*save)(struct device *dev, struct state_buf *out);
	/* Takes a record save() wrote into a device of the same configuration
	 * that is quiesced or has not run; -EINVAL for a record it cannot take
	 * (the device is then unchanged or back at power-on state). */
	int (*load)(struct device *dev, struct state_reader *in);
	/* What the device is, for the platform's description of the machine
	 * (vmm/device_desc.h). Optional: NULL keeps it out of that description. */
	const struct device_desc *desc;
	/* Frees the containing structure. */
	void (*destroy)(struct device *dev);
};

struct device {
	const struct device_ops *ops;
	struct device_host *host; /* set when it is added to a machine */
	const char *name;         /* instance name, e.g. "uart0" */
	enum bus_space space;
	uint64_t base;
	uint64_t size;
	unsigned irq; /* platform interrupt (arm64: SPI number), 0 when none */
	pthread_mutex_t lock;
	_Atomic uint64_t nr_reads;
	_Atomic uint64_t nr_writes;
	_Atomic uint64_t nr_rejected;
};

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Fills the common fields; the caller then adds it with host_add_device(). */
void device_init(struct device *dev, const struct device_ops *ops, const char *name,
		 enum bus_space space, uint64_t base, uint64_t size, unsigned irq);

/* Bus dispatch, used by the vCPU loop: takes the lock, counts, calls the op.
 * Returns the op's result. */
int device_read(struct device *dev, uint64_t offset, void *data, unsigned len);
int device_write(struct device *dev, uint64_t offset, const void *data, unsigned len);

#endif
