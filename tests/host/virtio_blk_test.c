/* Host tests of virtio-blk without a guest driver: the test is the driver
 * (virtio_driver.h). It lays requests out in guest RAM, a slot each, and
 * checks every answer against the image file.
 *
 *     host-virtio-blk-test [CASE]
 * runs one tcase or, without CASE, all of them. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_blk.h"
#include "fuse_file.h"
#include "host_util.h"
#include "virtio_driver.h"
#include "vm_util.h"
#include "vmm/device.h"
#include "vmm/device_type.h"
#include "vmm/state.h"
#include "vmm/vm.h"

#define DISK_SIZE (1u << 20)
#define SECTOR 512
#define NR_SECTORS (DISK_SIZE / SECTOR)
#define BLK_ID 2
/* A joined thread may linger in /proc/self/task this long. */
#define THREADS_SETTLE_MS 2000

#define F_SEG_MAX (1ULL << 2)
#define F_RO (1ULL << 5)
#define F_BLK_SIZE (1ULL << 6)
#define F_FLUSH (1ULL << 9)
#define F_DISCARD (1ULL << 13)
#define F_WRITE_ZEROES (1ULL << 14)

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WRITE_ZEROES 13
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define S_UNTOUCHED 0xee

/* Request slots in the driver's buffer area, one per descriptor chain:
 * header, status, then data. */
#define SLOT_SIZE 0x20000ULL
#define SLOT_DATA 0x1000ULL
#define NR_SLOTS (VDRV_QUEUE_SIZE / VDRV_DESC_PER_CHAIN)

/* The byte at @offset of a fresh image: varies within and across sectors. */
static uint8_t pattern(uint64_t offset) { return (uint8_t)(offset * 7 + (offset >> 9) * 13 + 1); }

struct image {
	char path[64];
};

static void make_image(struct image *img, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	int fd;

	ck_assert_ptr_nonnull(buf);
	snprintf(img->path, sizeof(img->path), "/tmp/kvmkit-blk-test-XXXXXX");
	fd = mkstemp(img->path);
	ck_assert_int_ge(fd, 0);
	for (size_t i = 0; i < size; i++)
		buf[i] = pattern(i);
	ck_assert_int_eq(pwrite(fd, buf, size, 0), (ssize_t)size);
	close(fd);
	free(buf);
}

static void read_image(const struct image *img, uint64_t offset, void *buf, size_t len)
{
	int fd = open(img->path, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)offset), (ssize_t)len);
	close(fd);
}

/* Names the first byte of @buf (image bytes from @offset) that differs. */
static void assert_bytes(const char *what, const uint8_t *buf, uint64_t offset, size_t len,
			 bool zero)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t want = zero ? 0 : pattern(offset + i);

		if (buf[i] != want)
			ck_abort_msg("%s byte %llu is 0x%02x, not 0x%02x", what,
				     (unsigned long long)(offset + i), buf[i], want);
	}
}

static void assert_image_pattern(const struct image *img, uint64_t offset, size_t len)
{
	uint8_t *buf = malloc(len);

	read_image(img, offset, buf, len);
	assert_bytes("image", buf, offset, len, false);
	free(buf);
}

static void assert_image_zero(const struct image *img, uint64_t offset, size_t len)
{
	uint8_t *buf = malloc(len);

	read_image(img, offset, buf, len);
	assert_bytes("image", buf, offset, len, true);
	free(buf);
}

static void add_disk(struct vm_config *cfg, const char *path, bool ro, bool direct,
		     const char *serial)
{
	struct vm_disk_config *d = vm_config_add_device(cfg, device_type_find("disk"));

	ck_assert_ptr_nonnull(d);
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->read_only = ro;
	d->direct = direct;
	if (serial) {
		d->has_serial = true;
		snprintf(d->serial, sizeof(d->serial), "%s", serial);
	}
}

static uint64_t config_u64(struct vdrv *d, unsigned off)
{
	uint64_t v = 0;

	vdrv_config_read(d, off, &v, 8);
	return v;
}

static uint32_t config_u32(struct vdrv *d, unsigned off)
{
	uint32_t v = 0;

	vdrv_config_read(d, off, &v, 4);
	return v;
}

/* The driver's side of initialisation, one queue, every offered feature
 * accepted. The device uses its own copy of the rings' base in each VM, so
 * @d may be reused after a reset. */
static void driver_init(struct vdrv *d, struct vm *vm, const char *name)
{
	vdrv_init(d, vm, name, BLK_ID, 1, 0);
}

/* A running VM with the one disk @path (read-only, with O_DIRECT, as asked)
 * and @d set up as its driver. */
static void start_one_disk(struct running_vm *r, struct vdrv *d, const char *path, bool ro,
			   bool direct)
{
	struct vm_config cfg;

	vdrv_config_init(&cfg);
	add_disk(&cfg, path, ro, direct, NULL);
	vdrv_start_vm(r, &cfg);
	driver_init(d, r->vm, "virtio-blk0");
}

static uint64_t slot_gpa(unsigned slot) { return VDRV_BUF_GPA + slot * SLOT_SIZE; }

/* Fills the 16-byte header of @slot and clears its status byte. */
static void set_header(struct vdrv *d, unsigned slot, uint32_t type, uint64_t sector)
{
	uint8_t *h = vdrv_gpa(d, slot_gpa(slot), 17);

	memcpy(h, &type, 4);
	memset(h + 4, 0, 4);
	memcpy(h + 8, &sector, 8);
	h[16] = S_UNTOUCHED;
}

static uint8_t *slot_data(struct vdrv *d, unsigned slot, uint64_t len)
{
	return vdrv_gpa(d, slot_gpa(slot) + SLOT_DATA, len);
}

static uint8_t status_of(struct vdrv *d, unsigned slot)
{
	return *(uint8_t *)vdrv_gpa(d, slot_gpa(slot) + 16, 1);
}

/* Makes the chain @bufs available, kicks and, once the device used it,
 * returns the status byte of slot 0. */
static uint8_t submit(struct vdrv *d, const struct vdrv_buf *bufs, unsigned n)
{
	vdrv_post(d, 0, bufs, n);
	vdrv_kick(d, 0);
	ck_assert_msg(vdrv_wait_used(d, 0, 1, NULL), "request not completed within %d s",
		      VDRV_WAIT_SEC);
	return status_of(d, 0);
}

/* One request: header, data (device-writable for IN and GET_ID), status. */
static uint8_t request(struct vdrv *d, uint32_t type, uint64_t sector, uint32_t data_len,
		       bool data_writable)
{
	struct vdrv_buf bufs[3] = {{slot_gpa(0), 16, false}};
	unsigned n = 1;

	set_header(d, 0, type, sector);
	if (data_len)
		bufs[n++] = (struct vdrv_buf){slot_gpa(0) + SLOT_DATA, data_len, data_writable};
	bufs[n++] = (struct vdrv_buf){slot_gpa(0) + 16, 1, true};
	return submit(d, bufs, n);
}

static uint8_t segment_request(struct vdrv *d, uint32_t type, uint64_t sector, uint32_t count,
			       uint32_t flags)
{
	uint8_t *seg = slot_data(d, 0, 16);

	memcpy(seg, &sector, 8);
	memcpy(seg + 8, &count, 4);
	memcpy(seg + 12, &flags, 4);
	return request(d, type, 0, 16, false);
}

/* The data buffer of slot 0 holds the image's original bytes from @offset. */
static void assert_data_pattern(struct vdrv *d, uint64_t offset, size_t len)
{
	assert_bytes("guest buffer for image", slot_data(d, 0, len), offset, len, false);
}

START_TEST(config_space)
{
	struct image img;
	struct vm_config cfg;
	struct running_vm r;
	struct vdrv d;

	make_image(&img, DISK_SIZE);
	vdrv_config_init(&cfg);
	add_disk(&cfg, img.path, false, false, NULL);
	add_disk(&cfg, img.path, true, false, NULL);
	/* Both opened: a read-write disk locks its file exclusively. */
	{
		char err[512];
		bool input_error;
		struct vm *vm;

		ck_assert_int_lt(vm_create(&cfg, &vm, err, sizeof(err), &input_error), 0);
		ck_assert(input_error);
		ck_assert_msg(strstr(err, img.path) && strstr(err, "in use"), "message: %s", err);
	}
	vm_config_remove_devices(&cfg, device_type_find("disk"));
	add_disk(&cfg, img.path, false, false, NULL);
	vdrv_start_vm(&r, &cfg);
	driver_init(&d, r.vm, "virtio-blk0");
	ck_assert(d.features & F_SEG_MAX);
	ck_assert(d.features & F_BLK_SIZE);
	ck_assert(d.features & F_FLUSH);
	ck_assert(d.features & F_DISCARD);
	ck_assert(d.features & F_WRITE_ZEROES);
	ck_assert(!(d.features & F_RO));
	ck_assert_uint_eq(config_u64(&d, 0), NR_SECTORS);
	ck_assert_uint_eq(config_u32(&d, 12), 254); /* seg_max */
	ck_assert_uint_eq(config_u32(&d, 20), 512); /* blk_size */
	ck_assert_uint_gt(config_u32(&d, 36), 0);   /* max_discard_sectors */
	ck_assert_uint_eq(config_u32(&d, 40), 1);   /* max_discard_seg */
	ck_assert_uint_gt(config_u32(&d, 48), 0);   /* max_write_zeroes_sectors */
	ck_assert_uint_eq(config_u32(&d, 52), 1);   /* max_write_zeroes_seg */
	/* Past the config space: rejected. */
	{
		uint32_t v;

		ck_assert_int_ne(device_read(d.dev, VDRV_REG_CONFIG + 60, &v, 4), 0);
	}
	vdrv_stop_vm(&r);
	unlink(img.path);
}
END_TEST

START_TEST(read_write_flush_id)
{
	struct image img, img2;
	struct vm_config cfg;
	struct running_vm r;
	struct vdrv d, d2;
	uint8_t *p, buf[3 * SECTOR];

	make_image(&img, DISK_SIZE);
	make_image(&img2, 4096);
	vdrv_config_init(&cfg);
	add_disk(&cfg, img.path, false, false, "kvmkit-serial-012345"); /* 20 bytes, the most */
	add_disk(&cfg, img2.path, false, false, NULL);
	vdrv_start_vm(&r, &cfg);
	driver_init(&d, r.vm, "virtio-blk0");

	/* Reads: the first sectors, and the last one. */
	ck_assert_uint_eq(request(&d, T_IN, 0, 8 * SECTOR, true), S_OK);
	assert_data_pattern(&d, 0, 8 * SECTOR);
	ck_assert_uint_eq(request(&d, T_IN, NR_SECTORS - 1, SECTOR, true), S_OK);
	assert_data_pattern(&d, DISK_SIZE - SECTOR, SECTOR);

	/* A write of 2 sectors split over buffers of 100 and 924 bytes. */
	p = slot_data(&d, 0, sizeof(buf));
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = p[i] = (uint8_t)(0xa5 ^ i);
	set_header(&d, 0, T_OUT, 7);
	{
		const struct vdrv_buf bufs[4] = {
			{slot_gpa(0), 16, false},
			{slot_gpa(0) + SLOT_DATA, 100, false},
			{slot_gpa(0) + SLOT_DATA + 100, 924, false},
			{slot_gpa(0) + 16, 1, true},
		};

		ck_assert_uint_eq(submit(&d, bufs, 4), S_OK);
	}
	{
		uint8_t back[2 * SECTOR];

		read_image(&img, 7 * SECTOR, back, sizeof(back));
		ck_assert_mem_eq(back, buf, sizeof(back));
		assert_image_pattern(&img, 6 * SECTOR, SECTOR);
		assert_image_pattern(&img, 9 * SECTOR, SECTOR);
	}
	/* Read it back through the device, into a header+data shared buffer. */
	memset(slot_data(&d, 0, 1024), 0, 1024);
	ck_assert_uint_eq(request(&d, T_IN, 7, 1024, true), S_OK);
	ck_assert_mem_eq(slot_data(&d, 0, 1024), buf, 1024);

	ck_assert_uint_eq(request(&d, T_FLUSH, 0, 0, false), S_OK);

	memset(slot_data(&d, 0, 32), 0x55, 32);
	ck_assert_uint_eq(request(&d, T_GET_ID, 0, 20, true), S_OK);
	ck_assert_mem_eq(slot_data(&d, 0, 20), "kvmkit-serial-012345", 20);

	/* Without serial=, the file's name (its last 20 bytes), NUL-padded. */
	driver_init(&d2, r.vm, "virtio-blk1");
	memset(slot_data(&d2, 0, 32), 0x55, 32);
	ck_assert_uint_eq(request(&d2, T_GET_ID, 0, 20, true), S_OK);
	{
		const char *base = strrchr(img2.path, '/') + 1;
		char want[20] = {0};
		size_t len = strlen(base);

		memcpy(want, len > 20 ? base + len - 20 : base, len > 20 ? 20 : len);
		ck_assert_mem_eq(slot_data(&d2, 0, 20), want, 20);
	}
	ck_assert_msg(host_captured_len() == 0, "unexpected messages:\n%s", host_captured());
	vdrv_stop_vm(&r);
	unlink(img.path);
	unlink(img2.path);
}
END_TEST

START_TEST(discard_write_zeroes)
{
	struct image img;
	struct running_vm r;
	struct vdrv d;

	make_image(&img, DISK_SIZE);
	start_one_disk(&r, &d, img.path, false, false);

	ck_assert_uint_eq(segment_request(&d, T_DISCARD, 16, 16, 0), S_OK);
	assert_image_zero(&img, 16 * SECTOR, 16 * SECTOR);
	assert_image_pattern(&img, 0, 16 * SECTOR);
	assert_image_pattern(&img, 32 * SECTOR, SECTOR);

	ck_assert_uint_eq(segment_request(&d, T_WRITE_ZEROES, 101, 3, 0), S_OK);
	assert_image_zero(&img, 101 * SECTOR, 3 * SECTOR);
	assert_image_pattern(&img, 100 * SECTOR, SECTOR);
	assert_image_pattern(&img, 104 * SECTOR, SECTOR);

	ck_assert_uint_eq(segment_request(&d, T_WRITE_ZEROES, 200, 9, 1), S_OK);
	assert_image_zero(&img, 200 * SECTOR, 9 * SECTOR);
	assert_image_pattern(&img, 209 * SECTOR, SECTOR);
	{
		struct stat st;

		ck_assert_int_eq(stat(img.path, &st), 0);
		ck_assert_int_eq(st.st_size, DISK_SIZE);
	}

	/* Unmap on a discard, unknown flags: unsupported. */
	ck_assert_uint_eq(segment_request(&d, T_DISCARD, 300, 1, 1), S_UNSUPP);
	ck_assert_uint_eq(segment_request(&d, T_WRITE_ZEROES, 300, 1, 2), S_UNSUPP);
	/* Beyond the end, wrapping, over the advertised maximum. */
	ck_assert_uint_eq(segment_request(&d, T_DISCARD, NR_SECTORS - 1, 2, 0), S_IOERR);
	ck_assert_uint_eq(segment_request(&d, T_WRITE_ZEROES, UINT64_MAX, 1, 0), S_IOERR);
	ck_assert_uint_eq(segment_request(&d, T_WRITE_ZEROES, 0, config_u32(&d, 48) + 1, 0),
			  S_IOERR);
	/* Two segments where one is allowed, and half a segment. */
	ck_assert_uint_eq(request(&d, T_DISCARD, 0, 32, false), S_IOERR);
	ck_assert_uint_eq(request(&d, T_DISCARD, 0, 8, false), S_IOERR);
	assert_image_pattern(&img, 300 * SECTOR, SECTOR);
	assert_image_pattern(&img, 0, 16 * SECTOR);
	vdrv_stop_vm(&r);
	unlink(img.path);
}
END_TEST

START_TEST(read_only)
{
	struct image img;
	struct running_vm r;
	struct vdrv d;
	struct stat before, after;

	make_image(&img, DISK_SIZE);
	ck_assert_int_eq(stat(img.path, &before), 0);
	start_one_disk(&r, &d, img.path, true, false);
	ck_assert(d.features & F_RO);
	ck_assert(!(d.features & (F_DISCARD | F_WRITE_ZEROES)));

	memset(slot_data(&d, 0, 4096), 0, 4096);
	ck_assert_uint_eq(request(&d, T_OUT, 0, 4096, false), S_IOERR);
	ck_assert_uint_eq(segment_request(&d, T_DISCARD, 0, 8, 0), S_IOERR);
	ck_assert_uint_eq(segment_request(&d, T_WRITE_ZEROES, 0, 8, 0), S_IOERR);
	ck_assert_uint_eq(request(&d, T_IN, 0, 4096, true), S_OK);
	assert_data_pattern(&d, 0, 4096);
	ck_assert_uint_eq(request(&d, T_FLUSH, 0, 0, false), S_OK);
	vdrv_stop_vm(&r);
	assert_image_pattern(&img, 0, DISK_SIZE);
	ck_assert_int_eq(stat(img.path, &after), 0);
	ck_assert(after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
		  after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
	unlink(img.path);
}
END_TEST

START_TEST(bad_requests)
{
	struct image img;
	struct running_vm r;
	struct vdrv d;

	make_image(&img, DISK_SIZE);
	start_one_disk(&r, &d, img.path, false, false);
	memset(slot_data(&d, 0, 2 * SECTOR), 0x77, 2 * SECTOR);

	/* Out of range: at the end, across the end, and wrapping 64 bits. */
	ck_assert_uint_eq(request(&d, T_IN, NR_SECTORS, SECTOR, true), S_IOERR);
	ck_assert_uint_eq(request(&d, T_OUT, NR_SECTORS - 1, 2 * SECTOR, false), S_IOERR);
	ck_assert_uint_eq(request(&d, T_IN, UINT64_MAX, SECTOR, true), S_IOERR);
	ck_assert_uint_eq(request(&d, T_OUT, UINT64_MAX / SECTOR, SECTOR, false), S_IOERR);
	/* Lengths that are not whole sectors. */
	ck_assert_uint_eq(request(&d, T_IN, 0, 100, true), S_IOERR);
	ck_assert_uint_eq(request(&d, T_OUT, 0, SECTOR + 1, false), S_IOERR);
	/* Data in the wrong direction. */
	ck_assert_uint_eq(request(&d, T_IN, 0, SECTOR, false), S_IOERR);
	ck_assert_uint_eq(request(&d, T_OUT, 0, SECTOR, true), S_IOERR);
	ck_assert_uint_eq(request(&d, T_FLUSH, 0, SECTOR, false), S_IOERR);
	ck_assert_uint_eq(request(&d, T_GET_ID, 0, 0, false), S_IOERR);
	/* Unknown types. */
	ck_assert_uint_eq(request(&d, 2, 0, 0, false), S_UNSUPP);
	ck_assert_uint_eq(request(&d, 99, 0, SECTOR, true), S_UNSUPP);
	/* A header of 8 bytes. */
	{
		const struct vdrv_buf bufs[2] = {{slot_gpa(0), 8, false},
						 {slot_gpa(0) + 16, 1, true}};

		set_header(&d, 0, T_IN, 0);
		ck_assert_uint_eq(submit(&d, bufs, 2), S_IOERR);
	}
	/* Nothing touched the image, and the device still works. */
	assert_image_pattern(&img, 0, DISK_SIZE);
	ck_assert_uint_eq(request(&d, T_IN, 1, SECTOR, true), S_OK);
	assert_data_pattern(&d, SECTOR, SECTOR);
	ck_assert_uint_eq(vdrv_status(&d) & VDRV_STATUS_NEEDS_RESET, 0);
	vdrv_stop_vm(&r);
	unlink(img.path);
}
END_TEST

/* A request without a status byte fails the queue: DEVICE_NEEDS_RESET; the
 * other disk carries on, and a reset brings the first one back. */
START_TEST(no_status_byte)
{
	struct image img, img2;
	struct vm_config cfg;
	struct running_vm r;
	struct vdrv d, d2;
	const struct vdrv_buf bufs[2] = {{slot_gpa(0), 16, false},
					 {slot_gpa(0) + SLOT_DATA, SECTOR, false}};

	make_image(&img, DISK_SIZE);
	make_image(&img2, DISK_SIZE);
	vdrv_config_init(&cfg);
	add_disk(&cfg, img.path, false, false, NULL);
	add_disk(&cfg, img2.path, false, false, NULL);
	vdrv_start_vm(&r, &cfg);
	driver_init(&d, r.vm, "virtio-blk0");
	set_header(&d, 0, T_OUT, 0);
	vdrv_post(&d, 0, bufs, 2);
	vdrv_kick(&d, 0);
	ck_assert(vdrv_wait_needs_reset(&d));
	ck_assert_msg(strstr(host_captured(),
			     "virtio-blk0: queue 0: request without a writable status byte"),
		      "log: %s", host_captured());
	ck_assert_uint_eq(vdrv_used_idx(&d, 0), 0);

	/* The second disk lives in the same guest RAM: give it its own rings
	 * by resetting the first, which then stays down. */
	vdrv_reset(&d);
	driver_init(&d2, r.vm, "virtio-blk1");
	ck_assert_uint_eq(request(&d2, T_IN, 2, SECTOR, true), S_OK);
	assert_data_pattern(&d2, 2 * SECTOR, SECTOR);
	ck_assert_uint_eq(vdrv_status(&d2) & VDRV_STATUS_NEEDS_RESET, 0);
	vdrv_reset(&d2);

	driver_init(&d, r.vm, "virtio-blk0");
	ck_assert_uint_eq(vdrv_status(&d) & VDRV_STATUS_NEEDS_RESET, 0);
	ck_assert_uint_eq(request(&d, T_IN, 3, SECTOR, true), S_OK);
	assert_data_pattern(&d, 3 * SECTOR, SECTOR);
	vdrv_stop_vm(&r);
	assert_image_pattern(&img, 0, DISK_SIZE);
	unlink(img.path);
	unlink(img2.path);
}
END_TEST

static void expect_input_error(const char *path, bool direct, const char *what)
{
	struct vm_config cfg;
	struct vm *vm = NULL;
	char err[512] = "";
	bool input_error = false;

	vdrv_config_init(&cfg);
	add_disk(&cfg, path, false, direct, NULL);
	ck_assert_int_lt(vm_create(&cfg, &vm, err, sizeof(err), &input_error), 0);
	ck_assert_ptr_null(vm);
	ck_assert(input_error);
	ck_assert_msg(strstr(err, path) && strstr(err, what), "message \"%s\" lacks %s and \"%s\"",
		      err, path, what);
}

START_TEST(bad_images)
{
	struct image img;

	make_image(&img, 1000);
	expect_input_error(img.path, false, "1000 bytes is not a multiple of 512");
	unlink(img.path);
	expect_input_error(img.path, false, "No such file or directory");
	expect_input_error("/dev/null", false, "not a regular file or a block device");
}
END_TEST

/* With O_DIRECT, aligned buffers go straight through and the others are
 * bounced; the data is the same either way. */
START_TEST(direct_io)
{
	struct image img;
	struct running_vm r;
	struct vdrv d;
	uint32_t blk_size;
	uint8_t *p;

	make_image(&img, DISK_SIZE);
	start_one_disk(&r, &d, img.path, false, true);
	blk_size = config_u32(&d, 20);
	ck_assert_uint_ge(blk_size, 512);
	ck_assert_uint_le(blk_size, 4096);

	ck_assert_uint_eq(request(&d, T_IN, 8, 8192, true), S_OK);
	assert_data_pattern(&d, 8 * SECTOR, 8192);
	/* Buffers at odd guest addresses: bounced. */
	p = vdrv_gpa(&d, slot_gpa(0) + SLOT_DATA + 3, 8192);
	for (unsigned i = 0; i < 8192; i++)
		p[i] = (uint8_t)(i * 3);
	set_header(&d, 0, T_OUT, 16);
	{
		const struct vdrv_buf bufs[4] = {
			{slot_gpa(0), 16, false},
			{slot_gpa(0) + SLOT_DATA + 3, 4096 + 512, false},
			{slot_gpa(0) + SLOT_DATA + 3 + 4096 + 512, 4096 - 512, false},
			{slot_gpa(0) + 16, 1, true},
		};
		uint8_t back[8192];

		ck_assert_uint_eq(submit(&d, bufs, 4), S_OK);
		read_image(&img, 16 * SECTOR, back, sizeof(back));
		ck_assert_mem_eq(back, p, sizeof(back));
	}
	set_header(&d, 0, T_IN, 16);
	{
		const struct vdrv_buf bufs[3] = {
			{slot_gpa(0), 16, false},
			{slot_gpa(0) + 0x10001, 8192, true},
			{slot_gpa(0) + 16, 1, true},
		};

		ck_assert_uint_eq(submit(&d, bufs, 3), S_OK);
		ck_assert_mem_eq(vdrv_gpa(&d, slot_gpa(0) + 0x10001, 8192), p, 8192);
	}
	ck_assert_uint_eq(request(&d, T_FLUSH, 0, 0, false), S_OK);
	ck_assert_uint_eq(segment_request(&d, T_WRITE_ZEROES, 64, 8, 0), S_OK);
	assert_image_zero(&img, 64 * SECTOR, 8 * SECTOR);
	assert_image_pattern(&img, 0, 16 * SECTOR);
	vdrv_stop_vm(&r);
	unlink(img.path);
}
END_TEST

/* The worker lives from DRIVER_OK to reset; a reset with requests queued
 * waits for the one in flight and leaves none behind; teardown leaves no
 * thread. */
START_TEST(worker_lifecycle)
{
	struct image img;
	struct vm_config cfg;
	struct running_vm r;
	struct vdrv d;
	unsigned base, idle;
	uint16_t used_after_reset;

	make_image(&img, 8 * DISK_SIZE);
	base = host_count_threads_settled(1, THREADS_SETTLE_MS);
	vdrv_config_init(&cfg);
	add_disk(&cfg, img.path, false, false, NULL);
	vdrv_start_vm(&r, &cfg);
	/* The loop thread, the vCPU thread and (with some kernels, once the
	 * vCPU ran) KVM's own kvm-nx-lpage-recovery: no worker yet. */
	usleep(200 * 1000);
	idle = host_count_dir_entries("/proc/self/task");
	ck_assert_uint_ge(idle, base + 2);
	driver_init(&d, r.vm, "virtio-blk0");
	ck_assert_uint_eq(host_count_threads_settled(idle + 1, THREADS_SETTLE_MS), idle + 1);

	for (int round = 0; round < 3; round++) {
		for (unsigned s = 0; s < NR_SLOTS; s++) {
			const struct vdrv_buf bufs[3] = {
				{slot_gpa(s), 16, false},
				{slot_gpa(s) + SLOT_DATA, SLOT_SIZE - SLOT_DATA, false},
				{slot_gpa(s) + 16, 1, true},
			};

			set_header(&d, s, T_OUT, s * ((SLOT_SIZE - SLOT_DATA) / SECTOR));
			vdrv_post(&d, 0, bufs, 3);
		}
		vdrv_kick(&d, 0);
		vdrv_reset(&d);
		/* Nothing completes once the reset returned. */
		used_after_reset = vdrv_used_idx(&d, 0);
		usleep(50 * 1000);
		ck_assert_uint_eq(vdrv_used_idx(&d, 0), used_after_reset);
		ck_assert_uint_eq(host_count_threads_settled(idle, THREADS_SETTLE_MS), idle);
		driver_init(&d, r.vm, "virtio-blk0");
		ck_assert_uint_eq(host_count_threads_settled(idle + 1, THREADS_SETTLE_MS),
				  idle + 1);
	}
	/* Torn down with the worker running. */
	vdrv_stop_vm(&r);
	ck_assert_uint_eq(host_count_threads_settled(base, THREADS_SETTLE_MS), base);
	unlink(img.path);
}
END_TEST

/* A fresh image in a FUSE file system of the test's (fuse_file.h): its
 * reads, writes and fsyncs fail when the test says so. */
static void start_fuse_image(struct fuse_file *f)
{
	uint8_t *buf = malloc(DISK_SIZE);

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < DISK_SIZE; i++)
		buf[i] = pattern(i);
	fuse_file_start(f, buf, DISK_SIZE);
	free(buf);
}

/* A write request of @len bytes of 0x5a at @sector. */
static uint8_t write_request(struct vdrv *d, uint64_t sector, uint32_t len)
{
	memset(slot_data(d, 0, len), 0x5a, len);
	return request(d, T_OUT, sector, len, false);
}

/* Linux reports a writeback error to one fdatasync only (the FUSE server
 * does the same: one failed FSYNC, then success). The device must not let
 * the next flush say all is well: every flush and write fails until the
 * driver resets the device. */
START_TEST(flush_failure_sticks)
{
	struct fuse_file f;
	struct running_vm r;
	struct vdrv d;

	start_fuse_image(&f);
	start_one_disk(&r, &d, f.path, false, false);
	fuse_file_detach(&f);
	ck_assert(d.features & F_FLUSH);
	ck_assert_uint_eq(write_request(&d, 8, SECTOR), S_OK);
	ck_assert_uint_eq(request(&d, T_FLUSH, 0, 0, false), S_OK);

	fuse_file_fail_fsyncs(&f, 1);
	ck_assert_uint_eq(write_request(&d, 16, SECTOR), S_OK);
	ck_assert_uint_eq(request(&d, T_FLUSH, 0, 0, false), S_IOERR);
	ck_assert_uint_eq(request(&d, T_FLUSH, 0, 0, false), S_IOERR);
	ck_assert_uint_eq(write_request(&d, 24, SECTOR), S_IOERR);
	ck_assert_uint_eq(segment_request(&d, T_WRITE_ZEROES, 32, 8, 0), S_IOERR);
	ck_assert_uint_eq(segment_request(&d, T_DISCARD, 32, 8, 0), S_IOERR);
	ck_assert_uint_eq(request(&d, T_FLUSH, 0, 0, false), S_IOERR);
	/* Reads still work; the refused write did not reach the image. */
	ck_assert_uint_eq(request(&d, T_IN, 24, SECTOR, true), S_OK);
	assert_data_pattern(&d, 24 * SECTOR, SECTOR);
	ck_assert_uint_eq(vdrv_status(&d) & VDRV_STATUS_NEEDS_RESET, 0);
	ck_assert_msg(strstr(host_captured(), "virtio-blk0") && strstr(host_captured(), "flush") &&
			      strstr(host_captured(), "Input/output error"),
		      "log: %s", host_captured());

	/* A reset: the new driver starts afresh. */
	vdrv_reset(&d);
	driver_init(&d, r.vm, "virtio-blk0");
	ck_assert_uint_eq(write_request(&d, 24, SECTOR), S_OK);
	ck_assert_uint_eq(request(&d, T_FLUSH, 0, 0, false), S_OK);
	vdrv_stop_vm(&r);
	{
		uint8_t back[SECTOR], want[SECTOR];

		memset(want, 0x5a, sizeof(want));
		fuse_file_read(&f, 24 * SECTOR, back, sizeof(back));
		ck_assert_mem_eq(back, want, sizeof(back));
	}
	fuse_file_stop(&f);
}
END_TEST

/* A record's kind as written: its length, then its name. */
static const char blk_device_name[] = "\013virtio-blk0";
static const char blk_kind[] = "\012virtio-blk";

/* @saved with virtio-blk0's own record replaced by one of @version holding
 * the @n bytes @fields; the rest is copied. */
static void craft_blk(const struct state_buf *saved, struct state_buf *out, uint32_t version,
		      const uint8_t *fields, size_t n)
{
	struct state_reader r, rec;
	char kind[STATE_KIND_MAX];
	uint32_t v;
	bool blk_next = false, done = false;

	state_buf_init(out);
	state_reader_init(&r, saved->data, saved->len);
	while (!state_reader_done(&r)) {
		size_t start = r.pos;

		ck_assert_int_eq(state_next(&r, kind, &v, &rec), 0);
		if (blk_next) {
			/* The transport's record: the core's fields, then the backend's. */
			const uint8_t *at = memmem(rec.data, rec.len, blk_kind, 11);

			ck_assert_ptr_nonnull(at);
			state_begin(out, kind, v);
			state_put_bytes(out, rec.data, (size_t)(at - rec.data));
			state_begin(out, "virtio-blk", version);
			state_put_bytes(out, fields, n);
			state_end(out);
			state_end(out);
			done = true;
		} else {
			state_put_bytes(out, saved->data + start, r.pos - start);
		}
		blk_next = strcmp(kind, "device") == 0 && rec.len == 12 &&
			   memcmp(rec.data, blk_device_name, 12) == 0;
	}
	ck_assert(done);
	ck_assert_int_eq(out->err, 0);
}

/* The fields of virtio-blk's record (version 2): flush failed, read-only,
 * capacity in sectors, a regular file, its modification time. */
static size_t blk_fields(uint8_t *f, uint8_t flush_failed, uint64_t capacity,
			 const struct timespec *mtime)
{
	struct state_buf b;
	size_t n;

	state_buf_init(&b);
	state_put_u8(&b, flush_failed);
	state_put_bool(&b, false);
	state_put_u64(&b, capacity);
	state_put_bool(&b, true);
	state_put_u64(&b, (uint64_t)mtime->tv_sec);
	state_put_u32(&b, (uint32_t)mtime->tv_nsec);
	ck_assert_int_eq(b.err, 0);
	n = b.len;
	memcpy(f, b.data, n);
	state_buf_free(&b);
	return n;
}

/* The modification time virtio-blk0's record in @saved holds. */
static struct timespec saved_mtime(const struct state_buf *saved)
{
	const uint8_t *at = memmem(saved->data, saved->len, blk_kind, 11);
	struct state_reader r, rec;
	char kind[STATE_KIND_MAX];
	struct timespec t;
	uint32_t v;

	ck_assert_ptr_nonnull(at);
	state_reader_init(&r, at, saved->len - (size_t)(at - saved->data));
	ck_assert_int_eq(state_next(&r, kind, &v, &rec), 0);
	ck_assert_uint_eq(v, 2);
	state_get_bool(&rec); /* flush failed */
	state_get_bool(&rec); /* read-only */
	state_get_u64(&rec);  /* capacity */
	ck_assert(state_get_bool(&rec));
	t.tv_sec = (time_t)state_get_u64(&rec);
	t.tv_nsec = (long)state_get_u32(&rec);
	ck_assert_int_eq(state_finish(&rec), 0);
	return t;
}

/* VM A's flush failed; its devices are saved and loaded into a fresh VM B
 * (on an image that flushes fine, given A's image's size and modification
 * time, as a copy made with cp -p would be): B's disk still refuses
 * flushes and writes, as A's did, until its driver resets it. */
static void flush_failure_saved(bool bad_records)
{
	const uint64_t capacity = DISK_SIZE / SECTOR;
	struct timespec mtime, other;
	struct fuse_file f;
	struct image img;
	struct running_vm a, b;
	struct vm_config cfg;
	struct vdrv d;
	struct state_buf saved, crafted;
	struct state_reader in;
	uint8_t fields[64];
	size_t n;

	start_fuse_image(&f);
	start_one_disk(&a, &d, f.path, false, false);
	fuse_file_detach(&f);
	fuse_file_fail_fsyncs(&f, 1);
	ck_assert_uint_eq(write_request(&d, 16, SECTOR), S_OK);
	ck_assert_uint_eq(request(&d, T_FLUSH, 0, 0, false), S_IOERR);
	host_pause(a.vm);
	state_buf_init(&saved);
	ck_assert_msg(vm_save_devices(a.vm, &saved) == 0, "save: %s", a.vm->error);
	mtime = saved_mtime(&saved);

	make_image(&img, DISK_SIZE);
	ck_assert_int_eq(utimensat(AT_FDCWD, img.path, (const struct timespec[]){mtime, mtime}, 0),
			 0);
	vdrv_config_init(&cfg);
	add_disk(&cfg, img.path, false, false, NULL);
	vdrv_start_vm(&b, &cfg);
	host_pause(b.vm);
	/* d's rings and buffers are in A's RAM: B takes it. */
	for (unsigned i = 0; i < a.vm->mem.nr_regions; i++)
		memcpy(b.vm->mem.regions[i].host, a.vm->mem.regions[i].host,
		       a.vm->mem.regions[i].size);
	if (bad_records) {
		/* The image changed a second after the saved time (a time the
		 * image's could be a coarser copy of would be taken:
		 * disk_image_same_mtime()). */
		other = mtime;
		other.tv_sec -= 1;
		for (unsigned i = 0; i < 6; i++) {
			uint32_t version = 2;
			/* A record that does not parse is the device's; one of
			 * another disk names the image. */
			const char *word = i < 4 ? "virtio-blk0" : img.path;

			n = blk_fields(fields, 1, capacity, &mtime);
			if (i == 0)
				version = 3; /* unknown version */
			else if (i == 1)
				fields[0] = 2; /* not a boolean */
			else if (i == 2)
				fields[n++] = 0; /* a field too many */
			else if (i == 3)
				n = 0; /* none */
			else if (i == 4)
				n = blk_fields(fields, 1, capacity + 1, &mtime); /* another size */
			else
				n = blk_fields(fields, 1, capacity, &other); /* changed since */
			craft_blk(&saved, &crafted, version, fields, n);
			b.vm->error[0] = '\0';
			state_reader_init(&in, crafted.data, crafted.len);
			ck_assert_msg(vm_load_devices(b.vm, &in) == -EINVAL, "bad record %u taken",
				      i);
			ck_assert_msg(strstr(b.vm->error, word), "record %u: message: %s", i,
				      b.vm->error);
			state_buf_free(&crafted);
		}
		/* The control: the same record crafted good is taken. */
		n = blk_fields(fields, 1, capacity, &mtime);
		craft_blk(&saved, &crafted, 2, fields, n);
		state_reader_init(&in, crafted.data, crafted.len);
		state_buf_free(&saved);
		saved = crafted;
	}
	state_reader_init(&in, saved.data, saved.len);
	ck_assert_msg(vm_load_devices(b.vm, &in) == 0, "load: %s", b.vm->error);
	state_buf_free(&saved);
	vdrv_stop_vm(&a);
	fuse_file_stop(&f);
	vdrv_move(&d, b.vm, "virtio-blk0");
	ck_assert_int_eq(vm_resume(b.vm), 0);
	ck_assert_uint_eq(request(&d, T_FLUSH, 0, 0, false), S_IOERR);
	ck_assert_uint_eq(write_request(&d, 24, SECTOR), S_IOERR);
	ck_assert_uint_eq(request(&d, T_IN, 24, SECTOR, true), S_OK);
	/* A reset: B's next driver starts afresh. */
	vdrv_reset(&d);
	driver_init(&d, b.vm, "virtio-blk0");
	ck_assert_uint_eq(write_request(&d, 24, SECTOR), S_OK);
	ck_assert_uint_eq(request(&d, T_FLUSH, 0, 0, false), S_OK);
	vdrv_stop_vm(&b);
	unlink(img.path);
}

START_TEST(flush_failure_saved_and_loaded) { flush_failure_saved(false); }
END_TEST

START_TEST(flush_failure_bad_records) { flush_failure_saved(true); }
END_TEST

/* A driver that refuses VIRTIO_BLK_F_FLUSH cannot flush: each change must
 * be on stable storage (fdatasync returned) before it completes, and one
 * that cannot be synced fails. A driver with FLUSH gets no sync per write. */
START_TEST(write_through_without_flush)
{
	struct fuse_file f;
	struct vm_config cfg;
	struct running_vm r;
	struct vdrv d;
	unsigned before;

	start_fuse_image(&f);
	vdrv_config_init(&cfg);
	add_disk(&cfg, f.path, false, false, NULL);
	vdrv_start_vm(&r, &cfg);
	fuse_file_detach(&f);
	vdrv_init(&d, r.vm, "virtio-blk0", BLK_ID, 1, F_FLUSH);
	ck_assert(!(d.features & F_FLUSH));

	before = fuse_file_fsyncs(&f);
	ck_assert_uint_eq(write_request(&d, 8, 2 * SECTOR), S_OK);
	ck_assert_uint_gt(fuse_file_fsyncs(&f), before);
	before = fuse_file_fsyncs(&f);
	ck_assert_uint_eq(segment_request(&d, T_WRITE_ZEROES, 16, 8, 0), S_OK);
	ck_assert_uint_gt(fuse_file_fsyncs(&f), before);
	/* Reads need no sync. */
	before = fuse_file_fsyncs(&f);
	ck_assert_uint_eq(request(&d, T_IN, 0, SECTOR, true), S_OK);
	ck_assert_uint_eq(fuse_file_fsyncs(&f), before);

	/* The data reached the image, but could not be synced: an I/O error,
	 * and the disk takes no more writes (a failed flush stays failed). */
	fuse_file_fail_fsyncs(&f, 1);
	ck_assert_uint_eq(write_request(&d, 32, SECTOR), S_IOERR);
	ck_assert_uint_eq(write_request(&d, 40, SECTOR), S_IOERR);
	ck_assert_msg(strstr(host_captured(), "sync after a write") &&
			      strstr(host_captured(), "Input/output error"),
		      "log: %s", host_captured());

	/* With FLUSH accepted, writes are not synced one by one. */
	vdrv_reset(&d);
	driver_init(&d, r.vm, "virtio-blk0");
	ck_assert(d.features & F_FLUSH);
	before = fuse_file_fsyncs(&f);
	ck_assert_uint_eq(write_request(&d, 40, SECTOR), S_OK);
	ck_assert_uint_eq(fuse_file_fsyncs(&f), before);
	ck_assert_uint_eq(request(&d, T_FLUSH, 0, 0, false), S_OK);
	ck_assert_uint_eq(fuse_file_fsyncs(&f), before + 1);
	vdrv_stop_vm(&r);
	{
		uint8_t back[2 * SECTOR], want[2 * SECTOR];

		memset(want, 0x5a, sizeof(want));
		fuse_file_read(&f, 8 * SECTOR, back, sizeof(back));
		ck_assert_mem_eq(back, want, sizeof(back));
	}
	fuse_file_stop(&f);
}
END_TEST

/* EIO from the host (the FUSE server fails reads and writes as a failing
 * disk would): an I/O error for the guest, never success. */
START_TEST(host_eio)
{
	struct fuse_file f;
	struct running_vm r;
	struct vdrv d;

	start_fuse_image(&f);
	start_one_disk(&r, &d, f.path, false, false);
	fuse_file_detach(&f);
	fuse_file_fail_reads(&f, EIO);
	memset(slot_data(&d, 0, SECTOR), 0x77, SECTOR);
	ck_assert_uint_eq(request(&d, T_IN, 4, SECTOR, true), S_IOERR);
	fuse_file_fail_writes(&f, EIO);
	ck_assert_uint_eq(write_request(&d, 4, SECTOR), S_IOERR);
	ck_assert_msg(strstr(host_captured(), "virtio-blk0") &&
			      strstr(host_captured(), "read at sector 4: Input/output error"),
		      "log: %s", host_captured());
	/* The host recovers: so does the disk (nothing was lost). */
	fuse_file_fail_reads(&f, 0);
	fuse_file_fail_writes(&f, 0);
	ck_assert_uint_eq(request(&d, T_IN, 4, SECTOR, true), S_OK);
	assert_data_pattern(&d, 4 * SECTOR, SECTOR);
	ck_assert_uint_eq(write_request(&d, 4, SECTOR), S_OK);
	ck_assert_uint_eq(request(&d, T_FLUSH, 0, 0, false), S_OK);
	vdrv_stop_vm(&r);
	fuse_file_stop(&f);
}
END_TEST

/* ENOSPC: a sparse image of 1 MiB in a tmpfs of 64 KiB. Writes that find
 * no room fail, short or not; the image's other sectors stay usable. */
START_TEST(host_enospc)
{
	char dir[] = "/tmp/kvmkit-blk-enospc-XXXXXX", path[64];
	struct running_vm r;
	struct vdrv d;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_msg(mount("kvmkit-test", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") == 0,
		      "mount tmpfs on %s: %s (needs root)", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/img", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, DISK_SIZE), 0);
	close(fd);
	start_one_disk(&r, &d, path, false, false);
	/* Detached: a failure below leaves no mount behind. */
	ck_assert_int_eq(umount2(dir, MNT_DETACH), 0);

	/* 96 KiB, more than the file system holds: the kernel writes what
	 * fits (a short write), then says ENOSPC. */
	ck_assert_uint_eq(write_request(&d, 0, 96 * 1024), S_IOERR);
	ck_assert_msg(strstr(host_captured(), "write at sector 0: No space left on device"),
		      "log: %s", host_captured());
	/* Full now: elsewhere too. */
	ck_assert_uint_eq(write_request(&d, 1024, 4096), S_IOERR);
	/* A hole reads as zeroes; what fitted reads back. */
	ck_assert_uint_eq(request(&d, T_IN, 1024, SECTOR, true), S_OK);
	assert_bytes("hole", slot_data(&d, 0, SECTOR), 0, SECTOR, true);
	memset(slot_data(&d, 0, SECTOR), 0, SECTOR);
	ck_assert_uint_eq(request(&d, T_IN, 0, SECTOR, true), S_OK);
	for (unsigned i = 0; i < SECTOR; i++)
		ck_assert_uint_eq(slot_data(&d, 0, SECTOR)[i], 0x5a);
	vdrv_stop_vm(&r);
	rmdir(dir);
}
END_TEST

/* The image shrinks under the running VM (ftruncate from here): a read past
 * the new end is an I/O error, not zeroes; a write there is refused rather
 * than growing the file back around a hole; inside, all works. */
START_TEST(image_truncated)
{
	struct image img;
	struct running_vm r;
	struct vdrv d;
	struct stat st;

	make_image(&img, DISK_SIZE);
	start_one_disk(&r, &d, img.path, false, false);
	ck_assert_int_eq(truncate(img.path, DISK_SIZE / 2), 0);

	memset(slot_data(&d, 0, 4 * SECTOR), 0x77, 4 * SECTOR);
	ck_assert_uint_eq(request(&d, T_IN, NR_SECTORS - 1, SECTOR, true), S_IOERR);
	/* Across the new end: the first half exists, the request fails. */
	ck_assert_uint_eq(request(&d, T_IN, NR_SECTORS / 2 - 2, 4 * SECTOR, true), S_IOERR);
	ck_assert_uint_eq(write_request(&d, NR_SECTORS - 1, SECTOR), S_IOERR);
	ck_assert_uint_eq(write_request(&d, NR_SECTORS / 2 - 1, 2 * SECTOR), S_IOERR);
	ck_assert_uint_eq(segment_request(&d, T_WRITE_ZEROES, NR_SECTORS - 8, 8, 0), S_IOERR);
	ck_assert_uint_eq(segment_request(&d, T_WRITE_ZEROES, NR_SECTORS - 8, 8, 1), S_IOERR);
	ck_assert_int_eq(stat(img.path, &st), 0);
	ck_assert_int_eq(st.st_size, DISK_SIZE / 2);
	ck_assert_msg(strstr(host_captured(), "Input/output error"), "log: %s", host_captured());

	ck_assert_uint_eq(request(&d, T_IN, NR_SECTORS / 2 - 1, SECTOR, true), S_OK);
	assert_data_pattern(&d, DISK_SIZE / 2 - SECTOR, SECTOR);
	ck_assert_uint_eq(write_request(&d, 2, SECTOR), S_OK);
	vdrv_stop_vm(&r);
	ck_assert_int_eq(stat(img.path, &st), 0);
	ck_assert_int_eq(st.st_size, DISK_SIZE / 2);
	unlink(img.path);
}
END_TEST

int main(int argc, char **argv)
{
	const struct host_case cases[] = {
		{"config", config_space, 30},
		{"rw", read_write_flush_id, 30},
		{"discard", discard_write_zeroes, 30},
		{"ro", read_only, 30},
		{"bad_requests", bad_requests, 30},
		{"no_status", no_status_byte, 30},
		{"bad_images", bad_images, 30},
		{"direct", direct_io, 30},
		{"lifecycle", worker_lifecycle, 30},
		{"flush_failure_sticks", flush_failure_sticks, 30},
		{"flush_failure_saved", flush_failure_saved_and_loaded, 30},
		{"flush_failure_bad_records", flush_failure_bad_records, 30},
		{"write_through", write_through_without_flush, 30},
		{"host_eio", host_eio, 30},
		{"host_enospc", host_enospc, 30},
		{"truncated", image_truncated, 30},
	};
	const struct host_suite suite = {
		.name = "virtio-blk",
		.cases = cases,
		.nr_cases = sizeof(cases) / sizeof(cases[0]),
		.setup = host_capture_start,
		.teardown = host_capture_stop,
	};

	return host_run_suite(argc, argv, &suite);
}
