/* PL061: eight lines, each an input we drive or an output the guest drives.
 * Interrupts follow the TRM: per line edge (one or both) or level sensing,
 * a raw status, a mask, and a clear register for edges. */
#include "devices/pl061.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/device.h"
#include "vmm/device_desc.h"
#include "vmm/device_host.h"
#include "vmm/state.h"

enum {
	GPIO_DATA_END = 0x400, /* 0x000-0x3fc: address bits 9:2 mask the access */
	GPIO_DIR = 0x400,
	GPIO_IS = 0x404,  /* 1: level sensitive */
	GPIO_IBE = 0x408, /* 1: both edges */
	GPIO_IEV = 0x40c, /* 1: rising edge or high level */
	GPIO_IE = 0x410,  /* interrupt mask: 1 enabled */
	GPIO_RIS = 0x414,
	GPIO_MIS = 0x418,
	GPIO_IC = 0x41c,
	GPIO_AFSEL = 0x420,
	GPIO_ID_BASE = 0xfe0,
};

/* PeriphID0-3 (part 0x061, ARM, revision 1) then PCellID0-3. */
static const uint8_t pl061_id[8] = {0x61, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

struct pl061 {
	struct device dev;
	uint8_t in;  /* levels driven on the input lines */
	uint8_t out; /* the guest's output latch */
	uint8_t dir, is, ibe, iev, ie, ris, afsel;
};

static struct pl061 *to_gpio(struct device *dev) { return container_of(dev, struct pl061, dev); }

/* The registers are 8 bits wide at word offsets; Linux uses byte accesses. */
static bool access_ok(uint64_t offset, unsigned len)
{
	return (offset & 3) == 0 && (len == 1 || len == 2 || len == 4);
}

static uint8_t pin_levels(const struct pl061 *g)
{
	return (uint8_t)((g->out & g->dir) | (g->in & ~g->dir));
}

/* Level-sensitive lines show their current condition in RIS; edges stay
 * latched until cleared. */
static void gpio_update(struct pl061 *g)
{
	uint8_t levels = pin_levels(g);
	uint8_t active = (uint8_t)((levels & g->iev) | (~levels & ~g->iev));

	g->ris = (uint8_t)((g->ris & ~g->is) | (active & g->is));
	device_set_irq(&g->dev, (g->ris & g->ie) != 0);
}

/* Latches the edges between two sets of line levels. */
static void gpio_edges(struct pl061 *g, uint8_t before, uint8_t after)
{
	uint8_t changed = before ^ after;
	uint8_t rising = changed & after, falling = changed & before;
	uint8_t edge = (uint8_t)((changed & g->ibe) |
				 (~g->ibe & ((rising & g->iev) | (falling & ~g->iev))));

	g->ris |= edge & (uint8_t)~g->is;
}

static int gpio_read(struct device *dev, uint64_t offset, void *data, unsigned len)
{
	struct pl061 *g = to_gpio(dev);
	uint32_t value;

	if (!access_ok(offset, len))
		return -EINVAL;
	if (offset < GPIO_DATA_END) {
		value = pin_levels(g) & (uint8_t)(offset >> 2);
	} else if (offset >= GPIO_ID_BASE) {
		value = pl061_id[(offset - GPIO_ID_BASE) / 4];
	} else {
		switch (offset) {
		case GPIO_DIR: value = g->dir; break;
		case GPIO_IS: value = g->is; break;
		case GPIO_IBE: value = g->ibe; break;
		case GPIO_IEV: value = g->iev; break;
		case GPIO_IE: value = g->ie; break;
		case GPIO_RIS: value = g->ris; break;
		case GPIO_MIS: value = g->ris & g->ie; break;
		case GPIO_AFSEL: value = g->afsel; break;
		default: return -EINVAL;
		}
	}
	memcpy(data, &value, len);
	return 0;
}

static int gpio_write(struct device *dev, uint64_t offset, const void *data, unsigned len)
{
	struct pl061 *g = to_gpio(dev);
	uint8_t before = pin_levels(g), value;
	uint32_t word = 0;

	if (!access_ok(offset, len))
		return -EINVAL;
	memcpy(&word, data, len);
	value = (uint8_t)word;
	if (offset < GPIO_DATA_END) {
		uint8_t mask = (uint8_t)(offset >> 2);

		g->out = (uint8_t)((g->out & ~mask) | (value & mask));
	} else {
		switch (offset) {
		case GPIO_DIR: g->dir = value; break;
		case GPIO_IS: g->is = value; break;
		case GPIO_IBE: g->ibe = value; break;
		case GPIO_IEV: g->iev = value; break;
		case GPIO_IE: g->ie = value; break;
		case GPIO_IC: g->ris &= (uint8_t)~value; break;
		case GPIO_AFSEL: g->afsel = value; break;
		default: return -EINVAL;
		}
	}
	gpio_edges(g, before, pin_levels(g));
	gpio_update(g);
	return 0;
}

static void gpio_reset(struct device *dev)
{
	struct pl061 *g = to_gpio(dev);

	g->out = g->dir = g->is = g->ibe = g->iev = g->ie = g->ris = g->afsel = 0;
	gpio_update(g);
}

int pl061_set_input(struct device *dev, unsigned pin, bool level)
{
	struct pl061 *g = to_gpio(dev);
	uint8_t before;

	if (pin >= PL061_NR_PINS)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	before = pin_levels(g);
	if (level)
		g->in |= (uint8_t)(1u << pin);
	else
		g->in &= (uint8_t) ~(1u << pin);
	gpio_edges(g, before, pin_levels(g));
	gpio_update(g);
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

static const char *const gpio_compatible[] = {"arm,pl061", "arm,primecell", NULL};

/* A reference to a line is <controller line flags>. */
static const struct device_desc gpio_desc = {
	.class_name = "gpio",
	.compatible = gpio_compatible,
	.irq_trigger = DEVICE_IRQ_LEVEL,
	.flags = DEVICE_BUS_CLOCK,
	.gpio_cells = 2,
};

static void gpio_destroy(struct device *dev)
{
	pthread_mutex_destroy(&dev->lock);
	free(to_gpio(dev));
}

#define GPIO_STATE_VERSION 1

static int gpio_save(struct device *dev, struct state_buf *out)
{
	struct pl061 *g = to_gpio(dev);
	const uint8_t regs[] = {g->in,  g->out, g->dir, g->is,   g->ibe,
				g->iev, g->ie,  g->ris, g->afsel};

	state_begin(out, "pl061", GPIO_STATE_VERSION);
	state_put_bytes(out, regs, sizeof(regs));
	return state_end(out);
}

static int gpio_load(struct device *dev, struct state_reader *in)
{
	struct pl061 *g = to_gpio(dev);
	struct state_reader rec;
	uint32_t version;
	uint8_t r[9];

	if (state_expect(in, "pl061", &version, &rec) < 0 || version != GPIO_STATE_VERSION)
		return -EINVAL;
	state_get_bytes(&rec, r, sizeof(r));
	if (state_finish(&rec) < 0)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	g->in = r[0], g->out = r[1], g->dir = r[2], g->is = r[3], g->ibe = r[4];
	g->iev = r[5], g->ie = r[6], g->ris = r[7], g->afsel = r[8];
	gpio_update(g);
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

static const struct device_ops pl061_ops = {
	.save = gpio_save,
	.load = gpio_load,
	.kind = "pl061-gpio",
	.read = gpio_read,
	.write = gpio_write,
	.reset = gpio_reset,
	.desc = &gpio_desc,
	.destroy = gpio_destroy,
};

int pl061_create(struct device_host *host, uint64_t base, unsigned irq, struct device **out)
{
	struct pl061 *g = calloc(1, sizeof(*g));
	int ret;

	if (!g)
		return host_error(host, -ENOMEM, "gpio: out of memory");
	device_init(&g->dev, &pl061_ops, "gpio", BUS_MMIO, base, PL061_SIZE, irq);
	ret = host_add_device(host, &g->dev);
	if (ret < 0)
		return ret;
	if (out)
		*out = &g->dev;
	return 0;
}
