/* Host tests of the device state lifecycle (issue #8): pausing quiesces the
 * devices, and every device's state saved mid-traffic loads into a fresh VM
 * of the same configuration, which then finishes the traffic: no request is
 * lost, none served twice, the data is right. The test is the virtio driver
 * (virtio_driver.h); guest RAM is carried over by copying it.
 *
 *     host-device-state-test [CASE] */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_blk.h"
#include "host_util.h"
#include "virtio_driver.h"
#include "vm_util.h"
#include "vmm/device.h"
#include "vmm/device_type.h"
#include "vmm/state.h"
#include "vmm/vm.h"

#define DISK_SIZE (1u << 20)
#define SECTOR 512
#define BLK_ID 2
#define RNG_ID 4
#define T_IN 0
#define S_UNTOUCHED 0xee
/* The rng's rings sit above the blk's (queue 0 at VDRV_RING_GPA). */
#define RNG_RING_GPA (VDRV_RING_GPA + 0x40000)
/* A read request per slot: header, status, then one sector of data. */
#define NR_READS 12
#define SLOT_SIZE 0x1000ULL
#define SLOT_DATA 0x200ULL
#define RNG_GPA (VDRV_BUF_GPA + NR_READS * SLOT_SIZE)
#define RNG_LEN 64
#define NR_RNG 6

static uint8_t pattern(uint64_t offset) { return (uint8_t)(offset * 7 + (offset >> 9) * 13 + 1); }

static char image_path[64];

static void make_image(void)
{
	uint8_t *buf = malloc(DISK_SIZE);
	int fd;

	ck_assert_ptr_nonnull(buf);
	snprintf(image_path, sizeof(image_path), "/tmp/kvmkit-state-test-XXXXXX");
	fd = mkstemp(image_path);
	ck_assert_int_ge(fd, 0);
	for (size_t i = 0; i < DISK_SIZE; i++)
		buf[i] = pattern(i);
	ck_assert_int_eq(pwrite(fd, buf, DISK_SIZE, 0), DISK_SIZE);
	close(fd);
	free(buf);
}

static void config(struct vm_config *cfg)
{
	struct vm_disk_config *disk;

	vdrv_config_init(cfg);
	vm_config_add_device(cfg, device_type_find("rng"));
	disk = vm_config_add_device(cfg, device_type_find("disk"));
	snprintf(disk->path, sizeof(disk->path), "%s", image_path);
}

/* Read request @k: sector 3 * k + 1 into slot k. */
static void post_read(struct vdrv *d, unsigned k)
{
	uint64_t slot = VDRV_BUF_GPA + k * SLOT_SIZE;
	uint8_t *hdr = vdrv_gpa(d, slot, 16);
	uint64_t sector = 3 * k + 1;
	uint32_t type = T_IN;
	struct vdrv_buf bufs[] = {
		{slot, 16, false},
		{slot + SLOT_DATA, SECTOR, true},
		{slot + 16, 1, true},
	};

	memset(hdr, 0, 16);
	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	*(uint8_t *)vdrv_gpa(d, slot + 16, 1) = S_UNTOUCHED;
	memset(vdrv_gpa(d, slot + SLOT_DATA, SECTOR), 0, SECTOR);
	vdrv_post(d, 0, bufs, 3);
}

static void check_read(struct vdrv *d, unsigned k)
{
	uint64_t slot = VDRV_BUF_GPA + k * SLOT_SIZE;
	const uint8_t *data = vdrv_gpa(d, slot + SLOT_DATA, SECTOR);

	ck_assert_msg(*(uint8_t *)vdrv_gpa(d, slot + 16, 1) == 0, "read %u: status %u", k,
		      *(uint8_t *)vdrv_gpa(d, slot + 16, 1));
	for (unsigned i = 0; i < SECTOR; i++)
		ck_assert_msg(data[i] == pattern((3 * k + 1) * SECTOR + i), "read %u: byte %u", k,
			      i);
}

static void post_rng(struct vdrv *d, unsigned k)
{
	struct vdrv_buf buf = {RNG_GPA + k * RNG_LEN, RNG_LEN, true};

	memset(vdrv_gpa(d, buf.gpa, RNG_LEN), 0, RNG_LEN);
	vdrv_post(d, 0, &buf, 1);
}

/* Guest RAM, region by region, kept across the VM's end: the disk image
 * is locked by one VM at a time, so B starts once A is gone. */
struct ram_copy {
	unsigned nr;
	size_t size[GUEST_MEM_MAX_REGIONS];
	uint8_t *data[GUEST_MEM_MAX_REGIONS];
};

static void save_ram(struct ram_copy *c, struct vm *from)
{
	c->nr = from->mem.nr_regions;
	for (unsigned i = 0; i < c->nr; i++) {
		c->size[i] = from->mem.regions[i].size;
		c->data[i] = malloc(c->size[i]);
		ck_assert_ptr_nonnull(c->data[i]);
		memcpy(c->data[i], from->mem.regions[i].host, c->size[i]);
	}
}

static void load_ram(struct vm *to, struct ram_copy *c)
{
	ck_assert_uint_eq(to->mem.nr_regions, c->nr);
	for (unsigned i = 0; i < c->nr; i++) {
		ck_assert_uint_eq(to->mem.regions[i].size, c->size[i]);
		memcpy(to->mem.regions[i].host, c->data[i], c->size[i]);
		free(c->data[i]);
	}
}

/* Guest RAM of a paused VM does not change, though the driver kicks: a
 * kick is served only after the resume. */
START_TEST(pause_quiesces)
{
	struct running_vm a;
	struct vm_config cfg;
	struct vdrv blk;
	uint8_t *copy;
	size_t size;

	make_image();
	config(&cfg);
	vdrv_start_vm(&a, &cfg);
	vdrv_init(&blk, a.vm, "virtio-blk0", BLK_ID, 1, 0);
	post_read(&blk, 0);
	vdrv_kick(&blk, 0);
	ck_assert(vdrv_wait_used(&blk, 0, 1, NULL));
	check_read(&blk, 0);

	host_pause(a.vm);
	size = a.vm->mem.regions[0].size;
	copy = malloc(size);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, a.vm->mem.regions[0].host, size);
	for (unsigned k = 1; k < 4; k++)
		post_read(&blk, k);
	memcpy(copy, a.vm->mem.regions[0].host, size); /* the driver's own writes */
	vdrv_kick(&blk, 0);
	/* A negative result needs a bound: the served case takes microseconds. */
	ck_assert(!vdrv_wait_used_within(&blk, 0, 1, 200));
	ck_assert_msg(memcmp(copy, a.vm->mem.regions[0].host, size) == 0,
		      "guest RAM changed while paused");
	ck_assert_int_eq(vm_resume(a.vm), 0);
	ck_assert(vdrv_wait_used(&blk, 0, 3, NULL));
	for (unsigned k = 1; k < 4; k++)
		check_read(&blk, k);
	free(copy);
	vdrv_stop_vm(&a);
	unlink(image_path);
}
END_TEST

/* Requests in flight when A pauses complete in B, exactly once each. */
START_TEST(save_load_mid_traffic)
{
	struct running_vm a, b;
	struct vm_config cfg;
	struct vdrv blk, rng;
	struct state_buf saved;
	struct state_reader in;
	struct ram_copy ram;
	unsigned done_in_a;

	make_image();
	config(&cfg);
	vdrv_start_vm(&a, &cfg);
	vdrv_init(&blk, a.vm, "virtio-blk0", BLK_ID, 1, 0);
	vdrv_init_at(&rng, a.vm, "virtio-rng", RNG_ID, 1, 0, RNG_RING_GPA);
	for (unsigned k = 0; k < NR_READS / 2; k++)
		post_read(&blk, k);
	for (unsigned k = 0; k < NR_RNG / 2; k++)
		post_rng(&rng, k);
	vdrv_kick(&blk, 0);
	vdrv_kick(&rng, 0);
	/* Mid-traffic: the rest is posted and pauses with the kick unserved. */
	for (unsigned k = NR_READS / 2; k < NR_READS; k++)
		post_read(&blk, k);
	for (unsigned k = NR_RNG / 2; k < NR_RNG; k++)
		post_rng(&rng, k);
	host_pause(a.vm);
	done_in_a = vdrv_used_idx(&blk, 0);
	ck_assert_uint_le(done_in_a, NR_READS);

	state_buf_init(&saved);
	ck_assert_msg(vm_save_devices(a.vm, &saved) == 0, "save: %s", a.vm->error);
	ck_assert_uint_gt(saved.len, 0);

	save_ram(&ram, a.vm);
	vdrv_stop_vm(&a);

	vdrv_start_vm(&b, &cfg);
	host_pause(b.vm);
	load_ram(b.vm, &ram);
	state_reader_init(&in, saved.data, saved.len);
	ck_assert_msg(vm_load_devices(b.vm, &in) == 0, "load: %s", b.vm->error);
	vdrv_move(&blk, b.vm, "virtio-blk0");
	vdrv_move(&rng, b.vm, "virtio-rng");
	ck_assert(vdrv_status(&blk) & VDRV_STATUS_DRIVER_OK);
	ck_assert_int_eq(vm_resume(b.vm), 0);
	vdrv_kick(&blk, 0);
	vdrv_kick(&rng, 0);
	ck_assert(vdrv_wait_used(&blk, 0, NR_READS, NULL));
	ck_assert(vdrv_wait_used(&rng, 0, NR_RNG, NULL));
	/* Exactly once: nothing more is used after all were. */
	ck_assert(!vdrv_wait_used_within(&blk, 0, 1, 100));
	ck_assert_uint_eq(vdrv_used_idx(&blk, 0), NR_READS);
	ck_assert_uint_eq(vdrv_used_idx(&rng, 0), NR_RNG);
	for (unsigned k = 0; k < NR_READS; k++)
		check_read(&blk, k);
	/* More traffic in B works as in any VM. */
	post_read(&blk, 0);
	vdrv_kick(&blk, 0);
	ck_assert(vdrv_wait_used(&blk, 0, 1, NULL));
	check_read(&blk, 0);
	state_buf_free(&saved);
	vdrv_stop_vm(&b);
	unlink(image_path);
}
END_TEST

/* A record cut short, one byte changed in a queue's ring address, or the
 * records of another configuration: refused with a message naming the
 * device, and the devices are back at power-on state. */
START_TEST(bad_records_refused)
{
	struct running_vm a, b;
	struct vm_config cfg, other;
	struct vdrv blk;
	struct state_buf saved;
	struct state_reader in;

	make_image();
	config(&cfg);
	vdrv_start_vm(&a, &cfg);
	vdrv_init(&blk, a.vm, "virtio-blk0", BLK_ID, 1, 0);
	host_pause(a.vm);
	state_buf_init(&saved);
	ck_assert_int_eq(vm_save_devices(a.vm, &saved), 0);
	vdrv_stop_vm(&a);

	vdrv_start_vm(&b, &cfg);
	host_pause(b.vm);
	for (size_t cut = 0; cut < saved.len; cut += 7) {
		b.vm->error[0] = '\0';
		state_reader_init(&in, saved.data, cut);
		ck_assert_int_eq(vm_load_devices(b.vm, &in), -EINVAL);
		ck_assert_msg(strstr(b.vm->error, "device state"), "message: %s", b.vm->error);
	}
	vdrv_move(&blk, b.vm, "virtio-blk0");
	ck_assert_uint_eq(vdrv_status(&blk), 0);
	vdrv_stop_vm(&b);

	/* Without the rng, the records do not fit. */
	other = cfg;
	vm_config_remove_devices(&other, device_type_find("rng"));
	vdrv_start_vm(&b, &other);
	host_pause(b.vm);
	state_reader_init(&in, saved.data, saved.len);
	ck_assert_int_eq(vm_load_devices(b.vm, &in), -EINVAL);
	ck_assert_msg(strstr(b.vm->error, "virtio-rng"), "message: %s", b.vm->error);
	vdrv_stop_vm(&b);
	state_buf_free(&saved);
	unlink(image_path);
}
END_TEST

int main(int argc, char **argv)
{
	const struct host_case cases[] = {
		{"pause_quiesces", pause_quiesces, 60},
		{"save_load_mid_traffic", save_load_mid_traffic, 60},
		{"bad_records_refused", bad_records_refused, 60},
	};
	const struct host_suite suite = {
		.name = "device_state",
		.cases = cases,
		.nr_cases = sizeof(cases) / sizeof(cases[0]),
		.setup = host_capture_start,
		.teardown = host_capture_stop,
	};

	return host_run_suite(argc, argv, &suite);
}
