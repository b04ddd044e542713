/* What a device may use of the machine it is part of, and nothing more:
 * guest memory, the console, its interrupt lines (a level, or an eventfd KVM
 * turns into an interrupt), ioeventfds, fd watches on the main loop, a reset
 * request and error reporting. A VM provides one (vm_host.c); a test can
 * provide its own and build a device without a VM. Devices include this and
 * vmm/device.h, never vmm/vm.h. */
#ifndef KVMKIT_DEVICE_HOST_H
#define KVMKIT_DEVICE_HOST_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/device.h"

struct guest_mem;
struct console;

/* Called on the main loop when a watched fd is readable. */
typedef void (*host_fd_ready_fn)(void *opaque);

struct device_host_ops {
	/* Places @dev on its bus and takes ownership (destroyed with the
	 * machine, at once on failure). Before the machine starts. */
	int (*add_device)(void *ctx, struct device *dev);
	/* Calls @ready on the main loop whenever @fd is readable; the caller
	 * keeps owning @fd. Before the machine starts. */
	int (*watch_fd)(void *ctx, int fd, host_fd_ready_fn ready, void *opaque);
	/* Sets platform interrupt @irq to @level. */
	int (*set_irq)(void *ctx, unsigned irq, bool level);
	/* Raises @irq (an edge) each time @fd is signalled; -ENOTSUP without an
	 * in-kernel interrupt controller. */
	int (*irqfd)(void *ctx, unsigned irq, int fd);
	/* Shows the page-aligned @size bytes at @host to the guest at @gpa as
	 * memory it reads and writes without an exit (a device's shared buffer;
	 * @host stays valid until the machine is gone). Before the machine
	 * starts. Optional: NULL where the host has no guest memory of its own
	 * (host_map_memory() is then -ENOTSUP). */
	int (*map_memory)(void *ctx, uint64_t gpa, uint64_t size, void *host);
	/* Signals @fd when the guest writes @datamatch (@len bytes) at @addr;
	 * a failure is not fatal (the write still reaches the device). */
	int (*ioeventfd)(void *ctx, enum bus_space space, uint64_t addr, unsigned len,
			 uint64_t datamatch, int fd);
	/* The guest asked for a reset of the whole machine. Any thread. */
	void (*request_reset)(void *ctx);
	/* Records @msg as the machine's error (@input: caused by the user's
	 * input); the first one wins. */
	void (*report)(void *ctx, bool input, const char *msg);
};

struct device_host {
	const struct device_host_ops *ops;
	void *ctx;
	struct guest_mem *mem;
	struct console *console;
};

static inline int host_add_device(struct device_host *h, struct device *dev)
{
	dev->host = h;
	return h->ops->add_device(h->ctx, dev);
}

static inline int host_watch_fd(struct device_host *h, int fd, host_fd_ready_fn ready, void *opaque)
{
	return h->ops->watch_fd(h->ctx, fd, ready, opaque);
}

static inline int host_irqfd(struct device_host *h, unsigned irq, int fd)
{
	return h->ops->irqfd(h->ctx, irq, fd);
}

static inline int host_ioeventfd(struct device_host *h, enum bus_space space, uint64_t addr,
				 unsigned len, uint64_t datamatch, int fd)
{
	return h->ops->ioeventfd(h->ctx, space, addr, len, datamatch, fd);
}

static inline int host_map_memory(struct device_host *h, uint64_t gpa, uint64_t size, void *host)
{
	return h->ops->map_memory ? h->ops->map_memory(h->ctx, gpa, size, host) : -ENOTSUP;
}

static inline void host_request_reset(struct device_host *h) { h->ops->request_reset(h->ctx); }

/* Drives @dev's interrupt line (nothing when it has none or is not on a
 * machine yet). Returns 0 or a negative errno from KVM. */
int device_set_irq(struct device *dev, bool level);

/* Formats and reports an error; returns @err. */
int host_error(struct device_host *h, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, for errors caused by the user's input (files, names, sizes). */
int host_input_error(struct device_host *h, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
