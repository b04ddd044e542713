#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"
#include "vmm/config.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

static const struct {
	const char *text;
	uint64_t bytes;
} good_sizes[] = {
	{"256", 256 * MiB},
	{"1", MiB},
	{"512M", 512 * MiB},
	{"512m", 512 * MiB},
	{"64MB", 64 * MiB},
	{"2G", 2 * GiB},
	{"1g", GiB},
	{"1GiB", GiB},
	{"1gib", GiB},
	{"4096K", 4 * MiB},
	{"1K", KiB},
	{"1T", TiB},
	{"16T", 16 * TiB},
	/* The largest count each unit allows: one more overflows 64 bits. */
	{"16777215T", 16777215 * TiB},
	{"17179869183G", 17179869183 * GiB},
	{"17592186044415", 17592186044415 * MiB},
	{"18014398509481983K", 18014398509481983 * KiB},
};

START_TEST(mem_size_accepted)
{
	uint64_t bytes = 0;

	ck_assert_msg(parse_mem_size(good_sizes[_i].text, &bytes) == 0, "'%s' rejected",
		      good_sizes[_i].text);
	ck_assert_msg(bytes == good_sizes[_i].bytes, "'%s' gave %llu bytes", good_sizes[_i].text,
		      (unsigned long long)bytes);
}
END_TEST

static const char *const bad_sizes[] = {
	"0",
	"0G",
	"",
	"-1",
	"+1",
	" 1",
	"1 ",
	"12Q",
	"1.5G",
	"0x10",
	"G",
	"1KK",
	"1Gi",
	"1iB",
	"1GiBs",
	"99999999999999999999",
	"16777216T",
	"17179869184G",
	"17592186044416",
	"17592186044416M",
	"18014398509481984K",
	"18446744073709551616K",
};

START_TEST(mem_size_rejected)
{
	uint64_t bytes = 0;

	ck_assert_msg(parse_mem_size(bad_sizes[_i], &bytes) == -EINVAL, "'%s' accepted",
		      bad_sizes[_i]);
}
END_TEST

START_TEST(mem_size_null_rejected)
{
	uint64_t bytes = 0;

	ck_assert_int_eq(parse_mem_size(NULL, &bytes), -EINVAL);
}
END_TEST

static const struct {
	const char *text;
	unsigned long min, max;
	int ret;
	unsigned long value;
} uint_cases[] = {
	{"0", 0, 10, 0, 0},
	{"10", 0, 10, 0, 10},
	{"007", 0, 10, 0, 7},
	{"11", 0, 10, -ERANGE, 0},
	{"0", 1, 64, -ERANGE, 0},
	{"1", 1, 64, 0, 1},
	{"64", 1, 64, 0, 64},
	{"65", 1, 64, -ERANGE, 0},
	{"99999999999999999999999", 0, ULONG_MAX, -ERANGE, 0},
	{"", 0, 10, -EINVAL, 0},
	{"-1", 0, 10, -EINVAL, 0},
	{"+1", 0, 10, -EINVAL, 0},
	{" 1", 0, 10, -EINVAL, 0},
	{"1 ", 0, 10, -EINVAL, 0},
	{"12abc", 0, 100, -EINVAL, 0},
	{"two", 0, 10, -EINVAL, 0},
	{"0x10", 0, 100, -EINVAL, 0},
	{"1e3", 0, 10000, -EINVAL, 0},
};

START_TEST(uint_bounds)
{
	unsigned long value = 12345;
	int ret = parse_uint(uint_cases[_i].text, uint_cases[_i].min, uint_cases[_i].max, &value);

	ck_assert_msg(ret == uint_cases[_i].ret, "'%s' in [%lu, %lu]: got %d, want %d",
		      uint_cases[_i].text, uint_cases[_i].min, uint_cases[_i].max, ret,
		      uint_cases[_i].ret);
	if (ret == 0)
		ck_assert_uint_eq(value, uint_cases[_i].value);
}
END_TEST

START_TEST(uint_full_range)
{
	char text[32];
	unsigned long value = 0;

	snprintf(text, sizeof(text), "%lu", ULONG_MAX);
	ck_assert_int_eq(parse_uint(text, 0, ULONG_MAX, &value), 0);
	ck_assert_uint_eq(value, ULONG_MAX);
	/* Ten times ULONG_MAX: strtoul's overflow must not pass as ULONG_MAX. */
	snprintf(text, sizeof(text), "%lu0", ULONG_MAX);
	ck_assert_int_eq(parse_uint(text, 0, ULONG_MAX, &value), -ERANGE);
}
END_TEST

START_TEST(uint_null_rejected)
{
	unsigned long value;

	ck_assert_int_eq(parse_uint(NULL, 0, 10, &value), -EINVAL);
}
END_TEST

START_TEST(config_defaults)
{
	struct vm_config cfg;

	memset(&cfg, 0xa5, sizeof(cfg));
	vm_config_defaults(&cfg);
	ck_assert_uint_eq(cfg.nr_cpus, 1);
	ck_assert_uint_eq(cfg.mem_size, VM_DEFAULT_MEM_MIB * MiB);
	ck_assert(cfg.console_stdio);
	ck_assert_ptr_null(cfg.kernel_path);
	ck_assert_ptr_null(cfg.initrd_path);
	ck_assert_ptr_null(cfg.cmdline);
	ck_assert_ptr_null(cfg.console_log_path);
	ck_assert_ptr_null(cfg.expect);
	ck_assert_ptr_null(cfg.dump_dtb_path);
	ck_assert_uint_eq(cfg.timeout_sec, 0);
	ck_assert(!cfg.print_stats);
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *mem = tcase_create("mem_size");
	TCase *uint = tcase_create("uint");
	TCase *defaults = tcase_create("defaults");

	tcase_add_loop_test(mem, mem_size_accepted, 0, ARRAY_SIZE(good_sizes));
	tcase_add_loop_test(mem, mem_size_rejected, 0, ARRAY_SIZE(bad_sizes));
	tcase_add_test(mem, mem_size_null_rejected);
	suite_add_tcase(s, mem);

	tcase_add_loop_test(uint, uint_bounds, 0, ARRAY_SIZE(uint_cases));
	tcase_add_test(uint, uint_full_range);
	tcase_add_test(uint, uint_null_rejected);
	suite_add_tcase(s, uint);

	tcase_add_test(defaults, config_defaults);
	suite_add_tcase(s, defaults);
	return s;
}
