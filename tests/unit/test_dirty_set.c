#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "vmm/dirty_set.h"
#include "vmm/guest_mem.h"

#define PAGE 0x1000ULL

/* Four regions, three of them not a multiple of 64 pages, so that every
 * region but D ends inside a word:
 *   A  100 pages  words 0-1  (1 whole word + 36 bits)
 *   B    1 page   word  2
 *   C  130 pages  words 3-5  (2 whole words + 2 bits)
 *   D   64 pages  word  6
 * guest_mem_add() never dereferences its host pointer. */
#define A_GPA 0x100000ULL
#define B_GPA 0x40000000ULL
#define C_GPA 0x80000000ULL
#define D_GPA 0x100000000ULL
#define A_PAGES 100
#define B_PAGES 1
#define C_PAGES 130
#define D_PAGES 64
#define ALL_PAGES (A_PAGES + B_PAGES + C_PAGES + D_PAGES)
#define NR_WORDS 7
#define A 0
#define B 1
#define C 2
#define D 3

static uint8_t dummy_host[1];
static struct guest_mem mem;
static struct dirty_set set, other;

static void setup(void)
{
	mem = (struct guest_mem){0};
	ck_assert_int_eq(guest_mem_add(&mem, A_GPA, A_PAGES * PAGE, dummy_host), 0);
	ck_assert_int_eq(guest_mem_add(&mem, B_GPA, B_PAGES * PAGE, dummy_host), 0);
	ck_assert_int_eq(guest_mem_add(&mem, C_GPA, C_PAGES * PAGE, dummy_host), 0);
	ck_assert_int_eq(guest_mem_add(&mem, D_GPA, D_PAGES * PAGE, dummy_host), 0);
	ck_assert_int_eq(dirty_set_init(&set, &mem), 0);
	ck_assert_int_eq(dirty_set_init(&other, &mem), 0);
}

static void teardown(void)
{
	dirty_set_free(&set);
	dirty_set_free(&other);
	guest_mem_release(&mem);
}

static uint64_t word(const struct dirty_set *s, unsigned region, size_t w)
{
	return s->regions[region].words[w];
}

/* The bits of a region's last word that stand for pages. */
static uint64_t tail_mask(uint64_t pages)
{
	return pages % 64 ? (1ULL << (pages % 64)) - 1 : ~0ULL;
}

START_TEST(init_takes_the_shape_of_guest_mem)
{
	static const struct {
		uint64_t gpa, pages;
		size_t first_word;
	} want[] = {
		{A_GPA, A_PAGES, 0}, {B_GPA, B_PAGES, 2}, {C_GPA, C_PAGES, 3}, {D_GPA, D_PAGES, 6}};

	ck_assert_uint_eq(set.nr_regions, 4);
	ck_assert_uint_eq(set.nr_words, NR_WORDS);
	for (unsigned i = 0; i < ARRAY_SIZE(want); i++) {
		ck_assert_uint_eq(set.regions[i].gpa, want[i].gpa);
		ck_assert_uint_eq(set.regions[i].nr_pages, want[i].pages);
		ck_assert_uint_eq(set.regions[i].first_word, want[i].first_word);
		ck_assert_ptr_nonnull(set.regions[i].words);
	}
	ck_assert_uint_eq(dirty_set_count(&set), 0);
}
END_TEST

START_TEST(free_empties_the_set)
{
	dirty_set_free(&set);
	ck_assert_uint_eq(set.nr_regions, 0);
	ck_assert_uint_eq(set.nr_words, 0);
	ck_assert_ptr_null(set.regions[0].words);
	dirty_set_free(&set); /* twice is harmless (teardown does it again) */
}
END_TEST

START_TEST(add_page_inside_and_at_the_edges)
{
	ck_assert(dirty_set_add_page(&set, A, 0));
	ck_assert(dirty_set_add_page(&set, A, A_PAGES - 1));
	ck_assert(dirty_set_add_page(&set, B, 0));
	ck_assert(dirty_set_add_page(&set, C, 64));
	ck_assert(dirty_set_add_page(&set, C, C_PAGES - 1));
	ck_assert(dirty_set_add_page(&set, D, D_PAGES - 1));
	ck_assert_uint_eq(word(&set, A, 0), 1);
	ck_assert_uint_eq(word(&set, A, 1), 1ULL << (A_PAGES - 1 - 64));
	ck_assert_uint_eq(word(&set, B, 0), 1);
	ck_assert_uint_eq(word(&set, C, 1), 1);
	ck_assert_uint_eq(word(&set, C, 2), 1ULL << (C_PAGES - 1 - 128));
	ck_assert_uint_eq(word(&set, D, 0), 1ULL << 63);
	ck_assert_uint_eq(dirty_set_count(&set), 6);
	/* Adding again changes nothing. */
	ck_assert(dirty_set_add_page(&set, A, 0));
	ck_assert_uint_eq(dirty_set_count(&set), 6);
}
END_TEST

START_TEST(add_page_out_of_range_changes_nothing)
{
	ck_assert(!dirty_set_add_page(&set, A, A_PAGES));
	ck_assert(!dirty_set_add_page(&set, B, 1));
	ck_assert(!dirty_set_add_page(&set, C, C_PAGES));
	ck_assert(!dirty_set_add_page(&set, D, D_PAGES));
	ck_assert(!dirty_set_add_page(&set, A, UINT64_MAX));
	ck_assert(!dirty_set_add_page(&set, 4, 0)); /* one past the regions */
	ck_assert(!dirty_set_add_page(&set, GUEST_MEM_MAX_REGIONS, 0));
	ck_assert(!dirty_set_add_page(&set, UINT32_MAX, 0));
	ck_assert_uint_eq(dirty_set_count(&set), 0);
	for (unsigned r = 0; r < set.nr_regions; r++)
		for (size_t w = 0; w < (set.regions[r].nr_pages + 63) / 64; w++)
			ck_assert_uint_eq(word(&set, r, w), 0);
}
END_TEST

START_TEST(or_words_clips_to_the_last_page)
{
	const uint64_t ones[8] = {~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL};

	/* Five words given, A has two, the second one 36 pages long. */
	ck_assert_uint_eq(dirty_set_or_words(&set, A, 0, ones, 5), A_PAGES);
	ck_assert_uint_eq(word(&set, A, 0), ~0ULL);
	ck_assert_uint_eq(word(&set, A, 1), tail_mask(A_PAGES));
	/* B, the region after A in the flat layout, untouched. */
	ck_assert_uint_eq(word(&set, B, 0), 0);
	ck_assert_uint_eq(dirty_set_count(&set), A_PAGES);
	/* The count is of the bits given, set before or not. */
	ck_assert_uint_eq(dirty_set_or_words(&set, A, 0, ones, 2), A_PAGES);

	/* From word 1 of C: a whole word and 2 bits of the last. */
	ck_assert_uint_eq(dirty_set_or_words(&set, C, 1, ones, 8), 64 + 2);
	ck_assert_uint_eq(word(&set, C, 0), 0);
	ck_assert_uint_eq(word(&set, C, 1), ~0ULL);
	ck_assert_uint_eq(word(&set, C, 2), 3);
	ck_assert_uint_eq(word(&set, D, 0), 0);
	/* B's only word keeps its only bit. */
	ck_assert_uint_eq(dirty_set_or_words(&set, B, 0, ones, 1), 1);
	ck_assert_uint_eq(word(&set, B, 0), 1);
	/* D is a whole word. */
	ck_assert_uint_eq(dirty_set_or_words(&set, D, 0, ones, 2), 64);
	ck_assert_uint_eq(word(&set, D, 0), ~0ULL);
	ck_assert_uint_eq(dirty_set_count(&set), A_PAGES + B_PAGES + 64 + 2 + D_PAGES);
}
END_TEST

START_TEST(or_words_past_the_region_is_ignored)
{
	const uint64_t ones[2] = {~0ULL, ~0ULL};
	const uint64_t past_a = ~tail_mask(A_PAGES);

	ck_assert_uint_eq(dirty_set_or_words(&set, A, 2, ones, 2), 0);
	ck_assert_uint_eq(dirty_set_or_words(&set, A, SIZE_MAX, ones, 2), 0);
	ck_assert_uint_eq(dirty_set_or_words(&set, 4, 0, ones, 2), 0);
	ck_assert_uint_eq(dirty_set_or_words(&set, UINT32_MAX, 0, ones, 2), 0);
	/* Only bits beyond A's last page: nothing to set. */
	ck_assert_uint_eq(dirty_set_or_words(&set, A, 1, &past_a, 1), 0);
	ck_assert_uint_eq(dirty_set_or_words(&set, A, 0, ones, 0), 0);
	ck_assert_uint_eq(dirty_set_count(&set), 0);
}
END_TEST

START_TEST(or_words_keeps_what_was_there)
{
	const uint64_t w[2] = {0xf0, 1ULL << 35};

	ck_assert(dirty_set_add_page(&set, A, 0));
	ck_assert(dirty_set_add_page(&set, A, 64));
	ck_assert_uint_eq(dirty_set_or_words(&set, A, 0, w, 2), 5);
	ck_assert_uint_eq(word(&set, A, 0), 0xf1);
	ck_assert_uint_eq(word(&set, A, 1), 1 | 1ULL << 35);
}
END_TEST

START_TEST(fill_sets_every_page_and_nothing_past_them)
{
	dirty_set_fill(&set);
	ck_assert_uint_eq(dirty_set_count(&set), ALL_PAGES);
	ck_assert_uint_eq(word(&set, A, 0), ~0ULL);
	ck_assert_uint_eq(word(&set, A, 1), tail_mask(A_PAGES));
	ck_assert_uint_eq(word(&set, B, 0), 1);
	ck_assert_uint_eq(word(&set, C, 0), ~0ULL);
	ck_assert_uint_eq(word(&set, C, 1), ~0ULL);
	ck_assert_uint_eq(word(&set, C, 2), tail_mask(C_PAGES));
	ck_assert_uint_eq(word(&set, D, 0), ~0ULL);
	dirty_set_clear(&set);
	ck_assert_uint_eq(dirty_set_count(&set), 0);
}
END_TEST

START_TEST(merge_is_a_union)
{
	ck_assert(dirty_set_add_page(&set, A, 3));
	ck_assert(dirty_set_add_page(&set, C, 129));
	ck_assert(dirty_set_add_page(&other, A, 3));
	ck_assert(dirty_set_add_page(&other, A, 99));
	ck_assert(dirty_set_add_page(&other, B, 0));
	ck_assert(dirty_set_add_page(&other, D, 0));
	dirty_set_merge(&set, &other);
	ck_assert_uint_eq(dirty_set_count(&set), 5);
	ck_assert_uint_eq(word(&set, A, 0), 1ULL << 3);
	ck_assert_uint_eq(word(&set, A, 1), 1ULL << 35);
	ck_assert_uint_eq(word(&set, B, 0), 1);
	ck_assert_uint_eq(word(&set, C, 2), 2);
	ck_assert_uint_eq(word(&set, D, 0), 1);
	/* The source is left as it was. */
	ck_assert_uint_eq(dirty_set_count(&other), 4);
	ck_assert_uint_eq(word(&other, C, 2), 0);
	/* A full source fills the destination, and no more. */
	dirty_set_fill(&other);
	dirty_set_merge(&set, &other);
	ck_assert_uint_eq(dirty_set_count(&set), ALL_PAGES);
}
END_TEST

START_TEST(test_finds_the_page_of_a_gpa)
{
	ck_assert(dirty_set_add_page(&set, A, 0));
	ck_assert(dirty_set_add_page(&set, A, A_PAGES - 1));
	ck_assert(dirty_set_add_page(&set, C, 64));
	ck_assert(dirty_set_add_page(&set, D, D_PAGES - 1));
	ck_assert(dirty_set_test(&set, A_GPA));
	ck_assert(dirty_set_test(&set, A_GPA + PAGE - 1));
	ck_assert(!dirty_set_test(&set, A_GPA + PAGE));
	ck_assert(dirty_set_test(&set, A_GPA + (A_PAGES - 1) * PAGE));
	ck_assert(!dirty_set_test(&set, A_GPA + (A_PAGES - 2) * PAGE));
	ck_assert(dirty_set_test(&set, C_GPA + 64 * PAGE + 0x800));
	ck_assert(!dirty_set_test(&set, C_GPA + 63 * PAGE));
	ck_assert(!dirty_set_test(&set, C_GPA + 65 * PAGE));
	ck_assert(dirty_set_test(&set, D_GPA + D_PAGES * PAGE - 1));
	/* Outside every region: below, in the holes, above. */
	ck_assert(!dirty_set_test(&set, 0));
	ck_assert(!dirty_set_test(&set, A_GPA - 1));
	ck_assert(!dirty_set_test(&set, A_GPA + A_PAGES * PAGE));
	ck_assert(!dirty_set_test(&set, B_GPA - PAGE));
	ck_assert(!dirty_set_test(&set, D_GPA + D_PAGES * PAGE));
	ck_assert(!dirty_set_test(&set, UINT64_MAX));
	/* Every region full, nothing outside. */
	dirty_set_fill(&set);
	ck_assert(dirty_set_test(&set, B_GPA));
	ck_assert(!dirty_set_test(&set, B_GPA + PAGE));
	ck_assert(!dirty_set_test(&set, C_GPA + C_PAGES * PAGE));
}
END_TEST

/* Where one region ends and the next begins, the page is the next one's. */
START_TEST(test_at_a_shared_boundary_is_the_next_region)
{
	struct guest_mem adj = {0};
	struct dirty_set s;

	ck_assert_int_eq(guest_mem_add(&adj, 0x10000, 10 * PAGE, dummy_host), 0);
	ck_assert_int_eq(guest_mem_add(&adj, 0x10000 + 10 * PAGE, 64 * PAGE, dummy_host), 0);
	ck_assert_int_eq(dirty_set_init(&s, &adj), 0);
	ck_assert(dirty_set_add_page(&s, 1, 0));
	ck_assert(dirty_set_test(&s, 0x10000 + 10 * PAGE));
	ck_assert(!dirty_set_test(&s, 0x10000 + 9 * PAGE));
	ck_assert(dirty_set_add_page(&s, 0, 9));
	ck_assert(!dirty_set_test(&s, 0x10000 + 11 * PAGE));
	dirty_set_free(&s);
	guest_mem_release(&adj);
}
END_TEST

START_TEST(copy_out_lays_regions_end_to_end)
{
	uint64_t out[NR_WORDS + 2];

	ck_assert(dirty_set_add_page(&set, A, 1));
	ck_assert(dirty_set_add_page(&set, A, 65));
	ck_assert(dirty_set_add_page(&set, B, 0));
	ck_assert(dirty_set_add_page(&set, C, 2));
	ck_assert(dirty_set_add_page(&set, C, 129));
	ck_assert(dirty_set_add_page(&set, D, 63));
	memset(out, 0xa5, sizeof(out));
	ck_assert_uint_eq(dirty_set_copy_out(&set, out, ARRAY_SIZE(out)), NR_WORDS);
	ck_assert_uint_eq(out[0], 1ULL << 1);
	ck_assert_uint_eq(out[1], 1ULL << 1);
	ck_assert_uint_eq(out[2], 1);
	ck_assert_uint_eq(out[3], 1ULL << 2);
	ck_assert_uint_eq(out[4], 0);
	ck_assert_uint_eq(out[5], 2);
	ck_assert_uint_eq(out[6], 1ULL << 63);
	/* Past nr_words, the buffer is left alone. */
	ck_assert_uint_eq(out[7], 0xa5a5a5a5a5a5a5a5ULL);
	ck_assert_uint_eq(out[8], 0xa5a5a5a5a5a5a5a5ULL);
	/* Each region at its first_word. */
	for (unsigned r = 0; r < set.nr_regions; r++)
		ck_assert_uint_eq(out[set.regions[r].first_word], word(&set, r, 0));
}
END_TEST

START_TEST(copy_out_stops_at_a_short_buffer)
{
	uint64_t out[NR_WORDS];

	dirty_set_fill(&set);
	/* Ends inside C. */
	memset(out, 0, sizeof(out));
	ck_assert_uint_eq(dirty_set_copy_out(&set, out, 4), 4);
	ck_assert_uint_eq(out[0], ~0ULL);
	ck_assert_uint_eq(out[1], tail_mask(A_PAGES));
	ck_assert_uint_eq(out[2], 1);
	ck_assert_uint_eq(out[3], ~0ULL);
	ck_assert_uint_eq(out[4], 0);
	/* Ends exactly after A. */
	memset(out, 0, sizeof(out));
	ck_assert_uint_eq(dirty_set_copy_out(&set, out, 2), 2);
	ck_assert_uint_eq(out[1], tail_mask(A_PAGES));
	ck_assert_uint_eq(out[2], 0);
	/* Inside A's first word, and nothing. */
	memset(out, 0, sizeof(out));
	ck_assert_uint_eq(dirty_set_copy_out(&set, out, 1), 1);
	ck_assert_uint_eq(out[1], 0);
	ck_assert_uint_eq(dirty_set_copy_out(&set, out, 0), 0);
}
END_TEST

Suite *dirty_set_suite(void)
{
	Suite *s = suite_create("dirty_set");
	TCase *shape = tcase_create("shape");
	TCase *bits = tcase_create("bits");
	TCase *out = tcase_create("out");

	tcase_add_checked_fixture(shape, setup, teardown);
	tcase_add_test(shape, init_takes_the_shape_of_guest_mem);
	tcase_add_test(shape, free_empties_the_set);
	suite_add_tcase(s, shape);

	tcase_add_checked_fixture(bits, setup, teardown);
	tcase_add_test(bits, add_page_inside_and_at_the_edges);
	tcase_add_test(bits, add_page_out_of_range_changes_nothing);
	tcase_add_test(bits, or_words_clips_to_the_last_page);
	tcase_add_test(bits, or_words_past_the_region_is_ignored);
	tcase_add_test(bits, or_words_keeps_what_was_there);
	tcase_add_test(bits, fill_sets_every_page_and_nothing_past_them);
	tcase_add_test(bits, merge_is_a_union);
	suite_add_tcase(s, bits);

	tcase_add_checked_fixture(out, setup, teardown);
	tcase_add_test(out, test_finds_the_page_of_a_gpa);
	tcase_add_test(out, test_at_a_shared_boundary_is_the_next_region);
	tcase_add_test(out, copy_out_lays_regions_end_to_end);
	tcase_add_test(out, copy_out_stops_at_a_short_buffer);
	suite_add_tcase(s, out);
	return s;
}
