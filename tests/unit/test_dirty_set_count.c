/* The dirty log's page sets (vmm/dirty_set.h), whose page count is kept as
 * they change rather than counted, and the VMM bitmap's "marked" flag
 * (vmm/dirty_bitmap.h), which lets a harvest skip an unmarked bitmap. */
#include <string.h>

#include "unit.h"
#include "vmm/dirty_bitmap.h"
#include "vmm/dirty_set.h"
#include "vmm/guest_mem.h"

#define PAGE 0x1000ULL

static uint8_t dummy_host[1];
static struct guest_mem mem;
static struct dirty_set set;

/* Region 0: 100 pages (a partial last word); region 1: 64 pages. */
static void two_regions(void)
{
	mem = (struct guest_mem){0};
	ck_assert_int_eq(guest_mem_add(&mem, 0, 100 * PAGE, dummy_host), 0);
	ck_assert_int_eq(guest_mem_add(&mem, 1ULL << 32, 64 * PAGE, dummy_host), 0);
	ck_assert_int_eq(dirty_set_init(&set, &mem), 0);
}

static void release(void)
{
	dirty_set_free(&set);
	guest_mem_release(&mem);
}

static uint64_t popcount_all(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < set.nr_regions; i++)
		for (size_t w = 0; w < (set.regions[i].nr_pages + 63) / 64; w++)
			n += (uint64_t)__builtin_popcountll(set.regions[i].words[w]);
	return n;
}

START_TEST(count_follows_every_change)
{
	uint64_t words[2] = {0x3, ~0ULL}; /* word 1 of region 0 has 36 pages */
	uint64_t high = 0x5;
	struct dirty_set other;

	ck_assert_uint_eq(dirty_set_count(&set), 0);
	ck_assert(dirty_set_add_page(&set, 0, 1));
	ck_assert(dirty_set_add_page(&set, 0, 1)); /* again: still one page */
	ck_assert(!dirty_set_add_page(&set, 0, 100));
	ck_assert_uint_eq(dirty_set_count(&set), 1);
	/* Bits 0 and 1 given, 1 already in; bits past page 99 ignored. */
	ck_assert_uint_eq(dirty_set_or_words(&set, 0, 0, words, 2), 2 + 36);
	ck_assert_uint_eq(dirty_set_count(&set), 2 + 36);
	ck_assert_uint_eq(dirty_set_or_words(&set, 1, 0, &high, 1), 2);
	ck_assert_uint_eq(dirty_set_count(&set), 40);
	ck_assert_uint_eq(dirty_set_count(&set), popcount_all());

	ck_assert_int_eq(dirty_set_init(&other, &mem), 0);
	ck_assert(dirty_set_add_page(&other, 1, 0));  /* in set already */
	ck_assert(dirty_set_add_page(&other, 1, 63)); /* new */
	dirty_set_merge(&set, &other);
	ck_assert_uint_eq(dirty_set_count(&set), 41);
	ck_assert_uint_eq(dirty_set_count(&set), popcount_all());
	dirty_set_free(&other);

	dirty_set_clear(&set);
	ck_assert_uint_eq(dirty_set_count(&set), 0);
	ck_assert_uint_eq(popcount_all(), 0);
	dirty_set_fill(&set);
	ck_assert_uint_eq(dirty_set_count(&set), 164);
	ck_assert_uint_eq(popcount_all(), 164);
	dirty_set_fill(&set);
	ck_assert_uint_eq(dirty_set_count(&set), 164);
	dirty_set_clear(&set);
	ck_assert_uint_eq(popcount_all(), 0);
}
END_TEST

/* An empty set copies out as zeros over whatever the buffer held. */
START_TEST(empty_copy_out_is_zeros)
{
	uint64_t out[3];

	memset(out, 0xa5, sizeof(out));
	ck_assert_uint_eq(dirty_set_copy_out(&set, out, 3), 3);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_uint_eq(out[i], 0);
	ck_assert(dirty_set_add_page(&set, 1, 2));
	memset(out, 0xa5, sizeof(out));
	ck_assert_uint_eq(dirty_set_copy_out(&set, out, 3), 3);
	ck_assert_uint_eq(out[0], 0);
	ck_assert_uint_eq(out[1], 0);
	ck_assert_uint_eq(out[2], 0x4);
}
END_TEST

START_TEST(bitmap_marked_flag)
{
	struct dirty_bitmap *bm = &mem.regions[0].dirty;
	uint64_t words[2];

	ck_assert(!dirty_bitmap_take_marked(bm));
	dirty_bitmap_mark(bm, 5 * PAGE, 1);
	ck_assert(dirty_bitmap_take_marked(bm));
	ck_assert(!dirty_bitmap_take_marked(bm));   /* taken */
	ck_assert(dirty_bitmap_test(bm, 5 * PAGE)); /* the bits stay for the scan */
	dirty_bitmap_mark(bm, 7 * PAGE, 1);
	ck_assert_uint_eq(dirty_bitmap_collect(bm, words, 2), 2);
	ck_assert_uint_eq(words[0], (1ULL << 5) | (1ULL << 7));
	ck_assert(!dirty_bitmap_take_marked(bm)); /* collect took it too */
	dirty_bitmap_mark(bm, 200 * PAGE, 1);     /* outside: nothing marked */
	ck_assert_uint_eq(dirty_bitmap_collect(bm, words, 2), 2);
	ck_assert_uint_eq(words[0] | words[1], 0);
}
END_TEST

Suite *dirty_set_count_suite(void)
{
	Suite *s = suite_create("dirty_set_count");
	TCase *tc = tcase_create("set");

	tcase_add_checked_fixture(tc, two_regions, release);
	tcase_add_test(tc, count_follows_every_change);
	tcase_add_test(tc, empty_copy_out_is_zeros);
	tcase_add_test(tc, bitmap_marked_flag);
	suite_add_tcase(s, tc);
	return s;
}
