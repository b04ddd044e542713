/* libFuzzer target: a hostile driver against the split virtqueue. Built and run
 * by scripts/fuzz. The input is the whole of what a driver controls: the
 * queue's configuration, the rings' contents, guest memory around them, and
 * its writes between the device's calls. Besides the sanitizers, it checks
 * the contract of virtqueue.h after every call.
 *
 * Input, little-endian:
 *   0  u8  config: bits 0-3 size = 1 << (n % 9), bit 4 take raw_size
 *          instead, bit 5 EVENT_IDX, bit 6 INDIRECT_DESC, bit 7 start the
 *          indices at start_idx
 *   1  u8  number of commands
 *   2  u16 raw_size
 *   4  u32 desc gpa, u32 avail gpa, u32 used gpa (each modulo GPA_SPAN)
 *   16 u16 start_idx
 *   18 commands, 5 bytes each: u8 op (modulo 10), u16 a, u16 b (see run_command())
 *   then the descriptor table, avail ring and used ring contents, each cut
 *   short if the input ends, and the rest copied to guest RAM at EXTRA_GPA.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtqueue.h"
#include "fuzz_util.h"
#include "vmm/guest_mem.h"

/* RAM [0, 0x8000) and [0x9000, 0xb000); rings may be placed up to GPA_SPAN,
 * so also in the hole, past the end, and straddling either region's end. */
#define RAM_A 0x0ULL
#define RAM_A_SIZE 0x8000ULL
#define RAM_B 0x9000ULL
#define RAM_B_SIZE 0x2000ULL
#define EXTRA_GPA RAM_B
#define GPA_SPAN 0x10000U
#define HEADER_BYTES 18
#define COMMAND_BYTES 5
#define DRAIN_ROUNDS 16

/* Copies up to @len input bytes into guest memory at @gpa, as a driver
 * filling its rings would; a ring outside RAM gets nothing. */
static void fill_guest(const struct guest_mem *mem, struct input *in, uint64_t gpa, uint64_t len)
{
	if (len > in->left)
		len = in->left;
	if (len)
		guest_mem_write(mem, gpa, in->data, len);
	in->data += len;
	in->left -= len;
}

struct fuzz_state {
	struct guest_mem mem;
	struct virtq q;
	struct virtq_chain chain;
	bool have_chain;
	uint16_t driver_idx;
	uint8_t scratch[65536];
};

static void check_broken_refuses(struct fuzz_state *s)
{
	struct virtq_chain c;

	CHECK(s->q.broken);
	CHECK(virtq_error(&s->q)[0] != '\0');
	CHECK(virtq_pop(&s->q, &c) == -EIO);
	CHECK(!virtq_should_interrupt(&s->q));
	CHECK(!virtq_enable_notify(&s->q));
}

static void check_chain(struct fuzz_state *s)
{
	const struct virtq_chain *c = &s->chain;
	uint64_t out = 0, in = 0;

	CHECK(c->head < s->q.size);
	CHECK(c->nr_out + c->nr_in <= VIRTQ_MAX_CHAIN);
	for (unsigned i = 0; i < c->nr_out + c->nr_in; i++) {
		const struct virtq_buf *b = &c->bufs[i];

		CHECK(b->len > 0);
		CHECK(guest_mem_ptr(&s->mem, b->gpa, b->len) == b->host);
		if (i < c->nr_out)
			out += b->len;
		else
			in += b->len;
	}
	CHECK(out == c->out_len && in == c->in_len);
}

static void do_pop(struct fuzz_state *s)
{
	uint16_t before = s->q.last_avail_idx;
	int ret = virtq_pop(&s->q, &s->chain);

	CHECK(ret >= -EIO && ret <= 1);
	if (ret == 1) {
		CHECK(s->q.last_avail_idx == (uint16_t)(before + 1));
		check_chain(s);
		s->have_chain = true;
	} else {
		CHECK(s->q.last_avail_idx == before);
		if (ret < 0) {
			CHECK(ret == -EIO);
			check_broken_refuses(s);
			s->have_chain = false;
		}
	}
}

static void do_push(struct fuzz_state *s, uint32_t written)
{
	bool was_broken = s->q.broken;
	uint16_t before = s->q.used_idx;
	uint16_t idx;
	int ret = virtq_push(&s->q, &s->chain, written);

	if (was_broken) {
		CHECK(ret == -EIO);
		return;
	}
	if (written > s->chain.in_len) {
		CHECK(ret == -EINVAL && s->q.used_idx == before);
		return;
	}
	CHECK(ret == 0 && s->q.used_idx == (uint16_t)(before + 1));
	memcpy(&idx, s->q.used + 2, sizeof(idx));
	CHECK(le16toh(idx) == s->q.used_idx);
	s->have_chain = false;
}

/* The device returns up to 1 + @a % 4 chains with one used index update,
 * each with @b bytes written (at most its writable length). */
static void do_push_batch(struct fuzz_state *s, uint16_t a, uint16_t b)
{
	struct virtq_used_elem elems[4];
	struct virtq_chain c;
	unsigned n = 0, want = 1 + a % 4;
	uint16_t before, idx;
	int ret;

	while (n < want) {
		ret = virtq_pop(&s->q, &c);
		CHECK(ret >= -EIO && ret <= 1);
		if (ret != 1)
			break;
		elems[n].head = c.head;
		elems[n].written = b < c.in_len ? b : (uint32_t)c.in_len;
		n++;
	}
	if (s->q.broken) {
		CHECK(virtq_push_batch(&s->q, elems, n) == -EIO);
		return;
	}
	before = s->q.used_idx;
	ret = virtq_push_batch(&s->q, elems, n);
	CHECK(ret == 0);
	CHECK(s->q.used_idx == (uint16_t)(before + n));
	memcpy(&idx, s->q.used + 2, sizeof(idx));
	CHECK(le16toh(idx) == s->q.used_idx);
}

static void run_command(struct fuzz_state *s, uint8_t op, uint16_t a, uint16_t b)
{
	uint64_t n;

	switch (op % 10) {
	case 0: do_pop(s); break;
	case 1: /* the device reads a request: @b bytes from offset @a */
		if (!s->have_chain)
			break;
		n = virtq_chain_read(&s->chain, a, s->scratch, b);
		CHECK(n <= b && (a >= s->chain.out_len ? n == 0 : n <= s->chain.out_len - a));
		CHECK(n == b || a + n == s->chain.out_len || a >= s->chain.out_len);
		break;
	case 2: /* the device writes a reply */
		if (!s->have_chain)
			break;
		n = virtq_chain_write(&s->chain, a, s->scratch, b);
		CHECK(n <= b && (a >= s->chain.in_len ? n == 0 : n <= s->chain.in_len - a));
		CHECK(n == b || a + n == s->chain.in_len || a >= s->chain.in_len);
		break;
	case 3: /* the device returns the chain: all of it, @a bytes, or too much */
		if (!s->have_chain)
			break;
		if (b % 3 == 0)
			do_push(s, (uint32_t)s->chain.in_len);
		else if (b % 3 == 1)
			do_push(s, a);
		else
			do_push(s, (uint32_t)s->chain.in_len + 1 + a);
		break;
	case 4:
		if (virtq_should_interrupt(&s->q))
			CHECK(!s->q.broken);
		break;
	case 5:
		if (virtq_enable_notify(&s->q))
			CHECK(!s->q.broken);
		break;
	case 6: virtq_disable_notify(&s->q); break;
	case 7: { /* the driver stores anywhere, rings included */
		uint16_t v = htole16(b);

		guest_mem_write(&s->mem, a % GPA_SPAN, &v, sizeof(v));
		break;
	}
	case 8: /* the driver makes head @a available, as a real one would */
		if (s->q.size && !s->q.broken) {
			uint16_t head = htole16(a % s->q.size);
			uint16_t idx = htole16(++s->driver_idx);

			memcpy(&s->q.avail[2 + ((s->driver_idx - 1) & (s->q.size - 1))], &head,
			       sizeof(head));
			memcpy(&s->q.avail[1], &idx, sizeof(idx));
		}
		break;
	case 9: do_push_batch(s, a, b); break;
	}
	if (s->q.broken)
		check_broken_refuses(s);
}

static uint8_t *alloc_region(uint64_t size)
{
	uint8_t *p = aligned_alloc(0x1000, size);

	if (!p)
		abort();
	memset(p, 0, size);
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_state s;
	struct input in = {data, size};
	const uint8_t *commands;
	unsigned nr_commands;
	uint8_t config;
	uint16_t qsize, start;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint8_t *ram_a, *ram_b;
	bool event_idx, indirect;
	int ret;

	if (size < HEADER_BYTES)
		return -1;
	config = take(&in, 1);
	nr_commands = take(&in, 1);
	qsize = take(&in, 2);
	if (!(config & 0x10))
		qsize = 1u << ((config & 0xf) % 9);
	desc_gpa = take(&in, 4) % GPA_SPAN;
	avail_gpa = take(&in, 4) % GPA_SPAN;
	used_gpa = take(&in, 4) % GPA_SPAN;
	start = take(&in, 2);
	event_idx = config & 0x20;
	indirect = config & 0x40;
	if (nr_commands > in.left / COMMAND_BYTES)
		nr_commands = in.left / COMMAND_BYTES;
	commands = in.data;
	in.data += (size_t)nr_commands * COMMAND_BYTES;
	in.left -= (size_t)nr_commands * COMMAND_BYTES;

	s.mem = (struct guest_mem){0};
	s.have_chain = false;
	ram_a = alloc_region(RAM_A_SIZE);
	ram_b = alloc_region(RAM_B_SIZE);
	if (guest_mem_add(&s.mem, RAM_A, RAM_A_SIZE, ram_a) < 0 ||
	    guest_mem_add(&s.mem, RAM_B, RAM_B_SIZE, ram_b) < 0)
		abort();
	fill_guest(&s.mem, &in, desc_gpa, 16 * (uint64_t)qsize);
	fill_guest(&s.mem, &in, avail_gpa, 6 + 2 * (uint64_t)qsize);
	fill_guest(&s.mem, &in, used_gpa, 6 + 8 * (uint64_t)qsize);
	fill_guest(&s.mem, &in, EXTRA_GPA, RAM_B_SIZE);

	ret = virtq_init(&s.q, &s.mem, qsize, desc_gpa, avail_gpa, used_gpa, event_idx, indirect);
	CHECK(ret == 0 || ret == -EINVAL);
	CHECK((ret == 0) == !s.q.broken);
	s.driver_idx = 0;
	if (ret == 0) {
		uint16_t idx;

		memcpy(&idx, &s.q.avail[1], sizeof(idx));
		s.driver_idx = le16toh(idx);
		if (config & 0x80) {
			s.q.last_avail_idx = start;
			s.q.used_idx = start;
		}
	} else {
		check_broken_refuses(&s);
	}

	for (unsigned i = 0; i < nr_commands; i++) {
		const uint8_t *c = commands + (size_t)i * COMMAND_BYTES;

		run_command(&s, c[0], c[1] | c[2] << 8, c[3] | c[4] << 8);
	}
	/* Whatever the commands did, serve the queue the way a device does. */
	for (unsigned i = 0; i < DRAIN_ROUNDS && !s.q.broken; i++) {
		virtq_disable_notify(&s.q);
		do_pop(&s);
		if (!s.have_chain) {
			if (!virtq_enable_notify(&s.q))
				break;
			continue;
		}
		virtq_chain_read(&s.chain, 0, s.scratch, sizeof(s.scratch));
		do_push(&s, (uint32_t)virtq_chain_write(&s.chain, 0, s.scratch, 64));
		virtq_should_interrupt(&s.q);
	}

	guest_mem_release(&s.mem);
	free(ram_a);
	free(ram_b);
	return 0;
}
