/* The adaptive poll window: grows on early wake-ups, shrinks on late ones,
 * never leaves its bounds, and never polls when polling cannot pay. */
#include "unit.h"
#include "vmm/adaptive_poll.h"

#define MIN_NS 1000u
#define MAX_NS 64000u

static struct adaptive_poll p;

static void fresh(void) { adaptive_poll_init(&p, MIN_NS, MAX_NS, true); }

/* The device sleeps at @at and a notification comes @gap later. */
static void cycle(uint64_t *at, uint64_t gap)
{
	adaptive_poll_sleep(&p, *at);
	*at += gap;
	adaptive_poll_woken(&p, *at);
	*at += 10;
}

START_TEST(starts_without_polling)
{
	ck_assert_uint_eq(p.window_ns, 0);
	ck_assert(!adaptive_poll_continue(&p, 5, 5));
}
END_TEST

START_TEST(early_wakeups_grow_to_the_max)
{
	uint64_t t = 1000000;

	cycle(&t, 500);
	ck_assert_uint_eq(p.window_ns, MIN_NS);
	cycle(&t, 500);
	ck_assert_uint_eq(p.window_ns, 2 * MIN_NS);
	for (int i = 0; i < 20; i++)
		cycle(&t, 500);
	ck_assert_uint_eq(p.window_ns, MAX_NS);
	ck_assert(adaptive_poll_continue(&p, t, t + MAX_NS - 1));
	ck_assert(!adaptive_poll_continue(&p, t, t + MAX_NS));
}
END_TEST

START_TEST(late_wakeups_shrink_to_zero)
{
	uint64_t t = 1000000;

	for (int i = 0; i < 20; i++)
		cycle(&t, 500);
	cycle(&t, MAX_NS);
	ck_assert_uint_eq(p.window_ns, MAX_NS / 2);
	for (int i = 0; i < 20; i++)
		cycle(&t, 10 * MAX_NS);
	ck_assert_uint_eq(p.window_ns, 0);
}
END_TEST

/* A wake-up without a sleep before it (the first one, or work found while
 * polling) says nothing about the window. */
START_TEST(wakeup_without_sleep_changes_nothing)
{
	uint64_t t = 1000000;

	adaptive_poll_woken(&p, t);
	ck_assert_uint_eq(p.window_ns, 0);
	cycle(&t, 500);
	adaptive_poll_woken(&p, t + 10 * MAX_NS);
	ck_assert_uint_eq(p.window_ns, MIN_NS);
}
END_TEST

/* A sleep at time 0 still counts as a sleep. */
START_TEST(sleep_at_time_zero)
{
	adaptive_poll_sleep(&p, 0);
	adaptive_poll_woken(&p, 100);
	ck_assert_uint_eq(p.window_ns, MIN_NS);
}
END_TEST

START_TEST(disabled_never_polls)
{
	uint64_t t = 1000000;

	adaptive_poll_init(&p, MIN_NS, MAX_NS, false);
	for (int i = 0; i < 20; i++)
		cycle(&t, 1);
	ck_assert_uint_eq(p.window_ns, 0);
	ck_assert(!adaptive_poll_continue(&p, t, t));
}
END_TEST

START_TEST(usable_cpus_counts_some) { ck_assert_uint_ge(adaptive_poll_usable_cpus(), 1); }
END_TEST

Suite *adaptive_poll_suite(void)
{
	Suite *s = suite_create("adaptive_poll");
	TCase *tc = tcase_create("window");

	tcase_add_checked_fixture(tc, fresh, NULL);
	tcase_add_test(tc, starts_without_polling);
	tcase_add_test(tc, early_wakeups_grow_to_the_max);
	tcase_add_test(tc, late_wakeups_shrink_to_zero);
	tcase_add_test(tc, wakeup_without_sleep_changes_nothing);
	tcase_add_test(tc, sleep_at_time_zero);
	tcase_add_test(tc, disabled_never_polls);
	tcase_add_test(tc, usable_cpus_counts_some);
	suite_add_tcase(s, tc);
	return s;
}
