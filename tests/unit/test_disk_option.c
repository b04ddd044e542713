/* --disk PATH[,ro][,serial=ID][,direct], through the shared option table. */
#include <errno.h>
#include <string.h>

#include "devices/virtio_blk.h"
#include "unit.h"
#include "vmm/device_type.h"
#include "vmm/options.h"

static struct run_options opts;
static char err[256];

static void fresh_options(void)
{
	run_options_defaults(&opts);
	memset(err, 'J', sizeof(err) - 1);
	err[sizeof(err) - 1] = '\0';
}

/* The disks in the config, as the virtio-blk type keeps them. */
static unsigned nr_disks(void)
{
	return vm_config_device_count(&opts.vm, device_type_find("disk"));
}

static const struct vm_disk_config *disk_at(unsigned index)
{
	const struct vm_disk_config *d =
		vm_config_device(&opts.vm, device_type_find("disk"), index);

	ck_assert_ptr_nonnull(d);
	return d;
}

static int disk(const char *value) { return option_apply(&opts, "disk", value, err, sizeof(err)); }

static void assert_disk_error(const char *value, const char *needle)
{
	ck_assert_int_eq(disk(value), -EINVAL);
	ck_assert_msg(strstr(err, needle) != NULL, "message '%s' lacks '%s'", err, needle);
}

START_TEST(plain_path)
{
	ck_assert_int_eq(disk("disk.img"), 0);
	ck_assert_uint_eq(nr_disks(), 1);
	ck_assert_str_eq(disk_at(0)->path, "disk.img");
	ck_assert(!disk_at(0)->read_only);
	ck_assert(!disk_at(0)->direct);
	ck_assert(!disk_at(0)->has_serial);
}
END_TEST

START_TEST(all_sub_options)
{
	ck_assert_int_eq(disk("/var/a b.raw,ro,serial=ABC-123,direct"), 0);
	ck_assert_str_eq(disk_at(0)->path, "/var/a b.raw");
	ck_assert(disk_at(0)->read_only);
	ck_assert(disk_at(0)->direct);
	ck_assert(disk_at(0)->has_serial);
	ck_assert_str_eq(disk_at(0)->serial, "ABC-123");
	/* Any order; an empty serial is an empty ID. */
	ck_assert_int_eq(disk("b.img,serial=,ro"), 0);
	ck_assert_uint_eq(nr_disks(), 2);
	ck_assert_str_eq(disk_at(1)->path, "b.img");
	ck_assert(disk_at(1)->has_serial);
	ck_assert_str_eq(disk_at(1)->serial, "");
}
END_TEST

START_TEST(serial_of_20_bytes)
{
	ck_assert_int_eq(disk("d.img,serial=01234567890123456789"), 0);
	ck_assert_str_eq(disk_at(0)->serial, "01234567890123456789");
	assert_disk_error("d.img,serial=012345678901234567890",
			  "serial '012345678901234567890' is longer than 20 bytes");
	ck_assert_uint_eq(nr_disks(), 1);
}
END_TEST

START_TEST(eight_disks_at_most)
{
	for (int i = 0; i < VM_MAX_DISKS; i++)
		ck_assert_int_eq(disk("d.img,ro"), 0);
	assert_disk_error("nine.img", "at most 8 disks");
	ck_assert_uint_eq(nr_disks(), VM_MAX_DISKS);
}
END_TEST

static const char *const bad_values[][2] = {
	{"", "the path must not be empty"},
	{",ro", "the path must not be empty"},
	{"d.img,", "empty sub-option"},
	{"d.img,,ro", "empty sub-option"},
	{"d.img,rw", "unknown sub-option 'rw'"},
	{"d.img,RO", "unknown sub-option 'RO'"},
	{"d.img,ro=1", "unknown sub-option 'ro=1'"},
	{"d.img,serial", "unknown sub-option 'serial'"},
	{"d.img,direct,cache=none", "unknown sub-option 'cache=none'"},
};

START_TEST(bad_sub_options)
{
	assert_disk_error(bad_values[_i][0], bad_values[_i][1]);
	ck_assert_msg(strstr(err, "--disk") != NULL, "message '%s' names no option", err);
	ck_assert_uint_eq(nr_disks(), 0);
}
END_TEST

START_TEST(path_too_long)
{
	static char value[VM_DISK_PATH_MAX + 8];

	memset(value, 'p', VM_DISK_PATH_MAX);
	value[VM_DISK_PATH_MAX] = '\0';
	assert_disk_error(value, "longer than 4095 bytes");
	value[VM_DISK_PATH_MAX - 1] = '\0';
	ck_assert_int_eq(disk(value), 0);
	ck_assert_uint_eq(strlen(disk_at(0)->path), VM_DISK_PATH_MAX - 1);
}
END_TEST

Suite *disk_option_suite(void)
{
	Suite *s = suite_create("disk_option");
	TCase *tc = tcase_create("disk_option");

	tcase_add_checked_fixture(tc, fresh_options, NULL);
	tcase_add_test(tc, plain_path);
	tcase_add_test(tc, all_sub_options);
	tcase_add_test(tc, serial_of_20_bytes);
	tcase_add_test(tc, eight_disks_at_most);
	tcase_add_loop_test(tc, bad_sub_options, 0, ARRAY_SIZE(bad_values));
	tcase_add_test(tc, path_too_long);
	suite_add_tcase(s, tc);
	return s;
}
