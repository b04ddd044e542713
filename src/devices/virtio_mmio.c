#include "devices/virtio_mmio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "arch/arch.h"
#include "fdt/fdt_builder.h"
#include "vmm/device.h"
#include "vmm/kvm_eventfd.h"
#include "vmm/log.h"
#include "vmm/vm.h"

enum {
	REG_MAGIC = 0x000,
	REG_VERSION = 0x004,
	REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010,
	REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020,
	REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034,
	REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060,
	REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_CONFIG_GENERATION = 0x0fc,
	REG_CONFIG = 0x100,
};

#define MMIO_MAGIC 0x74726976 /* "virt" */
#define MMIO_VERSION 2
#define MMIO_VENDOR 0x4b4d564b /* "KVMK" */

#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_NEEDS_RESET 64
#define STATUS_FAILED 128

#define INT_USED_BUFFER 1
#define INT_CONFIG_CHANGE 2

struct vq_state {
	struct virtio_mmio *t;
	unsigned index;
	pthread_mutex_t lock; /* held while the queue is served or reconfigured */
	uint16_t num;
	bool ready;
	uint32_t desc[2], driver[2], device[2]; /* low, high halves */
	struct virtq q;
	int kick_fd;
};

struct virtio_mmio {
	struct device dev;
	const struct virtio_device_ops *ops;
	void *backend;
	char name[32];
	uint32_t status;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	uint32_t config_generation;
	_Atomic uint32_t interrupt_status;
	_Atomic bool running;     /* DRIVER_OK and not failed */
	_Atomic bool broken;      /* the guest broke a rule; set until reset */
	_Atomic bool needs_reset; /* what the driver sees: set once the rule was reported */
	int irq_fd;               /* -1: no interrupt delivery (polled drivers) */
	struct vq_state queues[VIRTIO_MMIO_MAX_QUEUES];
};

static struct virtio_mmio *to_t(struct device *dev)
{
	return container_of(dev, struct virtio_mmio, dev);
}

static uint64_t offered_features(const struct virtio_mmio *t)
{
	return t->ops->features | (1ULL << VIRTIO_F_VERSION_1) |
	       (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX);
}

static void raise_interrupt(struct virtio_mmio *t, uint32_t why)
{
	atomic_fetch_or(&t->interrupt_status, why);
	if (t->irq_fd >= 0)
		eventfd_write(t->irq_fd, 1);
}

struct virtq *virtio_queue_get(struct virtio_mmio *t, unsigned index)
{
	struct vq_state *vq;

	if (index >= t->ops->nr_queues)
		return NULL;
	vq = &t->queues[index];
	pthread_mutex_lock(&vq->lock);
	if (!atomic_load(&t->running) || !vq->ready || vq->q.broken) {
		pthread_mutex_unlock(&vq->lock);
		return NULL;
	}
	return &vq->q;
}

void virtio_queue_put(struct virtio_mmio *t, unsigned index)
{
	pthread_mutex_unlock(&t->queues[index].lock);
}

void virtio_queue_notify_driver(struct virtio_mmio *t, unsigned index)
{
	if (virtq_should_interrupt(&t->queues[index].q))
		raise_interrupt(t, INT_USED_BUFFER);
}

static void mark_broken(struct virtio_mmio *t, const char *what, const char *why)
{
	if (atomic_exchange(&t->broken, true))
		return;
	atomic_store(&t->running, false);
	log_error("%s: %s: %s; the device stops until the guest resets it", t->name, what, why);
	/* Only now: whoever sees DEVICE_NEEDS_RESET finds the reason reported. */
	atomic_store(&t->needs_reset, true);
	raise_interrupt(t, INT_CONFIG_CHANGE);
}

void virtio_queue_fail(struct virtio_mmio *t, unsigned index, const char *why)
{
	char what[32];

	snprintf(what, sizeof(what), "queue %u", index);
	mark_broken(t, what, why);
}

uint64_t virtio_mmio_features(const struct virtio_mmio *t) { return t->driver_features; }

int virtio_mmio_kick_fd(const struct virtio_mmio *t, unsigned index)
{
	return index < t->ops->nr_queues ? t->queues[index].kick_fd : -1;
}

/* Back to the state after power-on: the driver starts over. */
static void transport_reset(struct virtio_mmio *t)
{
	atomic_store(&t->running, false);
	for (unsigned i = 0; i < t->ops->nr_queues; i++) {
		struct vq_state *vq = &t->queues[i];

		pthread_mutex_lock(&vq->lock);
		vq->ready = false;
		vq->num = 0;
		memset(vq->desc, 0, sizeof(vq->desc));
		memset(vq->driver, 0, sizeof(vq->driver));
		memset(vq->device, 0, sizeof(vq->device));
		memset(&vq->q, 0, sizeof(vq->q));
		pthread_mutex_unlock(&vq->lock);
	}
	if (t->ops->reset)
		t->ops->reset(t->backend);
	t->status = 0;
	t->driver_features = 0;
	t->device_features_sel = t->driver_features_sel = t->queue_sel = 0;
	atomic_store(&t->interrupt_status, 0);
	atomic_store(&t->needs_reset, false);
	atomic_store(&t->broken, false);
}

static void queue_set_ready(struct virtio_mmio *t, struct vq_state *vq, uint32_t value)
{
	struct vm *vm = t->dev.vm;
	uint64_t features = t->driver_features;
	int ret;

	pthread_mutex_lock(&vq->lock);
	if (!value) {
		vq->ready = false;
		pthread_mutex_unlock(&vq->lock);
		return;
	}
	ret = virtq_init(&vq->q, &vm->mem, vq->num, (uint64_t)vq->desc[1] << 32 | vq->desc[0],
			 (uint64_t)vq->driver[1] << 32 | vq->driver[0],
			 (uint64_t)vq->device[1] << 32 | vq->device[0],
			 features & (1ULL << VIRTIO_RING_F_EVENT_IDX),
			 features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
	vq->ready = ret == 0;
	pthread_mutex_unlock(&vq->lock);
	if (ret < 0) {
		char what[32];

		snprintf(what, sizeof(what), "queue %u", vq->index);
		mark_broken(t, what, virtq_error(&vq->q));
	}
}

static void write_status(struct virtio_mmio *t, uint32_t value)
{
	uint32_t added = value & ~t->status;

	if (value == 0) {
		transport_reset(t);
		return;
	}
	if (added & STATUS_FEATURES_OK) {
		uint64_t extra = t->driver_features & ~offered_features(t);

		if (extra || !(t->driver_features & (1ULL << VIRTIO_F_VERSION_1))) {
			log_warn("%s: driver asked for features 0x%llx (offered 0x%llx): refused",
				 t->name, (unsigned long long)t->driver_features,
				 (unsigned long long)offered_features(t));
			value &= ~(uint32_t)STATUS_FEATURES_OK;
		}
	}
	if ((added & STATUS_DRIVER_OK) && !atomic_load(&t->broken)) {
		int ret = t->ops->activate ? t->ops->activate(t->backend) : 0;

		if (ret < 0)
			mark_broken(t, "activation", strerror(-ret));
		else
			atomic_store(&t->running, true);
	}
	t->status = value;
}

static int config_access(struct virtio_mmio *t, uint64_t offset, void *data, unsigned len,
			 bool is_write)
{
	uint64_t off = offset - REG_CONFIG;

	if (len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	if (off >= t->ops->config_size || len > t->ops->config_size - off)
		return -EINVAL;
	if (is_write) {
		if (t->ops->config_write)
			t->ops->config_write(t->backend, (uint32_t)off, data, len);
	} else if (t->ops->config_read) {
		t->ops->config_read(t->backend, (uint32_t)off, data, len);
	} else {
		memset(data, 0, len);
	}
	return 0;
}

static int vmmio_read(struct device *dev, uint64_t offset, void *data, unsigned len)
{
	struct virtio_mmio *t = to_t(dev);
	struct vq_state *vq = &t->queues[t->queue_sel < t->ops->nr_queues ? t->queue_sel : 0];
	bool queue_ok = t->queue_sel < t->ops->nr_queues;
	uint64_t features = offered_features(t);
	uint32_t v;

	if (offset >= REG_CONFIG)
		return config_access(t, offset, data, len, false);
	if (len != 4)
		return -EINVAL;
	switch (offset) {
	case REG_MAGIC: v = MMIO_MAGIC; break;
	case REG_VERSION: v = MMIO_VERSION; break;
	case REG_DEVICE_ID: v = t->ops->device_id; break;
	case REG_VENDOR_ID: v = MMIO_VENDOR; break;
	case REG_DEVICE_FEATURES:
		v = t->device_features_sel == 0   ? (uint32_t)features
		    : t->device_features_sel == 1 ? (uint32_t)(features >> 32)
						  : 0;
		break;
	case REG_QUEUE_NUM_MAX: v = queue_ok ? t->ops->queue_max_size : 0; break;
	case REG_QUEUE_READY: v = queue_ok && vq->ready; break;
	case REG_INTERRUPT_STATUS: v = atomic_load(&t->interrupt_status); break;
	case REG_STATUS:
		v = t->status | (atomic_load(&t->needs_reset) ? STATUS_NEEDS_RESET : 0);
		break;
	case REG_CONFIG_GENERATION: v = t->config_generation; break;
	default: return -EINVAL;
	}
	memcpy(data, &v, 4);
	return 0;
}

static void kick(struct vq_state *vq) { eventfd_write(vq->kick_fd, 1); }

static int vmmio_write(struct device *dev, uint64_t offset, const void *data, unsigned len)
{
	struct virtio_mmio *t = to_t(dev);
	bool queue_ok = t->queue_sel < t->ops->nr_queues;
	struct vq_state *vq = &t->queues[queue_ok ? t->queue_sel : 0];
	uint32_t v;

	if (offset >= REG_CONFIG)
		return config_access(t, offset, (void *)data, len, true);
	if (len != 4)
		return -EINVAL;
	memcpy(&v, data, 4);
	switch (offset) {
	case REG_DEVICE_FEATURES_SEL: t->device_features_sel = v; return 0;
	case REG_DRIVER_FEATURES_SEL: t->driver_features_sel = v; return 0;
	case REG_DRIVER_FEATURES:
		if (t->status & STATUS_FEATURES_OK)
			return 0; /* frozen once accepted */
		if (t->driver_features_sel == 0)
			t->driver_features = (t->driver_features & ~0xffffffffULL) | v;
		else if (t->driver_features_sel == 1)
			t->driver_features = (t->driver_features & 0xffffffffULL) | (uint64_t)v
											    << 32;
		return 0;
	case REG_QUEUE_SEL: t->queue_sel = v; return 0;
	case REG_INTERRUPT_ACK: atomic_fetch_and(&t->interrupt_status, ~v); return 0;
	case REG_STATUS: write_status(t, v); return 0;
	case REG_QUEUE_NOTIFY:
		/* Normally caught by the ioeventfd; this path serves the rest. */
		if (v < t->ops->nr_queues)
			kick(&t->queues[v]);
		return 0;
	default: break;
	}
	if (!queue_ok)
		return 0; /* writes to a queue that does not exist are ignored */
	if (vq->ready && offset != REG_QUEUE_READY)
		return 0; /* a live queue's layout cannot change */
	switch (offset) {
	case REG_QUEUE_NUM: vq->num = v <= t->ops->queue_max_size ? (uint16_t)v : 0; break;
	case REG_QUEUE_READY: queue_set_ready(t, vq, v); break;
	case REG_QUEUE_DESC_LOW: vq->desc[0] = v; break;
	case REG_QUEUE_DESC_HIGH: vq->desc[1] = v; break;
	case REG_QUEUE_DRIVER_LOW: vq->driver[0] = v; break;
	case REG_QUEUE_DRIVER_HIGH: vq->driver[1] = v; break;
	case REG_QUEUE_DEVICE_LOW: vq->device[0] = v; break;
	case REG_QUEUE_DEVICE_HIGH: vq->device[1] = v; break;
	default: return -EINVAL;
	}
	return 0;
}

/* On the main loop: a queue was kicked. */
static void on_kick(void *opaque)
{
	struct vq_state *vq = opaque;
	struct virtio_mmio *t = vq->t;
	eventfd_t count;

	if (eventfd_read(vq->kick_fd, &count) < 0)
		return;
	if (atomic_load(&t->running) && t->ops->queue_notify)
		t->ops->queue_notify(t->backend, vq->index);
}

static int vmmio_describe_fdt(struct device *dev, struct fdt_builder *fb)
{
	fb_begin_node_at(fb, "virtio_mmio", dev->base);
	fb_prop_string(fb, "compatible", "virtio,mmio");
	fb_prop_reg(fb, dev->base, dev->size);
	/* The irqfd delivers pulses, so the line is described as an edge. */
	if (dev->irq)
		fb_prop_irq_edge(fb, dev->irq);
	fb_prop_empty(fb, "dma-coherent");
	fb_end_node(fb);
	return fb->err;
}

static void vmmio_destroy(struct device *dev)
{
	struct virtio_mmio *t = to_t(dev);

	transport_reset(t);
	if (t->ops->destroy)
		t->ops->destroy(t->backend);
	for (unsigned i = 0; i < t->ops->nr_queues; i++) {
		if (t->queues[i].kick_fd >= 0)
			close(t->queues[i].kick_fd);
		pthread_mutex_destroy(&t->queues[i].lock);
	}
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	pthread_mutex_destroy(&dev->lock);
	free(t);
}

static const struct device_ops virtio_mmio_ops = {
	.kind = "virtio-mmio",
	.read = vmmio_read,
	.write = vmmio_write,
	.describe_fdt = vmmio_describe_fdt,
	.destroy = vmmio_destroy,
};

static unsigned nr_virtio_devices(const struct vm *vm)
{
	unsigned n = 0;

	for (unsigned i = 0; i < vm->nr_devices; i++)
		n += vm->devices[i]->ops == &virtio_mmio_ops;
	return n;
}

/* Kicks come in through one ioeventfd per queue, served on the main loop or
 * by the backend's thread. */
static int setup_queue(struct vm *vm, struct virtio_mmio *t, unsigned i)
{
	struct vq_state *vq = &t->queues[i];
	int ret;

	vq->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vq->kick_fd < 0)
		return vm_error(vm, -errno, "%s: eventfd: %s", t->name, strerror(errno));
	ret = vm_ioeventfd_add(vm, BUS_MMIO, t->dev.base + REG_QUEUE_NOTIFY, 4, i, vq->kick_fd);
	/* Without it the MMIO write path still works, only slower. */
	if (ret < 0)
		log_debug("%s: no ioeventfd for queue %u: %s", t->name, i, strerror(-ret));
	if (t->ops->kicks_to_backend)
		return 0;
	return vm_watch_fd(vm, vq->kick_fd, on_kick, vq);
}

int virtio_mmio_create(struct vm *vm, const char *name, const struct virtio_device_ops *ops,
		       void *backend, struct virtio_mmio **out)
{
	struct virtio_mmio *t;
	uint64_t base;
	unsigned irq;
	int ret;

	if (ops->nr_queues == 0 || ops->nr_queues > VIRTIO_MMIO_MAX_QUEUES ||
	    ops->config_size > VIRTIO_MMIO_SIZE - REG_CONFIG) {
		if (ops->destroy)
			ops->destroy(backend);
		return vm_error(vm, -EINVAL, "%s: bad virtio device description", name);
	}
	ret = arch_virtio_mmio_slot(vm, nr_virtio_devices(vm), &base, &irq);
	if (ret < 0) {
		if (ops->destroy)
			ops->destroy(backend);
		return vm_input_error(vm, ret, "%s: no virtio-mmio slot left", name);
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		if (ops->destroy)
			ops->destroy(backend);
		return vm_error(vm, -ENOMEM, "%s: out of memory", name);
	}
	t->ops = ops;
	t->backend = backend;
	t->irq_fd = -1;
	snprintf(t->name, sizeof(t->name), "%s", name);
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
		t->queues[i] = (struct vq_state){.t = t, .index = i, .kick_fd = -1};
		pthread_mutex_init(&t->queues[i].lock, NULL);
	}
	device_init(&t->dev, &virtio_mmio_ops, t->name, BUS_MMIO, base, VIRTIO_MMIO_SIZE, irq);
	ret = vm_add_device(vm, &t->dev); /* on failure the device is destroyed */
	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < ops->nr_queues; i++) {
		ret = setup_queue(vm, t, i);
		if (ret < 0)
			return ret;
	}
	if (irq) {
		t->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (t->irq_fd < 0)
			return vm_error(vm, -errno, "%s: eventfd: %s", name, strerror(errno));
		ret = vm_irqfd_add(vm, irq, t->irq_fd);
		if (ret < 0)
			return ret;
	}
	if (out)
		*out = t;
	return 0;
}
