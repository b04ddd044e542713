/* VM generation ID: 16 random bytes at the start of a page the guest maps
 * (guest memory of the device's own, so its reads never exit), and an edge
 * interrupt that tells it they changed. Linux's vmgenid driver (the
 * microsoft,vmgenid binding, Linux 6.10 on) then reseeds its random number
 * generator: without it, every clone of one snapshot would go on with the
 * same generator state and hand the same "random" bytes to its programs
 * until the next reseed.
 *
 * The ID is new in every machine built and in every restore: a load is a
 * restore, and a restored guest is a new generation even when restored only
 * once (the snapshot may be restored again). The notification is sent when
 * the restored machine first runs (unquiesce), not at load, when the
 * interrupt controller's state is still to be loaded over it. */
#include "devices/vmgenid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "vmm/device.h"
#include "vmm/device_desc.h"
#include "vmm/device_host.h"
#include "vmm/state.h"

struct vmgenid {
	struct device dev;
	uint8_t *page;       /* VMGENID_SIZE bytes, the ID at the start */
	bool notify_pending; /* loaded: the guest is told at the next unquiesce */
};

static struct vmgenid *to_genid(struct device *dev)
{
	return container_of(dev, struct vmgenid, dev);
}

static int new_id(uint8_t id[VMGENID_ID_LEN])
{
	size_t got = 0;

	while (got < VMGENID_ID_LEN) {
		ssize_t n = getrandom(id + got, VMGENID_ID_LEN - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

/* The page is guest memory, so these are reached only on a host that could
 * not map it: the guest then reads the same bytes through exits. */
static int genid_read(struct device *dev, uint64_t offset, void *data, unsigned len)
{
	struct vmgenid *g = to_genid(dev);

	if (offset + len > VMGENID_SIZE)
		return -EINVAL;
	memcpy(data, g->page + offset, len);
	return 0;
}

static int genid_write(struct device *dev, uint64_t offset, const void *data, unsigned len)
{
	(void)dev;
	(void)offset;
	(void)data;
	(void)len;
	return -EINVAL; /* the ID is the host's to change */
}

/* A new generation: an edge on the line, once the machine runs again. */
static void genid_unquiesce(struct device *dev)
{
	struct vmgenid *g = to_genid(dev);

	pthread_mutex_lock(&dev->lock);
	if (g->notify_pending) {
		g->notify_pending = false;
		device_set_irq(dev, true);
		device_set_irq(dev, false);
	}
	pthread_mutex_unlock(&dev->lock);
}

#define GENID_STATE_VERSION 1

/* The ID the guest last saw is kept (for inspection: a restore never
 * gives it back). */
static int genid_save(struct device *dev, struct state_buf *out)
{
	struct vmgenid *g = to_genid(dev);

	state_begin(out, "vmgenid", GENID_STATE_VERSION);
	state_put_bytes(out, g->page, VMGENID_ID_LEN);
	return state_end(out);
}

static int genid_load(struct device *dev, struct state_reader *in)
{
	struct vmgenid *g = to_genid(dev);
	uint8_t saved[VMGENID_ID_LEN], fresh[VMGENID_ID_LEN];
	struct state_reader rec;
	uint32_t version;
	int ret;

	if (state_expect(in, "vmgenid", &version, &rec) < 0 || version != GENID_STATE_VERSION)
		return -EINVAL;
	state_get_bytes(&rec, saved, sizeof(saved));
	if (state_finish(&rec) < 0)
		return -EINVAL;
	ret = new_id(fresh);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&dev->lock);
	memcpy(g->page, fresh, sizeof(fresh));
	g->notify_pending = true;
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

static const char *const genid_compatible[] = {"microsoft,vmgenid", NULL};

static const struct device_desc genid_desc = {
	.class_name = "vmgenid",
	.compatible = genid_compatible,
	.irq_trigger = DEVICE_IRQ_EDGE,
};

static void genid_destroy(struct device *dev)
{
	struct vmgenid *g = to_genid(dev);

	if (g->page)
		munmap(g->page, VMGENID_SIZE);
	pthread_mutex_destroy(&dev->lock);
	free(g);
}

static const struct device_ops vmgenid_ops = {
	.kind = "vmgenid",
	.read = genid_read,
	.write = genid_write,
	.unquiesce = genid_unquiesce,
	.save = genid_save,
	.load = genid_load,
	.desc = &genid_desc,
	.destroy = genid_destroy,
};

int vmgenid_create(struct device_host *host, uint64_t base, unsigned irq)
{
	struct vmgenid *g = calloc(1, sizeof(*g));
	int ret;

	if (!g)
		return host_error(host, -ENOMEM, "vmgenid: out of memory");
	device_init(&g->dev, &vmgenid_ops, "vmgenid", BUS_MMIO, base, VMGENID_SIZE, irq);
	g->page = mmap(NULL, VMGENID_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);
	if (g->page == MAP_FAILED) {
		g->page = NULL;
		ret = -errno;
		genid_destroy(&g->dev);
		return host_error(host, ret, "vmgenid: cannot map its page: %s", strerror(-ret));
	}
	ret = new_id(g->page);
	if (ret < 0) {
		genid_destroy(&g->dev);
		return host_error(host, ret, "vmgenid: getrandom: %s", strerror(-ret));
	}
	/* On the bus too, so that nothing else is placed over its range. */
	ret = host_add_device(host, &g->dev);
	if (ret < 0)
		return ret;
	ret = host_map_memory(host, base, VMGENID_SIZE, g->page);
	if (ret < 0 && ret != -ENOTSUP)
		return host_error(host, ret, "vmgenid: cannot map its page at 0x%llx: %s",
				  (unsigned long long)base, strerror(-ret));
	return 0;
}
