/* virtio-console (virtio 1.x, 5.3) with a single port and no MULTIPORT: queue
 * 0 receives, queue 1 transmits. Both are served on the main loop. Output is
 * copied out of the transmit chains in batches and handed to console_output();
 * keyboard input waits in a bounded buffer until the guest posts receive
 * buffers, so input typed while the guest is busy is delivered late, not lost.
 *
 * Input also waits until the guest has written to the console once: Linux
 * posts its receive buffers before the port is on its list, and data that
 * arrives in between is discarded together with the buffers, which leaves
 * the console deaf; its console writes fail until the port is set up, so the
 * first one that arrives says input is safe. */
#include "devices/virtio_console.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_dev.h"
#include "vmm/adaptive_poll.h"
#include "vmm/console.h"
#include "vmm/device_host.h"
#include "vmm/device_type.h"
#include "vmm/log.h"
#include "vmm/state.h"

#define CONSOLE_RX_QUEUE 0
#define CONSOLE_TX_QUEUE 1
/* Input kept while the guest has no receive buffer; beyond it, dropped. */
#define CONSOLE_PENDING_SIZE (64 * 1024)
/* Output handed to console_output() at a time. */
#define CONSOLE_TX_BATCH 4096
/* Work done per turn of the loop; the rest waits for the next turn, so that a
 * guest that keeps the queue full cannot hold the loop. */
#define CONSOLE_TURN_BYTES (1024 * 1024)
#define CONSOLE_TURN_CHAINS 1024
/* virtio_console_config: cols, rows, max_nr_ports, emerg_wr; all unused
 * without SIZE, MULTIPORT and EMERG_WRITE, so it reads as zeros. */
#define CONSOLE_CONFIG_SIZE 12
/* How long transmitted output and its used-buffer interrupt are held back.
 * Linux's hvc driver spins until each buffer comes back (one round trip per
 * write, two per line of tty text) and then moves used_event past it, so a
 * held-back interrupt is usually no longer wanted when it would be sent, and
 * the output of many small writes leaves in one write to the host's stdout.
 * The timer that sends them is pushed back by kicks: while the guest keeps
 * writing it does not fire, as each wake-up of the loop costs the guest a
 * round trip when they share a CPU. Output held this long leaves with the
 * next kick, so it reaches the host at most this much later; each such write
 * wakes whoever reads it. bench/console, lines of text: 17x cheaper than the
 * 16550 with a timer every 1 ms, 22x with the timer pushed back (one L1
 * CPU); with two, 25x holding for 1 ms, 58x for 5 ms. */
#define CONSOLE_TX_HOLD_NS (5000 * 1000)
/* A turn that keeps finding work by polling ends after this long, and the
 * loop comes back after serving the others (without sleeping: a thread that
 * sleeps may wake on the CPU of the vCPU it waits for, which then cannot run). */
#define CONSOLE_TX_TURN_NS (1000 * 1000)
/* Bounds of the transmit ring's poll window (vmm/adaptive_poll.h): the hvc
 * driver's next write follows the last one's return within microseconds of
 * guest time, and a poll that long costs less than the kick it saves. */
#define CONSOLE_TX_POLL_MIN_NS (16 * 1000)
#define CONSOLE_TX_POLL_MAX_NS (256 * 1000)

struct virtio_console {
	struct virtio_dev *vdev;
	struct console *console;
	/* Written when a turn ended with work left: the loop comes back. */
	int more_fd;
	int tx_irq_fd;                /* timerfd: the held-back output and transmit interrupt */
	uint64_t tx_held_since;       /* when the batch's first byte came, loop thread only */
	uint64_t tx_timer_due;        /* when tx_irq_fd fires (monotonic ns), loop thread only */
	bool tx_irq_held;             /* the transmit interrupt waits; under the transmit queue */
	struct adaptive_poll tx_poll; /* loop thread only */
	pthread_mutex_t rx_lock;      /* the pending input, filled by console_input() */
	size_t pending_head, pending_len;
	bool dropping;            /* an overflow was reported and has not ended yet */
	_Atomic bool guest_wrote; /* since the driver started; see the top */
	uint8_t pending[CONSOLE_PENDING_SIZE];
	size_t tx_len;
	char tx_batch[CONSOLE_TX_BATCH];
	struct virtq_chain chain; /* scratch, too large for the stack */
};

static uint64_t monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void tx_flush(struct virtio_console *c)
{
	if (c->tx_len)
		console_output(c->console, c->tx_batch, c->tx_len);
	c->tx_len = 0;
}

/* Copies one chain's readable bytes into the batch; returns how many. */
static uint64_t tx_take_chain(struct virtio_console *c, const struct virtq_chain *chain)
{
	uint64_t off = 0, len = chain->out_len;

	if (len > CONSOLE_TURN_BYTES)
		len = CONSOLE_TURN_BYTES; /* Linux writes at most a page per buffer */
	while (off < len) {
		size_t room = CONSOLE_TX_BATCH - c->tx_len;
		size_t n = virtq_chain_read(chain, off, c->tx_batch + c->tx_len,
					    len - off < room ? (size_t)(len - off) : room);

		if (n == 0)
			break;
		if (!c->tx_len)
			c->tx_held_since = monotonic_ns();
		c->tx_len += n;
		off += n;
		if (c->tx_len == CONSOLE_TX_BATCH)
			tx_flush(c);
	}
	return off;
}

/* After a turn that took chains: output held long enough leaves now, and
 * the rest and the interrupt wait for the guest to pause (the timer). The
 * timer moves only once half its time has passed: one system call per kick
 * fewer, for a pause noticed after between one half and one hold time. */
static void tx_hold(struct virtio_console *c)
{
	uint64_t now = monotonic_ns(), due = now + CONSOLE_TX_HOLD_NS;
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)(due / 1000000000u),
					      .tv_nsec = (long)(due % 1000000000u)}};

	c->tx_irq_held = true;
	if (c->tx_len && now - c->tx_held_since >= CONSOLE_TX_HOLD_NS)
		tx_flush(c);
	if (c->tx_timer_due > now && c->tx_timer_due - now > CONSOLE_TX_HOLD_NS / 2)
		return;
	if (timerfd_settime(c->tx_irq_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0) {
		c->tx_timer_due = due;
		return;
	}
	tx_flush(c);
	c->tx_irq_held = false;
	virtio_queue_notify_driver(c->vdev, CONSOLE_TX_QUEUE);
}

/* On the main loop: the held-back transmit interrupt, if still wanted and
 * not already sent by a pause (vcon_quiesce()). */
static void on_tx_irq(void *opaque)
{
	struct virtio_console *c = opaque;
	uint64_t expirations;

	if (read(c->tx_irq_fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	c->tx_timer_due = 0;
	tx_flush(c);
	if (!virtio_queue_get(c->vdev, CONSOLE_TX_QUEUE))
		return;
	if (c->tx_irq_held)
		virtio_queue_notify_driver(c->vdev, CONSOLE_TX_QUEUE);
	c->tx_irq_held = false;
	virtio_queue_put(c->vdev, CONSOLE_TX_QUEUE);
}

enum tx_poll_result { TX_POLL_FOUND, TX_POLL_NOTHING, TX_POLL_TURN_OVER };

/* Watches the emptied transmit ring for the poll window, notifications still
 * off. Linux's hvc driver spins until each buffer comes back and writes the
 * next one right after, so with a CPU to spare this takes it without a kick. */
static enum tx_poll_result tx_poll(struct virtio_console *c, struct virtq *q, uint64_t turn_start)
{
	uint64_t start = monotonic_ns(), now = start;

	if (c->tx_poll.window_ns && start - turn_start >= CONSOLE_TX_TURN_NS)
		return TX_POLL_TURN_OVER;
	while (adaptive_poll_continue(&c->tx_poll, start, now)) {
		if (virtq_has_avail(q))
			return TX_POLL_FOUND;
		adaptive_poll_relax();
		now = monotonic_ns();
	}
	adaptive_poll_sleep(&c->tx_poll, now);
	return TX_POLL_NOTHING;
}

/* Returns the number of chains taken. */
static unsigned serve_tx(struct virtio_console *c)
{
	struct virtq *q = virtio_queue_get(c->vdev, CONSOLE_TX_QUEUE);
	uint64_t bytes = 0, turn_start = monotonic_ns();
	unsigned chains = 0;
	bool more = false;
	int ret = 0;

	if (!q)
		return 0;
	for (;;) {
		enum tx_poll_result polled;

		virtq_disable_notify(q);
		while ((ret = virtq_pop(q, &c->chain)) == 1) {
			bytes += tx_take_chain(c, &c->chain);
			if (virtq_push(q, &c->chain, 0) < 0) {
				ret = -EIO;
				break;
			}
			if (++chains == CONSOLE_TURN_CHAINS || bytes >= CONSOLE_TURN_BYTES) {
				more = true;
				break;
			}
		}
		if (ret != 0)
			break; /* broken, or the turn is full */
		polled = tx_poll(c, q, turn_start);
		if (polled == TX_POLL_FOUND)
			continue;
		if (polled == TX_POLL_TURN_OVER) {
			more = true; /* notifications stay off: on_more() comes back */
			break;
		}
		if (!virtq_enable_notify(q))
			break;
	}
	if (ret < 0 || q->broken)
		virtio_queue_fail(c->vdev, CONSOLE_TX_QUEUE, virtq_error(q));
	else if (chains)
		tx_hold(c);
	virtio_queue_put(c->vdev, CONSOLE_TX_QUEUE);
	if (more)
		eventfd_write(c->more_fd, 1);
	return chains;
}

/* Moves pending input into one receive chain; returns the bytes stored. */
static uint32_t rx_fill_chain(struct virtio_console *c, const struct virtq_chain *chain)
{
	uint32_t done = 0;

	while (c->pending_len && done < chain->in_len) {
		size_t n = CONSOLE_PENDING_SIZE - c->pending_head;

		if (n > c->pending_len)
			n = c->pending_len;
		n = virtq_chain_write(chain, done, c->pending + c->pending_head, n);
		if (n == 0)
			break;
		done += (uint32_t)n;
		c->pending_head = (c->pending_head + n) % CONSOLE_PENDING_SIZE;
		c->pending_len -= n;
	}
	return done;
}

/* With rx_lock held. Kicks are only asked for while input waits: a guest with
 * buffers and nothing to read needs no attention. */
static void serve_rx(struct virtio_console *c)
{
	struct virtq *q;
	unsigned chains = 0;
	bool more = false;
	int ret = 0;

	if (!c->pending_len || !atomic_load(&c->guest_wrote))
		return;
	q = virtio_queue_get(c->vdev, CONSOLE_RX_QUEUE);
	if (!q)
		return; /* not running yet: the input waits for the driver */
	do {
		while (c->pending_len && (ret = virtq_pop(q, &c->chain)) == 1) {
			if (virtq_push(q, &c->chain, rx_fill_chain(c, &c->chain)) < 0) {
				ret = -EIO;
				break;
			}
			if (++chains == CONSOLE_TURN_CHAINS) {
				more = true;
				break;
			}
		}
	} while (!more && ret == 0 && c->pending_len && virtq_enable_notify(q));
	if (ret < 0 || q->broken)
		virtio_queue_fail(c->vdev, CONSOLE_RX_QUEUE, virtq_error(q));
	else if (chains)
		virtio_queue_notify_driver(c->vdev, CONSOLE_RX_QUEUE);
	virtio_queue_put(c->vdev, CONSOLE_RX_QUEUE);
	if (!c->pending_len)
		c->dropping = false;
	if (more)
		eventfd_write(c->more_fd, 1);
}

/* Keyboard input (console_input()), on the main loop. */
static void vcon_receive(void *opaque, const char *buf, size_t len)
{
	struct virtio_console *c = opaque;
	size_t room;

	pthread_mutex_lock(&c->rx_lock);
	room = CONSOLE_PENDING_SIZE - c->pending_len;
	if (len > room) {
		if (!c->dropping)
			log_debug("virtio-console: the guest reads no input; %zu bytes dropped "
				  "(%d already waiting)",
				  len - room, CONSOLE_PENDING_SIZE);
		c->dropping = true;
		len = room;
	}
	for (size_t i = 0; i < len; i++)
		c->pending[(c->pending_head + c->pending_len + i) % CONSOLE_PENDING_SIZE] =
			(uint8_t)buf[i];
	c->pending_len += len;
	serve_rx(c);
	pthread_mutex_unlock(&c->rx_lock);
}

static void vcon_notify(void *backend, unsigned index)
{
	struct virtio_console *c = backend;

	if (index == CONSOLE_TX_QUEUE) {
		adaptive_poll_woken(&c->tx_poll, monotonic_ns());
		/* The first output opens the way for input. */
		if (serve_tx(c) && !atomic_exchange(&c->guest_wrote, true)) {
			pthread_mutex_lock(&c->rx_lock);
			serve_rx(c);
			pthread_mutex_unlock(&c->rx_lock);
		}
	} else if (index == CONSOLE_RX_QUEUE) {
		pthread_mutex_lock(&c->rx_lock);
		serve_rx(c);
		pthread_mutex_unlock(&c->rx_lock);
	}
}

static void on_more(void *opaque)
{
	eventfd_t count;

	if (eventfd_read(((struct virtio_console *)opaque)->more_fd, &count) < 0)
		return;
	vcon_notify(opaque, CONSOLE_TX_QUEUE);
	vcon_notify(opaque, CONSOLE_RX_QUEUE);
}

#define CONSOLE_STATE_VERSION 1

/* What a loaded device needs to go on as the saved one: the pending input,
 * oldest byte first, and whether the guest has written (which lets input
 * in). Output held back is the host's and leaves with the timer. */
static void vcon_save(void *backend, struct state_buf *out)
{
	struct virtio_console *c = backend;
	size_t first;

	pthread_mutex_lock(&c->rx_lock); /* vcon_receive() still adds input */
	first = CONSOLE_PENDING_SIZE - c->pending_head;
	if (first > c->pending_len)
		first = c->pending_len;
	state_begin(out, "virtio-console", CONSOLE_STATE_VERSION);
	state_put_bool(out, atomic_load(&c->guest_wrote));
	state_put_u32(out, (uint32_t)c->pending_len);
	state_put_bytes(out, c->pending + c->pending_head, first);
	state_put_bytes(out, c->pending, c->pending_len - first);
	state_end(out);
	pthread_mutex_unlock(&c->rx_lock);
}

static int vcon_load(void *backend, struct state_reader *in)
{
	struct virtio_console *c = backend;
	struct state_reader rec;
	uint32_t version, len;
	bool wrote;

	if (state_expect(in, "virtio-console", &version, &rec) < 0 ||
	    version != CONSOLE_STATE_VERSION)
		return -EINVAL;
	wrote = state_get_bool(&rec);
	len = state_get_u32(&rec);
	/* Exactly @len bytes follow, and no more than the device holds. */
	if (rec.err || len > CONSOLE_PENDING_SIZE || len != rec.len - rec.pos)
		return -EINVAL;
	pthread_mutex_lock(&c->rx_lock);
	state_get_bytes(&rec, c->pending, len);
	c->pending_head = 0;
	c->pending_len = len;
	c->dropping = false;
	atomic_store(&c->guest_wrote, wrote);
	pthread_mutex_unlock(&c->rx_lock);
	return state_finish(&rec);
}

/* Pausing, the core holding the queues: a transmit interrupt still held
 * back is sent now. The timer would find the device paused and send
 * nothing, and a saved device would go without it. The held-back output is
 * the host's: the timer still writes it. */
static void vcon_quiesce(void *backend)
{
	struct virtio_console *c = backend;

	if (c->tx_irq_held && virtio_queue_held(c->vdev, CONSOLE_TX_QUEUE))
		virtio_queue_notify_driver(c->vdev, CONSOLE_TX_QUEUE);
	c->tx_irq_held = false;
}

/* A new driver starts over: it has not written yet. The core has stopped
 * the queues, so nothing serves them meanwhile. */
static void vcon_reset(void *backend)
{
	struct virtio_console *c = backend;

	atomic_store(&c->guest_wrote, false);
	c->tx_irq_held = false;
}

static void vcon_destroy(void *backend)
{
	struct virtio_console *c = backend;

	if (c->console) {
		/* The loop has stopped: what it still held back goes out now. */
		tx_flush(c);
		console_set_input(c->console, NULL, NULL);
	}
	if (c->more_fd >= 0)
		close(c->more_fd);
	if (c->tx_irq_fd >= 0)
		close(c->tx_irq_fd);
	pthread_mutex_destroy(&c->rx_lock);
	free(c);
}

static const struct virtio_device_ops virtio_console_ops = {
	.kind = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.nr_queues = 2,
	.queue_max_size = 128,
	.config_size = CONSOLE_CONFIG_SIZE,
	.queue_notify = vcon_notify,
	.reset = vcon_reset,
	.quiesce = vcon_quiesce,
	.save = vcon_save,
	.load = vcon_load,
	.destroy = vcon_destroy,
};

int virtio_console_create(struct device_host *host, struct virtio_dev **out)
{
	struct virtio_console *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return host_error(host, -ENOMEM, "virtio-console: out of memory");
	pthread_mutex_init(&c->rx_lock, NULL);
	adaptive_poll_init(&c->tx_poll, CONSOLE_TX_POLL_MIN_NS, CONSOLE_TX_POLL_MAX_NS,
			   adaptive_poll_usable_cpus() > 1);
	c->tx_irq_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	c->more_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->more_fd < 0 || c->tx_irq_fd < 0) {
		ret = -errno;
		vcon_destroy(c);
		return host_error(host, ret, "virtio-console: eventfd: %s", strerror(-ret));
	}
	ret = virtio_dev_create(host, "virtio-console", &virtio_console_ops, c, &c->vdev);
	if (ret < 0)
		return ret; /* the core destroyed the backend */
	ret = host_watch_fd(host, c->more_fd, on_more, c);
	if (ret == 0)
		ret = host_watch_fd(host, c->tx_irq_fd, on_tx_irq, c);
	if (ret < 0) {
		virtio_dev_destroy(c->vdev);
		return ret;
	}
	/* The UART keeps printing early boot output; typing goes to hvc0. */
	c->console = host->console;
	console_set_input(host->console, vcon_receive, c);
	*out = c->vdev;
	return 0;
}

/* --console uart|virtio: "uart" (the default) asks for no device here. */
static int parse_console(const struct vm_config *cfg, void *config, const char *v, char *err,
			 size_t errlen)
{
	(void)cfg;
	(void)config;
	if (strcmp(v, "uart") == 0)
		return 0;
	if (strcmp(v, "virtio") == 0)
		return 1;
	return option_fail(err, errlen, "--console '%s': expected uart or virtio", v);
}

static int create_console(struct device_host *host, unsigned index, const void *config,
			  struct virtio_dev **out)
{
	(void)index;
	(void)config;
	return virtio_console_create(host, out);
}

static const struct device_type virtio_console_type = {
	.option = {"console", 0, OPTION_VALUE, "uart|virtio",
		   "guest console device: the UART (default) or virtio-console (pass console=hvc0)",
		   NULL, &virtio_console_type, OPTION_SCOPE_MACHINE},
	.max = 1,
	.order = 30,
	.parse = parse_console,
	.create_virtio = create_console,
};
DEVICE_TYPE_REGISTER(virtio_console_type);
