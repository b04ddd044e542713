#include "devices/virtio_mmio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio_transport.h"
#include "vmm/device.h"
#include "vmm/device_desc.h"
#include "vmm/device_host.h"
#include "vmm/log.h"
#include "vmm/state.h"

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

_Static_assert(VIRTIO_MAX_CONFIG_SIZE <= VIRTIO_MMIO_SIZE - REG_CONFIG,
	       "the config space fits the register file");

#define MMIO_MAGIC 0x74726976 /* "virt" */
#define MMIO_VERSION 2
#define MMIO_VENDOR 0x4b4d564b /* "KVMK" */

struct virtio_mmio {
	struct device dev;
	struct virtio_dev *vdev;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	int irq_fd; /* -1: no interrupt delivery (polled drivers) */
};

static struct virtio_mmio *to_t(struct device *dev)
{
	return container_of(dev, struct virtio_mmio, dev);
}

/* One interrupt line for every cause: the driver reads InterruptStatus. */
static void signal_irq(void *opaque, unsigned queue)
{
	struct virtio_mmio *t = opaque;

	(void)queue;
	if (t->irq_fd >= 0)
		eventfd_write(t->irq_fd, 1);
}

static int vmmio_read(struct device *dev, uint64_t offset, void *data, unsigned len)
{
	struct virtio_mmio *t = to_t(dev);
	struct virtio_dev *vdev = t->vdev;
	uint64_t features = virtio_dev_offered_features(vdev);
	uint32_t v;

	if (offset >= REG_CONFIG)
		return virtio_dev_config_access(vdev, (uint32_t)(offset - REG_CONFIG), data, len,
						false);
	if (len != 4)
		return -EINVAL;
	switch (offset) {
	case REG_MAGIC: v = MMIO_MAGIC; break;
	case REG_VERSION: v = MMIO_VERSION; break;
	case REG_DEVICE_ID: v = virtio_dev_ops(vdev)->device_id; break;
	case REG_VENDOR_ID: v = MMIO_VENDOR; break;
	case REG_DEVICE_FEATURES:
		v = t->device_features_sel == 0   ? (uint32_t)features
		    : t->device_features_sel == 1 ? (uint32_t)(features >> 32)
						  : 0;
		break;
	case REG_QUEUE_NUM_MAX:
		v = virtio_dev_queue_exists(vdev, t->queue_sel)
			    ? virtio_dev_ops(vdev)->queue_max_size
			    : 0;
		break;
	case REG_QUEUE_READY: v = virtio_dev_queue_ready(vdev, t->queue_sel); break;
	case REG_INTERRUPT_STATUS: v = virtio_dev_isr(vdev); break;
	case REG_STATUS: v = virtio_dev_status(vdev); break;
	case REG_CONFIG_GENERATION: v = virtio_dev_config_generation(vdev); break;
	default: return -EINVAL;
	}
	memcpy(data, &v, 4);
	return 0;
}

/* Writes one 32-bit half of a 64-bit queue address. */
static void set_half(struct virtio_dev *vdev, unsigned q, enum virtio_queue_field field, bool high,
		     uint32_t v)
{
	uint64_t old = virtio_dev_queue_get(vdev, q, field);

	if (high)
		virtio_dev_queue_set(vdev, q, field, (old & 0xffffffffULL) | (uint64_t)v << 32);
	else
		virtio_dev_queue_set(vdev, q, field, (old & ~0xffffffffULL) | v);
}

static int vmmio_write(struct device *dev, uint64_t offset, const void *data, unsigned len)
{
	struct virtio_mmio *t = to_t(dev);
	struct virtio_dev *vdev = t->vdev;
	unsigned q = t->queue_sel;
	uint32_t v;

	if (offset >= REG_CONFIG)
		return virtio_dev_config_access(vdev, (uint32_t)(offset - REG_CONFIG), (void *)data,
						len, true);
	if (len != 4)
		return -EINVAL;
	memcpy(&v, data, 4);
	switch (offset) {
	case REG_DEVICE_FEATURES_SEL: t->device_features_sel = v; return 0;
	case REG_DRIVER_FEATURES_SEL: t->driver_features_sel = v; return 0;
	case REG_DRIVER_FEATURES:
		virtio_dev_set_driver_features(vdev, t->driver_features_sel, v);
		return 0;
	case REG_QUEUE_SEL: t->queue_sel = v; return 0;
	case REG_INTERRUPT_ACK: virtio_dev_ack_isr(vdev, v); return 0;
	case REG_STATUS:
		/* Device status is one byte (virtio 1.x, 2.1); the bits above it in
		 * this 32-bit register are ignored. */
		v &= 0xff;
		if (v == 0)
			t->device_features_sel = t->driver_features_sel = t->queue_sel = 0;
		virtio_dev_set_status(vdev, v);
		return 0;
	case REG_QUEUE_NOTIFY:
		/* Normally caught by the ioeventfd; this path serves the rest. */
		virtio_dev_kick(vdev, v);
		return 0;
	default: break;
	}
	if (!virtio_dev_queue_exists(vdev, q))
		return 0; /* writes to a queue that does not exist are ignored */
	if (virtio_dev_queue_ready(vdev, q) && offset != REG_QUEUE_READY)
		return 0; /* a live queue's layout cannot change */
	switch (offset) {
	case REG_QUEUE_NUM: virtio_dev_queue_set(vdev, q, VIRTIO_QUEUE_NUM, v); break;
	case REG_QUEUE_READY: virtio_dev_queue_set_ready(vdev, q, v != 0); break;
	case REG_QUEUE_DESC_LOW: set_half(vdev, q, VIRTIO_QUEUE_DESC, false, v); break;
	case REG_QUEUE_DESC_HIGH: set_half(vdev, q, VIRTIO_QUEUE_DESC, true, v); break;
	case REG_QUEUE_DRIVER_LOW: set_half(vdev, q, VIRTIO_QUEUE_DRIVER, false, v); break;
	case REG_QUEUE_DRIVER_HIGH: set_half(vdev, q, VIRTIO_QUEUE_DRIVER, true, v); break;
	case REG_QUEUE_DEVICE_LOW: set_half(vdev, q, VIRTIO_QUEUE_DEVICE, false, v); break;
	case REG_QUEUE_DEVICE_HIGH: set_half(vdev, q, VIRTIO_QUEUE_DEVICE, true, v); break;
	default: return -EINVAL;
	}
	return 0;
}

static const char *const vmmio_compatible[] = {"virtio,mmio", NULL};

static const struct device_desc vmmio_desc = {
	.class_name = "virtio_mmio",
	.compatible = vmmio_compatible,
	/* The irqfd delivers pulses, so the line is described as an edge. */
	.irq_trigger = DEVICE_IRQ_EDGE,
	.flags = DEVICE_DMA_COHERENT,
};

static void vmmio_destroy(struct device *dev)
{
	struct virtio_mmio *t = to_t(dev);

	virtio_dev_destroy(t->vdev);
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	pthread_mutex_destroy(&dev->lock);
	free(t);
}

static void vmmio_reset(struct device *dev)
{
	struct virtio_mmio *t = to_t(dev);

	t->device_features_sel = t->driver_features_sel = t->queue_sel = 0;
	virtio_dev_set_status(t->vdev, 0);
}

static void vmmio_quiesce(struct device *dev) { virtio_dev_quiesce(to_t(dev)->vdev); }

static void vmmio_unquiesce(struct device *dev) { virtio_dev_unquiesce(to_t(dev)->vdev); }

#define VMMIO_STATE_VERSION 1

static int vmmio_save(struct device *dev, struct state_buf *out)
{
	struct virtio_mmio *t = to_t(dev);

	state_begin(out, "virtio-mmio", VMMIO_STATE_VERSION);
	state_put_u32(out, t->device_features_sel);
	state_put_u32(out, t->driver_features_sel);
	state_put_u32(out, t->queue_sel);
	virtio_dev_save(t->vdev, out);
	return state_end(out);
}

static int vmmio_load(struct device *dev, struct state_reader *in)
{
	struct virtio_mmio *t = to_t(dev);
	struct state_reader rec;
	uint32_t version;
	uint32_t sels[3];

	if (state_expect(in, "virtio-mmio", &version, &rec) < 0 || version != VMMIO_STATE_VERSION)
		return -EINVAL;
	for (unsigned i = 0; i < 3; i++)
		sels[i] = state_get_u32(&rec);
	if (rec.err)
		return -EINVAL;
	t->device_features_sel = sels[0];
	t->driver_features_sel = sels[1];
	t->queue_sel = sels[2];
	return virtio_dev_load(t->vdev, &rec);
}

static const struct device_ops virtio_mmio_ops = {
	.kind = "virtio-mmio",
	.read = vmmio_read,
	.write = vmmio_write,
	.reset = vmmio_reset,
	.quiesce = vmmio_quiesce,
	.unquiesce = vmmio_unquiesce,
	.save = vmmio_save,
	.load = vmmio_load,
	.desc = &vmmio_desc,
	.destroy = vmmio_destroy,
};

int virtio_mmio_create(struct device_host *host, struct virtio_dev *vdev, uint64_t base,
		       unsigned irq)
{
	const char *name = virtio_dev_name(vdev);
	struct virtio_mmio *t = calloc(1, sizeof(*t));
	int ret;

	if (!t) {
		virtio_dev_destroy(vdev);
		return host_error(host, -ENOMEM, "%s: out of memory", name);
	}
	t->vdev = vdev;
	t->irq_fd = -1;
	device_init(&t->dev, &virtio_mmio_ops, name, BUS_MMIO, base, VIRTIO_MMIO_SIZE, irq);
	ret = host_add_device(host, &t->dev); /* on failure the device is destroyed */
	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < virtio_dev_ops(vdev)->nr_queues; i++) {
		ret = host_ioeventfd(host, BUS_MMIO, base + REG_QUEUE_NOTIFY, 4, i,
				     virtio_kick_fd(vdev, i));
		/* Without it the MMIO write path still works, only slower. */
		if (ret < 0)
			log_debug("%s: no ioeventfd for queue %u: %s", name, i, strerror(-ret));
	}
	if (irq) {
		t->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (t->irq_fd < 0)
			return host_error(host, -errno, "%s: eventfd: %s", name, strerror(errno));
		ret = host_irqfd(host, irq, t->irq_fd);
		if (ret < 0)
			return ret;
	}
	return virtio_dev_attach(vdev, &(struct virtio_transport){
					       .kind = "virtio-mmio",
					       .signal = signal_irq,
					       .opaque = t,
				       });
}
