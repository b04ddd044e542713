/* Host tests of virtio-blk without a guest driver: the test is the driver. It
 * builds a VM (the spinning x86 test kernel, so vm_run()'s main loop turns
 * QueueNotify writes into kicks), configures the device through its
 * virtio-mmio registers with device_read()/device_write(), lays rings and
 * requests out in guest RAM and checks every answer against the image file.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/device.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define GUEST_MEM_SIZE (16ULL << 20)
#define DISK_SIZE (1u << 20)
#define SECTOR 512
#define NR_SECTORS (DISK_SIZE / SECTOR)
#define WAIT_SEC 5

/* virtio-mmio registers (version 2). */
#define REG_DEVICE_ID 0x008
#define REG_DEVICE_FEATURES 0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES 0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL 0x030
#define REG_QUEUE_NUM_MAX 0x034
#define REG_QUEUE_NUM 0x038
#define REG_QUEUE_READY 0x044
#define REG_QUEUE_NOTIFY 0x050
#define REG_STATUS 0x070
#define REG_QUEUE_DESC_LOW 0x080
#define REG_QUEUE_DESC_HIGH 0x084
#define REG_QUEUE_DRIVER_LOW 0x090
#define REG_QUEUE_DRIVER_HIGH 0x094
#define REG_QUEUE_DEVICE_LOW 0x0a0
#define REG_QUEUE_DEVICE_HIGH 0x0a4
#define REG_CONFIG 0x100

#define STATUS_ACK 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_NEEDS_RESET 64

#define F_SEG_MAX (1ULL << 2)
#define F_RO (1ULL << 5)
#define F_BLK_SIZE (1ULL << 6)
#define F_FLUSH (1ULL << 9)
#define F_DISCARD (1ULL << 13)
#define F_WRITE_ZEROES (1ULL << 14)
#define F_VERSION_1 (1ULL << 32)

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

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2

/* Guest RAM the test driver uses (the test kernel lives at 1 MiB). */
#define QUEUE_SIZE 64
#define DESC_GPA 0x800000ULL
#define AVAIL_GPA 0x801000ULL
#define USED_GPA 0x802000ULL
#define SLOT_GPA 0x900000ULL /* request slots: header, status, then data */
#define SLOT_SIZE 0x20000ULL
#define SLOT_DATA 0x1000ULL
#define NR_SLOTS 16
#define DESC_PER_SLOT 4

static pthread_mutex_t captured_lock = PTHREAD_MUTEX_INITIALIZER;
static char captured[8192];
static size_t captured_len;

static void capture_log(enum log_level level, const char *msg, void *opaque)
{
	(void)level;
	(void)opaque;
	pthread_mutex_lock(&captured_lock);
	captured_len += (size_t)snprintf(captured + captured_len, sizeof(captured) - captured_len,
					 "%s\n", msg);
	if (captured_len >= sizeof(captured))
		captured_len = sizeof(captured) - 1;
	pthread_mutex_unlock(&captured_lock);
}

static void capture_start(void)
{
	captured[0] = '\0';
	captured_len = 0;
	log_set_level(LOG_WARN);
	log_set_sink(capture_log, NULL);
}

static void capture_stop(void) { log_set_sink(NULL, NULL); }

static const char *guest_path(const char *name)
{
	static char path[4096];
	const char *dir = getenv("KVMKIT_HOST_GUESTS");

	ck_assert_msg(dir != NULL, "KVMKIT_HOST_GUESTS is not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/%s.elf", dir, name);
	return path;
}

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

static void vm_config_for(struct vm_config *cfg)
{
	vm_config_defaults(cfg);
	cfg->kernel_path = guest_path("spin");
	cfg->mem_size = GUEST_MEM_SIZE;
	cfg->console_stdio = false;
}

static void add_disk(struct vm_config *cfg, const char *path, bool ro, bool direct,
		     const char *serial)
{
	struct vm_disk_config *d = &cfg->disks[cfg->nr_disks++];

	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->read_only = ro;
	d->direct = direct;
	if (serial) {
		d->has_serial = true;
		snprintf(d->serial, sizeof(d->serial), "%s", serial);
	}
}

/* A VM whose main loop runs on a thread of its own while the test drives it. */
struct running_vm {
	struct vm *vm;
	pthread_t loop;
};

static void *run_loop(void *arg)
{
	struct vm *vm = arg;

	vm_run(vm);
	return NULL;
}

static void start_vm(struct running_vm *r, const struct vm_config *cfg)
{
	char err[512] = "";
	bool input_error;
	int ret = vm_create(cfg, &r->vm, err, sizeof(err), &input_error);

	ck_assert_msg(ret == 0, "vm_create: %s", err);
	ck_assert_int_eq(pthread_create(&r->loop, NULL, run_loop, r->vm), 0);
}

static void stop_vm(struct running_vm *r)
{
	vm_request_exit(r->vm, VM_EXIT_QUIT);
	pthread_join(r->loop, NULL);
	vm_destroy(r->vm);
}

/* The test's virtio driver for one device. */
struct driver {
	struct vm *vm;
	struct device *dev;
	uint16_t avail_idx;
	uint16_t used_seen;
	uint64_t features;
};

static uint32_t reg_read(struct driver *d, uint64_t off)
{
	uint32_t v = 0;

	ck_assert_int_eq(device_read(d->dev, off, &v, 4), 0);
	return v;
}

static void reg_write(struct driver *d, uint64_t off, uint32_t v)
{
	ck_assert_int_eq(device_write(d->dev, off, &v, 4), 0);
}

static void *gpa(struct driver *d, uint64_t addr, uint64_t len)
{
	void *p = guest_mem_ptr(&d->vm->mem, addr, len);

	ck_assert_ptr_nonnull(p);
	return p;
}

static struct device *find_device(struct vm *vm, const char *name)
{
	for (unsigned i = 0; i < vm->nr_devices; i++) {
		if (strcmp(vm->devices[i]->name, name) == 0)
			return vm->devices[i];
	}
	ck_abort_msg("no device named %s", name);
	return NULL;
}

static uint64_t config_u64(struct driver *d, unsigned off)
{
	uint64_t v = 0;

	ck_assert_int_eq(device_read(d->dev, REG_CONFIG + off, &v, 8), 0);
	return v;
}

static uint32_t config_u32(struct driver *d, unsigned off) { return reg_read(d, REG_CONFIG + off); }

/* The driver's side of initialisation (virtio 1.x, 3.1.1), one queue at
 * DESC_GPA/AVAIL_GPA/USED_GPA, every offered feature accepted. The device
 * uses its own copy of the rings' base in each VM, so @d may be reused
 * after a reset. */
static void driver_init(struct driver *d, struct vm *vm, const char *name)
{
	uint64_t offered;

	d->vm = vm;
	d->dev = find_device(vm, name);
	d->avail_idx = d->used_seen = 0;
	memset(gpa(d, DESC_GPA, 0x3000), 0, 0x3000);
	ck_assert_uint_eq(reg_read(d, REG_DEVICE_ID), 2);
	reg_write(d, REG_STATUS, 0);
	reg_write(d, REG_STATUS, STATUS_ACK);
	reg_write(d, REG_STATUS, STATUS_ACK | STATUS_DRIVER);
	reg_write(d, REG_DEVICE_FEATURES_SEL, 0);
	offered = reg_read(d, REG_DEVICE_FEATURES);
	reg_write(d, REG_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)reg_read(d, REG_DEVICE_FEATURES) << 32;
	ck_assert(offered & F_VERSION_1);
	d->features = offered;
	reg_write(d, REG_DRIVER_FEATURES_SEL, 0);
	reg_write(d, REG_DRIVER_FEATURES, (uint32_t)offered);
	reg_write(d, REG_DRIVER_FEATURES_SEL, 1);
	reg_write(d, REG_DRIVER_FEATURES, (uint32_t)(offered >> 32));
	reg_write(d, REG_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK);
	ck_assert(reg_read(d, REG_STATUS) & STATUS_FEATURES_OK);
	reg_write(d, REG_QUEUE_SEL, 0);
	ck_assert_uint_ge(reg_read(d, REG_QUEUE_NUM_MAX), QUEUE_SIZE);
	reg_write(d, REG_QUEUE_NUM, QUEUE_SIZE);
	reg_write(d, REG_QUEUE_DESC_LOW, (uint32_t)DESC_GPA);
	reg_write(d, REG_QUEUE_DESC_HIGH, 0);
	reg_write(d, REG_QUEUE_DRIVER_LOW, (uint32_t)AVAIL_GPA);
	reg_write(d, REG_QUEUE_DRIVER_HIGH, 0);
	reg_write(d, REG_QUEUE_DEVICE_LOW, (uint32_t)USED_GPA);
	reg_write(d, REG_QUEUE_DEVICE_HIGH, 0);
	reg_write(d, REG_QUEUE_READY, 1);
	reg_write(d, REG_STATUS,
		  STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
}

struct buf {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

/* Puts a chain of @n buffers in descriptors of @slot and makes it available. */
static void post(struct driver *d, unsigned slot, const struct buf *bufs, unsigned n)
{
	struct {
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
	} *desc = gpa(d, DESC_GPA, 16 * QUEUE_SIZE);
	uint16_t *avail = gpa(d, AVAIL_GPA, 4 + 2 * QUEUE_SIZE);
	unsigned first = slot * DESC_PER_SLOT;

	ck_assert_uint_le(n, DESC_PER_SLOT);
	for (unsigned i = 0; i < n; i++) {
		desc[first + i].addr = bufs[i].gpa;
		desc[first + i].len = bufs[i].len;
		desc[first + i].flags = (uint16_t)((bufs[i].writable ? DESC_F_WRITE : 0) |
						   (i + 1 < n ? DESC_F_NEXT : 0));
		desc[first + i].next = (uint16_t)(first + i + 1);
	}
	avail[2 + d->avail_idx % QUEUE_SIZE] = (uint16_t)first;
	d->avail_idx++;
	__atomic_store_n(&avail[1], d->avail_idx, __ATOMIC_RELEASE);
}

static void kick(struct driver *d) { reg_write(d, REG_QUEUE_NOTIFY, 0); }

static uint16_t used_idx(struct driver *d)
{
	uint16_t *used = gpa(d, USED_GPA, 4 + 8 * QUEUE_SIZE);

	return __atomic_load_n(&used[1], __ATOMIC_ACQUIRE);
}

/* Waits until the device has used @count more chains. */
static bool wait_used(struct driver *d, unsigned count)
{
	struct timespec delay = {0, 1000 * 1000};

	for (int i = 0; i < WAIT_SEC * 1000; i++) {
		if ((uint16_t)(used_idx(d) - d->used_seen) >= count) {
			d->used_seen = (uint16_t)(d->used_seen + count);
			return true;
		}
		nanosleep(&delay, NULL);
	}
	return false;
}

static uint64_t slot_gpa(unsigned slot) { return SLOT_GPA + slot * SLOT_SIZE; }

/* Fills the 16-byte header of @slot and clears its status byte. */
static void set_header(struct driver *d, unsigned slot, uint32_t type, uint64_t sector)
{
	uint8_t *h = gpa(d, slot_gpa(slot), 17);

	memcpy(h, &type, 4);
	memset(h + 4, 0, 4);
	memcpy(h + 8, &sector, 8);
	h[16] = S_UNTOUCHED;
}

static uint8_t *slot_data(struct driver *d, unsigned slot, uint64_t len)
{
	return gpa(d, slot_gpa(slot) + SLOT_DATA, len);
}

static uint8_t status_of(struct driver *d, unsigned slot)
{
	return *(uint8_t *)gpa(d, slot_gpa(slot) + 16, 1);
}

/* One request: header, data (device-writable for IN and GET_ID), status. */
static uint8_t request(struct driver *d, uint32_t type, uint64_t sector, uint32_t data_len,
		       bool data_writable)
{
	struct buf bufs[3] = {{slot_gpa(0), 16, false}};
	unsigned n = 1;

	set_header(d, 0, type, sector);
	if (data_len)
		bufs[n++] = (struct buf){slot_gpa(0) + SLOT_DATA, data_len, data_writable};
	bufs[n++] = (struct buf){slot_gpa(0) + 16, 1, true};
	post(d, 0, bufs, n);
	kick(d);
	ck_assert_msg(wait_used(d, 1), "request type %u not completed within %d s", type, WAIT_SEC);
	return status_of(d, 0);
}

static uint8_t segment_request(struct driver *d, uint32_t type, uint64_t sector, uint32_t count,
			       uint32_t flags)
{
	uint8_t *seg = slot_data(d, 0, 16);

	memcpy(seg, &sector, 8);
	memcpy(seg + 8, &count, 4);
	memcpy(seg + 12, &flags, 4);
	return request(d, type, 0, 16, false);
}

/* The data buffer of slot 0 holds the image's original bytes from @offset. */
static void assert_data_pattern(struct driver *d, uint64_t offset, size_t len)
{
	assert_bytes("guest buffer for image", slot_data(d, 0, len), offset, len, false);
}

static unsigned count_threads(void)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	unsigned n = 0;

	ck_assert_ptr_nonnull(dir);
	while ((e = readdir(dir)) != NULL)
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

/* A joined thread may linger in /proc/self/task for a moment. */
static unsigned threads_settled(unsigned expected)
{
	struct timespec delay = {0, 10 * 1000 * 1000};
	unsigned n = count_threads();

	for (int i = 0; i < 200 && n != expected; i++) {
		nanosleep(&delay, NULL);
		n = count_threads();
	}
	return n;
}

START_TEST(config_space)
{
	struct image img;
	struct vm_config cfg;
	struct running_vm r;
	struct driver d;

	make_image(&img, DISK_SIZE);
	vm_config_for(&cfg);
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
	cfg.disks[1].read_only = false;
	cfg.nr_disks = 1;
	start_vm(&r, &cfg);
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

		ck_assert_int_ne(device_read(d.dev, REG_CONFIG + 60, &v, 4), 0);
	}
	stop_vm(&r);
	unlink(img.path);
}
END_TEST

START_TEST(read_write_flush_id)
{
	struct image img, img2;
	struct vm_config cfg;
	struct running_vm r;
	struct driver d, d2;
	uint8_t *p, buf[3 * SECTOR];

	make_image(&img, DISK_SIZE);
	make_image(&img2, 4096);
	vm_config_for(&cfg);
	add_disk(&cfg, img.path, false, false, "kvmkit-serial-012345"); /* 20 bytes, the most */
	add_disk(&cfg, img2.path, false, false, NULL);
	start_vm(&r, &cfg);
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
		const struct buf bufs[4] = {
			{slot_gpa(0), 16, false},
			{slot_gpa(0) + SLOT_DATA, 100, false},
			{slot_gpa(0) + SLOT_DATA + 100, 924, false},
			{slot_gpa(0) + 16, 1, true},
		};

		post(&d, 0, bufs, 4);
		kick(&d);
		ck_assert(wait_used(&d, 1));
		ck_assert_uint_eq(status_of(&d, 0), S_OK);
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
	ck_assert_msg(captured_len == 0, "unexpected messages:\n%s", captured);
	stop_vm(&r);
	unlink(img.path);
	unlink(img2.path);
}
END_TEST

START_TEST(discard_write_zeroes)
{
	struct image img;
	struct vm_config cfg;
	struct running_vm r;
	struct driver d;

	make_image(&img, DISK_SIZE);
	vm_config_for(&cfg);
	add_disk(&cfg, img.path, false, false, NULL);
	start_vm(&r, &cfg);
	driver_init(&d, r.vm, "virtio-blk0");

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
	stop_vm(&r);
	unlink(img.path);
}
END_TEST

START_TEST(read_only)
{
	struct image img;
	struct vm_config cfg;
	struct running_vm r;
	struct driver d;
	struct stat before, after;

	make_image(&img, DISK_SIZE);
	ck_assert_int_eq(stat(img.path, &before), 0);
	vm_config_for(&cfg);
	add_disk(&cfg, img.path, true, false, NULL);
	start_vm(&r, &cfg);
	driver_init(&d, r.vm, "virtio-blk0");
	ck_assert(d.features & F_RO);
	ck_assert(!(d.features & (F_DISCARD | F_WRITE_ZEROES)));

	memset(slot_data(&d, 0, 4096), 0, 4096);
	ck_assert_uint_eq(request(&d, T_OUT, 0, 4096, false), S_IOERR);
	ck_assert_uint_eq(segment_request(&d, T_DISCARD, 0, 8, 0), S_IOERR);
	ck_assert_uint_eq(segment_request(&d, T_WRITE_ZEROES, 0, 8, 0), S_IOERR);
	ck_assert_uint_eq(request(&d, T_IN, 0, 4096, true), S_OK);
	assert_data_pattern(&d, 0, 4096);
	ck_assert_uint_eq(request(&d, T_FLUSH, 0, 0, false), S_OK);
	stop_vm(&r);
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
	struct vm_config cfg;
	struct running_vm r;
	struct driver d;

	make_image(&img, DISK_SIZE);
	vm_config_for(&cfg);
	add_disk(&cfg, img.path, false, false, NULL);
	start_vm(&r, &cfg);
	driver_init(&d, r.vm, "virtio-blk0");
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
		const struct buf bufs[2] = {{slot_gpa(0), 8, false}, {slot_gpa(0) + 16, 1, true}};

		set_header(&d, 0, T_IN, 0);
		post(&d, 0, bufs, 2);
		kick(&d);
		ck_assert(wait_used(&d, 1));
		ck_assert_uint_eq(status_of(&d, 0), S_IOERR);
	}
	/* Nothing touched the image, and the device still works. */
	assert_image_pattern(&img, 0, DISK_SIZE);
	ck_assert_uint_eq(request(&d, T_IN, 1, SECTOR, true), S_OK);
	assert_data_pattern(&d, SECTOR, SECTOR);
	ck_assert_uint_eq(reg_read(&d, REG_STATUS) & STATUS_NEEDS_RESET, 0);
	stop_vm(&r);
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
	struct driver d, d2;
	const struct buf bufs[2] = {{slot_gpa(0), 16, false}, {slot_gpa(0) + SLOT_DATA, SECTOR, false}};

	make_image(&img, DISK_SIZE);
	make_image(&img2, DISK_SIZE);
	vm_config_for(&cfg);
	add_disk(&cfg, img.path, false, false, NULL);
	add_disk(&cfg, img2.path, false, false, NULL);
	start_vm(&r, &cfg);
	driver_init(&d, r.vm, "virtio-blk0");
	set_header(&d, 0, T_OUT, 0);
	post(&d, 0, bufs, 2);
	kick(&d);
	for (int i = 0; i < WAIT_SEC * 100 && !(reg_read(&d, REG_STATUS) & STATUS_NEEDS_RESET); i++)
		usleep(10000);
	ck_assert(reg_read(&d, REG_STATUS) & STATUS_NEEDS_RESET);
	ck_assert_msg(strstr(captured, "virtio-blk0: queue 0: request without a writable status byte"),
		      "log: %s", captured);
	ck_assert_uint_eq(used_idx(&d), 0);

	/* The second disk lives in the same guest RAM: give it its own rings
	 * by resetting the first, which then stays down. */
	reg_write(&d, REG_STATUS, 0);
	driver_init(&d2, r.vm, "virtio-blk1");
	ck_assert_uint_eq(request(&d2, T_IN, 2, SECTOR, true), S_OK);
	assert_data_pattern(&d2, 2 * SECTOR, SECTOR);
	ck_assert_uint_eq(reg_read(&d2, REG_STATUS) & STATUS_NEEDS_RESET, 0);
	reg_write(&d2, REG_STATUS, 0);

	driver_init(&d, r.vm, "virtio-blk0");
	ck_assert_uint_eq(reg_read(&d, REG_STATUS) & STATUS_NEEDS_RESET, 0);
	ck_assert_uint_eq(request(&d, T_IN, 3, SECTOR, true), S_OK);
	assert_data_pattern(&d, 3 * SECTOR, SECTOR);
	stop_vm(&r);
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

	vm_config_for(&cfg);
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
	struct vm_config cfg;
	struct running_vm r;
	struct driver d;
	uint32_t blk_size;
	uint8_t *p;

	make_image(&img, DISK_SIZE);
	vm_config_for(&cfg);
	add_disk(&cfg, img.path, false, true, NULL);
	start_vm(&r, &cfg);
	driver_init(&d, r.vm, "virtio-blk0");
	blk_size = config_u32(&d, 20);
	ck_assert_uint_ge(blk_size, 512);
	ck_assert_uint_le(blk_size, 4096);

	ck_assert_uint_eq(request(&d, T_IN, 8, 8192, true), S_OK);
	assert_data_pattern(&d, 8 * SECTOR, 8192);
	/* Buffers at odd guest addresses: bounced. */
	p = gpa(&d, slot_gpa(0) + SLOT_DATA + 3, 8192);
	for (unsigned i = 0; i < 8192; i++)
		p[i] = (uint8_t)(i * 3);
	set_header(&d, 0, T_OUT, 16);
	{
		const struct buf bufs[4] = {
			{slot_gpa(0), 16, false},
			{slot_gpa(0) + SLOT_DATA + 3, 4096 + 512, false},
			{slot_gpa(0) + SLOT_DATA + 3 + 4096 + 512, 4096 - 512, false},
			{slot_gpa(0) + 16, 1, true},
		};
		uint8_t back[8192];

		post(&d, 0, bufs, 4);
		kick(&d);
		ck_assert(wait_used(&d, 1));
		ck_assert_uint_eq(status_of(&d, 0), S_OK);
		read_image(&img, 16 * SECTOR, back, sizeof(back));
		ck_assert_mem_eq(back, p, sizeof(back));
	}
	set_header(&d, 0, T_IN, 16);
	{
		const struct buf bufs[3] = {
			{slot_gpa(0), 16, false},
			{slot_gpa(0) + 0x10001, 8192, true},
			{slot_gpa(0) + 16, 1, true},
		};

		post(&d, 0, bufs, 3);
		kick(&d);
		ck_assert(wait_used(&d, 1));
		ck_assert_uint_eq(status_of(&d, 0), S_OK);
		ck_assert_mem_eq(gpa(&d, slot_gpa(0) + 0x10001, 8192), p, 8192);
	}
	ck_assert_uint_eq(request(&d, T_FLUSH, 0, 0, false), S_OK);
	ck_assert_uint_eq(segment_request(&d, T_WRITE_ZEROES, 64, 8, 0), S_OK);
	assert_image_zero(&img, 64 * SECTOR, 8 * SECTOR);
	assert_image_pattern(&img, 0, 16 * SECTOR);
	stop_vm(&r);
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
	struct driver d;
	unsigned base, idle;
	uint16_t used_after_reset;

	make_image(&img, 8 * DISK_SIZE);
	base = threads_settled(1);
	vm_config_for(&cfg);
	add_disk(&cfg, img.path, false, false, NULL);
	start_vm(&r, &cfg);
	/* The loop thread, the vCPU thread and (with some kernels, once the
	 * vCPU ran) KVM's own kvm-nx-lpage-recovery: no worker yet. */
	usleep(200 * 1000);
	idle = count_threads();
	ck_assert_uint_ge(idle, base + 2);
	driver_init(&d, r.vm, "virtio-blk0");
	ck_assert_uint_eq(threads_settled(idle + 1), idle + 1);

	for (int round = 0; round < 3; round++) {
		for (unsigned s = 0; s < NR_SLOTS; s++) {
			const struct buf bufs[3] = {
				{slot_gpa(s), 16, false},
				{slot_gpa(s) + SLOT_DATA, SLOT_SIZE - SLOT_DATA, false},
				{slot_gpa(s) + 16, 1, true},
			};

			set_header(&d, s, T_OUT, s * ((SLOT_SIZE - SLOT_DATA) / SECTOR));
			post(&d, s, bufs, 3);
		}
		kick(&d);
		reg_write(&d, REG_STATUS, 0);
		/* Nothing completes once the reset returned. */
		used_after_reset = used_idx(&d);
		usleep(50 * 1000);
		ck_assert_uint_eq(used_idx(&d), used_after_reset);
		ck_assert_uint_eq(threads_settled(idle), idle);
		driver_init(&d, r.vm, "virtio-blk0");
		ck_assert_uint_eq(threads_settled(idle + 1), idle + 1);
	}
	/* Torn down with the worker running. */
	stop_vm(&r);
	ck_assert_uint_eq(threads_settled(base), base);
	unlink(img.path);
}
END_TEST

struct blk_case {
	const char *name;
	const TTest *test;
};

int main(int argc, char **argv)
{
	const struct blk_case cases[] = {
		{"config", config_space},
		{"rw", read_write_flush_id},
		{"discard", discard_write_zeroes},
		{"ro", read_only},
		{"bad_requests", bad_requests},
		{"no_status", no_status_byte},
		{"bad_images", bad_images},
		{"direct", direct_io},
		{"lifecycle", worker_lifecycle},
	};
	const unsigned nr_cases = sizeof(cases) / sizeof(cases[0]);
	const char *only = argc > 1 ? argv[1] : NULL;
	Suite *suite = suite_create("virtio-blk");
	SRunner *runner;
	bool known = only == NULL;
	int failed;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [CASE]\n", argv[0]);
		return EXIT_FAILURE;
	}
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		fprintf(stderr, "/dev/kvm: %s: skipping the host tests\n", strerror(errno));
		return 77;
	}
	for (unsigned i = 0; i < nr_cases; i++) {
		TCase *tc = tcase_create(cases[i].name);

		tcase_add_checked_fixture(tc, capture_start, capture_stop);
		tcase_set_timeout(tc, 30);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(suite, tc);
		if (only && strcmp(only, cases[i].name) == 0)
			known = true;
	}
	if (!known) {
		fprintf(stderr, "%s: no case named %s\n", argv[0], only);
		return EXIT_FAILURE;
	}
	runner = srunner_create(suite);
	srunner_run(runner, NULL, only, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
