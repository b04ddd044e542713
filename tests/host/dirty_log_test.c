/* Host tests of dirty-page tracking (vmm/dirty_log.h), one case per engine,
 * in the spirit of Linux's kvm selftest dirty_log_test: the guest
 * (guests/dirty_writer.S) writes the current generation to random pages as
 * fast as it can while the test harvests concurrently and copies every page
 * reported into a copy of guest RAM made when tracking started. Some rounds
 * the consumer "fails" and must get the same pages again; some rounds the
 * test, as a virtio driver, has virtio-blk read a sector into a page, and
 * the page must be reported although no vCPU wrote it; the test's own writes
 * to the mailbox go through guest_mem_write() like any VMM write. At the end
 * the VM is paused, a last harvest taken, and the copy must equal guest RAM
 * byte for byte.
 *
 * Built for x86_64 (the host suite) and for arm64 (the arm64 suite, in the
 * arm64 L1: tests/arm64), with each one's guest and RAM layout.
 *
 *     host-dirty-log-test [CASE] */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_blk.h"
#include "guests/dirty_layout.h"
#include "host_util.h"
#include "test_device.h"
#include "virtio_driver.h"
#include "vm_util.h"
#include "vmm/device_type.h"
#include "vmm/vm.h"
#include "vmm/vm_dirty.h"

#define MAILBOX_GPA (TEST_RAM_BASE + DIRTY_MAILBOX_OFFSET)
#define GUEST_RAM (64ULL << 20)
#define ROUNDS 12
#define WRITES_PER_ROUND 4000 /* guest writes between two harvests */
#define WAIT_SEC 10
#define DISK_SIZE (64u << 10)
#define SECTOR 512
#define PAGE 4096ULL
/* The driver's request: header and status on one page, the sector read
 * into a page the driver never touches while tracking. */
#define REQ_GPA VDRV_BUF_GPA
#define DATA_GPA(k) (VDRV_BUF_GPA + (1 + (k)) * PAGE)

static char image_path[64];

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t pattern(uint64_t offset) { return (uint8_t)(offset * 5 + (offset >> 9) + 3); }

static void make_image(void)
{
	uint8_t buf[DISK_SIZE];
	int fd;

	snprintf(image_path, sizeof(image_path), "/tmp/kvmkit-dirty-test-XXXXXX");
	fd = mkstemp(image_path);
	ck_assert_int_ge(fd, 0);
	for (size_t i = 0; i < DISK_SIZE; i++)
		buf[i] = pattern(i);
	ck_assert_int_eq(pwrite(fd, buf, DISK_SIZE, 0), DISK_SIZE);
	close(fd);
}

struct run {
	struct vm *vm;
	pthread_t loop;
	enum vm_exit_reason reason;
};

static void *run_loop(void *opaque)
{
	struct run *r = opaque;

	r->reason = vm_run_loop(r->vm);
	return NULL;
}

static void start(struct run *r, enum dirty_engine_kind engine, unsigned ring_entries)
{
	struct vm_config cfg;
	struct vm_disk_config *disk;
	struct test_device *dev;
	char err[512] = "";
	bool input_error;
	int ret;

	vdrv_config_init(&cfg);
	cfg.kernel_path = host_guest_path("dirty_writer");
	cfg.mem_size = GUEST_RAM;
	cfg.dirty_engine = engine;
	cfg.dirty_ring_entries = ring_entries;
	disk = vm_config_add_device(&cfg, device_type_find("disk"));
	snprintf(disk->path, sizeof(disk->path), "%s", image_path);
	ret = vm_create(&cfg, &r->vm, err, sizeof(err), &input_error);
	ck_assert_msg(ret == 0, "vm_create: %s", err);
	dev = test_device_new("mmio-test", BUS_MMIO, TEST_MMIO_BASE, TEST_MMIO_SIZE);
	ck_assert_ptr_nonnull(dev);
	ck_assert_int_eq(vm_add_device(r->vm, &dev->dev), 0);
	ck_assert_msg(vm_start(r->vm) == 0, "vm_start: %s", r->vm->error);
	ck_assert_int_eq(pthread_create(&r->loop, NULL, run_loop, r), 0);
}

static uint64_t *mailbox(struct vm *vm)
{
	uint64_t *m = guest_mem_ptr(&vm->mem, MAILBOX_GPA, 16);

	ck_assert_ptr_nonnull(m);
	return m;
}

static uint64_t guest_writes(struct vm *vm)
{
	return __atomic_load_n(&mailbox(vm)[1], __ATOMIC_ACQUIRE);
}

/* Waits for the guest's own count to pass @target. */
/* Waits for the guest's own count to pass @target; false when the VM ended
 * first (the caller decides whether that end is allowed). */
static bool wait_writes_or_end(struct vm *vm, uint64_t target)
{
	double deadline = now_sec() + WAIT_SEC * host_time_factor();

	while (guest_writes(vm) < target && now_sec() < deadline &&
	       atomic_load(&vm->exit_reason) == VM_EXIT_NONE)
		host_sleep_ms(1);
	if (atomic_load(&vm->exit_reason) != VM_EXIT_NONE)
		return false;
	ck_assert_msg(guest_writes(vm) >= target, "the guest made %llu writes, waited for %llu",
		      (unsigned long long)guest_writes(vm), (unsigned long long)target);
	return true;
}

static void wait_writes(struct vm *vm, uint64_t target)
{
	ck_assert_msg(wait_writes_or_end(vm, target), "the VM ended: %s", vm->error);
}

/* The one end allowed while the guest writes: a KVM that overran a dirty
 * ring (kvm_pvm's instruction emulator pushes an entry per emulated store
 * and does not stop at the ring's limit). kvmkit must have said so, ended
 * the VM, and must refuse every harvest from then on. */
static void expect_overrun_reported(struct run *r, uint64_t *bits, size_t words)
{
	char err[256] = "";

	pthread_join(r->loop, NULL);
	ck_assert_msg(r->reason == VM_EXIT_ERROR && strstr(r->vm->error, "overran"),
		      "the VM ended (%s): %s", vm_exit_reason_name(r->reason), r->vm->error);
	ck_assert_int_eq(vm_dirty_take(r->vm, bits, words, err, sizeof(err)), -EOVERFLOW);
	ck_assert_msg(strstr(err, "lost"), "message: %s", err);
	fprintf(stderr, "this host's KVM overran the dirty ring; kvmkit said: %s\n", r->vm->error);
}

/* Guest RAM as the consumer has it. */
struct ram_copy {
	unsigned nr;
	uint8_t *data[GUEST_MEM_MAX_REGIONS];
};

static void copy_all(struct ram_copy *c, struct vm *vm)
{
	c->nr = vm->mem.nr_regions;
	for (unsigned i = 0; i < c->nr; i++) {
		c->data[i] = malloc(vm->mem.regions[i].size);
		ck_assert_ptr_nonnull(c->data[i]);
		memcpy(c->data[i], vm->mem.regions[i].host, vm->mem.regions[i].size);
	}
}

static void free_copy(struct ram_copy *c)
{
	for (unsigned i = 0; i < c->nr; i++)
		free(c->data[i]);
}

/* Bit for @gpa in a harvest's flat layout. */
static bool in_harvest(struct vm *vm, const uint64_t *bits, uint64_t gpa)
{
	size_t base = 0;

	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		const struct guest_mem_region *r = &vm->mem.regions[i];
		uint64_t pages = r->size / PAGE;

		if (gpa >= r->gpa && gpa < r->gpa + r->size) {
			uint64_t p = (gpa - r->gpa) / PAGE;

			return (bits[base + p / 64] >> (p % 64)) & 1;
		}
		base += (pages + 63) / 64;
	}
	return false;
}

/* Copies every page of @bits from guest RAM into @c. */
static void copy_reported(struct ram_copy *c, struct vm *vm, const uint64_t *bits)
{
	size_t base = 0;

	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		const struct guest_mem_region *r = &vm->mem.regions[i];
		uint64_t pages = r->size / PAGE;

		for (uint64_t p = 0; p < pages; p++)
			if ((bits[base + p / 64] >> (p % 64)) & 1)
				memcpy(c->data[i] + p * PAGE, r->host + p * PAGE, PAGE);
		base += (pages + 63) / 64;
	}
}

static uint64_t count_bits(const uint64_t *bits, size_t n)
{
	uint64_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += (uint64_t)__builtin_popcountll(bits[i]);
	return count;
}

/* The test as a virtio driver asks for sector @k into DATA_GPA(k). Its own
 * writes (header, ring) are marked as KVM would mark a guest's; the data
 * page it leaves alone, so only virtio-blk can make it dirty. */
static void post_read(struct vdrv *d, unsigned k)
{
	uint8_t hdr[16] = {0};
	uint64_t sector = k;
	struct vdrv_buf bufs[] = {
		{REQ_GPA + 32 * k, 16, false},
		{DATA_GPA(k), SECTOR, true},
		{REQ_GPA + 32 * k + 16, 1, true},
	};

	memcpy(hdr + 8, &sector, 8);
	ck_assert_int_eq(guest_mem_write(&d->vm->mem, REQ_GPA + 32 * k, hdr, sizeof(hdr)), 0);
	vdrv_post(d, 0, bufs, 3);
	guest_mem_mark_dirty(&d->vm->mem, d->q[0].desc, 3 * PAGE);
	vdrv_kick(d, 0);
}

static void check_read(struct vdrv *d, unsigned k)
{
	const uint8_t *data = vdrv_gpa(d, DATA_GPA(k), SECTOR);

	ck_assert_int_eq(*(uint8_t *)vdrv_gpa(d, REQ_GPA + 32 * k + 16, 1), 0);
	for (unsigned i = 0; i < SECTOR; i++)
		ck_assert_msg(data[i] == pattern((uint64_t)k * SECTOR + i), "read %u: byte %u", k,
			      i);
}

static void first_difference(struct ram_copy *c, struct vm *vm)
{
	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		const struct guest_mem_region *r = &vm->mem.regions[i];

		for (uint64_t off = 0; off < r->size; off += PAGE)
			ck_assert_msg(memcmp(c->data[i] + off, r->host + off, PAGE) == 0,
				      "page 0x%llx changed and was never reported",
				      (unsigned long long)(r->gpa + off));
	}
}

static void dirty_log_run(enum dirty_engine_kind engine)
{
	struct run r;
	struct vdrv d;
	struct ram_copy copy;
	uint64_t *bits, *failed = NULL, reported = 0;
	size_t words;
	unsigned reads = 0, failures = 0;
	int pending_read = -1;
	uint64_t gen = 1;
	char err[256] = "";
	bool overrun = false;

	make_image();
	start(&r, engine, 0);
	vdrv_init(&d, r.vm, "virtio-blk0", 2, 1, 0);
	ck_assert_int_eq(guest_mem_write(&r.vm->mem, MAILBOX_GPA, &gen, 8), 0);
	wait_writes(r.vm, 100);
	ck_assert_str_eq(dirty_log_engine_name(r.vm->dirty),
			 engine == DIRTY_ENGINE_BITMAP ? "bitmap"
			 : engine == DIRTY_ENGINE_RING ? "ring"
						       : "bitmap+clear");

	ck_assert_msg(vm_dirty_start(r.vm, false, err, sizeof(err)) == 0, "start: %s", err);
	copy_all(&copy, r.vm);
	words = vm_dirty_words(r.vm);
	bits = calloc(words, 8);
	failed = calloc(words, 8);
	ck_assert_ptr_nonnull(bits);
	ck_assert_ptr_nonnull(failed);
	ck_assert_int_eq(vm_dirty_take(r.vm, bits, words - 1, err, sizeof(err)), -ENOSPC);

	for (unsigned round = 1; round <= ROUNDS; round++) {
		int64_t n;

		gen = round + 1;
		ck_assert_int_eq(guest_mem_write(&r.vm->mem, MAILBOX_GPA, &gen, 8), 0);
		if (round % 4 == 1) {
			pending_read = (int)reads++;
			post_read(&d, (unsigned)pending_read);
			ck_assert(vdrv_wait_used(&d, 0, 1, NULL));
			check_read(&d, (unsigned)pending_read);
		}
		if (!wait_writes_or_end(r.vm, guest_writes(r.vm) + WRITES_PER_ROUND)) {
			ck_assert_msg(engine == DIRTY_ENGINE_RING, "the VM ended: %s", r.vm->error);
			expect_overrun_reported(&r, bits, words);
			overrun = true;
			break;
		}
		n = vm_dirty_take(r.vm, bits, words, err, sizeof(err));
		ck_assert_msg(n > 0, "round %u: harvest %lld: %s", round, (long long)n, err);
		ck_assert_uint_eq((uint64_t)n, count_bits(bits, words));
		ck_assert_int_eq(vm_dirty_take(r.vm, bits, words, err, sizeof(err)), -EBUSY);
		/* What the consumer failed on comes back. */
		for (size_t w = 0; w < words; w++)
			ck_assert_msg((failed[w] & ~bits[w]) == 0,
				      "round %u: pages of a failed harvest were lost (word %zu)",
				      round, w);
		memset(failed, 0, words * 8);
		ck_assert_msg(in_harvest(r.vm, bits, MAILBOX_GPA),
			      "round %u: the mailbox the VMM wrote is not reported", round);
		if (pending_read >= 0) {
			ck_assert_msg(in_harvest(r.vm, bits, DATA_GPA(pending_read)),
				      "round %u: the page virtio-blk read into is not reported",
				      round);
			ck_assert_msg(in_harvest(r.vm, bits, d.q[0].used),
				      "round %u: the used ring virtio-blk wrote is not reported",
				      round);
			pending_read = -1;
		}
		if (round % 3 == 0) {
			memcpy(failed, bits, words * 8);
			failures++;
			ck_assert_int_eq(vm_dirty_finish(r.vm, false, err, sizeof(err)), 0);
		} else {
			copy_reported(&copy, r.vm, bits);
			ck_assert_int_eq(vm_dirty_finish(r.vm, true, err, sizeof(err)), 0);
		}
		reported += (uint64_t)n;
	}
	if (overrun)
		goto out;
	ck_assert_int_eq(vm_dirty_finish(r.vm, true, err, sizeof(err)), -ENOENT);

	/* The last harvest, with the guest parked: the copy is then exact. */
	host_pause(r.vm);
	ck_assert_int_gt(vm_dirty_take(r.vm, bits, words, err, sizeof(err)), 0);
	for (size_t w = 0; w < words; w++)
		ck_assert_msg((failed[w] & ~bits[w]) == 0, "final: a failed harvest was lost");
	copy_reported(&copy, r.vm, bits);
	ck_assert_int_eq(vm_dirty_finish(r.vm, true, err, sizeof(err)), 0);
	first_difference(&copy, r.vm);
	ck_assert_msg(reported > ROUNDS * 100, "only %llu pages reported in %u rounds",
		      (unsigned long long)reported, ROUNDS);
	ck_assert_uint_gt(failures, 0);
	ck_assert_msg(vm_dirty_stop(r.vm, err, sizeof(err)) == 0, "stop: %s", err);
	ck_assert_int_eq(vm_dirty_take(r.vm, bits, words, err, sizeof(err)), -ENOTCONN);
	vm_request_exit(r.vm, VM_EXIT_QUIT);
	pthread_join(r.loop, NULL);
out:
	free(bits);
	free(failed);
	free_copy(&copy);
	vm_destroy(r.vm);
	unlink(image_path);
}

/* A ring much smaller than what the guest dirties between harvests: it fills
 * again and again, and its vCPU empties it each time (KVM_EXIT_DIRTY_RING_FULL)
 * without losing a page. A KVM that lets a vCPU run past the ring's soft
 * limit loses entries (kvm_pvm's instruction emulator does); kvmkit must then
 * say so and refuse every later harvest, never hand out a set with holes. */
static void ring_full_run(void)
{
	struct run r;
	struct ram_copy copy;
	struct dirty_log_counts counts;
	uint64_t *bits, target, gen = 1;
	size_t words;
	char err[256] = "";
	double deadline;

	make_image();
	start(&r, DIRTY_ENGINE_RING, 512);
	ck_assert_int_eq(guest_mem_write(&r.vm->mem, MAILBOX_GPA, &gen, 8), 0);
	wait_writes(r.vm, 100);
	ck_assert_msg(vm_dirty_start(r.vm, false, err, sizeof(err)) == 0, "start: %s", err);
	copy_all(&copy, r.vm);
	words = vm_dirty_words(r.vm);
	bits = calloc(words, 8);
	ck_assert_ptr_nonnull(bits);
	/* 16 rings' worth of writes with nobody harvesting, or the VM's end. */
	target = guest_writes(r.vm) + 16 * 512 * 4;
	deadline = now_sec() + WAIT_SEC * host_time_factor();
	while (guest_writes(r.vm) < target && now_sec() < deadline &&
	       atomic_load(&r.vm->exit_reason) == VM_EXIT_NONE)
		host_sleep_ms(1);
	if (atomic_load(&r.vm->exit_reason) != VM_EXIT_NONE) {
		expect_overrun_reported(&r, bits, words);
	} else {
		ck_assert_msg(guest_writes(r.vm) >= target, "the guest made %llu writes of %llu",
			      (unsigned long long)guest_writes(r.vm), (unsigned long long)target);
		host_pause(r.vm);
		ck_assert_int_gt(vm_dirty_take(r.vm, bits, words, err, sizeof(err)), 0);
		copy_reported(&copy, r.vm, bits);
		ck_assert_int_eq(vm_dirty_finish(r.vm, true, err, sizeof(err)), 0);
		first_difference(&copy, r.vm);
		ck_assert_int_eq(dirty_log_counts(r.vm->dirty, false, &counts), 0);
		ck_assert_msg(counts.ring_full_exits > 0, "the ring never filled");
		free(counts.vcpu_pages);
		vm_request_exit(r.vm, VM_EXIT_QUIT);
		pthread_join(r.loop, NULL);
	}
	free(bits);
	free_copy(&copy);
	vm_destroy(r.vm);
	unlink(image_path);
}

START_TEST(bitmap) { dirty_log_run(DIRTY_ENGINE_BITMAP); }
END_TEST

START_TEST(bitmap_clear) { dirty_log_run(DIRTY_ENGINE_BITMAP_CLEAR); }
END_TEST

START_TEST(ring) { dirty_log_run(DIRTY_ENGINE_RING); }
END_TEST

START_TEST(ring_full) { ring_full_run(); }
END_TEST

int main(int argc, char **argv)
{
	const struct host_case cases[] = {
		{"bitmap", bitmap, 60},
		{"bitmap_clear", bitmap_clear, 60},
		{"ring", ring, 60},
		{"ring_full", ring_full, 60},
	};
	const struct host_suite suite = {
		.name = "dirty_log",
		.cases = cases,
		.nr_cases = sizeof(cases) / sizeof(cases[0]),
	};

	return host_run_suite(argc, argv, &suite);
}
