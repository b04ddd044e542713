/* virtio-net (virtio 1.x, 5.1) with its host end on a tap interface; both
 * queues are served on the main loop.
 *
 * Transmit (queue 1): on a kick the chains are drained and each frame, its
 * vnet header included, goes to the tap with one writev().
 *
 * Receive (queue 0): frames are read from the tap straight into the guest's
 * buffers. Chains are taken from the ring ahead of need into a small cache
 * holding room for the largest frame (with mergeable buffers; one chain
 * without), and one readv() covers the cached buffers plus a host spill
 * buffer, so a frame is never cut short: when the guest had too little room
 * the rest waits in the spill until it posts more. While the guest has no
 * buffers the tap is not read at all, so frames wait in the tap's own queue
 * and nothing is dropped here: the tap fd sits in a private epoll set (the
 * gate) that the loop watches, and leaves it until the guest kicks the
 * receive queue. */
#include "devices/virtio_net.h"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/tap.h"
#include "devices/virtio_dev.h"
#include "vmm/device_host.h"
#include "vmm/device_type.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"

#define NET_RX_QUEUE 0
#define NET_TX_QUEUE 1
#define NET_QUEUE_SIZE 256

/* Feature bits (virtio 1.x, 5.1.3). UFO is not offered: Linux no longer
 * builds such frames, and the tap would hand them on unsegmented. */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16

#define NET_FEATURES                                                            \
	((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |      \
	 (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_GUEST_TSO4) |       \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO6) | (1ULL << VIRTIO_NET_F_GUEST_ECN) | \
	 (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |  \
	 (1ULL << VIRTIO_NET_F_HOST_ECN) | (1ULL << VIRTIO_NET_F_MRG_RXBUF) |   \
	 (1ULL << VIRTIO_NET_F_STATUS))

#define VIRTIO_NET_S_LINK_UP 1
/* virtio_net_config: mac[6], status, max_virtqueue_pairs, mtu (unused
 * without MQ and MTU). */
#define NET_CONFIG_SIZE 12
/* Where num_buffers sits in virtio_net_hdr_v1. */
#define NET_HDR_NUM_BUFFERS 10

/* Above the largest frame a tap hands over: a 64 KiB GSO frame with its
 * Ethernet and VLAN headers, after the vnet header. */
#define NET_MAX_FRAME (68 * 1024)
#define NET_RX_MAX_CHAINS NET_QUEUE_SIZE
/* readv() takes at most 1024 (UIO_MAXIOV) buffers, the spill included. */
#define NET_RX_MAX_BUFS 1023
/* Work per turn of the loop, so that one busy device cannot hold it. */
#define NET_RX_TURN_FRAMES 64
#define NET_TX_TURN_CHAINS 256

/* A receive chain in the cache: its buffers follow those of the slot before. */
struct rx_slot {
	uint16_t head;
	unsigned nr_bufs;
	uint64_t len; /* writable bytes */
};

struct virtio_net {
	struct virtio_dev *vdev;
	char name[40]; /* "virtio-net-TAP", for messages */
	uint8_t config[NET_CONFIG_SIZE];
	int tap_fd;
	int gate_fd;    /* epoll set holding tap_fd while the guest has room */
	bool gate_open; /* (the gate is only touched on the loop) */
	bool tap_failed;
	int more_fd; /* written when transmit work was left for the next turn */
	uint64_t rx_dropped, tx_dropped;
	char why[128]; /* how the guest broke a queue, for virtio_queue_fail() */

	/* Receive chains taken from the ring and not yet returned, in ring
	 * order; only touched with the receive queue held. */
	struct rx_slot slots[NET_RX_MAX_CHAINS];
	unsigned slot_start, slot_end;
	struct virtq_buf bufs[NET_RX_MAX_BUFS];
	struct iovec iov[NET_RX_MAX_BUFS + 1]; /* bufs[] as readv() wants them, + the spill */
	unsigned buf_start, buf_end;
	uint64_t cached_bytes;
	/* A frame that outgrew the cache: its head fills the first
	 * partial_slots slots (partial_bufs buffers), the rest of the spill
	 * from spill_off on is still to be copied. */
	bool partial;
	uint64_t partial_len;
	unsigned partial_slots, partial_bufs;
	size_t spill_off, spill_len;
	uint8_t spill[NET_MAX_FRAME];

	struct virtq_chain chain; /* scratch, too large for the stack */
	struct iovec tx_iov[VIRTQ_MAX_CHAIN];
};

static bool mergeable(const struct virtio_net *n)
{
	return virtio_features(n->vdev) & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
}

static void gate_set(struct virtio_net *n, bool open)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = n->tap_fd};

	if (open == n->gate_open || (open && n->tap_failed))
		return;
	if (epoll_ctl(n->gate_fd, open ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, n->tap_fd, &ev) == 0)
		n->gate_open = open;
	else
		log_warn("%s: epoll_ctl: %s", n->name, strerror(errno));
}

/* Copies @len bytes from @src into the buffers, @off bytes in, or (@src
 * NULL) marks that many bytes dirty after readv() stored them. A copy is
 * marked once it is done: a page marked before the data lands could be
 * harvested without it. Every store into a receive buffer goes through
 * here, delivered or not: a dropped frame changed guest memory too. */
static size_t bufs_write(const struct guest_mem *mem, const struct virtq_buf *bufs, unsigned nr,
			 uint64_t off, const void *src, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < nr && done < len; i++) {
		size_t n;

		if (off >= bufs[i].len) {
			off -= bufs[i].len;
			continue;
		}
		n = bufs[i].len - off;
		if (n > len - done)
			n = len - done;
		if (src)
			memcpy(bufs[i].host + off, (const uint8_t *)src + done, n);
		guest_mem_mark_dirty(mem, bufs[i].gpa + off, n);
		done += n;
		off = 0;
	}
	return done;
}

static void rx_cache_clear(struct virtio_net *n)
{
	n->slot_start = n->slot_end = 0;
	n->buf_start = n->buf_end = 0;
	n->cached_bytes = 0;
	n->partial = false;
}

static unsigned rx_nr_slots(const struct virtio_net *n) { return n->slot_end - n->slot_start; }

/* Moves the cache to the front of its arrays, making room at the end. */
static void rx_compact(struct virtio_net *n)
{
	unsigned nr_slots = rx_nr_slots(n), nr_bufs = n->buf_end - n->buf_start;

	memmove(n->slots, n->slots + n->slot_start, nr_slots * sizeof(n->slots[0]));
	memmove(n->bufs, n->bufs + n->buf_start, nr_bufs * sizeof(n->bufs[0]));
	memmove(n->iov, n->iov + n->buf_start, nr_bufs * sizeof(n->iov[0]));
	n->slot_start = 0;
	n->slot_end = nr_slots;
	n->buf_start = 0;
	n->buf_end = nr_bufs;
}

/* Takes the next chain from the ring into the cache: 1 done, 0 the ring is
 * empty, -ENOSPC the cache is full, -EPROTO (reason in n->why) or -EIO when
 * the guest broke the queue. */
static int rx_take_chain(struct virtio_net *n, struct virtq *q)
{
	struct virtq_chain *c = &n->chain;
	struct rx_slot *slot;
	int ret;

	if (rx_nr_slots(n) == NET_RX_MAX_CHAINS ||
	    n->buf_end - n->buf_start + VIRTQ_MAX_CHAIN > NET_RX_MAX_BUFS)
		return -ENOSPC;
	if (n->slot_end == NET_RX_MAX_CHAINS || n->buf_end + VIRTQ_MAX_CHAIN > NET_RX_MAX_BUFS)
		rx_compact(n);
	ret = virtq_pop(q, c);
	if (ret <= 0)
		return ret;
	/* virtio 1.x, 5.1.6.3.1: every receive buffer holds at least the header. */
	if (c->in_len < TAP_VNET_HDR_LEN) {
		snprintf(n->why, sizeof(n->why),
			 "receive chain %u has %llu writable bytes, less than the %d-byte header",
			 c->head, (unsigned long long)c->in_len, TAP_VNET_HDR_LEN);
		return -EPROTO;
	}
	slot = &n->slots[n->slot_end++];
	*slot = (struct rx_slot){.head = c->head, .nr_bufs = c->nr_in, .len = c->in_len};
	for (unsigned i = c->nr_out; i < c->nr_out + c->nr_in; i++) {
		n->bufs[n->buf_end] = c->bufs[i];
		n->iov[n->buf_end] = (struct iovec){c->bufs[i].host, c->bufs[i].len};
		n->buf_end++;
	}
	n->cached_bytes += c->in_len;
	return 1;
}

/* Returns the frame of @len bytes at the front of the cache to the driver,
 * all its chains at once (the driver reads num_buffers, then expects them). */
static int rx_deliver(struct virtio_net *n, struct virtq *q, uint64_t len)
{
	struct virtq_used_elem used[NET_RX_MAX_CHAINS];
	unsigned k = 0, b = n->buf_start;
	uint64_t left = len;
	uint16_t num_buffers;

	/* The frame's bytes were marked as they were stored (bufs_write()). */
	while (left && n->slot_start + k < n->slot_end) {
		const struct rx_slot *s = &n->slots[n->slot_start + k];
		uint64_t w = left < s->len ? left : s->len;

		used[k++] = (struct virtq_used_elem){.head = s->head, .written = (uint32_t)w};
		left -= w;
		b += s->nr_bufs;
		n->cached_bytes -= s->len;
	}
	num_buffers = htole16((uint16_t)k);
	bufs_write(q->mem, &n->bufs[n->buf_start], n->slots[n->slot_start].nr_bufs,
		   NET_HDR_NUM_BUFFERS, &num_buffers, sizeof(num_buffers));
	n->slot_start += k;
	n->buf_start = b;
	return virtq_push_batch(q, used, k) < 0 ? -EIO : 1;
}

static void rx_drop(struct virtio_net *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void rx_drop(struct virtio_net *n, const char *fmt, ...)
{
	/* Reported once: a guest that keeps posting small buffers would flood. */
	if (n->rx_dropped++ == 0) {
		char what[128];
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		log_debug("%s: received frame dropped: %s (later drops not reported)", n->name,
			  what);
	}
}

/* A tap that fails for good (its interface was deleted) is left alone. */
static int tap_failed(struct virtio_net *n, const char *what, int err)
{
	log_warn("%s: %s: %s; no more frames from this tap", n->name, what, strerror(err));
	gate_set(n, false);
	n->tap_failed = true;
	return 0;
}

/* Reads one frame into the cached buffers and the spill. Returns 1 when a
 * frame was handled (delivered, parked in the spill or dropped), 0 when the
 * tap had none, -EIO when the queue broke. The cache holds a chain. */
static int rx_read_frame(struct virtio_net *n, struct virtq *q, bool mrg)
{
	unsigned first = n->buf_start;
	unsigned nr = mrg ? n->buf_end - first : n->slots[n->slot_start].nr_bufs;
	uint64_t room = mrg ? n->cached_bytes : n->slots[n->slot_start].len;
	ssize_t got;

	n->iov[first + nr] = (struct iovec){n->spill, sizeof(n->spill)};
	do {
		got = readv(n->tap_fd, &n->iov[first], (int)nr + 1);
	} while (got < 0 && errno == EINTR);
	if (first + nr < n->buf_end) /* the spill borrowed the next chain's place */
		n->iov[first + nr] =
			(struct iovec){n->bufs[first + nr].host, n->bufs[first + nr].len};
	if (got < 0)
		return errno == EAGAIN ? 0 : tap_failed(n, "read", errno);
	bufs_write(q->mem, &n->bufs[first], nr, 0, NULL,
		   (uint64_t)got < room ? (size_t)got : (size_t)room);
	if (got < TAP_VNET_HDR_LEN || (uint64_t)got >= room + sizeof(n->spill)) {
		rx_drop(n, "%zd bytes from the tap, %llu bytes of buffers", got,
			(unsigned long long)room);
		return 1;
	}
	if ((uint64_t)got <= room)
		return rx_deliver(n, q, (uint64_t)got);
	if (!mrg) {
		rx_drop(n, "%zd bytes do not fit the guest's %llu-byte buffer", got,
			(unsigned long long)room);
		return 1;
	}
	/* The guest's room ran out inside the frame: the rest waits. */
	n->partial = true;
	n->partial_len = (uint64_t)got;
	n->partial_slots = rx_nr_slots(n);
	n->partial_bufs = n->buf_end - n->buf_start;
	n->spill_off = 0;
	n->spill_len = (size_t)((uint64_t)got - room);
	return 1;
}

/* Copies the spilled rest of a frame into chains taken since and delivers the
 * frame once whole. 1 done (or dropped), 0 waiting for buffers, <0 broken. */
static int rx_finish_partial(struct virtio_net *n, struct virtq *q)
{
	while (n->spill_off < n->spill_len) {
		const struct rx_slot *s;
		size_t copied;

		if (n->slot_start + n->partial_slots == n->slot_end) {
			int ret = rx_take_chain(n, q);

			if (ret == -ENOSPC) {
				n->partial = false;
				rx_drop(n, "%llu bytes need more buffers than kvmkit holds at once",
					(unsigned long long)n->partial_len);
				return 1;
			}
			if (ret <= 0)
				return ret;
			continue;
		}
		s = &n->slots[n->slot_start + n->partial_slots];
		copied = bufs_write(q->mem, &n->bufs[n->buf_start + n->partial_bufs], s->nr_bufs, 0,
				    n->spill + n->spill_off, n->spill_len - n->spill_off);
		n->spill_off += copied;
		n->partial_slots++;
		n->partial_bufs += s->nr_bufs;
	}
	n->partial = false;
	return rx_deliver(n, q, n->partial_len);
}

/* Takes chains until the cache has room for the largest frame (mergeable
 * buffers) or holds one chain. 0, or <0 as rx_take_chain(). */
static int rx_fill(struct virtio_net *n, struct virtq *q, bool mrg)
{
	while (mrg ? n->cached_bytes < NET_MAX_FRAME : rx_nr_slots(n) == 0) {
		int ret = rx_take_chain(n, q);

		if (ret == 0 || ret == -ENOSPC)
			return 0;
		if (ret < 0)
			return ret;
	}
	return 0;
}

static void serve_rx(struct virtio_net *n)
{
	struct virtq *q = virtio_queue_get(n->vdev, NET_RX_QUEUE);
	unsigned frames = 0;
	bool mrg;
	int ret = 0;

	if (!q) {
		/* Not running: the kick that follows DRIVER_OK opens the gate again. */
		gate_set(n, false);
		return;
	}
	mrg = mergeable(n);
	while (frames < NET_RX_TURN_FRAMES && !n->tap_failed) {
		if (n->partial) {
			ret = rx_finish_partial(n, q);
		} else {
			ret = rx_fill(n, q, mrg);
			if (ret == 0 && rx_nr_slots(n) > 0) {
				ret = rx_read_frame(n, q, mrg);
				if (ret == 0)
					break; /* the tap is empty; the gate stays open */
			}
		}
		if (ret < 0)
			break;
		if (ret == 1) {
			frames++;
			continue;
		}
		/* Out of buffers: stop reading the tap until the guest posts more,
		 * unless some arrived meanwhile. */
		if (virtq_enable_notify(q))
			continue;
		gate_set(n, false);
		break;
	}
	if (ret < 0 || q->broken)
		virtio_queue_fail(n->vdev, NET_RX_QUEUE, ret == -EPROTO ? n->why : virtq_error(q));
	else if (frames)
		virtio_queue_notify_driver(n->vdev, NET_RX_QUEUE);
	virtio_queue_put(n->vdev, NET_RX_QUEUE);
}

/* One frame to the tap; the vnet header goes with it. */
static int tx_frame(struct virtio_net *n, const struct virtq_chain *c)
{
	ssize_t w;

	if (c->out_len < TAP_VNET_HDR_LEN) {
		snprintf(n->why, sizeof(n->why),
			 "transmit chain %u has %llu readable bytes, less than the %d-byte header",
			 c->head, (unsigned long long)c->out_len, TAP_VNET_HDR_LEN);
		return -EPROTO;
	}
	for (unsigned i = 0; i < c->nr_out; i++)
		n->tx_iov[i] = (struct iovec){c->bufs[i].host, c->bufs[i].len};
	do {
		w = writev(n->tap_fd, n->tx_iov, (int)c->nr_out);
	} while (w < 0 && errno == EINTR);
	/* A frame the host refuses (link down, bad GSO header) is lost, as on
	 * a wire; reported once. */
	if (w < 0 && n->tx_dropped++ == 0)
		log_debug("%s: frame of %llu bytes not sent: %s (later drops not reported)",
			  n->name, (unsigned long long)c->out_len, strerror(errno));
	return 0;
}

static void serve_tx(struct virtio_net *n)
{
	struct virtq *q = virtio_queue_get(n->vdev, NET_TX_QUEUE);
	unsigned chains = 0;
	bool more = false;
	int ret = 0;

	if (!q)
		return;
	do {
		virtq_disable_notify(q);
		while ((ret = virtq_pop(q, &n->chain)) == 1) {
			ret = tx_frame(n, &n->chain);
			if (ret < 0)
				break;
			if (virtq_push(q, &n->chain, 0) < 0) {
				ret = -EIO;
				break;
			}
			if (++chains == NET_TX_TURN_CHAINS) {
				more = true;
				break;
			}
		}
	} while (!more && ret == 0 && virtq_enable_notify(q));
	if (ret < 0 || q->broken)
		virtio_queue_fail(n->vdev, NET_TX_QUEUE, ret == -EPROTO ? n->why : virtq_error(q));
	else if (chains)
		virtio_queue_notify_driver(n->vdev, NET_TX_QUEUE);
	virtio_queue_put(n->vdev, NET_TX_QUEUE);
	if (more)
		eventfd_write(n->more_fd, 1);
}

static void net_notify(void *backend, unsigned index)
{
	struct virtio_net *n = backend;

	if (index == NET_TX_QUEUE) {
		serve_tx(n);
	} else if (index == NET_RX_QUEUE) {
		/* New buffers: read the tap again. */
		gate_set(n, true);
		serve_rx(n);
	}
}

static void on_gate(void *opaque) { serve_rx(opaque); }

static void on_more(void *opaque)
{
	struct virtio_net *n = opaque;
	eventfd_t count;

	if (eventfd_read(n->more_fd, &count) == 0)
		serve_tx(n);
}

/* Features are final: the tap hands over only what the guest accepted. */
static int net_activate(void *backend)
{
	struct virtio_net *n = backend;
	uint64_t f = virtio_features(n->vdev);
	struct tap_offloads off = {
		.csum = f & (1ULL << VIRTIO_NET_F_GUEST_CSUM),
		.tso4 = f & (1ULL << VIRTIO_NET_F_GUEST_TSO4),
		.tso6 = f & (1ULL << VIRTIO_NET_F_GUEST_TSO6),
		.ecn = f & (1ULL << VIRTIO_NET_F_GUEST_ECN),
	};
	int ret = tap_set_offloads(n->tap_fd, &off);

	/* The tap keeps every offload off then: slower, still correct. */
	if (ret < 0)
		log_warn("%s: TUNSETOFFLOAD: %s", n->name, strerror(-ret));
	return 0;
}

/* Pausing: chains taken for frames not yet delivered go back to the ring
 * (the driver sees nothing: they were never used), and a frame half read
 * into them is dropped, as a NIC may drop one. The core holds every queue's
 * lock and serves none until unquiesce. */
static void net_quiesce(void *backend)
{
	struct virtio_net *n = backend;
	struct virtq *q = virtio_queue_held(n->vdev, NET_RX_QUEUE);

	if (q)
		q->last_avail_idx = (uint16_t)(q->last_avail_idx - rx_nr_slots(n));
	rx_cache_clear(n);
	gate_set(n, false);
}

/* The queues are gone (the transport holds no queue lock of ours now and no
 * serve_*() can run until the next activation). */
/* The receive queue stopped (its ring may move): the cached chains belong to
 * the old ring and are forgotten, as is a frame half delivered into them. */
static void net_queue_stop(void *backend, unsigned index)
{
	struct virtio_net *n = backend;

	if (index == NET_RX_QUEUE)
		rx_cache_clear(n);
}

static void net_reset(void *backend)
{
	struct virtio_net *n = backend;
	struct tap_offloads none = {0};

	rx_cache_clear(n);
	tap_set_offloads(n->tap_fd, &none);
}

static void net_config_read(void *backend, uint32_t offset, void *data, unsigned len)
{
	memcpy(data, ((struct virtio_net *)backend)->config + offset, len);
}

static void net_destroy(void *backend)
{
	struct virtio_net *n = backend;

	if (n->tap_fd >= 0)
		close(n->tap_fd);
	if (n->gate_fd >= 0)
		close(n->gate_fd);
	if (n->more_fd >= 0)
		close(n->more_fd);
	free(n);
}

/* No save/load of its own: after quiesce the device keeps nothing beyond
 * its queues (the receive chains went back to the ring; offloads follow the
 * features at activation; frames not yet read wait in the tap). */
static const struct virtio_device_ops virtio_net_ops = {
	.kind = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = 2,
	.queue_max_size = NET_QUEUE_SIZE,
	.features = NET_FEATURES,
	.config_size = NET_CONFIG_SIZE,
	.config_read = net_config_read,
	.activate = net_activate,
	.queue_notify = net_notify,
	.reset = net_reset,
	.queue_stop = net_queue_stop,
	.quiesce = net_quiesce,
	.destroy = net_destroy,
};

/* A stable, locally administered unicast address from the tap's name, so the
 * guest sees the same one on every boot. */
static void default_mac(const char *tap, uint8_t mac[6])
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const char *p = tap; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	mac[0] = 0x02;
	mac[1] = 0x6b; /* "kk" */
	mac[2] = 0x6b;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

int virtio_net_create_on_fd(struct device_host *host, const struct vm_net_config *cfg, int tap_fd,
			    struct virtio_dev **out)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	uint16_t status = htole16(VIRTIO_NET_S_LINK_UP), pairs = htole16(1);
	int ret;

	if (!n) {
		close(tap_fd);
		return host_error(host, -ENOMEM, "virtio-net: out of memory");
	}
	n->gate_fd = n->more_fd = -1;
	snprintf(n->name, sizeof(n->name), "virtio-net-%s", cfg->tap);
	if (cfg->has_mac)
		memcpy(n->config, cfg->mac, 6);
	else
		default_mac(cfg->tap, n->config);
	memcpy(n->config + 6, &status, 2);
	memcpy(n->config + 8, &pairs, 2);
	n->tap_fd = tap_fd;
	n->gate_fd = epoll_create1(EPOLL_CLOEXEC);
	n->more_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (n->gate_fd < 0 || n->more_fd < 0) {
		ret = -errno;
		net_destroy(n);
		return host_error(host, ret, "virtio-net %s: %s", cfg->tap, strerror(-ret));
	}
	ret = virtio_dev_create(host, n->name, &virtio_net_ops, n, &n->vdev);
	if (ret < 0)
		return ret; /* the core destroyed the backend */
	ret = host_watch_fd(host, n->gate_fd, on_gate, n);
	if (ret == 0)
		ret = host_watch_fd(host, n->more_fd, on_more, n);
	if (ret < 0) {
		virtio_dev_destroy(n->vdev);
		return ret;
	}
	*out = n->vdev;
	return 0;
}

int virtio_net_create(struct device_host *host, const struct vm_net_config *cfg,
		      struct virtio_dev **out)
{
	int fd = tap_open(host, cfg->tap);

	if (fd < 0)
		return fd;
	return virtio_net_create_on_fd(host, cfg, fd, out);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "02:ab:cd:ef:01:23": six bytes in hex, colon-separated. */
static int parse_mac(const char *text, size_t len, uint8_t mac[6])
{
	if (len != 17)
		return -EINVAL;
	for (unsigned i = 0; i < 6; i++) {
		int hi = hex_digit(text[3 * i]), lo = hex_digit(text[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && text[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* One sub-option of --net, @len bytes at @opt. */
static int set_net_suboption(struct vm_net_config *net, const char *v, const char *opt, size_t len,
			     char *err, size_t errlen)
{
	if (len >= 4 && memcmp(opt, "tap=", 4) == 0) {
		const char *name = opt + 4;
		size_t name_len = len - 4;

		if (name_len == 0)
			return option_fail(err, errlen,
					   "--net '%s': the tap name must not be empty", v);
		if (name_len > VM_NET_NAME_MAX)
			return option_fail(err, errlen,
					   "--net '%s': tap name '%.*s' is longer than %d bytes", v,
					   (int)name_len, name, VM_NET_NAME_MAX);
		if (memchr(name, '/', name_len) || memchr(name, ' ', name_len))
			return option_fail(err, errlen,
					   "--net '%s': '%.*s' is not an interface name", v,
					   (int)name_len, name);
		memset(net->tap, 0, sizeof(net->tap));
		memcpy(net->tap, name, name_len);
	} else if (len >= 4 && memcmp(opt, "mac=", 4) == 0) {
		uint8_t *m = net->mac;

		if (parse_mac(opt + 4, len - 4, m) < 0)
			return option_fail(err, errlen,
					   "--net '%s': MAC '%.*s': expected six hex bytes such as "
					   "02:00:00:00:00:01",
					   v, (int)(len - 4), opt + 4);
		if ((m[0] & 1) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
			return option_fail(err, errlen,
					   "--net '%s': MAC '%.*s' is not a unicast address", v,
					   (int)(len - 4), opt + 4);
		net->has_mac = true;
	} else {
		return option_fail(
			err, errlen,
			"--net '%s': unknown sub-option '%.*s' (expected tap=NAME or mac=MAC)", v,
			(int)len, opt);
	}
	return 0;
}

static const struct device_type virtio_net_type;

/* --net tap=NAME[,mac=MAC] */
static int parse_net(const struct vm_config *cfg, void *config, const char *v, char *err,
		     size_t errlen)
{
	struct vm_net_config *net = config;
	unsigned nr_nets = vm_config_device_count(cfg, &virtio_net_type);
	const char *opt = v;
	int ret;

	if (nr_nets == VM_MAX_NETS)
		return option_fail(err, errlen, "--net '%s': at most %d network devices", v,
				   VM_MAX_NETS);
	while (opt) {
		const char *end = strchr(opt, ',');

		ret = set_net_suboption(net, v, opt, end ? (size_t)(end - opt) : strlen(opt), err,
					errlen);
		if (ret < 0)
			return ret;
		opt = end ? end + 1 : NULL;
	}
	if (net->tap[0] == '\0')
		return option_fail(err, errlen, "--net '%s': no tap=NAME given", v);
	for (unsigned i = 0; i < nr_nets; i++) {
		const struct vm_net_config *other = vm_config_device(cfg, &virtio_net_type, i);

		if (strcmp(other->tap, net->tap) == 0)
			return option_fail(err, errlen,
					   "--net '%s': tap %s is already used by another --net", v,
					   net->tap);
	}
	return 1;
}

static int create_net(struct device_host *host, unsigned index, const void *config,
		      struct virtio_dev **out)
{
	(void)index; /* named after its tap */
	return virtio_net_create(host, config, out);
}

static int check_net(struct device_host *host, const void *config)
{
	return tap_check(host, ((const struct vm_net_config *)config)->tap);
}

static const struct device_type virtio_net_type = {
	.option = {"net", 0, OPTION_LIST, "tap=NAME[,mac=MAC]",
		   "virtio-net device on an existing tap interface (up to 4)", NULL,
		   &virtio_net_type, OPTION_SCOPE_MACHINE},
	.max = VM_MAX_NETS,
	.config_size = sizeof(struct vm_net_config),
	.order = 40,
	.restore_replaces = true,
	.parse = parse_net,
	.check = check_net,
	.create_virtio = create_net,
};
DEVICE_TYPE_REGISTER(virtio_net_type);
