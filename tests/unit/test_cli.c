#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "unit.h"
#include "vmm/api.h"
#include "vmm/cli.h"

static struct cli_options opts;
static char err[256];

/* What the parsed settings stand for (the library's internal view). */
#define RUN (*api_config_options(opts.config))

/* getopt_long permutes argv, so each call gets a fresh, writable array. */
#define ARGV(...) ((char *[]){"kvmkit", __VA_ARGS__, NULL})
#define PARSE(...) parse_argv(ARGV(__VA_ARGS__))

static int parse_argv(char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	cli_options_free(&opts);
	return cli_parse(argc, argv, &opts, err, sizeof(err));
}

static void free_options(void) { cli_options_free(&opts); }

static void reset_parser_state(void)
{
	/* Each test starts from pristine getopt state even under CK_FORK=no;
	 * whether cli_parse() itself resets it is tested in cli_regressions. */
	optind = 0;
	/* Junk, so a success that leaves a stale message is caught. */
	memset(err, 'J', sizeof(err) - 1);
	err[sizeof(err) - 1] = '\0';
}

/* Fails the test unless the parse failed with a message containing @needle. */
static void assert_parse_error(int ret, const char *needle)
{
	ck_assert_int_eq(ret, -EINVAL);
	ck_assert_msg(strstr(err, needle) != NULL, "message '%s' does not name %s", err, needle);
}

START_TEST(run_with_kernel_only)
{
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux"), 0);
	ck_assert_int_eq(opts.action, CLI_RUN);
	ck_assert_str_eq(RUN.vm.kernel_path, "vmlinux");
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(RUN.log_level, LOG_WARN);
	ck_assert_uint_eq(RUN.vm.nr_cpus, 1);
	ck_assert_uint_eq(RUN.vm.mem_size, (uint64_t)VM_DEFAULT_MEM_MIB << 20);
	ck_assert(RUN.vm.console_stdio);
	ck_assert_ptr_null(RUN.vm.initrd_path);
	ck_assert_ptr_null(RUN.vm.cmdline);
	ck_assert_ptr_null(RUN.vm.expect);
	ck_assert_uint_eq(RUN.vm.timeout_sec, 0);
	ck_assert(!RUN.vm.print_stats);
}
END_TEST

START_TEST(kernel_long_forms)
{
	ck_assert_int_eq(PARSE("run", "--kernel", "bzImage"), 0);
	ck_assert_str_eq(RUN.vm.kernel_path, "bzImage");
	ck_assert_int_eq(PARSE("run", "--kernel=Image"), 0);
	ck_assert_str_eq(RUN.vm.kernel_path, "Image");
	ck_assert_int_eq(PARSE("run", "-kImage.gz"), 0);
	ck_assert_str_eq(RUN.vm.kernel_path, "Image.gz");
}
END_TEST

START_TEST(initrd_option)
{
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "-i", "rootfs.cpio"), 0);
	ck_assert_str_eq(RUN.vm.initrd_path, "rootfs.cpio");
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "--initrd", "initrd.gz"), 0);
	ck_assert_str_eq(RUN.vm.initrd_path, "initrd.gz");
}
END_TEST

START_TEST(cmdline_option)
{
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "-p", "console=ttyAMA0 quiet"), 0);
	ck_assert_str_eq(RUN.vm.cmdline, "console=ttyAMA0 quiet");
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "--cmdline", "init=/bin/sh"), 0);
	ck_assert_str_eq(RUN.vm.cmdline, "init=/bin/sh");
}
END_TEST

START_TEST(cpus_option_bounds)
{
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "-c", "1"), 0);
	ck_assert_uint_eq(RUN.vm.nr_cpus, 1);
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "--cpus", "64"), 0);
	ck_assert_uint_eq(RUN.vm.nr_cpus, VM_MAX_CPUS);
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "--cpus=8"), 0);
	ck_assert_uint_eq(RUN.vm.nr_cpus, 8);
}
END_TEST

START_TEST(memory_option)
{
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "-m", "2G"), 0);
	ck_assert_uint_eq(RUN.vm.mem_size, 2ULL << 30);
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "--memory=512"), 0);
	ck_assert_uint_eq(RUN.vm.mem_size, 512ULL << 20);
}
END_TEST

START_TEST(console_log_option)
{
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "--console-log", "console.txt"), 0);
	ck_assert_str_eq(RUN.vm.console_log_path, "console.txt");
	ck_assert(RUN.vm.console_stdio);
}
END_TEST

START_TEST(no_stdio_option)
{
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "--no-stdio"), 0);
	ck_assert(!RUN.vm.console_stdio);
}
END_TEST

START_TEST(timeout_option_bounds)
{
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "--timeout", "1"), 0);
	ck_assert_uint_eq(RUN.vm.timeout_sec, 1);
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "--timeout=2678400"), 0);
	ck_assert_uint_eq(RUN.vm.timeout_sec, 2678400);
}
END_TEST

START_TEST(expect_option)
{
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "--expect", "login: "), 0);
	ck_assert_str_eq(RUN.vm.expect, "login: ");
}
END_TEST

START_TEST(dump_dtb_option)
{
	ck_assert_int_eq(PARSE("run", "-k", "Image", "--dump-dtb", "guest.dtb"), 0);
	ck_assert_str_eq(RUN.vm.dump_dtb_path, "guest.dtb");
}
END_TEST

static const struct {
	char *name;
	enum log_level level;
} log_levels[] = {
	{"error", LOG_ERROR},
	{"warn", LOG_WARN},
	{"info", LOG_INFO},
	{"debug", LOG_DEBUG},
};

START_TEST(log_level_option)
{
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "--log-level", log_levels[_i].name), 0);
	ck_assert_int_eq(RUN.log_level, log_levels[_i].level);
}
END_TEST

START_TEST(stats_option)
{
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "--stats"), 0);
	ck_assert(RUN.vm.print_stats);
}
END_TEST

START_TEST(restore_clock_option)
{
	ck_assert_int_eq(PARSE("run", "--restore", "snap"), 0);
	ck_assert_int_eq(RUN.vm.restore_clock, RESTORE_CLOCK_CONTINUE);
	ck_assert_int_eq(PARSE("run", "--restore", "snap", "--restore-clock", "advance"), 0);
	ck_assert_int_eq(RUN.vm.restore_clock, RESTORE_CLOCK_ADVANCE);
	ck_assert_int_eq(PARSE("run", "--restore-clock", "continue", "--restore", "snap"), 0);
	ck_assert_int_eq(RUN.vm.restore_clock, RESTORE_CLOCK_CONTINUE);
}
END_TEST

/* The unit suite runs the native build's architecture: on x86_64 both
 * arm64-only settings are refused up front, naming the architecture. */
START_TEST(pmu_option)
{
	int ret = PARSE("run", "-k", "vmlinux", "--pmu");

	if (arch_has_guest_pmu()) {
		ck_assert_int_eq(ret, 0);
		ck_assert(RUN.vm.pmu);
	} else {
		ck_assert_str_eq(arch_name(), "x86_64");
		assert_parse_error(ret, "--pmu: a guest PMU is arm64 only; this x86_64 kvmkit");
	}
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux"), 0);
	ck_assert(!RUN.vm.pmu);
}
END_TEST

START_TEST(kernel_format_option)
{
	int ret;

	ck_assert_int_eq(PARSE("run", "-k", "vmlinux"), 0);
	ck_assert_int_eq(RUN.vm.kernel_format, KERNEL_FORMAT_AUTO);
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "--kernel-format", "auto"), 0);
	ck_assert_int_eq(RUN.vm.kernel_format, KERNEL_FORMAT_AUTO);
	assert_parse_error(PARSE("run", "-k", "vmlinux", "--kernel-format", "elf"),
			   "--kernel-format 'elf': expected auto or raw");
	ret = PARSE("run", "-k", "vmlinux", "--kernel-format", "raw");
	if (arch_has_raw_kernel()) {
		ck_assert_int_eq(ret, 0);
		ck_assert_int_eq(RUN.vm.kernel_format, KERNEL_FORMAT_RAW);
	} else {
		assert_parse_error(ret, "--kernel-format raw: raw kernels are arm64 only");
	}
}
END_TEST

START_TEST(all_options_together_in_any_order)
{
	ck_assert_int_eq(PARSE("run", "--stats", "-c", "2", "--no-stdio", "--memory", "1G",
			       "--expect=ok", "-k", "vmlinux", "--timeout", "60", "-i", "initrd",
			       "--log-level=debug", "-p", "quiet", "--console-log", "log",
			       "--dump-dtb", "dtb"),
			 0);
	ck_assert_int_eq(opts.action, CLI_RUN);
	ck_assert_str_eq(RUN.vm.kernel_path, "vmlinux");
	ck_assert_str_eq(RUN.vm.initrd_path, "initrd");
	ck_assert_str_eq(RUN.vm.cmdline, "quiet");
	ck_assert_uint_eq(RUN.vm.nr_cpus, 2);
	ck_assert_uint_eq(RUN.vm.mem_size, 1ULL << 30);
	ck_assert_str_eq(RUN.vm.console_log_path, "log");
	ck_assert(!RUN.vm.console_stdio);
	ck_assert_uint_eq(RUN.vm.timeout_sec, 60);
	ck_assert_str_eq(RUN.vm.expect, "ok");
	ck_assert_str_eq(RUN.vm.dump_dtb_path, "dtb");
	ck_assert_int_eq(RUN.log_level, LOG_DEBUG);
	ck_assert(RUN.vm.print_stats);
}
END_TEST

START_TEST(repeated_option_last_wins)
{
	ck_assert_int_eq(PARSE("run", "-k", "old", "-c", "2", "-k", "new", "-c", "4"), 0);
	ck_assert_str_eq(RUN.vm.kernel_path, "new");
	ck_assert_uint_eq(RUN.vm.nr_cpus, 4);
}
END_TEST

static char *const help_words[] = {"--help", "-h", "help"};

START_TEST(help_command)
{
	ck_assert_int_eq(PARSE(help_words[_i]), 0);
	ck_assert_int_eq(opts.action, CLI_HELP);
}
END_TEST

START_TEST(help_inside_run_needs_no_kernel)
{
	ck_assert_int_eq(PARSE("run", "--help"), 0);
	ck_assert_int_eq(opts.action, CLI_HELP);
	ck_assert_int_eq(PARSE("run", "-c", "2", "-h"), 0);
	ck_assert_int_eq(opts.action, CLI_HELP);
}
END_TEST

static char *const version_words[] = {"--version", "-V"};

START_TEST(version_command)
{
	ck_assert_int_eq(PARSE(version_words[_i]), 0);
	ck_assert_int_eq(opts.action, CLI_VERSION);
}
END_TEST

START_TEST(version_inside_run)
{
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "--version"), 0);
	ck_assert_int_eq(opts.action, CLI_VERSION);
}
END_TEST

START_TEST(no_command)
{
	char *argv[] = {"kvmkit", NULL};

	cli_options_free(&opts);
	ck_assert_int_eq(cli_parse(1, argv, &opts, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "no command") != NULL, "message: %s", err);
}
END_TEST

START_TEST(unknown_command) { assert_parse_error(PARSE("start", "-k", "vmlinux"), "'start'"); }
END_TEST

START_TEST(unknown_long_option)
{
	assert_parse_error(PARSE("run", "-k", "vmlinux", "--bogus"), "'--bogus'");
}
END_TEST

START_TEST(unknown_short_option)
{
	assert_parse_error(PARSE("run", "-k", "vmlinux", "-x"), "'-x'");
}
END_TEST

START_TEST(missing_value_short_option)
{
	assert_parse_error(PARSE("run", "-c", "2", "-k"), "-k");
	assert_parse_error(PARSE("run", "-k", "vmlinux", "-m"), "-m");
}
END_TEST

START_TEST(missing_kernel)
{
	assert_parse_error(PARSE("run"), "kernel");
	assert_parse_error(PARSE("run", "-c", "2", "-m", "1G"), "kernel");
}
END_TEST

/* "'value'": how messages quote what the user typed. */
static const char *quoted(const char *value)
{
	static char text[64];

	snprintf(text, sizeof(text), "'%s'", value);
	return text;
}

static char *const bad_cpu_values[] = {"0", "65", "two", "", "-1", "1.5", "4294967297"};

START_TEST(bad_cpus)
{
	assert_parse_error(PARSE("run", "-k", "vmlinux", "--cpus", bad_cpu_values[_i]),
			   quoted(bad_cpu_values[_i]));
	assert_parse_error(PARSE("run", "-k", "vmlinux", "-c", bad_cpu_values[_i]), "--cpus");
}
END_TEST

static char *const bad_memory_values[] = {"12Q", "0", "", "-5", "99999999999999999999", "1.5G"};

START_TEST(bad_memory)
{
	assert_parse_error(PARSE("run", "-k", "vmlinux", "-m", bad_memory_values[_i]),
			   quoted(bad_memory_values[_i]));
	assert_parse_error(PARSE("run", "-k", "vmlinux", "--memory", bad_memory_values[_i]),
			   "--memory");
}
END_TEST

/* The layout's largest RAM is accepted, one page more is not (x86_64: RAM
 * past the MMIO hole continues at 4 GiB, so this is far above 3 GiB). */
START_TEST(memory_up_to_layout_limit)
{
	char at_limit[32], above[32];

	snprintf(at_limit, sizeof(at_limit), "%lluK", (unsigned long long)(arch_max_ram() >> 10));
	snprintf(above, sizeof(above), "%lluK", (unsigned long long)((arch_max_ram() >> 10) + 4));
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "-m", at_limit), 0);
	ck_assert_uint_eq(RUN.vm.mem_size, arch_max_ram());
	ck_assert_uint_gt(arch_max_ram(), 4ULL << 30);
	assert_parse_error(PARSE("run", "-k", "vmlinux", "-m", above), quoted(above));
}
END_TEST

static char *const bad_timeout_values[] = {"0", "2678401", "abc", "1.5", "-3", "", "10s"};

START_TEST(bad_timeout)
{
	int ret = PARSE("run", "-k", "vmlinux", "--timeout", bad_timeout_values[_i]);

	assert_parse_error(ret, quoted(bad_timeout_values[_i]));
	assert_parse_error(ret, "--timeout");
}
END_TEST

static char *const bad_log_level_values[] = {"verbose", "", "3", "warning"};

START_TEST(bad_log_level)
{
	int ret = PARSE("run", "-k", "vmlinux", "--log-level", bad_log_level_values[_i]);

	assert_parse_error(ret, quoted(bad_log_level_values[_i]));
	assert_parse_error(ret, "--log-level");
}
END_TEST

START_TEST(empty_expect)
{
	assert_parse_error(PARSE("run", "-k", "vmlinux", "--expect", ""), "--expect");
	assert_parse_error(PARSE("run", "-k", "vmlinux", "--expect="), "--expect");
}
END_TEST

/* --nested takes its mode only as --nested=MODE: a following word stays a
 * word of its own. */
START_TEST(nested_option)
{
	ck_assert_int_eq(PARSE("run", "-k", "Image"), 0);
	ck_assert_int_eq(RUN.vm.nested, VM_NESTED_OFF);
	ck_assert_int_eq(PARSE("run", "-k", "Image", "--nested"), 0);
	ck_assert_int_eq(RUN.vm.nested, VM_NESTED_VHE);
	ck_assert_int_eq(PARSE("run", "--nested=nvhe", "-k", "Image"), 0);
	ck_assert_int_eq(RUN.vm.nested, VM_NESTED_NVHE);
	ck_assert_int_eq(PARSE("run", "-k", "Image", "--nested=nvhe", "--nested=vhe"), 0);
	ck_assert_int_eq(RUN.vm.nested, VM_NESTED_VHE);
	assert_parse_error(PARSE("run", "-k", "Image", "--nested", "nvhe"), "'nvhe'");
}
END_TEST

static char *const bad_nested_values[] = {"--nested=", "--nested=NVHE", "--nested=el2",
					  "--nested=vhe,nvhe"};

START_TEST(bad_nested)
{
	assert_parse_error(PARSE("run", "-k", "Image", bad_nested_values[_i]), "--nested");
}
END_TEST

static char *const bad_restore_clock_values[] = {"", "Advance", "forward", "continue,advance"};

START_TEST(bad_restore_clock)
{
	assert_parse_error(PARSE("run", "--restore", "snap", "--restore-clock",
				 bad_restore_clock_values[_i]),
			   "--restore-clock");
}
END_TEST

START_TEST(stray_argument_after_options)
{
	assert_parse_error(PARSE("run", "-k", "vmlinux", "extra"), "'extra'");
}
END_TEST

START_TEST(stray_argument_before_options)
{
	assert_parse_error(PARSE("run", "vmlinux", "-k", "bzImage"), "'vmlinux'");
}
END_TEST

START_TEST(stray_argument_after_double_dash)
{
	assert_parse_error(PARSE("run", "-k", "vmlinux", "--", "-c"), "'-c'");
}
END_TEST

START_TEST(error_message_truncated_to_buffer)
{
	/* Exactly errlen bytes on the heap, so ASan catches a write past them. */
	char *small = malloc(16);
	int ret;

	ck_assert_ptr_nonnull(small);
	cli_options_free(&opts);
	ret = cli_parse(4, ARGV("run", "--cpus", "a-very-long-bad-value"), &opts, small, 16);
	ck_assert_int_eq(ret, -EINVAL);
	ck_assert_uint_eq(strlen(small), 15);
	free(small);
}
END_TEST

START_TEST(usage_lists_every_option)
{
	static const char *const names[] = {
		"--kernel",      "--initrd",   "--cmdline", "--cpus",    "--memory",
		"--console-log", "--no-stdio", "--timeout", "--expect",  "--dump-dtb",
		"--log-level",   "--stats",    "--help",    "--version",
	};

	char usage[4096] = "";

	cli_usage(usage, sizeof(usage));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		ck_assert_msg(strstr(usage, names[i]) != NULL, "usage lacks %s", names[i]);
}
END_TEST

/* Contracts cli_parse() once broke (stale getopt state, long-option messages). */

START_TEST(second_parse_after_short_option_cluster)
{
	/* glibc keeps its position inside "-hV" unless optind is set to 0. */
	ck_assert_int_eq(PARSE("run", "-hV"), 0);
	ck_assert_int_eq(opts.action, CLI_HELP);
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux"), 0);
	ck_assert_int_eq(opts.action, CLI_RUN);
	ck_assert_str_eq(RUN.vm.kernel_path, "vmlinux");
}
END_TEST

START_TEST(second_parse_after_bad_option_cluster)
{
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux", "-xy"), -EINVAL);
	ck_assert_int_eq(PARSE("run", "-k", "vmlinux"), 0);
	ck_assert_str_eq(RUN.vm.kernel_path, "vmlinux");
}
END_TEST

START_TEST(missing_value_long_only_option)
{
	assert_parse_error(PARSE("run", "-k", "vmlinux", "--timeout"), "--timeout");
	assert_parse_error(PARSE("run", "-k", "vmlinux", "--console-log"), "--console-log");
}
END_TEST

START_TEST(missing_value_long_option_with_short_alias)
{
	assert_parse_error(PARSE("run", "-k", "vmlinux", "--memory"), "--memory");
}
END_TEST

START_TEST(value_given_to_flag)
{
	assert_parse_error(PARSE("run", "-k", "vmlinux", "--stats=1"), "--stats");
	assert_parse_error(PARSE("run", "-k", "vmlinux", "--help=1"), "--help");
}
END_TEST

Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *good = tcase_create("accepted");
	TCase *action = tcase_create("action");
	TCase *bad = tcase_create("rejected");

	tcase_add_checked_fixture(good, reset_parser_state, free_options);
	tcase_add_test(good, run_with_kernel_only);
	tcase_add_test(good, kernel_long_forms);
	tcase_add_test(good, initrd_option);
	tcase_add_test(good, cmdline_option);
	tcase_add_test(good, cpus_option_bounds);
	tcase_add_test(good, memory_option);
	tcase_add_test(good, memory_up_to_layout_limit);
	tcase_add_test(good, console_log_option);
	tcase_add_test(good, no_stdio_option);
	tcase_add_test(good, timeout_option_bounds);
	tcase_add_test(good, expect_option);
	tcase_add_test(good, dump_dtb_option);
	tcase_add_loop_test(good, log_level_option, 0, ARRAY_SIZE(log_levels));
	tcase_add_test(good, stats_option);
	tcase_add_test(good, restore_clock_option);
	tcase_add_test(good, pmu_option);
	tcase_add_test(good, kernel_format_option);
	tcase_add_test(good, nested_option);
	tcase_add_test(good, all_options_together_in_any_order);
	tcase_add_test(good, repeated_option_last_wins);
	tcase_add_test(good, usage_lists_every_option);
	suite_add_tcase(s, good);

	tcase_add_checked_fixture(action, reset_parser_state, free_options);
	tcase_add_loop_test(action, help_command, 0, ARRAY_SIZE(help_words));
	tcase_add_test(action, help_inside_run_needs_no_kernel);
	tcase_add_loop_test(action, version_command, 0, ARRAY_SIZE(version_words));
	tcase_add_test(action, version_inside_run);
	suite_add_tcase(s, action);

	tcase_add_checked_fixture(bad, reset_parser_state, free_options);
	tcase_add_test(bad, no_command);
	tcase_add_test(bad, unknown_command);
	tcase_add_test(bad, unknown_long_option);
	tcase_add_test(bad, unknown_short_option);
	tcase_add_test(bad, missing_value_short_option);
	tcase_add_test(bad, missing_kernel);
	tcase_add_loop_test(bad, bad_cpus, 0, ARRAY_SIZE(bad_cpu_values));
	tcase_add_loop_test(bad, bad_memory, 0, ARRAY_SIZE(bad_memory_values));
	tcase_add_loop_test(bad, bad_timeout, 0, ARRAY_SIZE(bad_timeout_values));
	tcase_add_loop_test(bad, bad_log_level, 0, ARRAY_SIZE(bad_log_level_values));
	tcase_add_test(bad, empty_expect);
	tcase_add_loop_test(bad, bad_restore_clock, 0, ARRAY_SIZE(bad_restore_clock_values));
	tcase_add_loop_test(bad, bad_nested, 0, ARRAY_SIZE(bad_nested_values));
	tcase_add_test(bad, stray_argument_after_options);
	tcase_add_test(bad, stray_argument_before_options);
	tcase_add_test(bad, stray_argument_after_double_dash);
	tcase_add_test(bad, error_message_truncated_to_buffer);
	suite_add_tcase(s, bad);
	return s;
}

Suite *cli_regressions_suite(void)
{
	Suite *s = suite_create("cli_regressions");
	TCase *tc = tcase_create("getopt_state_and_long_options");

	tcase_add_checked_fixture(tc, reset_parser_state, free_options);
	tcase_add_test(tc, second_parse_after_short_option_cluster);
	tcase_add_test(tc, second_parse_after_bad_option_cluster);
	tcase_add_test(tc, missing_value_long_only_option);
	tcase_add_test(tc, missing_value_long_option_with_short_alias);
	tcase_add_test(tc, value_given_to_flag);
	suite_add_tcase(s, tc);
	return s;
}
