#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "vmm/dirty_bitmap.h"

#define PAGE 0x1000ULL
/* 130 pages: two whole words and two bits of a third. */
#define BASE 0x200000ULL
#define PAGES 130
#define LIMIT (BASE + PAGES * PAGE)

static struct dirty_bitmap bm;

static void setup(void) { ck_assert_int_eq(dirty_bitmap_init(&bm, BASE, PAGES * PAGE), 0); }

static void teardown(void) { dirty_bitmap_free(&bm); }

static uint64_t word(size_t w) { return bm.words[w]; }

/* Pages marked, counted over every word (bits past the last page too). */
static unsigned marked(void)
{
	unsigned n = 0;

	for (size_t w = 0; w < dirty_bitmap_words(&bm); w++)
		n += (unsigned)__builtin_popcountll(word(w));
	return n;
}

START_TEST(init_rejects_bad_ranges)
{
	struct dirty_bitmap b;

	ck_assert_int_eq(dirty_bitmap_init(&b, BASE, 0), -EINVAL);
	ck_assert_int_eq(dirty_bitmap_init(&b, BASE + 1, PAGE), -EINVAL);
	ck_assert_int_eq(dirty_bitmap_init(&b, BASE, PAGE + 1), -EINVAL);
	ck_assert_int_eq(dirty_bitmap_init(&b, UINT64_MAX & ~(PAGE - 1), 2 * PAGE), -EINVAL);
	ck_assert_ptr_null(b.words);
}
END_TEST

START_TEST(words_round_up)
{
	struct dirty_bitmap b;

	ck_assert_uint_eq(dirty_bitmap_words(&bm), 3);
	ck_assert_int_eq(dirty_bitmap_init(&b, 0, 64 * PAGE), 0);
	ck_assert_uint_eq(dirty_bitmap_words(&b), 1);
	dirty_bitmap_free(&b);
	ck_assert_int_eq(dirty_bitmap_init(&b, 0, 65 * PAGE), 0);
	ck_assert_uint_eq(dirty_bitmap_words(&b), 2);
	dirty_bitmap_free(&b);
	ck_assert_int_eq(dirty_bitmap_init(&b, 0, PAGE), 0);
	ck_assert_uint_eq(dirty_bitmap_words(&b), 1);
	dirty_bitmap_free(&b);
}
END_TEST

START_TEST(mark_covers_every_page_touched)
{
	dirty_bitmap_mark(&bm, BASE + 0x10, 1);
	ck_assert_uint_eq(word(0), 1);
	/* Two bytes across a page boundary: both pages. */
	dirty_bitmap_mark(&bm, BASE + 5 * PAGE - 1, 2);
	ck_assert_uint_eq(word(0), 1 | 1ULL << 4 | 1ULL << 5);
	/* Exactly one page: not the next. */
	dirty_bitmap_mark(&bm, BASE + 10 * PAGE, PAGE);
	ck_assert(dirty_bitmap_test(&bm, BASE + 10 * PAGE));
	ck_assert(!dirty_bitmap_test(&bm, BASE + 11 * PAGE));
	ck_assert(!dirty_bitmap_test(&bm, BASE + 9 * PAGE));
	/* Across a word boundary. */
	dirty_bitmap_mark(&bm, BASE + 63 * PAGE + 0x800, PAGE);
	ck_assert_uint_eq(word(0) >> 63, 1);
	ck_assert_uint_eq(word(1), 1);
	ck_assert_uint_eq(marked(), 6);
	/* Length 0 marks nothing. */
	dirty_bitmap_mark(&bm, BASE + 20 * PAGE, 0);
	ck_assert(!dirty_bitmap_test(&bm, BASE + 20 * PAGE));
	ck_assert_uint_eq(marked(), 6);
}
END_TEST

START_TEST(mark_clips_to_the_bitmap)
{
	/* Starts below: the pages inside only. */
	dirty_bitmap_mark(&bm, BASE - 3 * PAGE, 4 * PAGE + 1);
	ck_assert_uint_eq(word(0), 3);
	/* Runs past the end: up to the last page, no bit beyond it. */
	dirty_bitmap_mark(&bm, LIMIT - 2 * PAGE - 1, 10 * PAGE);
	ck_assert_uint_eq(word(2), 3);
	ck_assert_uint_eq(word(1) >> 63, 1);
	ck_assert_uint_eq(marked(), 5);
	/* Wholly outside: below, at the limit, far above. */
	dirty_bitmap_mark(&bm, BASE - PAGE, PAGE);
	dirty_bitmap_mark(&bm, 0, BASE);
	dirty_bitmap_mark(&bm, LIMIT, 1);
	dirty_bitmap_mark(&bm, LIMIT + 64 * PAGE, PAGE);
	ck_assert_uint_eq(marked(), 5);
}
END_TEST

START_TEST(mark_survives_gpa_plus_len_overflow)
{
	dirty_bitmap_mark(&bm, LIMIT - 1, UINT64_MAX);
	ck_assert_uint_eq(word(2), 2);
	ck_assert_uint_eq(marked(), 1);
	dirty_bitmap_mark(&bm, 0, UINT64_MAX);
	ck_assert_uint_eq(marked(), PAGES);
	ck_assert_uint_eq(word(2), 3);
	dirty_bitmap_mark(&bm, UINT64_MAX, UINT64_MAX);
	ck_assert_uint_eq(marked(), PAGES);
}
END_TEST

START_TEST(test_is_false_outside)
{
	dirty_bitmap_mark(&bm, 0, UINT64_MAX);
	ck_assert(dirty_bitmap_test(&bm, BASE));
	ck_assert(dirty_bitmap_test(&bm, LIMIT - 1));
	ck_assert(!dirty_bitmap_test(&bm, BASE - 1));
	ck_assert(!dirty_bitmap_test(&bm, LIMIT));
	ck_assert(!dirty_bitmap_test(&bm, UINT64_MAX));
}
END_TEST

/* A whole number of words: the page after the last one would be a word
 * past the array (an ASan build sees the read). */
START_TEST(test_past_a_whole_word_bitmap)
{
	struct dirty_bitmap b;

	ck_assert_int_eq(dirty_bitmap_init(&b, 0, 64 * PAGE), 0);
	dirty_bitmap_mark(&b, 0, UINT64_MAX);
	ck_assert(dirty_bitmap_test(&b, 63 * PAGE));
	ck_assert(!dirty_bitmap_test(&b, 64 * PAGE));
	dirty_bitmap_free(&b);
}
END_TEST

START_TEST(collect_copies_and_clears)
{
	uint64_t out[5];

	dirty_bitmap_mark(&bm, BASE, 1);
	dirty_bitmap_mark(&bm, BASE + 64 * PAGE, 1);
	dirty_bitmap_mark(&bm, LIMIT - 1, 1);
	memset(out, 0xa5, sizeof(out));
	ck_assert_uint_eq(dirty_bitmap_collect(&bm, out, ARRAY_SIZE(out)), 3);
	ck_assert_uint_eq(out[0], 1);
	ck_assert_uint_eq(out[1], 1);
	ck_assert_uint_eq(out[2], 2);
	ck_assert_uint_eq(out[3], 0xa5a5a5a5a5a5a5a5ULL);
	ck_assert_uint_eq(marked(), 0);
	/* Collected again: nothing. */
	ck_assert_uint_eq(dirty_bitmap_collect(&bm, out, ARRAY_SIZE(out)), 3);
	ck_assert_uint_eq(out[0] | out[1] | out[2], 0);
}
END_TEST

START_TEST(collect_short_leaves_the_rest)
{
	uint64_t out[3] = {0};

	dirty_bitmap_mark(&bm, 0, UINT64_MAX);
	ck_assert_uint_eq(dirty_bitmap_collect(&bm, out, 1), 1);
	ck_assert_uint_eq(out[0], ~0ULL);
	ck_assert_uint_eq(out[1], 0);
	ck_assert_uint_eq(word(0), 0);
	ck_assert_uint_eq(word(1), ~0ULL);
	ck_assert_uint_eq(word(2), 3);
	ck_assert_uint_eq(dirty_bitmap_collect(&bm, out, 0), 0);
	ck_assert_uint_eq(word(1), ~0ULL);
}
END_TEST

START_TEST(free_bitmap_marks_nothing)
{
	dirty_bitmap_free(&bm);
	dirty_bitmap_mark(&bm, BASE, PAGE);
	ck_assert(!dirty_bitmap_test(&bm, BASE));
}
END_TEST

Suite *dirty_bitmap_suite(void)
{
	Suite *s = suite_create("dirty_bitmap");
	TCase *tc = tcase_create("bitmap");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, init_rejects_bad_ranges);
	tcase_add_test(tc, words_round_up);
	tcase_add_test(tc, mark_covers_every_page_touched);
	tcase_add_test(tc, mark_clips_to_the_bitmap);
	tcase_add_test(tc, mark_survives_gpa_plus_len_overflow);
	tcase_add_test(tc, test_is_false_outside);
	tcase_add_test(tc, test_past_a_whole_word_bitmap);
	tcase_add_test(tc, collect_copies_and_clears);
	tcase_add_test(tc, collect_short_leaves_the_rest);
	tcase_add_test(tc, free_bitmap_marks_nothing);
	suite_add_tcase(s, tc);
	return s;
}
