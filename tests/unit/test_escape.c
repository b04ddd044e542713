#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "vmm/escape.h"

static struct escape_state st;
/* Heap-allocated at the documented 2 * len bytes so ASan sees any overrun. */
static char *out;
static bool quit;

static void new_state(void)
{
	st = (struct escape_state){0};
	out = NULL;
	quit = true; /* escape_filter() must clear it */
}

static void free_out(void) { free(out); }

static size_t filter(const char *in, size_t len)
{
	free(out);
	out = malloc(len ? 2 * len : 1);
	ck_assert_ptr_nonnull(out);
	return escape_filter(&st, in, len, out, &quit);
}

START_TEST(plain_bytes_pass_through)
{
	ck_assert_uint_eq(filter("ls -l\r", 6), 6);
	ck_assert_mem_eq(out, "ls -l\r", 6);
	ck_assert(!quit);
}
END_TEST

START_TEST(ctrl_a_x_quits)
{
	ck_assert_uint_eq(filter("\x01x", 2), 0);
	ck_assert(quit);
}
END_TEST

START_TEST(bytes_before_quit_are_kept)
{
	ck_assert_uint_eq(filter("ab\x01x", 4), 2);
	ck_assert_mem_eq(out, "ab", 2);
	ck_assert(quit);
}
END_TEST

START_TEST(bytes_after_quit_are_dropped)
{
	ck_assert_uint_eq(filter("ab\x01xcd\x01\x01", 8), 2);
	ck_assert_mem_eq(out, "ab", 2);
	ck_assert(quit);
}
END_TEST

START_TEST(ctrl_a_ctrl_a_sends_one_ctrl_a)
{
	ck_assert_uint_eq(filter("\x01\x01", 2), 1);
	ck_assert_int_eq(out[0], ESCAPE_CHAR);
	ck_assert(!quit);
	ck_assert(!st.pending);
}
END_TEST

START_TEST(escaped_ctrl_a_then_x_is_not_quit)
{
	/* The second Ctrl-A was consumed as data, so the x is just an x. */
	ck_assert_uint_eq(filter("\x01\x01x", 3), 2);
	ck_assert_mem_eq(out, "\x01x", 2);
	ck_assert(!quit);
}
END_TEST

START_TEST(ctrl_a_other_key_sends_both)
{
	ck_assert_uint_eq(filter("\x01"
				 "c",
				 2),
			  2);
	ck_assert_mem_eq(out,
			 "\x01"
			 "c",
			 2);
	ck_assert(!quit);
}
END_TEST

START_TEST(ctrl_a_then_nul_sends_both)
{
	ck_assert_uint_eq(filter("\x01\0", 2), 2);
	ck_assert_mem_eq(out, "\x01\0", 2);
	ck_assert(!quit);
}
END_TEST

START_TEST(ctrl_a_split_then_x_quits)
{
	ck_assert_uint_eq(filter("a\x01", 2), 1);
	ck_assert_int_eq(out[0], 'a');
	ck_assert(!quit);
	ck_assert(st.pending);
	ck_assert_uint_eq(filter("xyz", 3), 0);
	ck_assert(quit);
}
END_TEST

START_TEST(ctrl_a_split_then_other_key)
{
	ck_assert_uint_eq(filter("\x01", 1), 0);
	ck_assert(!quit);
	/* One input byte yields two output bytes: why @out needs 2 * len. */
	ck_assert_uint_eq(filter("q", 1), 2);
	ck_assert_mem_eq(out, "\x01q", 2);
	ck_assert(!quit);
}
END_TEST

START_TEST(ctrl_a_split_then_ctrl_a)
{
	ck_assert_uint_eq(filter("\x01", 1), 0);
	ck_assert_uint_eq(filter("\x01", 1), 1);
	ck_assert_int_eq(out[0], ESCAPE_CHAR);
	ck_assert(!st.pending);
}
END_TEST

START_TEST(worst_case_fills_twice_the_input)
{
	/* A pending Ctrl-A and Ctrl-A + key pairs: every byte of the output is used. */
	ck_assert_uint_eq(filter("\x01", 1), 0);
	ck_assert_uint_eq(filter("a\x01"
				 "b\x01"
				 "c",
				 5),
			  6);
	ck_assert_mem_eq(out,
			 "\x01"
			 "a\x01"
			 "b\x01"
			 "c",
			 6);
}
END_TEST

START_TEST(empty_input)
{
	ck_assert_uint_eq(filter("", 0), 0);
	ck_assert(!quit);
}
END_TEST

START_TEST(quit_flag_is_per_call)
{
	ck_assert_uint_eq(filter("\x01x", 2), 0);
	ck_assert(quit);
	ck_assert_uint_eq(filter("ok", 2), 2);
	ck_assert(!quit);
}
END_TEST

Suite *escape_suite(void)
{
	Suite *s = suite_create("escape");
	TCase *tc = tcase_create("filter");

	tcase_add_checked_fixture(tc, new_state, free_out);
	tcase_add_test(tc, plain_bytes_pass_through);
	tcase_add_test(tc, ctrl_a_x_quits);
	tcase_add_test(tc, bytes_before_quit_are_kept);
	tcase_add_test(tc, bytes_after_quit_are_dropped);
	tcase_add_test(tc, ctrl_a_ctrl_a_sends_one_ctrl_a);
	tcase_add_test(tc, escaped_ctrl_a_then_x_is_not_quit);
	tcase_add_test(tc, ctrl_a_other_key_sends_both);
	tcase_add_test(tc, ctrl_a_then_nul_sends_both);
	tcase_add_test(tc, ctrl_a_split_then_x_quits);
	tcase_add_test(tc, ctrl_a_split_then_other_key);
	tcase_add_test(tc, ctrl_a_split_then_ctrl_a);
	tcase_add_test(tc, worst_case_fills_twice_the_input);
	tcase_add_test(tc, empty_input);
	tcase_add_test(tc, quit_flag_is_per_call);
	suite_add_tcase(s, tc);
	return s;
}
