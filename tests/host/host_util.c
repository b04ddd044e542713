#include "host_util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* x86_64 test guests are ELF files (tests/host/guests), arm64 ones flat
 * Images (tests/arm64/guests). */
#if defined(__aarch64__)
#define GUEST_SUFFIX ".img"
#else
#define GUEST_SUFFIX ".elf"
#endif

const char *host_guest_path(const char *name)
{
	static char path[4096];
	const char *dir = getenv("KVMKIT_HOST_GUESTS");

	ck_assert_msg(dir != NULL, "KVMKIT_HOST_GUESTS is not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/%s" GUEST_SUFFIX, dir, name);
	return path;
}

void host_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

double host_time_factor(void)
{
	const char *text = getenv("KVMKIT_TEST_TIME_FACTOR");
	char *end;
	double factor;

	if (!text || !*text)
		return 1.0;
	errno = 0;
	factor = strtod(text, &end);
	ck_assert_msg(errno == 0 && *end == '\0' && factor >= 1.0 && factor <= 1000.0,
		      "KVMKIT_TEST_TIME_FACTOR=%s: expected a number from 1 to 1000", text);
	return factor;
}

unsigned host_count_dir_entries(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	unsigned n = 0;

	ck_assert_msg(dir != NULL, "%s: %s", path, strerror(errno));
	while ((e = readdir(dir)) != NULL)
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

unsigned host_count_threads_settled(unsigned expected, unsigned max_wait_ms)
{
	unsigned n = host_count_dir_entries("/proc/self/task");
	double max_wait = max_wait_ms * host_time_factor();

	for (unsigned waited = 0; waited < max_wait && n != expected; waited += 10) {
		host_sleep_ms(10);
		n = host_count_dir_entries("/proc/self/task");
	}
	return n;
}

unsigned long host_rss_kib(void)
{
	char line[256];
	unsigned long kib = 0;
	FILE *f = fopen("/proc/self/status", "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %lu kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

int host_run_suite(int argc, char **argv, const struct host_suite *s)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	Suite *suite;
	SRunner *runner;
	bool known = only == NULL;
	int failed;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [CASE]\n", argv[0]);
		return EXIT_FAILURE;
	}
	/* meson reads 77 as "skipped": this host cannot run guests at all. */
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		fprintf(stderr, "/dev/kvm: %s: skipping the host tests\n", strerror(errno));
		return 77;
	}
	if (s->host_ready && !s->host_ready())
		return 77;
	suite = suite_create(s->name);
	for (unsigned i = 0; i < s->nr_cases; i++) {
		TCase *tc = tcase_create(s->cases[i].name);

		if (s->unchecked_setup || s->unchecked_teardown)
			tcase_add_unchecked_fixture(tc, s->unchecked_setup, s->unchecked_teardown);
		if (s->setup || s->teardown)
			tcase_add_checked_fixture(tc, s->setup, s->teardown);
		tcase_set_timeout(tc, s->cases[i].timeout_sec);
		tcase_add_test(tc, s->cases[i].test);
		suite_add_tcase(suite, tc);
		if (only && strcmp(only, s->cases[i].name) == 0)
			known = true;
	}
	if (!known) {
		/* Check would run nothing and report success. */
		fprintf(stderr, "%s: no case named %s\n", argv[0], only);
		return EXIT_FAILURE;
	}
	runner = srunner_create(suite);
	srunner_run(runner, NULL, only, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
