#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtqueue.h"
#include "unit.h"
#include "vmm/guest_mem.h"

#define PAGE 0x1000ULL

/* Guest RAM [0x10000, 0x30000) and, after a hole, [0x40000, 0x41000). The
 * rings sit at the start of the first region, room left for 512 entries;
 * indirect tables and buffers follow. */
#define RAM 0x10000ULL
#define RAM_SIZE 0x20000ULL
#define RAM_HI 0x40000ULL
#define DESC 0x10000ULL
#define AVAIL 0x13000ULL
#define USED 0x14000ULL
#define IND 0x16000ULL
#define IND2 0x17000ULL
#define BUF 0x18000ULL
#define HOLE 0x30000ULL
#define QSIZE 8

static struct guest_mem mem;
static void *ram, *ram_hi;
static struct virtq q;
static struct virtq_chain chain;
/* The driver's copy of its avail index. */
static uint16_t driver_avail_idx;

static void setup(void)
{
	mem = (struct guest_mem){0};
	ram = aligned_alloc(PAGE, RAM_SIZE);
	ram_hi = aligned_alloc(PAGE, PAGE);
	ck_assert_ptr_nonnull(ram);
	ck_assert_ptr_nonnull(ram_hi);
	memset(ram, 0, RAM_SIZE);
	memset(ram_hi, 0, PAGE);
	ck_assert_int_eq(guest_mem_add(&mem, RAM, RAM_SIZE, ram), 0);
	ck_assert_int_eq(guest_mem_add(&mem, RAM_HI, PAGE, ram_hi), 0);
	q = (struct virtq){0};
	driver_avail_idx = 0;
}

static void teardown(void)
{
	guest_mem_release(&mem);
	free(ram);
	free(ram_hi);
}

static uint8_t *host(uint64_t gpa)
{
	uint8_t *p = guest_mem_ptr(&mem, gpa, 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

static uint16_t get16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, host(gpa), sizeof(v));
	return le16toh(v);
}

static void set16(uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	memcpy(host(gpa), &v, sizeof(v));
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, host(gpa), sizeof(v));
	return le32toh(v);
}

static void put_desc_at(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
			uint16_t next)
{
	struct virtq_desc d = {
		.addr = htole64(addr),
		.len = htole32(len),
		.flags = htole16(flags),
		.next = htole16(next),
	};

	memcpy(host(table + 16 * (uint64_t)i), &d, sizeof(d));
}

static void put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	put_desc_at(DESC, i, addr, len, flags, next);
}

/* The driver's side of making @head available: ring entry, then index. */
static void make_available(uint16_t size, uint16_t head)
{
	set16(AVAIL + 4 + 2 * (uint64_t)(driver_avail_idx % size), head);
	set16(AVAIL + 2, ++driver_avail_idx);
}

static void init_queue(uint16_t size, bool event_idx, bool indirect_desc)
{
	ck_assert_int_eq(virtq_init(&q, &mem, size, DESC, AVAIL, USED, event_idx, indirect_desc),
			 0);
	ck_assert(!q.broken);
	ck_assert_str_eq(virtq_error(&q), "");
}

/* The driver and device sides both start at @idx, as after many requests. */
static void start_indices_at(uint16_t idx)
{
	q.last_avail_idx = idx;
	q.used_idx = idx;
	driver_avail_idx = idx;
	set16(AVAIL + 2, idx);
	set16(USED + 2, idx);
}

static void assert_error_has(const char *needle)
{
	ck_assert(q.broken);
	ck_assert_msg(strstr(virtq_error(&q), needle), "error \"%s\" lacks \"%s\"", virtq_error(&q),
		      needle);
}

static void assert_pop_breaks(const char *needle)
{
	uint16_t before = q.last_avail_idx;

	ck_assert_int_eq(virtq_pop(&q, &chain), -EIO);
	assert_error_has(needle);
	ck_assert_uint_eq(q.last_avail_idx, before);
	ck_assert_int_eq(virtq_pop(&q, &chain), -EIO);
}

static void assert_init_fails(uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
			      const char *needle)
{
	ck_assert_int_eq(virtq_init(&q, &mem, size, desc, avail, used, false, false), -EINVAL);
	assert_error_has(needle);
	ck_assert_int_eq(virtq_pop(&q, &chain), -EIO);
}

/* Queue configuration */

START_TEST(init_rejects_size_zero)
{
	assert_init_fails(0, DESC, AVAIL, USED, "queue size 0 is not a power of two");
}
END_TEST

START_TEST(init_rejects_size_not_power_of_two)
{
	assert_init_fails(6, DESC, AVAIL, USED, "queue size 6 is not a power of two");
}
END_TEST

START_TEST(init_rejects_size_above_max)
{
	assert_init_fails(40000, DESC, AVAIL, USED, "queue size 40000");
	assert_init_fails(65535, DESC, AVAIL, USED, "queue size 65535");
}
END_TEST

START_TEST(init_accepts_max_size)
{
	const uint64_t big = 0x100000, big_size = 0x100000;
	void *big_ram = aligned_alloc(PAGE, big_size);

	ck_assert_ptr_nonnull(big_ram);
	ck_assert_int_eq(guest_mem_add(&mem, big, big_size, big_ram), 0);
	ck_assert_int_eq(virtq_init(&q, &mem, VIRTQ_MAX_SIZE, big, big + 0x80000, big + 0xa0000,
				    true, true),
			 0);
	ck_assert_uint_eq(q.size, VIRTQ_MAX_SIZE);
	guest_mem_release(&mem);
	free(big_ram);
}
END_TEST

START_TEST(init_rejects_misaligned_desc)
{
	assert_init_fails(QSIZE, DESC + 8, AVAIL, USED,
			  "descriptor table at 0x10008 is not 16-byte aligned");
}
END_TEST

START_TEST(init_rejects_misaligned_avail)
{
	assert_init_fails(QSIZE, DESC, AVAIL + 1, USED,
			  "avail ring at 0x13001 is not 2-byte aligned");
}
END_TEST

START_TEST(init_rejects_misaligned_used)
{
	assert_init_fails(QSIZE, DESC, AVAIL, USED + 2,
			  "used ring at 0x14002 is not 4-byte aligned");
}
END_TEST

START_TEST(init_rejects_desc_outside_ram)
{
	assert_init_fails(QSIZE, HOLE, AVAIL, USED, "descriptor table 0x30000 +128 is outside");
}
END_TEST

START_TEST(init_rejects_avail_outside_ram)
{
	assert_init_fails(QSIZE, DESC, HOLE, USED, "avail ring 0x30000 +22 is outside");
}
END_TEST

START_TEST(init_rejects_used_outside_ram)
{
	assert_init_fails(QSIZE, DESC, AVAIL, HOLE, "used ring 0x30000 +70 is outside");
}
END_TEST

START_TEST(init_rejects_ring_straddling_region_end)
{
	/* Fits but for the avail_event field at its end. */
	assert_init_fails(QSIZE, DESC, AVAIL, RAM + RAM_SIZE - 68, "used ring");
}
END_TEST

START_TEST(uninitialised_queue_refuses_work)
{
	ck_assert_int_eq(virtq_pop(&q, &chain), -EIO);
	ck_assert_int_eq(virtq_push(&q, &chain, 0), -EIO);
	ck_assert(!virtq_should_interrupt(&q));
	ck_assert(!virtq_enable_notify(&q));
	virtq_disable_notify(&q);
}
END_TEST

/* Hostile chains */

START_TEST(avail_idx_ahead_by_size_plus_one)
{
	init_queue(QSIZE, false, false);
	set16(AVAIL + 2, QSIZE + 1);
	assert_pop_breaks("avail index ran ahead by 9 entries, queue size 8");
}
END_TEST

START_TEST(avail_idx_moving_back)
{
	init_queue(QSIZE, false, false);
	put_desc(0, BUF, 16, 0, 0);
	make_available(QSIZE, 0);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	set16(AVAIL + 2, 0);
	assert_pop_breaks("avail index ran ahead by 65535 entries");
}
END_TEST

START_TEST(head_beyond_size)
{
	init_queue(QSIZE, false, false);
	make_available(QSIZE, QSIZE);
	assert_pop_breaks("avail ring entry 0: head 8 >= queue size 8");
}
END_TEST

START_TEST(next_beyond_size)
{
	init_queue(QSIZE, false, false);
	put_desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, QSIZE);
	make_available(QSIZE, 0);
	assert_pop_breaks("descriptor 0: next 8 >= queue size 8");
}
END_TEST

START_TEST(descriptor_loop)
{
	init_queue(QSIZE, false, false);
	put_desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, BUF + 16, 16, VIRTQ_DESC_F_NEXT, 0);
	make_available(QSIZE, 0);
	assert_pop_breaks("chain from head 0 loops");
}
END_TEST

START_TEST(self_loop_in_full_queue)
{
	init_queue(QSIZE, false, false);
	put_desc(5, BUF, 0, VIRTQ_DESC_F_NEXT, 5);
	make_available(QSIZE, 5);
	assert_pop_breaks("chain from head 5 loops");
}
END_TEST

START_TEST(indirect_not_negotiated)
{
	init_queue(QSIZE, false, false);
	put_desc(0, IND, 32, VIRTQ_DESC_F_INDIRECT, 0);
	make_available(QSIZE, 0);
	assert_pop_breaks("VIRTIO_RING_F_INDIRECT_DESC was not negotiated");
}
END_TEST

START_TEST(nested_indirect)
{
	init_queue(QSIZE, false, true);
	put_desc(0, IND, 32, VIRTQ_DESC_F_INDIRECT, 0);
	put_desc_at(IND, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc_at(IND, 1, IND2, 16, VIRTQ_DESC_F_INDIRECT, 0);
	put_desc_at(IND2, 0, BUF + 16, 16, 0, 0);
	make_available(QSIZE, 0);
	assert_pop_breaks("indirect descriptor 1: nested indirect table");
}
END_TEST

START_TEST(indirect_len_not_multiple_of_16)
{
	init_queue(QSIZE, false, true);
	put_desc(0, IND, 24, VIRTQ_DESC_F_INDIRECT, 0);
	make_available(QSIZE, 0);
	assert_pop_breaks("indirect table length 24 is not a non-zero multiple of 16");
}
END_TEST

START_TEST(indirect_len_zero)
{
	init_queue(QSIZE, false, true);
	put_desc(0, IND, 0, VIRTQ_DESC_F_INDIRECT, 0);
	make_available(QSIZE, 0);
	assert_pop_breaks("indirect table length 0 is not a non-zero multiple of 16");
}
END_TEST

START_TEST(indirect_with_next)
{
	init_queue(QSIZE, false, true);
	put_desc(0, IND, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	put_desc_at(IND, 0, BUF, 16, 0, 0);
	put_desc(1, BUF + 16, 16, 0, 0);
	make_available(QSIZE, 0);
	assert_pop_breaks("descriptor 0: both INDIRECT and NEXT set");
}
END_TEST

START_TEST(indirect_table_outside_ram)
{
	init_queue(QSIZE, false, true);
	put_desc(0, RAM + RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	make_available(QSIZE, 0);
	assert_pop_breaks("indirect table 0x2fff0 +32 outside guest RAM");
}
END_TEST

START_TEST(indirect_next_beyond_table)
{
	init_queue(QSIZE, false, true);
	put_desc(0, IND, 32, VIRTQ_DESC_F_INDIRECT, 0);
	put_desc_at(IND, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 2);
	make_available(QSIZE, 0);
	assert_pop_breaks("indirect descriptor 0: next 2 >= indirect table size 2");
}
END_TEST

START_TEST(indirect_loop)
{
	init_queue(QSIZE, false, true);
	put_desc(0, IND, 48, VIRTQ_DESC_F_INDIRECT, 0);
	put_desc_at(IND, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc_at(IND, 1, BUF, 16, VIRTQ_DESC_F_NEXT, 2);
	put_desc_at(IND, 2, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	make_available(QSIZE, 0);
	assert_pop_breaks("loops: more than 3 steps in its indirect table");
}
END_TEST

START_TEST(buffer_addr_len_overflow)
{
	init_queue(QSIZE, false, false);
	put_desc(0, 0xfffffffffffff000ULL, 0x2000, 0, 0);
	make_available(QSIZE, 0);
	assert_pop_breaks("descriptor 0: buffer 0xfffffffffffff000 +8192 wraps around");
}
END_TEST

START_TEST(buffer_outside_ram)
{
	init_queue(QSIZE, false, false);
	put_desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, HOLE + 0x100, 16, 0, 0);
	make_available(QSIZE, 0);
	assert_pop_breaks("descriptor 1: buffer 0x30100 +16 outside guest RAM");
}
END_TEST

START_TEST(buffer_straddling_region_end)
{
	init_queue(QSIZE, false, false);
	put_desc(0, RAM + RAM_SIZE - 8, 16, 0, 0);
	make_available(QSIZE, 0);
	assert_pop_breaks("descriptor 0: buffer 0x2fff8 +16 outside guest RAM");
}
END_TEST

START_TEST(readable_after_writable)
{
	init_queue(QSIZE, false, false);
	put_desc(0, BUF, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, BUF + 16, 16, 0, 0);
	make_available(QSIZE, 0);
	assert_pop_breaks("descriptor 1: device-readable buffer after a device-writable one");
}
END_TEST

START_TEST(readable_after_writable_across_indirect)
{
	init_queue(QSIZE, false, true);
	put_desc(0, BUF, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, IND, 16, VIRTQ_DESC_F_INDIRECT, 0);
	put_desc_at(IND, 0, BUF + 16, 16, 0, 0);
	make_available(QSIZE, 0);
	assert_pop_breaks("indirect descriptor 0: device-readable buffer after");
}
END_TEST

START_TEST(direct_chain_longer_than_max)
{
	const uint16_t size = 512;

	init_queue(size, false, false);
	for (unsigned i = 0; i <= VIRTQ_MAX_CHAIN; i++)
		put_desc(i, BUF + i, 1, VIRTQ_DESC_F_NEXT, i + 1);
	make_available(size, 0);
	assert_pop_breaks("chain from head 0 has more than 256 descriptors");
}
END_TEST

START_TEST(indirect_chain_longer_than_max)
{
	init_queue(QSIZE, false, true);
	put_desc(0, IND, 16 * (VIRTQ_MAX_CHAIN + 1), VIRTQ_DESC_F_INDIRECT, 0);
	for (unsigned i = 0; i <= VIRTQ_MAX_CHAIN; i++)
		put_desc_at(IND, i, 0, 0, VIRTQ_DESC_F_NEXT, i + 1);
	make_available(QSIZE, 0);
	assert_pop_breaks("more than 256 descriptors");
}
END_TEST

START_TEST(broken_queue_refuses_all_work)
{
	init_queue(QSIZE, false, false);
	put_desc(0, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	make_available(QSIZE, 0);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	make_available(QSIZE, QSIZE);
	assert_pop_breaks("head 8 >= queue size 8");
	/* Only the first reason is kept. */
	set16(AVAIL + 2, 100);
	ck_assert_int_eq(virtq_pop(&q, &chain), -EIO);
	assert_error_has("head 8 >= queue size 8");
	ck_assert_int_eq(virtq_push(&q, &chain, 0), -EIO);
	ck_assert_uint_eq(get16(USED + 2), 0);
	ck_assert(!virtq_should_interrupt(&q));
	ck_assert(!virtq_enable_notify(&q));
	virtq_disable_notify(&q);
	ck_assert_uint_eq(get16(USED), 0);
}
END_TEST

START_TEST(push_more_than_writable_is_einval)
{
	init_queue(QSIZE, false, false);
	put_desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, BUF + 16, 16, VIRTQ_DESC_F_WRITE, 0);
	make_available(QSIZE, 0);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	ck_assert_int_eq(virtq_push(&q, &chain, 17), -EINVAL);
	ck_assert(!q.broken);
	ck_assert_uint_eq(get16(USED + 2), 0);
	ck_assert_int_eq(virtq_push(&q, &chain, 16), 0);
}
END_TEST

/* Well-formed chains */

START_TEST(empty_queue_pops_nothing)
{
	init_queue(QSIZE, false, false);
	ck_assert_int_eq(virtq_pop(&q, &chain), 0);
	ck_assert_uint_eq(q.last_avail_idx, 0);
}
END_TEST

START_TEST(single_direct)
{
	init_queue(QSIZE, false, false);
	put_desc(3, BUF + 0x10, 100, 0, 0);
	make_available(QSIZE, 3);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	ck_assert_uint_eq(chain.head, 3);
	ck_assert_uint_eq(chain.nr_out, 1);
	ck_assert_uint_eq(chain.nr_in, 0);
	ck_assert_uint_eq(chain.out_len, 100);
	ck_assert_uint_eq(chain.in_len, 0);
	ck_assert_ptr_eq(chain.bufs[0].host, host(BUF + 0x10));
	ck_assert_uint_eq(chain.bufs[0].gpa, BUF + 0x10);
	ck_assert_uint_eq(chain.bufs[0].len, 100);
	ck_assert_uint_eq(q.last_avail_idx, 1);
	ck_assert_int_eq(virtq_pop(&q, &chain), 0);
}
END_TEST

START_TEST(multi_descriptor_direct)
{
	init_queue(QSIZE, false, false);
	put_desc(2, BUF, 10, VIRTQ_DESC_F_NEXT, 5);
	put_desc(5, BUF + 0x100, 20, VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, RAM_HI, 30, 0, 0);
	make_available(QSIZE, 2);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	ck_assert_uint_eq(chain.head, 2);
	ck_assert_uint_eq(chain.nr_out, 3);
	ck_assert_uint_eq(chain.out_len, 60);
	ck_assert_uint_eq(chain.bufs[1].gpa, BUF + 0x100);
	ck_assert_ptr_eq(chain.bufs[2].host, ram_hi);
}
END_TEST

START_TEST(mixed_out_in)
{
	init_queue(QSIZE, false, false);
	put_desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, BUF + 0x100, 512, VIRTQ_DESC_F_NEXT, 2);
	put_desc(2, BUF + 0x1000, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
	put_desc(3, BUF + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	make_available(QSIZE, 0);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	ck_assert_uint_eq(chain.nr_out, 2);
	ck_assert_uint_eq(chain.nr_in, 2);
	ck_assert_uint_eq(chain.out_len, 528);
	ck_assert_uint_eq(chain.in_len, 513);
	ck_assert_uint_eq(chain.bufs[2].gpa, BUF + 0x1000);
	ck_assert_uint_eq(chain.bufs[3].len, 1);
}
END_TEST

START_TEST(indirect_table)
{
	init_queue(QSIZE, false, true);
	put_desc(4, IND, 48, VIRTQ_DESC_F_INDIRECT, 0);
	put_desc_at(IND, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 2);
	put_desc_at(IND, 2, BUF + 0x100, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	put_desc_at(IND, 1, BUF + 0x200, 64, VIRTQ_DESC_F_WRITE, 0);
	make_available(QSIZE, 4);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	ck_assert_uint_eq(chain.head, 4);
	ck_assert_uint_eq(chain.nr_out, 1);
	ck_assert_uint_eq(chain.nr_in, 2);
	ck_assert_uint_eq(chain.in_len, 128);
	ck_assert_uint_eq(chain.bufs[2].gpa, BUF + 0x200);
}
END_TEST

START_TEST(direct_then_indirect)
{
	init_queue(QSIZE, false, true);
	put_desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	/* The WRITE flag of the descriptor naming the table means nothing. */
	put_desc(1, IND, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	put_desc_at(IND, 0, BUF + 0x100, 32, 0, 0);
	make_available(QSIZE, 0);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	ck_assert_uint_eq(chain.nr_out, 2);
	ck_assert_uint_eq(chain.out_len, 48);
}
END_TEST

START_TEST(zero_length_buffer_skipped)
{
	init_queue(QSIZE, false, false);
	put_desc(0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, HOLE, 0, VIRTQ_DESC_F_NEXT, 2);
	put_desc(2, BUF + 8, 8, VIRTQ_DESC_F_WRITE, 0);
	make_available(QSIZE, 0);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	ck_assert_uint_eq(chain.nr_out, 1);
	ck_assert_uint_eq(chain.nr_in, 1);
	ck_assert_uint_eq(chain.bufs[1].gpa, BUF + 8);
}
END_TEST

START_TEST(chain_of_max_length)
{
	const uint16_t size = 512;

	init_queue(size, false, false);
	for (unsigned i = 0; i < VIRTQ_MAX_CHAIN; i++)
		put_desc(i, BUF + i, 1, i + 1 < VIRTQ_MAX_CHAIN ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	make_available(size, 0);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	ck_assert_uint_eq(chain.nr_out, VIRTQ_MAX_CHAIN);
	ck_assert_uint_eq(chain.out_len, VIRTQ_MAX_CHAIN);
}
END_TEST

START_TEST(avail_idx_ahead_by_exactly_size)
{
	init_queue(QSIZE, false, false);
	for (unsigned i = 0; i < QSIZE; i++) {
		put_desc(i, BUF + 16 * i, 16, 0, 0);
		make_available(QSIZE, i);
	}
	for (unsigned i = 0; i < QSIZE; i++) {
		ck_assert_int_eq(virtq_pop(&q, &chain), 1);
		ck_assert_uint_eq(chain.head, i);
	}
	ck_assert_int_eq(virtq_pop(&q, &chain), 0);
}
END_TEST

START_TEST(chain_read_across_buffers)
{
	uint8_t out[32];

	init_queue(QSIZE, false, false);
	put_desc(0, BUF, 5, VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, BUF + 0x100, 7, VIRTQ_DESC_F_NEXT, 2);
	put_desc(2, BUF + 0x200, 3, VIRTQ_DESC_F_NEXT, 3);
	put_desc(3, BUF + 0x300, 16, VIRTQ_DESC_F_WRITE, 0);
	memcpy(host(BUF), "01234", 5);
	memcpy(host(BUF + 0x100), "56789ab", 7);
	memcpy(host(BUF + 0x200), "cde", 3);
	memset(host(BUF + 0x300), 'W', 16);
	make_available(QSIZE, 0);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);

	memset(out, 0, sizeof(out));
	ck_assert_uint_eq(virtq_chain_read(&chain, 3, out, 8), 8);
	ck_assert_mem_eq(out, "3456789a", 8);
	memset(out, 0, sizeof(out));
	ck_assert_uint_eq(virtq_chain_read(&chain, 10, out, sizeof(out)), 5);
	ck_assert_mem_eq(out, "abcde", 5);
	ck_assert_uint_eq(virtq_chain_read(&chain, 0, out, sizeof(out)), 15);
	ck_assert_mem_eq(out, "0123456789abcde", 15);
	ck_assert_uint_eq(virtq_chain_read(&chain, 15, out, sizeof(out)), 0);
	ck_assert_uint_eq(virtq_chain_read(&chain, 1000, out, sizeof(out)), 0);
	ck_assert_uint_eq(virtq_chain_read(&chain, 2, out, 0), 0);
}
END_TEST

START_TEST(chain_write_across_buffers)
{
	init_queue(QSIZE, false, false);
	put_desc(0, BUF, 4, VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, BUF + 0x100, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	put_desc(2, BUF + 0x200, 6, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
	put_desc(3, BUF + 0x300, 2, VIRTQ_DESC_F_WRITE, 0);
	memset(host(BUF), 'R', 4);
	make_available(QSIZE, 0);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);

	ck_assert_uint_eq(virtq_chain_write(&chain, 2, "ABCDEFGHI", 9), 9);
	ck_assert_mem_eq(host(BUF + 0x100), "\0\0AB", 4);
	ck_assert_mem_eq(host(BUF + 0x200), "CDEFGH", 6);
	ck_assert_mem_eq(host(BUF + 0x300), "I\0", 2);
	ck_assert_uint_eq(virtq_chain_write(&chain, 10, "xyzw", 4), 2);
	ck_assert_mem_eq(host(BUF + 0x200), "CDEFGH", 6);
	ck_assert_mem_eq(host(BUF + 0x300), "xy", 2);
	ck_assert_uint_eq(virtq_chain_write(&chain, 12, "!", 1), 0);
	ck_assert_mem_eq(host(BUF), "RRRR", 4);
}
END_TEST

START_TEST(push_fills_used_ring)
{
	init_queue(QSIZE, false, false);
	put_desc(3, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	put_desc(6, BUF + 0x100, 64, VIRTQ_DESC_F_WRITE, 0);
	make_available(QSIZE, 3);
	make_available(QSIZE, 6);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	ck_assert_int_eq(virtq_push(&q, &chain, 42), 0);
	ck_assert_uint_eq(get32(USED + 4), 3);
	ck_assert_uint_eq(get32(USED + 8), 42);
	ck_assert_uint_eq(get16(USED + 2), 1);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	ck_assert_int_eq(virtq_push(&q, &chain, 0), 0);
	ck_assert_uint_eq(get32(USED + 12), 6);
	ck_assert_uint_eq(get32(USED + 16), 0);
	ck_assert_uint_eq(get16(USED + 2), 2);
}
END_TEST

/* A batch is published with one index update, after its entries, wrapping
 * around the ring; a bad head or count is refused with nothing written. */
START_TEST(push_batch_publishes_once)
{
	const struct virtq_used_elem three[3] = {{5, 10}, {1, 20}, {7, 30}};
	const struct virtq_used_elem bad[2] = {{2, 1}, {QSIZE, 1}};
	struct virtq_used_elem too_many[QSIZE + 1] = {{0, 0}};

	init_queue(QSIZE, false, false);
	start_indices_at(6);
	ck_assert_int_eq(virtq_push_batch(&q, bad, 2), -EINVAL);
	ck_assert_int_eq(virtq_push_batch(&q, too_many, QSIZE + 1), -EINVAL);
	ck_assert_uint_eq(get16(USED + 2), 6);
	ck_assert_int_eq(virtq_push_batch(&q, three, 3), 0);
	ck_assert_uint_eq(get16(USED + 2), 9);
	ck_assert_uint_eq(get32(USED + 4 + 8 * 6), 5);
	ck_assert_uint_eq(get32(USED + 8 + 8 * 6), 10);
	ck_assert_uint_eq(get32(USED + 4 + 8 * 7), 1);
	ck_assert_uint_eq(get32(USED + 4 + 8 * 0), 7);
	ck_assert_uint_eq(get32(USED + 8 + 8 * 0), 30);
	ck_assert(!q.broken);
}
END_TEST

START_TEST(push_marks_dirty_pages)
{
	const struct dirty_bitmap *bm = &guest_mem_region_of(&mem, RAM)->dirty;
	uint64_t words[4];

	init_queue(QSIZE, false, false);
	put_desc(0, 0x19000, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, 0x1a800, 0x1000, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	put_desc(2, 0x1d000, 0x2000, VIRTQ_DESC_F_WRITE, 0);
	make_available(QSIZE, 0);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	dirty_bitmap_collect((struct dirty_bitmap *)bm, words, ARRAY_SIZE(words));

	ck_assert_int_eq(virtq_push(&q, &chain, 0x1000 + 0x10), 0);
	ck_assert(dirty_bitmap_test(bm, 0x1a000));
	ck_assert(dirty_bitmap_test(bm, 0x1b000));
	ck_assert(dirty_bitmap_test(bm, 0x1d000));
	ck_assert(!dirty_bitmap_test(bm, 0x1e000)); /* in, but past @written */
	ck_assert(!dirty_bitmap_test(bm, 0x19000)); /* out */
	ck_assert(!dirty_bitmap_test(bm, 0x1c000));
	ck_assert(dirty_bitmap_test(bm, USED)); /* the used ring itself */
	ck_assert(!dirty_bitmap_test(bm, DESC));
	ck_assert(!dirty_bitmap_test(bm, AVAIL));
}
END_TEST

/* Issue #10's audit on the queue alone: after each call that stores into
 * guest memory, every page whose bytes changed is in the dirty bitmap. */
static uint8_t shadow[RAM_SIZE];

static void audit_begin(void)
{
	uint64_t words[(RAM_SIZE / PAGE + 63) / 64];

	dirty_bitmap_collect((struct dirty_bitmap *)&guest_mem_region_of(&mem, RAM)->dirty, words,
			     ARRAY_SIZE(words));
	memcpy(shadow, ram, RAM_SIZE);
}

static void audit_end(const char *what)
{
	const struct dirty_bitmap *bm = &guest_mem_region_of(&mem, RAM)->dirty;
	unsigned changed = 0;

	for (uint64_t off = 0; off < RAM_SIZE; off += PAGE) {
		if (!memcmp((uint8_t *)ram + off, shadow + off, PAGE))
			continue;
		changed++;
		ck_assert_msg(dirty_bitmap_test(bm, RAM + off),
			      "%s changed page 0x%llx without marking it dirty", what,
			      (unsigned long long)(RAM + off));
	}
	ck_assert_msg(changed, "%s changed nothing: the audit saw no store", what);
}

START_TEST(every_store_marks_its_page)
{
	const struct virtq_used_elem two[2] = {{1, 0x10}, {2, 0}};
	const bool event_idx = _i;
	/* The used ring across a page boundary: flags and index on one page,
	 * the entries from the second on, and avail_event, on the next. */
	const uint64_t used = USED + PAGE - 8;

	ck_assert_int_eq(virtq_init(&q, &mem, QSIZE, DESC, AVAIL, used, event_idx, false), 0);
	/* Three chains, their writable buffers on pages of their own. */
	for (unsigned i = 0; i < 3; i++) {
		put_desc(i, BUF + (i + 1) * PAGE - 8, 0x10, VIRTQ_DESC_F_WRITE, 0);
		make_available(QSIZE, (uint16_t)i);
	}

	if (!event_idx) {
		audit_begin();
		virtq_disable_notify(&q); /* sets VIRTQ_USED_F_NO_NOTIFY */
		audit_end("virtq_disable_notify");
	}
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	audit_begin();
	ck_assert_uint_eq(virtq_chain_write(&chain, 0, "0123456789abcdef", 0x10), 0x10);
	ck_assert_int_eq(virtq_push(&q, &chain, 0x10), 0);
	audit_end("virtq_push");
	/* enable_notify stores the flag (or avail_event) and nothing else. */
	audit_begin();
	ck_assert(virtq_enable_notify(&q));
	audit_end("virtq_enable_notify");

	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	ck_assert_uint_eq(virtq_chain_write(&chain, 0, "fedcba9876543210", 0x10), 0x10);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	audit_begin();
	ck_assert_int_eq(virtq_push_batch(&q, two, 2), 0);
	audit_end("virtq_push_batch");
	if (!event_idx) {
		audit_begin();
		virtq_disable_notify(&q);
		audit_end("virtq_disable_notify");
	}
	audit_begin();
	ck_assert(!virtq_enable_notify(&q));
	audit_end("virtq_enable_notify");
}
END_TEST

START_TEST(indices_wrap_at_65535)
{
	init_queue(QSIZE, false, false);
	start_indices_at(65534);
	for (unsigned i = 0; i < 4; i++) {
		put_desc(i, BUF + 0x100 * i, 16, VIRTQ_DESC_F_WRITE, 0);
		make_available(QSIZE, i);
	}
	ck_assert_uint_eq(driver_avail_idx, 2);
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_int_eq(virtq_pop(&q, &chain), 1);
		ck_assert_uint_eq(chain.head, i);
		ck_assert_int_eq(virtq_push(&q, &chain, 16), 0);
	}
	ck_assert_int_eq(virtq_pop(&q, &chain), 0);
	ck_assert_uint_eq(q.last_avail_idx, 2);
	ck_assert_uint_eq(get16(USED + 2), 2);
	/* 65534 % 8 == 6: entries at 6, 7, 0, 1. */
	ck_assert_uint_eq(get32(USED + 4 + 8 * 6), 0);
	ck_assert_uint_eq(get32(USED + 4 + 8 * 7), 1);
	ck_assert_uint_eq(get32(USED + 4 + 8 * 0), 2);
	ck_assert_uint_eq(get32(USED + 4 + 8 * 1), 3);
}
END_TEST

START_TEST(avail_idx_ahead_across_wrap)
{
	init_queue(QSIZE, false, false);
	start_indices_at(65530);
	set16(AVAIL + 2, (uint16_t)(65530 + QSIZE + 1));
	assert_pop_breaks("avail index ran ahead by 9 entries");
}
END_TEST

START_TEST(no_interrupt_flag_without_event_idx)
{
	init_queue(QSIZE, false, false);
	put_desc(0, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	make_available(QSIZE, 0);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	ck_assert_int_eq(virtq_push(&q, &chain, 0), 0);
	ck_assert(virtq_should_interrupt(&q));
	set16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	ck_assert(!virtq_should_interrupt(&q));
	/* used_event means nothing without EVENT_IDX. */
	set16(AVAIL + 4 + 2 * QSIZE, 0);
	ck_assert(!virtq_should_interrupt(&q));
	set16(AVAIL, 0);
	ck_assert(virtq_should_interrupt(&q));
}
END_TEST

static void pop_and_push(void)
{
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	ck_assert_int_eq(virtq_push(&q, &chain, 0), 0);
}

static void make_n_available(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		put_desc(driver_avail_idx % QSIZE, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
		make_available(QSIZE, driver_avail_idx % QSIZE);
	}
}

START_TEST(event_idx_suppression)
{
	const uint64_t used_event = AVAIL + 4 + 2 * QSIZE;

	init_queue(QSIZE, true, false);
	make_n_available(QSIZE);
	/* The first decision has nothing to compare with. */
	pop_and_push();
	ck_assert(virtq_should_interrupt(&q));
	/* The driver wants an interrupt once entry 2 is used (idx 2 -> 3). */
	set16(used_event, 2);
	pop_and_push();
	ck_assert(!virtq_should_interrupt(&q));
	pop_and_push();
	ck_assert(virtq_should_interrupt(&q));
	ck_assert(!virtq_should_interrupt(&q)); /* nothing new */
	/* A batch that jumps past the event interrupts once. */
	set16(used_event, 3);
	pop_and_push();
	pop_and_push();
	ck_assert(virtq_should_interrupt(&q));
	/* An event the batch does not reach: no interrupt. */
	set16(used_event, 10);
	pop_and_push();
	ck_assert(!virtq_should_interrupt(&q));
	/* NO_INTERRUPT means nothing with EVENT_IDX. */
	set16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	set16(used_event, q.used_idx);
	pop_and_push();
	ck_assert(virtq_should_interrupt(&q));
}
END_TEST

START_TEST(event_idx_wraparound_at_65535)
{
	const uint64_t used_event = AVAIL + 4 + 2 * QSIZE;

	init_queue(QSIZE, true, false);
	start_indices_at(65534);
	ck_assert(virtq_should_interrupt(&q)); /* records 65534 */
	make_n_available(4);
	set16(used_event, 0);
	pop_and_push(); /* 65535 */
	ck_assert(!virtq_should_interrupt(&q));
	pop_and_push(); /* 0 */
	ck_assert(!virtq_should_interrupt(&q));
	pop_and_push(); /* 1: entry 0 used */
	ck_assert(virtq_should_interrupt(&q));
	set16(used_event, 65535);
	pop_and_push(); /* 2: event long passed */
	ck_assert(!virtq_should_interrupt(&q));
	ck_assert_uint_eq(q.last_avail_idx, 2);
	ck_assert_uint_eq(get16(USED + 2), 2);
	/* avail_event follows last_avail_idx across the wrap. */
	ck_assert(!virtq_enable_notify(&q));
	ck_assert_uint_eq(get16(USED + 4 + 8 * QSIZE), 2);
}
END_TEST

START_TEST(enable_notify_without_event_idx)
{
	init_queue(QSIZE, false, false);
	virtq_disable_notify(&q);
	ck_assert_uint_eq(get16(USED), VIRTQ_USED_F_NO_NOTIFY);
	ck_assert(!virtq_enable_notify(&q));
	ck_assert_uint_eq(get16(USED), 0);
	/* The driver made a buffer available while notifications were off:
	 * the caller must poll again rather than sleep. */
	virtq_disable_notify(&q);
	make_n_available(1);
	ck_assert(virtq_enable_notify(&q));
	ck_assert_uint_eq(get16(USED), 0);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	ck_assert(!virtq_enable_notify(&q));
}
END_TEST

START_TEST(enable_notify_with_event_idx)
{
	const uint64_t avail_event = USED + 4 + 8 * QSIZE;

	init_queue(QSIZE, true, false);
	virtq_disable_notify(&q);
	ck_assert_uint_eq(get16(USED), 0);
	make_n_available(3);
	ck_assert(virtq_enable_notify(&q));
	ck_assert_uint_eq(get16(avail_event), 0);
	pop_and_push();
	pop_and_push();
	ck_assert(virtq_enable_notify(&q));
	ck_assert_uint_eq(get16(avail_event), 2);
	pop_and_push();
	ck_assert(!virtq_enable_notify(&q));
	ck_assert_uint_eq(get16(avail_event), 3);
}
END_TEST

START_TEST(descriptor_rewritten_after_pop_leaves_chain_intact)
{
	init_queue(QSIZE, false, false);
	put_desc(0, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	make_available(QSIZE, 0);
	ck_assert_int_eq(virtq_pop(&q, &chain), 1);
	put_desc(0, HOLE, 0xffffffff, VIRTQ_DESC_F_WRITE, 0);
	ck_assert_uint_eq(virtq_chain_write(&chain, 0, "0123456789abcdefXX", 18), 16);
	ck_assert_mem_eq(host(BUF), "0123456789abcdef", 16);
	ck_assert_int_eq(virtq_push(&q, &chain, 16), 0);
}
END_TEST

Suite *virtqueue_suite(void)
{
	Suite *s = suite_create("virtqueue");
	TCase *config = tcase_create("config");
	TCase *hostile = tcase_create("hostile");
	TCase *good = tcase_create("good");

	tcase_add_checked_fixture(config, setup, teardown);
	tcase_add_test(config, init_rejects_size_zero);
	tcase_add_test(config, init_rejects_size_not_power_of_two);
	tcase_add_test(config, init_rejects_size_above_max);
	tcase_add_test(config, init_accepts_max_size);
	tcase_add_test(config, init_rejects_misaligned_desc);
	tcase_add_test(config, init_rejects_misaligned_avail);
	tcase_add_test(config, init_rejects_misaligned_used);
	tcase_add_test(config, init_rejects_desc_outside_ram);
	tcase_add_test(config, init_rejects_avail_outside_ram);
	tcase_add_test(config, init_rejects_used_outside_ram);
	tcase_add_test(config, init_rejects_ring_straddling_region_end);
	tcase_add_test(config, uninitialised_queue_refuses_work);
	suite_add_tcase(s, config);

	tcase_add_checked_fixture(hostile, setup, teardown);
	tcase_add_test(hostile, avail_idx_ahead_by_size_plus_one);
	tcase_add_test(hostile, avail_idx_moving_back);
	tcase_add_test(hostile, avail_idx_ahead_across_wrap);
	tcase_add_test(hostile, head_beyond_size);
	tcase_add_test(hostile, next_beyond_size);
	tcase_add_test(hostile, descriptor_loop);
	tcase_add_test(hostile, self_loop_in_full_queue);
	tcase_add_test(hostile, indirect_not_negotiated);
	tcase_add_test(hostile, nested_indirect);
	tcase_add_test(hostile, indirect_len_not_multiple_of_16);
	tcase_add_test(hostile, indirect_len_zero);
	tcase_add_test(hostile, indirect_with_next);
	tcase_add_test(hostile, indirect_table_outside_ram);
	tcase_add_test(hostile, indirect_next_beyond_table);
	tcase_add_test(hostile, indirect_loop);
	tcase_add_test(hostile, buffer_addr_len_overflow);
	tcase_add_test(hostile, buffer_outside_ram);
	tcase_add_test(hostile, buffer_straddling_region_end);
	tcase_add_test(hostile, readable_after_writable);
	tcase_add_test(hostile, readable_after_writable_across_indirect);
	tcase_add_test(hostile, direct_chain_longer_than_max);
	tcase_add_test(hostile, indirect_chain_longer_than_max);
	tcase_add_test(hostile, broken_queue_refuses_all_work);
	tcase_add_test(hostile, push_more_than_writable_is_einval);
	tcase_add_test(hostile, descriptor_rewritten_after_pop_leaves_chain_intact);
	suite_add_tcase(s, hostile);

	tcase_add_checked_fixture(good, setup, teardown);
	tcase_add_test(good, empty_queue_pops_nothing);
	tcase_add_test(good, single_direct);
	tcase_add_test(good, multi_descriptor_direct);
	tcase_add_test(good, mixed_out_in);
	tcase_add_test(good, indirect_table);
	tcase_add_test(good, direct_then_indirect);
	tcase_add_test(good, zero_length_buffer_skipped);
	tcase_add_test(good, chain_of_max_length);
	tcase_add_test(good, avail_idx_ahead_by_exactly_size);
	tcase_add_test(good, chain_read_across_buffers);
	tcase_add_test(good, chain_write_across_buffers);
	tcase_add_test(good, push_fills_used_ring);
	tcase_add_test(good, push_batch_publishes_once);
	tcase_add_test(good, push_marks_dirty_pages);
	tcase_add_loop_test(good, every_store_marks_its_page, 0, 2);
	tcase_add_test(good, indices_wrap_at_65535);
	tcase_add_test(good, no_interrupt_flag_without_event_idx);
	tcase_add_test(good, event_idx_suppression);
	tcase_add_test(good, event_idx_wraparound_at_65535);
	tcase_add_test(good, enable_notify_without_event_idx);
	tcase_add_test(good, enable_notify_with_event_idx);
	suite_add_tcase(s, good);
	return s;
}
