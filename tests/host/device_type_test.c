/* Host tests of the device-type registry (vmm/device_type.h). xor_device.c,
 * a virtio device that exists only in tests/, is added to this program by one
 * line in meson.build and by nothing else: its setting must then be known to
 * the option table (help, the embedding API's list, errors that name it), and
 * the devices it asks for must be on the machine, each with its own config.
 *
 *     host-device-type-test [CASE] */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host_util.h"
#include "kvmkit/kvmkit.h"
#include "virtio_driver.h"
#include "vm_util.h"
#include "vmm/device_type.h"
#include "vmm/options.h"
#include "vmm/vm.h"

#define XOR_ID 0xfffe
#define XOR1_RING_GPA (VDRV_RING_GPA + 0x40000)

START_TEST(registered_by_its_file)
{
	const struct option_spec *spec = option_find("xor-test");
	static char help[16384];
	bool listed = false;

	ck_assert_ptr_nonnull(spec);
	ck_assert_ptr_eq(spec->device, device_type_find("xor-test"));
	ck_assert_int_eq(spec->kind, OPTION_LIST);
	for (unsigned i = 0; i < kvmkit_option_count(); i++) {
		struct kvmkit_option_info info;

		ck_assert_int_eq(kvmkit_option_get(i, &info), 0);
		listed |= strcmp(info.name, "xor-test") == 0 && info.takes_value;
	}
	ck_assert(listed);
	option_help(help, sizeof(help));
	ck_assert_msg(strstr(help, "--xor-test key=HEX"), "help: %s", help);
	/* The types of src/ keep their order; the test's comes last. */
	ck_assert_str_eq(device_type_at(0)->option.name, "rng");
	ck_assert_str_eq(device_type_at(1)->option.name, "disk");
	ck_assert_str_eq(device_type_at(2)->option.name, "console");
	ck_assert_str_eq(device_type_at(3)->option.name, "net");
	ck_assert_str_eq(device_type_at(4)->option.name, "xor-test");
	ck_assert_ptr_null(device_type_at(5));
	ck_assert_uint_eq(device_type_count(), 5);
}
END_TEST

START_TEST(its_errors_name_it)
{
	struct run_options opts;
	char err[256];

	run_options_defaults(&opts);
	ck_assert_int_eq(option_apply(&opts, "xor-test", "key=zz", err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "--xor-test 'key=zz'"), "message: %s", err);
	ck_assert_int_eq(option_apply(&opts, "xor-test", "nokey", err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "expected key=HEX"), "message: %s", err);
	ck_assert_uint_eq(opts.vm.nr_devices, 0);
	ck_assert_int_eq(option_apply(&opts, "xor-test", "key=1", err, sizeof(err)), 0);
	ck_assert_int_eq(option_apply(&opts, "xor-test", "key=2", err, sizeof(err)), 0);
	ck_assert_int_eq(option_apply(&opts, "xor-test", "key=3", err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "at most 2"), "message: %s", err);
	ck_assert_uint_eq(vm_config_device_count(&opts.vm, device_type_find("xor-test")), 2);
}
END_TEST

/* Sends @text through @d's queue 0 and checks it comes back XORed with @key. */
static void check_xor(struct vdrv *d, uint64_t gpa, const char *text, uint8_t key)
{
	size_t len = strlen(text);
	struct vdrv_buf bufs[2] = {{gpa, (uint32_t)len, false}, {gpa + 0x100, 0x100, true}};
	struct vdrv_used used;
	const uint8_t *back;

	memcpy(vdrv_gpa(d, gpa, len), text, len);
	memset(vdrv_gpa(d, gpa + 0x100, 0x100), 0, 0x100);
	vdrv_post(d, 0, bufs, 2);
	vdrv_kick(d, 0);
	ck_assert(vdrv_wait_used(d, 0, 1, &used));
	ck_assert_uint_eq(used.len, len);
	back = vdrv_gpa(d, gpa + 0x100, len);
	for (size_t i = 0; i < len; i++)
		ck_assert_uint_eq(back[i], (uint8_t)(text[i] ^ key));
}

START_TEST(devices_serve_with_their_config)
{
	struct vm_config cfg;
	struct running_vm r;
	struct vdrv d0, d1;
	uint8_t key;
	char err[256];

	vdrv_config_init(&cfg);
	ck_assert_int_eq(device_type_apply(&cfg, device_type_find("xor-test"), "key=5a", err,
					   sizeof(err)),
			 0);
	ck_assert_int_eq(device_type_apply(&cfg, device_type_find("xor-test"), "key=0x01", err,
					   sizeof(err)),
			 0);
	vdrv_start_vm(&r, &cfg);
	vdrv_init(&d0, r.vm, "virtio-xor0", XOR_ID, 1, 0);
	vdrv_init_at(&d1, r.vm, "virtio-xor1", XOR_ID, 1, 0, XOR1_RING_GPA);
	vdrv_config_read(&d0, 0, &key, 1);
	ck_assert_uint_eq(key, 0x5a);
	vdrv_config_read(&d1, 0, &key, 1);
	ck_assert_uint_eq(key, 0x01);
	check_xor(&d0, VDRV_BUF_GPA, "one file plus one line", 0x5a);
	check_xor(&d1, VDRV_BUF_GPA + 0x1000, "in meson.build", 0x01);
	vdrv_stop_vm(&r);
}
END_TEST

int main(int argc, char **argv)
{
	const struct host_case cases[] = {
		{"registered_by_its_file", registered_by_its_file, 30},
		{"its_errors_name_it", its_errors_name_it, 30},
		{"devices_serve_with_their_config", devices_serve_with_their_config, 60},
	};
	const struct host_suite suite = {
		.name = "device_type",
		.cases = cases,
		.nr_cases = sizeof(cases) / sizeof(cases[0]),
		.setup = host_capture_start,
		.teardown = host_capture_stop,
	};

	return host_run_suite(argc, argv, &suite);
}
