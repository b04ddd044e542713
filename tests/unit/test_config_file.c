/* kvmkit run --config FILE.json: every setting has a JSON form, flags on the
 * command line override the file, and a bad file is an error naming the key. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arch.h"
#include "devices/virtio_blk.h"
#include "unit.h"
#include "vmm/api.h"
#include "vmm/cli.h"
#include "vmm/device_type.h"

static char path[64];
static struct kvmkit_config *cfg;

static void write_config(const char *text)
{
	int fd;

	strcpy(path, "/tmp/kvmkit-unit-config-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void setup(void)
{
	path[0] = '\0';
	ck_assert_int_eq(kvmkit_config_new(&cfg), 0);
}

static void teardown(void)
{
	kvmkit_config_free(cfg);
	cfg = NULL;
	if (path[0])
		unlink(path);
}

static int load(const char *text)
{
	write_config(text);
	return kvmkit_config_load_file(cfg, path);
}

static const struct run_options *opts(void) { return api_config_options(cfg); }

static const struct vm_disk_config *disk_at(unsigned index)
{
	const struct vm_disk_config *d =
		vm_config_device(&opts()->vm, device_type_find("disk"), index);

	ck_assert_ptr_nonnull(d);
	return d;
}

static void assert_error(int ret, const char *needle)
{
	const char *msg = kvmkit_config_last_error(cfg);

	ck_assert_int_eq(ret, -EINVAL);
	ck_assert_msg(strstr(msg, needle) != NULL, "message '%s' lacks '%s'", msg, needle);
	ck_assert_msg(strstr(msg, path) != NULL, "message '%s' does not name the file", msg);
	ck_assert_msg(strchr(msg, '\n') == NULL, "message '%s' is not one line", msg);
}

START_TEST(every_setting_has_a_json_form)
{
	ck_assert_int_eq(load("{\n"
			      "  \"kernel\": \"Image\", \"initrd\": \"initrd.cpio\",\n"
			      "  \"cmdline\": \"console=ttyS0 quiet\", \"cpus\": 2,\n"
			      "  \"memory\": \"1G\", \"console-log\": \"boot.log\",\n"
			      "  \"no-stdio\": true, \"timeout\": 60, \"expect\": \"login:\",\n"
			      "  \"dump-dtb\": \"guest.dtb\", \"log-level\": \"debug\",\n"
			      "  \"stats\": true, \"api-socket\": \"/run/vm.sock\",\n"
			      "  \"stop-timeout\": 0\n"
			      "}\n"),
			 0);
	ck_assert_str_eq(opts()->vm.kernel_path, "Image");
	ck_assert_str_eq(opts()->vm.initrd_path, "initrd.cpio");
	ck_assert_str_eq(opts()->vm.cmdline, "console=ttyS0 quiet");
	ck_assert_uint_eq(opts()->vm.nr_cpus, 2);
	ck_assert_uint_eq(opts()->vm.mem_size, 1ULL << 30);
	ck_assert_str_eq(opts()->vm.console_log_path, "boot.log");
	ck_assert(!opts()->vm.console_stdio);
	ck_assert_uint_eq(opts()->vm.timeout_sec, 60);
	ck_assert_str_eq(opts()->vm.expect, "login:");
	ck_assert_str_eq(opts()->vm.dump_dtb_path, "guest.dtb");
	ck_assert_int_eq(opts()->log_level, LOG_DEBUG);
	ck_assert(opts()->vm.print_stats);
	ck_assert_str_eq(opts()->vm.api_socket_path, "/run/vm.sock");
	ck_assert_uint_eq(opts()->vm.stop_timeout_sec, 0);
}
END_TEST

/* The table and the file cannot drift apart: each setting is accepted. */
START_TEST(every_table_entry_is_a_key)
{
	struct kvmkit_option_info info;

	ck_assert_int_eq(kvmkit_option_get(_i, &info), 0);
	if (info.takes_value)
		ck_assert_int_eq(kvmkit_config_is_set(cfg, info.name), 0);
	/* A key that does not exist fails by name, a known key not as unknown. */
	{
		char text[256];
		int ret;

		snprintf(text, sizeof(text), "{\"%s\": %s}", info.name,
			 info.takes_value ? "\"\"" : "true");
		ret = load(text);
		ck_assert_msg(ret == 0 ||
				      strstr(kvmkit_config_last_error(cfg), "unknown key") == NULL,
			      "%s: %s", info.name, kvmkit_config_last_error(cfg));
	}
}
END_TEST

/* "pmu" and "kernel-format" in a file take the command line's path: on the
 * native build's x86_64 both are refused, naming the file and the setting;
 * "kernel-format": "auto" is accepted everywhere. */
START_TEST(arm64_only_settings)
{
	ck_assert_int_eq(load("{\"kernel-format\": \"auto\"}"), 0);
	ck_assert_int_eq(opts()->vm.kernel_format, KERNEL_FORMAT_AUTO);
	if (arch_has_guest_pmu()) {
		ck_assert_int_eq(load("{\"pmu\": true}"), 0);
		ck_assert(opts()->vm.pmu);
	} else {
		assert_error(load("{\"pmu\": true}"), "--pmu: a guest PMU is arm64 only");
		ck_assert(!opts()->vm.pmu);
	}
	if (arch_has_raw_kernel()) {
		ck_assert_int_eq(load("{\"kernel-format\": \"raw\"}"), 0);
		ck_assert_int_eq(opts()->vm.kernel_format, KERNEL_FORMAT_RAW);
	} else {
		assert_error(load("{\"kernel-format\": \"raw\"}"),
			     "--kernel-format raw: raw kernels are arm64 only");
	}
	/* The library's setter says the same. */
	ck_assert_int_eq(kvmkit_config_set(cfg, "pmu", NULL), arch_has_guest_pmu() ? 0 : -EINVAL);
}
END_TEST

START_TEST(plain_number_memory_is_mib)
{
	ck_assert_int_eq(load("{\"memory\": 512}"), 0);
	ck_assert_uint_eq(opts()->vm.mem_size, 512ULL << 20);
}
END_TEST

START_TEST(false_flag_keeps_default)
{
	ck_assert_int_eq(load("{\"no-stdio\": false, \"stats\": false}"), 0);
	ck_assert(!opts()->vm.print_stats);
	ck_assert_int_eq(kvmkit_config_is_set(cfg, "stats"), 0);
}
END_TEST

/* "nested": true, false or a mode, as --nested, nothing and --nested=MODE. */
START_TEST(nested_setting)
{
	ck_assert_int_eq(kvmkit_option_value_optional(0), 0);
	for (unsigned i = 0; i < kvmkit_option_count(); i++) {
		struct kvmkit_option_info info;

		ck_assert_int_eq(kvmkit_option_get(i, &info), 0);
		ck_assert_int_eq(kvmkit_option_value_optional(i), strcmp(info.name, "nested") == 0);
	}
	ck_assert_int_eq(kvmkit_option_value_optional(kvmkit_option_count()), -ENOENT);
	ck_assert_int_eq(load("{\"nested\": false}"), 0);
	ck_assert_int_eq(opts()->vm.nested, VM_NESTED_OFF);
	ck_assert_int_eq(load("{\"nested\": true}"), 0);
	ck_assert_int_eq(opts()->vm.nested, VM_NESTED_VHE);
	ck_assert_int_eq(load("{\"nested\": \"nvhe\"}"), 0);
	ck_assert_int_eq(opts()->vm.nested, VM_NESTED_NVHE);
	assert_error(load("{\"nested\": 1}"), "'nested'");
	assert_error(load("{\"nested\": \"el3\"}"), "--nested=el3");
	ck_assert_int_eq(kvmkit_config_set(cfg, "nested", NULL), 0);
	ck_assert_int_eq(opts()->vm.nested, VM_NESTED_VHE);
	ck_assert_int_eq(kvmkit_config_set(cfg, "nested", "nvhe"), 0);
	ck_assert_int_eq(opts()->vm.nested, VM_NESTED_NVHE);
}
END_TEST

START_TEST(later_settings_win)
{
	ck_assert_int_eq(load("{\"cpus\": 2, \"memory\": \"64M\"}"), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "cpus", "4"), 0);
	ck_assert_uint_eq(opts()->vm.nr_cpus, 4);
	ck_assert_uint_eq(opts()->vm.mem_size, 64ULL << 20);
}
END_TEST

START_TEST(list_repeats_a_repeatable_setting)
{
	ck_assert_int_eq(load("{\"disk\": [\"a.img\", \"b.img,ro\"], \"net\": [\"tap=t0\"]}"), 0);
	ck_assert_uint_eq(vm_config_device_count(&opts()->vm, device_type_find("disk")), 2);
	ck_assert_str_eq(disk_at(0)->path, "a.img");
	ck_assert_str_eq(disk_at(1)->path, "b.img");
	ck_assert(disk_at(1)->read_only);
	ck_assert_uint_eq(vm_config_device_count(&opts()->vm, device_type_find("net")), 1);
}
END_TEST

START_TEST(unknown_key)
{
	assert_error(load("{\"cpus\": 1, \"frobnicate\": 3}"), "'frobnicate'");
	assert_error(load("{\"config\": \"other.json\"}"), "'config'");
	assert_error(load("{\"--cpus\": 1}"), "'--cpus'");
}
END_TEST

static const struct {
	const char *text;
	const char *key;
	const char *why;
} wrong_types[] = {
	{"{\"cpus\": [2]}", "'cpus'", "array"},
	{"{\"cpus\": 1.5}", "'cpus'", "double"},
	{"{\"cpus\": null}", "'cpus'", "null"},
	{"{\"cpus\": true}", "'cpus'", "boolean"},
	{"{\"kernel\": {\"path\": \"x\"}}", "'kernel'", "object"},
	{"{\"stats\": \"yes\"}", "'stats'", "true or false"},
	{"{\"no-stdio\": 1}", "'no-stdio'", "true or false"},
	{"{\"cpus\": 65}", "'cpus'", "'65'"},
	{"{\"cpus\": -1}", "'cpus'", "'-1'"},
	{"{\"memory\": \"12Q\"}", "'memory'", "'12Q'"},
	{"{\"timeout\": 0}", "'timeout'", "'0'"},
	{"{\"log-level\": \"loud\"}", "'log-level'", "'loud'"},
	{"{\"stop-timeout\": 99999}", "'stop-timeout'", "'99999'"},
	{"{\"disk\": [\"a.img\", [\"b.img\"]]}", "'disk'", "array"},
	{"{\"disk\": {\"path\": \"a.img\"}}", "'disk'", "object"},
};

START_TEST(wrong_type_names_the_key)
{
	int ret = load(wrong_types[_i].text);

	assert_error(ret, wrong_types[_i].key);
	assert_error(ret, wrong_types[_i].why);
}
END_TEST

static const char *const malformed[] = {
	"",
	"{",
	"{\"cpus\": }",
	"{\"cpus\" 2}",
	"{\"cpus\": 2} {}",
	"{\"cpus\": 2} x",
	"[\"cpus\", 2]",
	"\"cpus\"",
	"42",
	"{\"cpus\": 2,}",
};

START_TEST(malformed_json) { assert_error(load(malformed[_i]), ""); }
END_TEST

START_TEST(missing_file)
{
	int ret = kvmkit_config_load_file(cfg, "/nonexistent/kvmkit.json");

	ck_assert_int_eq(ret, -ENOENT);
	ck_assert_ptr_nonnull(strstr(kvmkit_config_last_error(cfg), "/nonexistent/kvmkit.json"));
}
END_TEST

START_TEST(directory_is_not_a_config)
{
	ck_assert_int_eq(kvmkit_config_load_file(cfg, "/tmp"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(kvmkit_config_last_error(cfg), "/tmp"));
}
END_TEST

/* Through the CLI: flags override the file wherever they stand. */
static int parse(struct cli_options *o, char **argv)
{
	char err[256];
	int argc = 0;

	while (argv[argc])
		argc++;
	optind = 0;
	return cli_parse(argc, argv, o, err, sizeof(err));
}

START_TEST(flags_override_the_file)
{
	struct cli_options o;

	write_config("{\"kernel\": \"from-file\", \"cpus\": 2, \"memory\": 128}");
	ck_assert_int_eq(parse(&o, (char *[]){"kvmkit", "run", "-c", "4", "--config", path, NULL}),
			 0);
	ck_assert_uint_eq(api_config_options(o.config)->vm.nr_cpus, 4);
	ck_assert_uint_eq(api_config_options(o.config)->vm.mem_size, 128ULL << 20);
	ck_assert_str_eq(api_config_options(o.config)->vm.kernel_path, "from-file");
	ck_assert(api_config_options(o.config)->vm.console_stdio);
	cli_options_free(&o);
	ck_assert_int_eq(
		parse(&o, (char *[]){"kvmkit", "run", "--config", path, "-k", "flag", NULL}), 0);
	ck_assert_str_eq(api_config_options(o.config)->vm.kernel_path, "flag");
	ck_assert_uint_eq(api_config_options(o.config)->vm.nr_cpus, 2);
	cli_options_free(&o);
}
END_TEST

START_TEST(cli_reports_file_errors)
{
	struct cli_options o;
	char err[256];

	write_config("{\"kernel\": \"k\", \"cpus\": \"many\"}");
	optind = 0;
	ck_assert_int_eq(cli_parse(4, (char *[]){"kvmkit", "run", "--config", path, NULL}, &o, err,
				   sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "'cpus'"));
	ck_assert_ptr_nonnull(strstr(err, "'many'"));
	cli_options_free(&o);
}
END_TEST

Suite *config_file_suite(void)
{
	Suite *s = suite_create("config_file");
	TCase *good = tcase_create("accepted");
	TCase *bad = tcase_create("rejected");

	tcase_add_checked_fixture(good, setup, teardown);
	tcase_add_test(good, every_setting_has_a_json_form);
	tcase_add_loop_test(good, every_table_entry_is_a_key, 0, (int)kvmkit_option_count());
	tcase_add_test(good, plain_number_memory_is_mib);
	tcase_add_test(good, arm64_only_settings);
	tcase_add_test(good, false_flag_keeps_default);
	tcase_add_test(good, nested_setting);
	tcase_add_test(good, later_settings_win);
	tcase_add_test(good, list_repeats_a_repeatable_setting);
	tcase_add_test(good, flags_override_the_file);
	suite_add_tcase(s, good);

	tcase_add_checked_fixture(bad, setup, teardown);
	tcase_add_test(bad, unknown_key);
	tcase_add_loop_test(bad, wrong_type_names_the_key, 0, ARRAY_SIZE(wrong_types));
	tcase_add_loop_test(bad, malformed_json, 0, ARRAY_SIZE(malformed));
	tcase_add_test(bad, missing_file);
	tcase_add_test(bad, directory_is_not_a_config);
	tcase_add_test(bad, cli_reports_file_errors);
	suite_add_tcase(s, bad);
	return s;
}
