/* The message rate limiter: a burst goes out, then one per interval; every
 * message held back is counted once and the count goes with the next one out. */
#include "unit.h"
#include "vmm/ratelimit.h"

#define SEC 1000000000ULL

START_TEST(burst_then_held_back)
{
	struct ratelimit rl = RATELIMIT_INIT(SEC, 3);
	uint64_t n = 99;

	for (int i = 0; i < 3; i++) {
		ck_assert(ratelimit_allow(&rl, 5, &n));
		ck_assert_uint_eq(n, 0);
	}
	for (int i = 0; i < 10000; i++)
		ck_assert(!ratelimit_allow(&rl, 5 + (uint64_t)i, &n));
	ck_assert_uint_eq(rl.suppressed, 10000);
}
END_TEST

START_TEST(count_goes_with_the_next_one)
{
	struct ratelimit rl = RATELIMIT_INIT(SEC, 1);
	uint64_t n = 0;

	ck_assert(ratelimit_allow(&rl, 0, &n));
	for (int i = 0; i < 7; i++)
		ck_assert(!ratelimit_allow(&rl, SEC - 1, &n));
	ck_assert(ratelimit_allow(&rl, SEC, &n));
	ck_assert_uint_eq(n, 7);
	/* The count starts over. */
	ck_assert(!ratelimit_allow(&rl, SEC + 1, &n));
	ck_assert(ratelimit_allow(&rl, 2 * SEC, &n));
	ck_assert_uint_eq(n, 1);
}
END_TEST

/* One token per interval, however the calls fall; no more than the burst. */
START_TEST(refill_is_bounded)
{
	struct ratelimit rl = RATELIMIT_INIT(SEC, 2);
	unsigned allowed = 0;
	uint64_t n;

	ck_assert(ratelimit_allow(&rl, 0, &n));
	ck_assert(ratelimit_allow(&rl, 0, &n));
	/* 2.5 intervals of calls every 1/10 of one: two more. */
	for (uint64_t t = SEC / 10; t <= 5 * SEC / 2; t += SEC / 10)
		allowed += ratelimit_allow(&rl, t, &n);
	ck_assert_uint_eq(allowed, 2);
	/* A long quiet time gives back the burst, not more. */
	allowed = 0;
	for (int i = 0; i < 10; i++)
		allowed += ratelimit_allow(&rl, 100 * SEC, &n);
	ck_assert_uint_eq(allowed, 2);
}
END_TEST

/* A clock that seems to go back (two threads' readings) takes no token. */
START_TEST(time_going_back)
{
	struct ratelimit rl = RATELIMIT_INIT(SEC, 1);
	uint64_t n;

	ck_assert(ratelimit_allow(&rl, 10 * SEC, &n));
	ck_assert(!ratelimit_allow(&rl, 5 * SEC, &n));
	ck_assert(!ratelimit_allow(&rl, 10 * SEC + SEC / 2, &n));
	ck_assert(ratelimit_allow(&rl, 11 * SEC, &n));
	ck_assert_uint_eq(n, 2);
}
END_TEST

Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("bucket");

	tcase_add_test(tc, burst_then_held_back);
	tcase_add_test(tc, count_goes_with_the_next_one);
	tcase_add_test(tc, refill_is_bounded);
	tcase_add_test(tc, time_going_back);
	suite_add_tcase(s, tc);
	return s;
}
