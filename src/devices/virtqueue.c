#include "devices/virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm/guest_mem.h"

#define DESC_BYTES 16
#define USED_ELEM_BYTES 8

/* Ring sizes (virtio 1.x, 2.7). Both rings end in an event field that is only
 * meaningful with EVENT_IDX but is mapped always, so that the checks made at
 * virtq_init() do not depend on the features. */
static uint64_t desc_table_bytes(uint16_t size) { return (uint64_t)DESC_BYTES * size; }
static uint64_t avail_ring_bytes(uint16_t size) { return 6 + 2 * (uint64_t)size; }
static uint64_t used_ring_bytes(uint16_t size) { return 6 + (uint64_t)USED_ELEM_BYTES * size; }

static int mark_broken(struct virtq *q, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Only the first reason is kept: later ones are usually its consequences. */
static int mark_broken(struct virtq *q, int err, const char *fmt, ...)
{
	if (!q->broken) {
		va_list ap;

		q->broken = true;
		va_start(ap, fmt);
		vsnprintf(q->error, sizeof(q->error), fmt, ap);
		va_end(ap);
	}
	return err;
}

/* A queue that virtq_init() never accepted has size 0 and no rings. */
static bool usable(const struct virtq *q) { return !q->broken && q->size != 0; }

/* The avail ring: flags, idx, ring[size], used_event. */
static uint16_t *avail_flags(const struct virtq *q) { return &q->avail[0]; }
static uint16_t *avail_idx(const struct virtq *q) { return &q->avail[1]; }
static uint16_t *avail_entry(const struct virtq *q, uint16_t idx)
{
	return &q->avail[2 + (idx & (q->size - 1))];
}
static uint16_t *used_event(const struct virtq *q) { return &q->avail[2 + q->size]; }

/* The used ring: flags, idx, ring[size] of {id, len}, avail_event. */
static uint16_t *used_flags(const struct virtq *q) { return (uint16_t *)q->used; }
static uint16_t *used_idx(const struct virtq *q) { return (uint16_t *)(q->used + 2); }
static uint32_t *used_entry(const struct virtq *q, uint16_t idx)
{
	return (uint32_t *)(q->used + 4 + (uint64_t)USED_ELEM_BYTES * (idx & (q->size - 1)));
}
static uint16_t *avail_event(const struct virtq *q)
{
	return (uint16_t *)(q->used + 4 + (uint64_t)USED_ELEM_BYTES * q->size);
}

/* Guest address of a field of the used ring, for the dirty bitmap. */
static uint64_t used_gpa_of(const struct virtq *q, const void *field)
{
	return q->used_gpa + (uint64_t)((const uint8_t *)field - q->used);
}

static void store_used_u16(struct virtq *q, uint16_t *field, uint16_t value)
{
	__atomic_store_n(field, htole16(value), __ATOMIC_RELAXED);
	guest_mem_mark_dirty(q->mem, used_gpa_of(q, field), sizeof(*field));
}

static void *map_ring(struct virtq *q, const char *what, uint64_t gpa, uint64_t len, uint64_t align)
{
	void *host;

	if (gpa & (align - 1)) {
		mark_broken(q, 0, "%s at 0x%" PRIx64 " is not %" PRIu64 "-byte aligned", what, gpa,
			    align);
		return NULL;
	}
	host = guest_mem_ptr(q->mem, gpa, len);
	if (!host) {
		mark_broken(q, 0, "%s 0x%" PRIx64 " +%" PRIu64 " is outside guest RAM", what, gpa,
			    len);
		return NULL;
	}
	/* The rings are read and written with atomic accesses of their own
	 * width; a region whose host address is aligned unlike its guest
	 * address is the VMM's mistake, but it must not become a fault. */
	if ((uintptr_t)host & (align - 1)) {
		mark_broken(q, 0,
			    "%s at 0x%" PRIx64 " is not %" PRIu64 "-byte aligned in host memory",
			    what, gpa, align);
		return NULL;
	}
	return host;
}

int virtq_init(struct virtq *q, const struct guest_mem *mem, uint16_t size, uint64_t desc_gpa,
	       uint64_t avail_gpa, uint64_t used_gpa, bool event_idx, bool indirect_desc)
{
	void *desc, *avail, *used;

	*q = (struct virtq){
		.mem = mem,
		.event_idx = event_idx,
		.indirect_desc = indirect_desc,
		.desc_gpa = desc_gpa,
		.avail_gpa = avail_gpa,
		.used_gpa = used_gpa,
	};
	if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)))
		return mark_broken(q, -EINVAL, "queue size %u is not a power of two from 1 to %u",
				   size, VIRTQ_MAX_SIZE);
	desc = map_ring(q, "descriptor table", desc_gpa, desc_table_bytes(size), 16);
	if (!desc)
		return -EINVAL;
	avail = map_ring(q, "avail ring", avail_gpa, avail_ring_bytes(size), 2);
	if (!avail)
		return -EINVAL;
	used = map_ring(q, "used ring", used_gpa, used_ring_bytes(size), 4);
	if (!used)
		return -EINVAL;
	/* Set last, so that a queue that failed stays unusable even to a
	 * caller that ignores both the return value and q->broken. */
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->size = size;
	return 0;
}

/* One descriptor, copied out of guest memory once: the driver may rewrite the
 * table while it is walked, and every check must hold for the values used.
 * The compiler barrier stops the compiler from reloading a field from guest
 * memory instead of using the checked copy. The table may be an indirect one
 * at any guest address, hence the byte pointer and memcpy. */
static struct virtq_desc read_desc(const uint8_t *table, uint32_t i)
{
	struct virtq_desc d;

	memcpy(&d, table + (size_t)i * DESC_BYTES, sizeof(d));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	d.addr = le64toh(d.addr);
	d.len = le32toh(d.len);
	d.flags = le16toh(d.flags);
	d.next = le16toh(d.next);
	return d;
}

/* Where a walk is: the table (direct or indirect) and its length in
 * descriptors, for bounds and messages. */
struct walk {
	const uint8_t *table;
	uint32_t table_len;
	bool indirect;
	uint32_t steps;   /* descriptors visited in this table */
	unsigned nr_desc; /* buffer descriptors in the chain so far */
	bool seen_writable;
};

static const char *desc_kind(const struct walk *w)
{
	return w->indirect ? "indirect descriptor" : "descriptor";
}

static int enter_indirect(struct virtq *q, struct walk *w, const struct virtq_desc *d, uint32_t i)
{
	const uint8_t *table;

	if (!q->indirect_desc)
		return mark_broken(q, -EIO,
				   "descriptor %u: indirect table, but VIRTIO_RING_F_INDIRECT_DESC "
				   "was not negotiated",
				   i);
	if (w->indirect)
		return mark_broken(q, -EIO, "indirect descriptor %u: nested indirect table", i);
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return mark_broken(q, -EIO, "descriptor %u: both INDIRECT and NEXT set", i);
	if (d->len == 0 || d->len % DESC_BYTES)
		return mark_broken(q, -EIO,
				   "descriptor %u: indirect table length %" PRIu32
				   " is not a non-zero multiple of %u",
				   i, d->len, DESC_BYTES);
	table = guest_mem_ptr(q->mem, d->addr, d->len);
	if (!table)
		return mark_broken(q, -EIO,
				   "descriptor %u: indirect table 0x%" PRIx64 " +%" PRIu32
				   " outside guest RAM",
				   i, d->addr, d->len);
	w->table = table;
	w->table_len = d->len / DESC_BYTES;
	w->indirect = true;
	w->steps = 0;
	return 0;
}

static int add_buffer(struct virtq *q, struct walk *w, struct virtq_chain *chain,
		      const struct virtq_desc *d, uint32_t i)
{
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;
	struct virtq_buf *buf;
	uint64_t end;
	void *host;

	/* Counted before the zero-length skip, so that the work of one walk is
	 * bounded by VIRTQ_MAX_CHAIN whatever the driver puts in the table. */
	if (w->nr_desc++ == VIRTQ_MAX_CHAIN)
		return mark_broken(q, -EIO, "chain from head %u has more than %u descriptors",
				   chain->head, VIRTQ_MAX_CHAIN);
	if (!writable && w->seen_writable)
		return mark_broken(q, -EIO,
				   "%s %u: device-readable buffer after a device-writable one",
				   desc_kind(w), i);
	w->seen_writable |= writable;
	/* Nothing to transfer, so nothing to map; the address is never used. */
	if (d->len == 0)
		return 0;
	if (__builtin_add_overflow(d->addr, (uint64_t)d->len, &end))
		return mark_broken(q, -EIO, "%s %u: buffer 0x%" PRIx64 " +%" PRIu32 " wraps around",
				   desc_kind(w), i, d->addr, d->len);
	host = guest_mem_ptr(q->mem, d->addr, d->len);
	if (!host)
		return mark_broken(q, -EIO,
				   "%s %u: buffer 0x%" PRIx64 " +%" PRIu32 " outside guest RAM",
				   desc_kind(w), i, d->addr, d->len);
	buf = &chain->bufs[chain->nr_out + chain->nr_in];
	*buf = (struct virtq_buf){.host = host, .gpa = d->addr, .len = d->len};
	/* At most VIRTQ_MAX_CHAIN lengths below 2^32 each: the sums cannot
	 * overflow 64 bits. */
	if (writable) {
		chain->nr_in++;
		chain->in_len += d->len;
	} else {
		chain->nr_out++;
		chain->out_len += d->len;
	}
	return 0;
}

static int walk_chain(struct virtq *q, uint16_t head, struct virtq_chain *chain)
{
	struct walk w = {.table = (const uint8_t *)q->desc, .table_len = q->size};
	uint32_t i = head;
	int ret;

	chain->head = head;
	chain->nr_out = chain->nr_in = 0;
	chain->out_len = chain->in_len = 0;
	for (;;) {
		struct virtq_desc d;

		/* A chain visits each descriptor of its table at most once, so
		 * one step more than the table holds means a loop. */
		if (w.steps++ == w.table_len)
			return mark_broken(q, -EIO,
					   "chain from head %u loops: more than %" PRIu32
					   " steps in its %s table",
					   head, w.table_len,
					   w.indirect ? "indirect" : "descriptor");
		d = read_desc(w.table, i);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			ret = enter_indirect(q, &w, &d, i);
			if (ret < 0)
				return ret;
			i = 0;
			continue;
		}
		ret = add_buffer(q, &w, chain, &d, i);
		if (ret < 0)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= w.table_len)
			return mark_broken(q, -EIO, "%s %u: next %u >= %s size %" PRIu32,
					   desc_kind(&w), i, d.next,
					   w.indirect ? "indirect table" : "queue", w.table_len);
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *chain)
{
	uint16_t idx, pending, head;
	int ret;

	if (!usable(q))
		return -EIO;
	/* Acquire: the ring entry and the descriptors the driver wrote before
	 * publishing this index are visible to the reads below. */
	idx = le16toh(__atomic_load_n(avail_idx(q), __ATOMIC_ACQUIRE));
	pending = (uint16_t)(idx - q->last_avail_idx);
	if (pending > q->size)
		return mark_broken(q, -EIO, "avail index ran ahead by %u entries, queue size %u",
				   pending, q->size);
	if (pending == 0)
		return 0;
	head = le16toh(__atomic_load_n(avail_entry(q, q->last_avail_idx), __ATOMIC_RELAXED));
	if (head >= q->size)
		return mark_broken(q, -EIO, "avail ring entry %u: head %u >= queue size %u",
				   q->last_avail_idx & (q->size - 1), head, q->size);
	ret = walk_chain(q, head, chain);
	if (ret < 0)
		return ret;
	q->last_avail_idx++;
	return 1;
}

int virtq_push(struct virtq *q, const struct virtq_chain *chain, uint32_t written)
{
	uint32_t *entry;
	uint64_t left = written;

	if (!usable(q))
		return -EIO;
	if (written > chain->in_len || chain->head >= q->size)
		return -EINVAL;
	for (unsigned i = chain->nr_out; i < chain->nr_out + chain->nr_in && left; i++) {
		const struct virtq_buf *buf = &chain->bufs[i];
		uint64_t n = left < buf->len ? left : buf->len;

		guest_mem_mark_dirty(q->mem, buf->gpa, n);
		left -= n;
	}
	entry = used_entry(q, q->used_idx);
	__atomic_store_n(&entry[0], htole32(chain->head), __ATOMIC_RELAXED);
	__atomic_store_n(&entry[1], htole32(written), __ATOMIC_RELAXED);
	guest_mem_mark_dirty(q->mem, used_gpa_of(q, entry), USED_ELEM_BYTES);
	q->used_idx++;
	/* Release: the driver that sees the new index also sees the entry and
	 * the data the device stored into the buffers. */
	__atomic_store_n(used_idx(q), htole16(q->used_idx), __ATOMIC_RELEASE);
	guest_mem_mark_dirty(q->mem, used_gpa_of(q, used_idx(q)), sizeof(uint16_t));
	return 0;
}

int virtq_push_batch(struct virtq *q, const struct virtq_used_elem *elems, unsigned n)
{
	if (!usable(q))
		return -EIO;
	if (n > q->size)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if (elems[i].head >= q->size)
			return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t *entry = used_entry(q, (uint16_t)(q->used_idx + i));

		__atomic_store_n(&entry[0], htole32(elems[i].head), __ATOMIC_RELAXED);
		__atomic_store_n(&entry[1], htole32(elems[i].written), __ATOMIC_RELAXED);
		guest_mem_mark_dirty(q->mem, used_gpa_of(q, entry), USED_ELEM_BYTES);
	}
	q->used_idx = (uint16_t)(q->used_idx + n);
	/* Release, as in virtq_push(): the entries and the data come first. */
	__atomic_store_n(used_idx(q), htole16(q->used_idx), __ATOMIC_RELEASE);
	guest_mem_mark_dirty(q->mem, used_gpa_of(q, used_idx(q)), sizeof(uint16_t));
	return 0;
}

/* virtio 1.x, 2.7.10: interrupt if used_event lies in (old, new]. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

bool virtq_should_interrupt(struct virtq *q)
{
	uint16_t old = q->signalled_used;
	bool valid = q->signalled_valid;

	if (!usable(q))
		return false;
	/* Orders the used index store of virtq_push() before the loads of
	 * the driver's suppression fields: the driver writes those, then
	 * reads the used index, so one side always sees the other's update. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(le16toh(__atomic_load_n(avail_flags(q), __ATOMIC_RELAXED)) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	q->signalled_used = q->used_idx;
	q->signalled_valid = true;
	if (!valid)
		return true;
	return need_event(le16toh(__atomic_load_n(used_event(q), __ATOMIC_RELAXED)), q->used_idx,
			  old);
}

bool virtq_enable_notify(struct virtq *q)
{
	if (!usable(q))
		return false;
	if (q->event_idx) {
		store_used_u16(q, avail_event(q), q->last_avail_idx);
	} else {
		uint16_t flags = le16toh(__atomic_load_n(used_flags(q), __ATOMIC_RELAXED));

		store_used_u16(q, used_flags(q), flags & ~VIRTQ_USED_F_NO_NOTIFY);
	}
	/* The mirror of virtq_should_interrupt(): the driver publishes its
	 * index and then reads our flag or event, we write ours and then read
	 * its index, so a buffer made available meanwhile is seen by one. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return le16toh(__atomic_load_n(avail_idx(q), __ATOMIC_ACQUIRE)) != q->last_avail_idx;
}

void virtq_disable_notify(struct virtq *q)
{
	uint16_t flags;

	/* With EVENT_IDX, avail_event is left where it is: the driver kicks
	 * once when it passes it and then stays quiet until the next
	 * virtq_enable_notify(). */
	if (!usable(q) || q->event_idx)
		return;
	flags = le16toh(__atomic_load_n(used_flags(q), __ATOMIC_RELAXED));
	store_used_u16(q, used_flags(q), flags | VIRTQ_USED_F_NO_NOTIFY);
}

bool virtq_has_avail(struct virtq *q)
{
	return usable(q) &&
	       le16toh(__atomic_load_n(avail_idx(q), __ATOMIC_ACQUIRE)) != q->last_avail_idx;
}

/* Copies between host memory and the buffers [first, first + nr) of @chain,
 * skipping @offset bytes of them first: into the guest from @from when @to is
 * NULL, out of it into @to otherwise. */
static size_t chain_copy(const struct virtq_chain *chain, unsigned first, unsigned nr,
			 uint64_t offset, uint8_t *to, const uint8_t *from, size_t len)
{
	size_t done = 0;

	for (unsigned i = first; i < first + nr && done < len; i++) {
		const struct virtq_buf *buf = &chain->bufs[i];
		size_t n;

		if (offset >= buf->len) {
			offset -= buf->len;
			continue;
		}
		n = buf->len - offset;
		if (n > len - done)
			n = len - done;
		if (to)
			memcpy(to + done, buf->host + offset, n);
		else
			memcpy(buf->host + offset, from + done, n);
		done += n;
		offset = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct virtq_chain *chain, uint64_t offset, void *dst, size_t len)
{
	return chain_copy(chain, 0, chain->nr_out, offset, dst, NULL, len);
}

size_t virtq_chain_write(const struct virtq_chain *chain, uint64_t offset, const void *src,
			 size_t len)
{
	return chain_copy(chain, chain->nr_out, chain->nr_in, offset, NULL, src, len);
}

const char *virtq_error(const struct virtq *q) { return q->error; }
