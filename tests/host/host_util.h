/* What every host test program shares, and nothing of kvmkit's internals (so
 * api_test.c, which may use the public API only, can link it): the test
 * guests' paths, what the process holds according to /proc, and main()'s
 * case runner. Assertions are Check's: any failure ends the test. */
#ifndef KVMKIT_TEST_HOST_UTIL_H
#define KVMKIT_TEST_HOST_UTIL_H

#include <check.h>
#include <stdbool.h>

/* The path of test guest @name in $KVMKIT_HOST_GUESTS (set by meson test, or
 * by tests/arm64/run-case.sh in the arm64 L1): NAME.elf, or NAME.img on arm64.
 * Static storage: valid until the next call. */
const char *host_guest_path(const char *name);

void host_sleep_ms(long ms);

/* How many times slower than a native host this tier runs: the value of
 * KVMKIT_TEST_TIME_FACTOR (the x86_64 L1 tier under TCG sets it), 1 when
 * unset. Upper bounds on time and waits for an event are multiplied by it;
 * lower bounds are not. A malformed value fails the test. */
double host_time_factor(void);

/* Entries of directory @path other than dot files (/proc/self/fd, /proc/self/task). */
unsigned host_count_dir_entries(const char *path);

/* The number of this process's threads once it equals @expected, or after
 * @max_wait_ms: a joined thread may linger in /proc/self/task for a moment
 * after pthread_join() returns. */
unsigned host_count_threads_settled(unsigned expected, unsigned max_wait_ms);

/* This process's resident set (VmRSS), in KiB. */
unsigned long host_rss_kib(void);

struct host_case {
	const char *name;
	const TTest *test;
	double timeout_sec;
};

struct host_suite {
	const char *name;
	const struct host_case *cases;
	unsigned nr_cases;
	/* Optional. Checked fixtures run around each test in its forked child,
	 * unchecked ones around each tcase in the parent. */
	SFun setup, teardown;
	SFun unchecked_setup, unchecked_teardown;
	/* Optional: whether this host has what the suite needs beyond /dev/kvm;
	 * says why not on stderr. */
	bool (*host_ready)(void);
};

/* main() of a host test program: `PROGRAM [CASE]` runs one tcase (each is a
 * meson test of its own) or, without CASE, all of them. Returns the exit
 * status: 77 (meson's "skipped") when /dev/kvm or host_ready() says no. */
int host_run_suite(int argc, char **argv, const struct host_suite *suite);

#endif
