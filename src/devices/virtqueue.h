/* The device side of a split virtqueue (virtio 1.x, section 2.7), written for
 * a hostile driver. Every value read from guest memory is checked before use:
 * chain walks are bounded by the queue size, `next` must be inside the table,
 * indirect tables may not nest and must be a whole number of descriptors,
 * address and length sums may not overflow, every buffer must lie in guest
 * RAM, and the avail index may not run ahead by more than the queue size.
 * Any violation marks the queue broken: it then refuses all work and
 * virtq_error() says what the guest did. Not thread-safe: one thread (the one
 * serving the queue) drives a queue at a time. */
#ifndef KVMKIT_VIRTQUEUE_H
#define KVMKIT_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_mem;

#define VIRTQ_MAX_SIZE 32768
/* The longest chain a device accepts, in descriptors (direct plus indirect,
 * zero-length ones included, the one pointing to an indirect table not), so
 * that one walk does bounded work whatever the tables hold. */
#define VIRTQ_MAX_CHAIN 256

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

/* Feature bits the virtqueue implements. */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One buffer of a chain, already translated to host memory. */
struct virtq_buf {
	uint8_t *host;
	uint64_t gpa;
	uint32_t len;
};

/* A descriptor chain: device-readable buffers first (out), then
 * device-writable ones (in), as the spec requires of drivers. */
struct virtq_chain {
	uint16_t head;
	unsigned nr_out;
	unsigned nr_in;
	uint64_t out_len;                       /* total bytes readable */
	uint64_t in_len;                        /* total bytes writable */
	struct virtq_buf bufs[VIRTQ_MAX_CHAIN]; /* [0, nr_out) out, [nr_out, nr_out + nr_in) in */
};

struct virtq {
	const struct guest_mem *mem;
	uint16_t size;
	bool event_idx;     /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect_desc; /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* Host views of the three rings, valid after virtq_init(). */
	struct virtq_desc *desc;
	uint16_t *avail;         /* flags, idx, ring[size], used_event */
	uint8_t *used;           /* flags, idx, ring[size] of {id, len}, avail_event */
	uint16_t last_avail_idx; /* next avail entry to take */
	uint16_t used_idx;       /* next used entry to fill */
	uint16_t signalled_used; /* used_idx when the driver was last interrupted */
	bool signalled_valid;
	bool broken;
	char error[160];
};

/* Checks and maps a queue the driver configured: size a power of two from 1
 * to VIRTQ_MAX_SIZE; descriptor table 16-byte, avail 2-byte and used 4-byte
 * aligned; each ring wholly inside one region of guest RAM (the used_event and
 * avail_event fields included, whatever the features). Indices start at 0; a
 * restore may set last_avail_idx and used_idx afterwards. Returns 0, or
 * -EINVAL with the queue marked broken and the reason in virtq_error(). A
 * queue never initialised (all zero) refuses work like a broken one. */
int virtq_init(struct virtq *q, const struct guest_mem *mem, uint16_t size, uint64_t desc_gpa,
	       uint64_t avail_gpa, uint64_t used_gpa, bool event_idx, bool indirect_desc);

/* Takes the next available chain. Returns 1 with @chain filled, 0 when the
 * driver has made nothing available, -EIO when the queue is (or just became)
 * broken. Each descriptor is read from guest memory once, so a driver that
 * rewrites the table meanwhile cannot slip past the checks. Zero-length
 * buffers are checked for order but left out of @chain. An indirect
 * descriptor must end the direct chain (no NEXT). */
int virtq_pop(struct virtq *q, struct virtq_chain *chain);

/* Returns @chain to the driver, telling it @written bytes were stored into
 * its writable buffers, and marks those bytes (and the used ring entry and
 * index) dirty in guest memory. -EINVAL, without breaking the queue, if
 * @written exceeds the chain's writable length (a device bug); -EIO if
 * broken. */
int virtq_push(struct virtq *q, const struct virtq_chain *chain, uint32_t written);

/* One used ring entry: the chain's head and the bytes stored into it. */
struct virtq_used_elem {
	uint16_t head;
	uint32_t written;
};

/* Returns @n chains to the driver with one used index update, so that it sees
 * all of them or none: for a unit it reads as one, such as a frame spread over
 * several mergeable receive buffers. Marks the used ring dirty; the caller
 * marks the bytes it stored (guest_mem_mark_dirty()) and checks @written
 * against each chain. -EINVAL, without breaking the queue, if @n exceeds the
 * queue size or a head is outside it (a device bug); -EIO if broken. */
int virtq_push_batch(struct virtq *q, const struct virtq_used_elem *elems, unsigned n);

/* After one or more pushes: whether the driver wants an interrupt now
 * (used_event with EVENT_IDX, else the avail ring's NO_INTERRUPT flag).
 * Updates the record of what was signalled; call once per batch. */
bool virtq_should_interrupt(struct virtq *q);

/* Asks the driver to notify (kick) when it makes more buffers available and
 * returns true if some arrived meanwhile, so a caller that was about to sleep
 * polls again instead of missing them. Call it before every sleep: with
 * EVENT_IDX it asks for one kick after the entries taken so far, e.g.
 *	do { virtq_disable_notify(q); while (virtq_pop(q, c) == 1) ...; }
 *	while (virtq_enable_notify(q)); */
bool virtq_enable_notify(struct virtq *q);

/* Asks the driver not to notify while the device is busy polling. */
void virtq_disable_notify(struct virtq *q);

/* Whether the driver has made buffers available that were not popped yet: a
 * cheap look at the avail index for a device polling the ring. */
bool virtq_has_avail(struct virtq *q);

/* Copies up to @len bytes out of the chain's readable buffers from @offset;
 * returns the number copied. */
size_t virtq_chain_read(const struct virtq_chain *chain, uint64_t offset, void *dst, size_t len);

/* Copies up to @len bytes into the chain's writable buffers from @offset;
 * returns the number copied. The caller reports the total through virtq_push(). */
size_t virtq_chain_write(const struct virtq_chain *chain, uint64_t offset, const void *src,
			 size_t len);

/* Why the queue is broken ("descriptor 3: next 9 >= queue size 8"), or "". */
const char *virtq_error(const struct virtq *q);

#endif
