/* 16550A register model. Transmission is instant (THR is always empty), so
 * the guest never waits on us; received bytes queue in a FIFO larger than the
 * chip's so a paste is not lost. Loopback mode is modelled because Linux's
 * 8250 driver probes with it. */
#include "devices/uart_16550.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/console.h"
#include "vmm/device_desc.h"
#include "vmm/device_host.h"
#include "vmm/state.h"

enum {
	REG_RBR_THR_DLL = 0,
	REG_IER_DLM = 1,
	REG_IIR_FCR = 2,
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7,
};

#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO_ON 0xc0
#define FCR_FIFO_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_DCD 0x80
#define MSR_DSR 0x20
#define MSR_CTS 0x10

#define RX_FIFO_SIZE 4096

struct uart_16550 {
	struct device dev;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thr_interrupt; /* THRE interrupt pending until IIR is read or THR written */
	bool irq_level;
	unsigned rx_head, rx_count;
	uint8_t rx[RX_FIFO_SIZE];
};

static struct uart_16550 *to_uart(struct device *dev)
{
	return container_of(dev, struct uart_16550, dev);
}

static uint8_t uart_iir(const struct uart_16550 *u)
{
	uint8_t fifo = (u->fcr & FCR_FIFO_ENABLE) ? IIR_FIFO_ON : 0;

	if ((u->ier & IER_RDI) && u->rx_count)
		return fifo | IIR_RDI;
	if ((u->ier & IER_THRI) && u->thr_interrupt)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

static void uart_update_irq(struct uart_16550 *u)
{
	bool level = !(uart_iir(u) & IIR_NO_INT);

	if (level != u->irq_level) {
		u->irq_level = level;
		device_set_irq(&u->dev, level);
	}
}

static void rx_push(struct uart_16550 *u, const char *buf, size_t len)
{
	for (size_t i = 0; i < len && u->rx_count < RX_FIFO_SIZE; i++) {
		u->rx[(u->rx_head + u->rx_count) % RX_FIFO_SIZE] = (uint8_t)buf[i];
		u->rx_count++;
	}
}

static uint8_t rx_pop(struct uart_16550 *u)
{
	uint8_t c;

	if (!u->rx_count)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % RX_FIFO_SIZE;
	u->rx_count--;
	return c;
}

static void uart_transmit(struct uart_16550 *u, uint8_t c)
{
	if (u->mcr & MCR_LOOP)
		rx_push(u, (const char *)&c, 1);
	else
		console_output(u->dev.host->console, (const char *)&c, 1);
	u->thr_interrupt = true;
}

static uint8_t uart_msr(const struct uart_16550 *u)
{
	if (u->mcr & MCR_LOOP) {
		/* DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
		return (uint8_t)(((u->mcr & 0x01) << 5) | ((u->mcr & 0x02) << 3) |
				 ((u->mcr & 0x04) << 4) | ((u->mcr & 0x08) << 4));
	}
	return MSR_DCD | MSR_DSR | MSR_CTS;
}

static int uart_read(struct device *dev, uint64_t offset, void *data, unsigned len)
{
	struct uart_16550 *u = to_uart(dev);
	uint8_t value = 0;

	if (len != 1)
		return -EINVAL;
	switch (offset) {
	case REG_RBR_THR_DLL: value = (u->lcr & LCR_DLAB) ? u->dll : rx_pop(u); break;
	case REG_IER_DLM: value = (u->lcr & LCR_DLAB) ? u->dlm : u->ier; break;
	case REG_IIR_FCR:
		value = uart_iir(u);
		if ((value & 0x0f) == IIR_THRI)
			u->thr_interrupt = false;
		break;
	case REG_LCR: value = u->lcr; break;
	case REG_MCR: value = u->mcr; break;
	case REG_LSR: value = LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0); break;
	case REG_MSR: value = uart_msr(u); break;
	case REG_SCR: value = u->scr; break;
	default: return -EINVAL;
	}
	*(uint8_t *)data = value;
	uart_update_irq(u);
	return 0;
}

static int uart_write(struct device *dev, uint64_t offset, const void *data, unsigned len)
{
	struct uart_16550 *u = to_uart(dev);
	uint8_t value;

	if (len != 1)
		return -EINVAL;
	value = *(const uint8_t *)data;
	switch (offset) {
	case REG_RBR_THR_DLL:
		if (u->lcr & LCR_DLAB)
			u->dll = value;
		else
			uart_transmit(u, value);
		break;
	case REG_IER_DLM:
		if (u->lcr & LCR_DLAB) {
			u->dlm = value;
		} else {
			/* Enabling THRI with an empty THR raises the interrupt at once. */
			if (!(u->ier & IER_THRI) && (value & IER_THRI))
				u->thr_interrupt = true;
			u->ier = value & 0x0f;
		}
		break;
	case REG_IIR_FCR:
		u->fcr = value & (uint8_t)~0x06;
		if (value & FCR_CLEAR_RX)
			u->rx_head = u->rx_count = 0;
		break;
	case REG_LCR: u->lcr = value; break;
	case REG_MCR: u->mcr = value & 0x1f; break;
	case REG_LSR:
	case REG_MSR: break; /* read-only; writes are ignored as on the chip */
	case REG_SCR: u->scr = value; break;
	default: return -EINVAL;
	}
	uart_update_irq(u);
	return 0;
}

static void uart_reset(struct device *dev)
{
	struct uart_16550 *u = to_uart(dev);

	u->ier = u->lcr = u->mcr = u->scr = u->fcr = u->dll = u->dlm = 0;
	u->thr_interrupt = false;
	u->rx_head = u->rx_count = 0;
	uart_update_irq(u);
}

static const char *const uart_compatible[] = {"ns16550a", NULL};

static const struct device_prop uart_props[] = {
	{.name = "clock-frequency", .type = DEVICE_PROP_U32, .u32 = UART_16550_CLOCK_HZ},
	{.name = "reg-io-width", .type = DEVICE_PROP_U32, .u32 = 1},
	{.name = "reg-shift", .type = DEVICE_PROP_U32, .u32 = 0},
	{.name = NULL},
};

static const struct device_desc uart_desc = {
	.class_name = "serial",
	.compatible = uart_compatible,
	.irq_trigger = DEVICE_IRQ_LEVEL,
	.props = uart_props,
};

static void uart_destroy(struct device *dev)
{
	struct uart_16550 *u = to_uart(dev);

	if (dev->host)
		console_set_input(dev->host->console, NULL, NULL);
	pthread_mutex_destroy(&dev->lock);
	free(u);
}

/* Keyboard input, from the main loop. */
static void uart_receive(void *opaque, const char *buf, size_t len)
{
	struct uart_16550 *u = opaque;

	pthread_mutex_lock(&u->dev.lock);
	rx_push(u, buf, len);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->dev.lock);
}

#define UART_STATE_VERSION 1

/* Registers and the receive FIFO's contents, oldest byte first. */
static int uart_save(struct device *dev, struct state_buf *out)
{
	struct uart_16550 *u = to_uart(dev);
	const uint8_t regs[] = {u->ier, u->lcr, u->mcr, u->scr, u->fcr, u->dll, u->dlm};

	state_begin(out, "uart-16550", UART_STATE_VERSION);
	state_put_bytes(out, regs, sizeof(regs));
	state_put_bool(out, u->thr_interrupt);
	state_put_u32(out, u->rx_count);
	for (unsigned i = 0; i < u->rx_count; i++)
		state_put_u8(out, u->rx[(u->rx_head + i) % RX_FIFO_SIZE]);
	return state_end(out);
}

static int uart_load(struct device *dev, struct state_reader *in)
{
	struct uart_16550 *u = to_uart(dev);
	struct state_reader rec;
	uint32_t version, count;
	uint8_t r[7];
	bool thr;

	if (state_expect(in, "uart-16550", &version, &rec) < 0 || version != UART_STATE_VERSION)
		return -EINVAL;
	state_get_bytes(&rec, r, sizeof(r));
	thr = state_get_bool(&rec);
	count = state_get_u32(&rec);
	if (rec.err || count > RX_FIFO_SIZE || count != rec.len - rec.pos)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	u->ier = r[0], u->lcr = r[1], u->mcr = r[2], u->scr = r[3], u->fcr = r[4];
	u->dll = r[5], u->dlm = r[6];
	u->thr_interrupt = thr;
	u->rx_head = 0;
	u->rx_count = count;
	state_get_bytes(&rec, u->rx, count);
	uart_update_irq(u);
	pthread_mutex_unlock(&dev->lock);
	return state_finish(&rec);
}

static const struct device_ops uart_16550_ops = {
	.save = uart_save,
	.load = uart_load,
	.kind = "uart-16550",
	.read = uart_read,
	.write = uart_write,
	.reset = uart_reset,
	.desc = &uart_desc,
	.destroy = uart_destroy,
};

int uart_16550_create(struct device_host *host, const char *name, enum bus_space space,
		      uint64_t base, unsigned irq, struct device **out)
{
	struct uart_16550 *u = calloc(1, sizeof(*u));
	int ret;

	if (!u)
		return host_error(host, -ENOMEM, "%s: out of memory", name);
	device_init(&u->dev, &uart_16550_ops, name, space, base, UART_16550_SIZE, irq);
	ret = host_add_device(host, &u->dev);
	if (ret < 0)
		return ret;
	console_set_input(host->console, uart_receive, u);
	if (out)
		*out = &u->dev;
	return 0;
}
