#include <errno.h>
#include <string.h>

#include "unit.h"
#include "vmm/expect.h"

static struct expect_matcher m;

static void matcher_teardown(void) { expect_destroy(&m); }

static bool feed_str(const char *text) { return expect_feed(&m, text, strlen(text)); }

START_TEST(found_in_one_feed)
{
	ck_assert_int_eq(expect_init(&m, "login:"), 0);
	ck_assert(feed_str("Booting Linux...\nbuildroot login: "));
}
END_TEST

START_TEST(found_split_across_feeds)
{
	ck_assert_int_eq(expect_init(&m, "login:"), 0);
	ck_assert(!feed_str("buildroot lo"));
	ck_assert(!feed_str("gi"));
	ck_assert(feed_str("n: "));
}
END_TEST

START_TEST(found_byte_by_byte)
{
	const char *text = "xx Linux version 6.1 xx";

	ck_assert_int_eq(expect_init(&m, "Linux version"), 0);
	for (size_t i = 0; i < strlen(text); i++) {
		bool seen = expect_feed(&m, text + i, 1);

		/* The last byte of the pattern is text[15]. */
		ck_assert_int_eq(seen, i >= 15);
	}
}
END_TEST

START_TEST(overlapping_prefix)
{
	/* After "aa" fails on the third 'a', "aa" is still a live prefix. */
	ck_assert_int_eq(expect_init(&m, "aab"), 0);
	ck_assert(feed_str("aaab"));
}
END_TEST

START_TEST(overlapping_prefix_byte_by_byte)
{
	ck_assert_int_eq(expect_init(&m, "aab"), 0);
	ck_assert(!feed_str("a"));
	ck_assert(!feed_str("a"));
	ck_assert(!feed_str("a"));
	ck_assert(feed_str("b"));
}
END_TEST

START_TEST(repeats_fall_back_to_border)
{
	/* "abcab" matched, then 'c': the border "ab" plus 'c' must survive. */
	ck_assert_int_eq(expect_init(&m, "abcabd"), 0);
	ck_assert(!feed_str("abcab"));
	ck_assert(!feed_str("c"));
	ck_assert(feed_str("abd"));
}
END_TEST

START_TEST(repeats_chain_of_borders)
{
	/* After "aabaabaa" a 'b' mismatches: matching resumes from the border
	 * "aabaa", so the match ending at the fifteenth byte is found. */
	ck_assert_int_eq(expect_init(&m, "aabaabaaa"), 0);
	ck_assert(!feed_str("aabaabaab"));
	ck_assert(feed_str("aabaaa"));
}
END_TEST

START_TEST(single_char_pattern)
{
	ck_assert_int_eq(expect_init(&m, "$"), 0);
	ck_assert(!feed_str("# "));
	ck_assert(feed_str("~ $ "));
}
END_TEST

START_TEST(not_found)
{
	ck_assert_int_eq(expect_init(&m, "login:"), 0);
	ck_assert(!feed_str("login"));
	ck_assert(!feed_str(" login;"));
	ck_assert(!feed_str("logi"));
	ck_assert(!feed_str("n "));
	ck_assert(!m.seen);
}
END_TEST

START_TEST(pattern_longer_than_output)
{
	ck_assert_int_eq(expect_init(&m, "a long pattern"), 0);
	ck_assert(!feed_str("a long"));
}
END_TEST

START_TEST(stays_true_once_seen)
{
	ck_assert_int_eq(expect_init(&m, "ok"), 0);
	ck_assert(feed_str("ok"));
	ck_assert(feed_str("nothing here"));
	ck_assert(expect_feed(&m, "", 0));
}
END_TEST

START_TEST(empty_feed_before_match)
{
	ck_assert_int_eq(expect_init(&m, "ok"), 0);
	ck_assert(!expect_feed(&m, "", 0));
	ck_assert(!feed_str("o"));
	ck_assert(!expect_feed(&m, NULL, 0));
	ck_assert(feed_str("k"));
}
END_TEST

START_TEST(nul_bytes_in_output)
{
	ck_assert_int_eq(expect_init(&m, "ab"), 0);
	ck_assert(!expect_feed(&m, "a\0b", 3));
	ck_assert(expect_feed(&m, "\0ab\0", 4));
}
END_TEST

START_TEST(non_ascii_split_inside_a_character)
{
	const char *text = "r\xc3\xa9sultat \xe2\x9c\x93 fin";

	ck_assert_int_eq(expect_init(&m, "\xe2\x9c\x93 fin"), 0);
	ck_assert(!expect_feed(&m, text, 11));
	ck_assert(expect_feed(&m, text + 11, strlen(text) - 11));
}
END_TEST

START_TEST(empty_pattern_is_einval)
{
	ck_assert_int_eq(expect_init(&m, ""), -EINVAL);
	/* A matcher that failed to initialise never matches and frees nothing. */
	ck_assert(!feed_str("anything"));
}
END_TEST

START_TEST(null_pattern_is_einval) { ck_assert_int_eq(expect_init(&m, NULL), -EINVAL); }
END_TEST

/* Patterns and output over {a, b} make borders and near misses common. */
START_TEST(agrees_with_strstr_on_random_chunks)
{
	uint32_t seed = 0x65787063;

	for (unsigned round = 0; round < 3000; round++) {
		char pattern[8], text[48];
		size_t plen = 1 + unit_rand(&seed) % (sizeof(pattern) - 1);
		size_t tlen = unit_rand(&seed) % sizeof(text);
		size_t pos = 0;

		for (size_t i = 0; i < plen; i++)
			pattern[i] = "ab"[unit_rand(&seed) % 2];
		pattern[plen] = '\0';
		for (size_t i = 0; i < tlen; i++)
			text[i] = "ab"[unit_rand(&seed) % 2];
		text[tlen] = '\0';

		ck_assert_int_eq(expect_init(&m, pattern), 0);
		while (pos < tlen) {
			size_t chunk = 1 + unit_rand(&seed) % (tlen - pos);
			char seen_so_far[sizeof(text)];
			bool want;

			memcpy(seen_so_far, text, pos + chunk);
			seen_so_far[pos + chunk] = '\0';
			want = strstr(seen_so_far, pattern) != NULL;
			ck_assert_msg(expect_feed(&m, text + pos, chunk) == want,
				      "pattern '%s', output '%s' fed up to %zu", pattern, text,
				      pos + chunk);
			pos += chunk;
		}
		expect_destroy(&m);
	}
}
END_TEST

Suite *expect_suite(void)
{
	Suite *s = suite_create("expect");
	TCase *tc = tcase_create("match");

	tcase_add_checked_fixture(tc, NULL, matcher_teardown);
	tcase_add_test(tc, found_in_one_feed);
	tcase_add_test(tc, found_split_across_feeds);
	tcase_add_test(tc, found_byte_by_byte);
	tcase_add_test(tc, overlapping_prefix);
	tcase_add_test(tc, overlapping_prefix_byte_by_byte);
	tcase_add_test(tc, repeats_fall_back_to_border);
	tcase_add_test(tc, repeats_chain_of_borders);
	tcase_add_test(tc, single_char_pattern);
	tcase_add_test(tc, not_found);
	tcase_add_test(tc, pattern_longer_than_output);
	tcase_add_test(tc, stays_true_once_seen);
	tcase_add_test(tc, empty_feed_before_match);
	tcase_add_test(tc, nul_bytes_in_output);
	tcase_add_test(tc, non_ascii_split_inside_a_character);
	tcase_add_test(tc, empty_pattern_is_einval);
	tcase_add_test(tc, null_pattern_is_einval);
	tcase_add_test(tc, agrees_with_strstr_on_random_chunks);
	suite_add_tcase(s, tc);
	return s;
}
