/* Host tests of the internal VM API: each test boots a small guest from
 * tests/host/guests on this host's /dev/kvm, with counting test devices on
 * the buses, and asserts exactly what the guest and the VMM did.
 *
 *     host-vm-api-test [CASE]
 * runs one tcase (each is a meson test of its own) or, without CASE, all of
 * them. Guests come from $KVMKIT_HOST_GUESTS. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guests/layout.h"
#include "host_util.h"
#include "test_device.h"
#include "vm_util.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define GUEST_MEM_SIZE (16ULL << 20) /* kvmkit's minimum: keeps each boot cheap */
#define GUEST_TIMEOUT_SEC 10         /* a broken guest fails, it does not hang */
#define TEARDOWN_CYCLES 50
/* A few MiB of slack for allocator noise. ASan's quarantine keeps freed
 * memory resident, so there the bound is looser and LeakSanitizer does the
 * precise check. */
#if defined(__SANITIZE_ADDRESS__)
#define TEARDOWN_RSS_SLACK_KIB (16 * 1024)
#else
#define TEARDOWN_RSS_SLACK_KIB (4 * 1024)
#endif
#define THREADS_SETTLE_MS 1000
#define SMP_START_CPUS 8
#define SMP_START_BOOTS 20

static void assert_logged(const char *text)
{
	ck_assert_msg(strstr(host_captured(), text) != NULL, "expected \"%s\" in the log:\n%s",
		      text, host_captured());
}

/* Readable in assertion messages, unlike atomic_load()'s expansion. */
static uint64_t counter(const _Atomic uint64_t *value) { return atomic_load(value); }

static struct vm *create_vm(const char *guest, unsigned nr_cpus, const char *console_log)
{
	struct vm_config cfg;
	struct vm *vm = NULL;
	char err[512] = "";
	bool input_error = false;
	int ret;

	vm_config_defaults(&cfg);
	cfg.kernel_path = host_guest_path(guest);
	cfg.nr_cpus = nr_cpus;
	cfg.mem_size = GUEST_MEM_SIZE;
	cfg.console_stdio = false;
	cfg.console_log_path = console_log;
	cfg.timeout_sec = (unsigned)(GUEST_TIMEOUT_SEC * host_time_factor());
	ret = vm_create(&cfg, &vm, err, sizeof(err), &input_error);
	ck_assert_msg(ret == 0, "vm_create(%s): %s (%d, input error %d)", guest, err, ret,
		      input_error);
	return vm;
}

static struct test_device *add_test_device(struct vm *vm, enum bus_space space)
{
	struct test_device *t =
		space == BUS_PIO
			? test_device_new("pio-test", BUS_PIO, TEST_PIO_BASE, TEST_PIO_SIZE)
			: test_device_new("mmio-test", BUS_MMIO, TEST_MMIO_BASE, TEST_MMIO_SIZE);
	int ret;

	ck_assert_ptr_nonnull(t);
	ret = vm_add_device(vm, &t->dev);
	ck_assert_msg(ret == 0, "vm_add_device(%s): %s", t->dev.name, vm->error);
	return t;
}

static void run_to_poweroff(struct vm *vm)
{
	enum vm_exit_reason reason = vm_run(vm);

	ck_assert_msg(reason == VM_EXIT_POWEROFF, "guest ended with %s, not poweroff (%s)",
		      vm_exit_reason_name(reason), vm->error);
}

static void assert_no_bad_writes(const struct test_device *t)
{
	ck_assert_msg(t->nr_bad_writes == 0,
		      "%s: %u DATA writes off the sequence; first: 0x%llx (%u bytes)", t->dev.name,
		      t->nr_bad_writes, (unsigned long long)t->first_bad_write.value,
		      t->first_bad_write.len);
	ck_assert_uint_eq(t->nr_good_writes, t->nr_data_writes);
}

/* Every value the guest read came back, in order, with the same width. */
static void assert_reads_echoed(const struct test_device *t)
{
	ck_assert_uint_eq(t->nr_echoes, t->nr_data_reads);
	for (unsigned i = 0; i < t->nr_echoes && i < TEST_DEVICE_LOG_SIZE; i++) {
		ck_assert_msg(
			t->echoes[i].len == t->reads[i].len &&
				t->echoes[i].value == t->reads[i].value,
			"%s: read %u returned 0x%llx (%u bytes), the guest echoed 0x%llx (%u bytes)",
			t->dev.name, i, (unsigned long long)t->reads[i].value, t->reads[i].len,
			(unsigned long long)t->echoes[i].value, t->echoes[i].len);
	}
}

/* What guests/pio_count.S does, counted exactly. */
static void assert_pio_script(const struct test_device *t)
{
	const unsigned w = TEST_WRITES_PER_WIDTH, r = TEST_READS_PER_WIDTH, s = TEST_STRING_LEN;

	ck_assert_uint_eq(t->done, TEST_DONE_MAGIC);
	assert_no_bad_writes(t);
	ck_assert_uint_eq(t->nr_data_writes, 3 * w + s);
	ck_assert_uint_eq(t->nr_data_writes_by_len[1], w + s);
	ck_assert_uint_eq(t->nr_data_writes_by_len[2], w);
	ck_assert_uint_eq(t->nr_data_writes_by_len[4], w);
	ck_assert_uint_eq(t->nr_data_reads, 3 * r + s);
	ck_assert_uint_eq(t->nr_data_reads_by_len[1], r + s);
	ck_assert_uint_eq(t->nr_data_reads_by_len[2], r);
	ck_assert_uint_eq(t->nr_data_reads_by_len[4], r);
	assert_reads_echoed(t);
	/* The core's own counters agree: DATA, ECHO and DONE writes, DATA reads. */
	ck_assert_uint_eq(counter(&t->dev.nr_writes), t->nr_data_writes + t->nr_echoes + 1);
	ck_assert_uint_eq(counter(&t->dev.nr_reads), t->nr_data_reads);
	ck_assert_uint_eq(counter(&t->dev.nr_rejected), 0);
}

START_TEST(pio_device_counts)
{
	struct vm *vm = create_vm("pio_count", 1, NULL);
	struct test_device *t = add_test_device(vm, BUS_PIO);

	run_to_poweroff(vm);
	assert_pio_script(t);
	ck_assert_msg(host_captured_lines() == 0, "unexpected messages:\n%s", host_captured());
	vm_destroy(vm);
}
END_TEST

START_TEST(mmio_device_counts)
{
	const unsigned w = TEST_WRITES_PER_WIDTH, r = TEST_READS_PER_WIDTH;
	struct vm *vm = create_vm("mmio_count", 1, NULL);
	struct test_device *t = add_test_device(vm, BUS_MMIO);

	run_to_poweroff(vm);
	ck_assert_uint_eq(t->done, TEST_DONE_MAGIC);
	assert_no_bad_writes(t);
	ck_assert_uint_eq(t->nr_data_writes, 4 * w);
	ck_assert_uint_eq(t->nr_data_reads, 4 * r);
	for (unsigned len = 1; len <= 8; len *= 2) {
		ck_assert_uint_eq(t->nr_data_writes_by_len[len], w);
		ck_assert_uint_eq(t->nr_data_reads_by_len[len], r);
	}
	assert_reads_echoed(t);
	ck_assert_uint_eq(counter(&t->dev.nr_writes), t->nr_data_writes + t->nr_echoes + 1);
	ck_assert_uint_eq(counter(&t->dev.nr_reads), t->nr_data_reads);
	ck_assert_uint_eq(counter(&t->dev.nr_rejected), 0);
	ck_assert_uint_eq(counter(&vm->vcpus[0]->nr_mmio_exits),
			  t->nr_data_writes + t->nr_data_reads + t->nr_echoes + 1);
	ck_assert_msg(host_captured_lines() == 0, "unexpected messages:\n%s", host_captured());
	vm_destroy(vm);
}
END_TEST

START_TEST(unmapped_access_reads_all_ones)
{
	static const struct test_access expected[] = {
		{0xffffffff, 4}, /* MMIO, nothing there */
		{UINT64_MAX, 8}, /* MMIO, 8 bytes */
		{0xffffffff, 4}, /* port I/O, nothing there */
		{0xff, 1},       /* port I/O, 1 byte */
		{0xffffffff, 4}, /* straddles the end of the MMIO test device */
		{0xffffffff, 4}, /* a register the device rejects */
	};
	const unsigned n = sizeof(expected) / sizeof(expected[0]);
	struct vm *vm = create_vm("unmapped", 1, NULL);
	struct test_device *t = add_test_device(vm, BUS_MMIO);

	run_to_poweroff(vm);
	ck_assert_uint_eq(t->done, TEST_DONE_MAGIC);
	ck_assert_uint_eq(t->nr_echoes, n);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_msg(
			t->echoes[i].value == expected[i].value &&
				t->echoes[i].len == expected[i].len,
			"access %u: the guest read 0x%llx (%u bytes), expected 0x%llx (%u bytes)",
			i + 1, (unsigned long long)t->echoes[i].value, t->echoes[i].len,
			(unsigned long long)expected[i].value, expected[i].len);
	}
	/* Only the rejected register reached the device; the straddling read did not. */
	ck_assert_uint_eq(t->nr_data_reads, 0);
	ck_assert_uint_eq(counter(&t->dev.nr_reads), 1);
	ck_assert_uint_eq(counter(&t->dev.nr_rejected), 1);
	assert_logged("vcpu0: 4-byte mmio write at 0xd0000000: no device there\n");
	assert_logged("vcpu0: 4-byte mmio read at 0xd0000000: no device there\n");
	assert_logged("vcpu0: 8-byte mmio read at 0xd0000000: no device there\n");
	assert_logged("vcpu0: 4-byte pio write at 0x600: no device there\n");
	assert_logged("vcpu0: 4-byte pio read at 0x600: no device there\n");
	assert_logged("vcpu0: 1-byte pio read at 0x");
	assert_logged("vcpu0: 4-byte mmio read at 0xd00017fe: no device there\n");
	assert_logged("vcpu0: 4-byte mmio read at 0xd0001018: mmio-test does not implement it\n");
	ck_assert_msg(host_captured_lines() == 8, "expected 8 messages, got %u:\n%s",
		      host_captured_lines(), host_captured());
	vm_destroy(vm);
}
END_TEST

static char *read_small_file(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

START_TEST(uart_rejects_bad_width)
{
	char log_path[] = "/tmp/kvmkit-host-console-XXXXXX";
	int fd = mkstemp(log_path);
	struct vm *vm;
	struct test_device *t;
	struct device *com1;

	ck_assert_int_ge(fd, 0);
	close(fd);
	vm = create_vm("bad_width", 1, log_path);
	t = add_test_device(vm, BUS_MMIO);
	run_to_poweroff(vm);
	ck_assert_uint_eq(t->done, TEST_DONE_MAGIC);
	ck_assert_uint_eq(t->nr_echoes, 1);
	ck_assert_uint_eq(t->echoes[0].len, 2);
	ck_assert_uint_eq(t->echoes[0].value, 0xffff);
	/* One 2-byte write and one 2-byte read rejected; then 17 bytes printed,
	 * each after one LSR read. */
	com1 = host_find_device(vm, "com1");
	ck_assert_uint_eq(counter(&com1->nr_rejected), 2);
	ck_assert_uint_eq(counter(&com1->nr_writes), 1 + 17);
	ck_assert_uint_eq(counter(&com1->nr_reads), 1 + 17);
	assert_logged("vcpu0: 2-byte pio write at 0x3f8: com1 does not implement it\n");
	assert_logged("vcpu0: 2-byte pio read at 0x3f8: com1 does not implement it\n");
	ck_assert_uint_eq(host_captured_lines(), 2);
	ck_assert_str_eq(read_small_file(log_path), "uart still works\n");
	vm_destroy(vm);
	unlink(log_path);
}
END_TEST

START_TEST(two_vcpus_secondary_halts)
{
	struct vm *vm = create_vm("smp_pio", 2, NULL);
	struct test_device *t = add_test_device(vm, BUS_PIO);
	struct vcpu *secondary;

	ck_assert_uint_eq(vm->nr_vcpus, 2);
	run_to_poweroff(vm);
	assert_pio_script(t);
	/* The secondary ran one HLT and stopped; all the I/O was the boot vCPU's. */
	secondary = vm->vcpus[1];
	ck_assert_uint_eq(counter(&secondary->nr_exits), 1);
	ck_assert_uint_eq(counter(&secondary->nr_pio_exits), 0);
	ck_assert_uint_eq(counter(&secondary->nr_mmio_exits), 0);
	ck_assert_uint_ge(counter(&vm->vcpus[0]->nr_pio_exits), 1);
	vm_destroy(vm);
}
END_TEST

/* HLT on every vCPU powers off, so no vCPU may be left out: each must have
 * run (one exit, its HLT) however fast the boot vCPU halts. */
START_TEST(every_vcpu_runs_before_poweroff)
{
	for (int boot = 0; boot < SMP_START_BOOTS; boot++) {
		struct vm *vm = create_vm("halt", SMP_START_CPUS, NULL);

		run_to_poweroff(vm);
		for (unsigned i = 0; i < vm->nr_vcpus; i++) {
			uint64_t exits = counter(&vm->vcpus[i]->nr_exits);

			ck_assert_msg(exits == 1,
				      "boot %d: vcpu%u made %llu exits, expected its one HLT", boot,
				      i, (unsigned long long)exits);
		}
		vm_destroy(vm);
	}
}
END_TEST

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *request_quit_later(void *arg)
{
	struct vm *vm = arg;
	struct timespec delay = {0, 200 * 1000 * 1000};

	nanosleep(&delay, NULL);
	vm_request_exit(vm, VM_EXIT_QUIT);
	return NULL;
}

/* An embedder stops a guest that would run forever from another thread. */
START_TEST(request_exit_stops_spinning_guest)
{
	struct vm *vm = create_vm("spin", 1, NULL);
	enum vm_exit_reason reason;
	pthread_t thread;
	double start = now_sec(), elapsed;

	ck_assert_int_eq(pthread_create(&thread, NULL, request_quit_later, vm), 0);
	reason = vm_run(vm);
	elapsed = now_sec() - start;
	pthread_join(thread, NULL);
	ck_assert_msg(reason == VM_EXIT_QUIT, "guest ended with %s", vm_exit_reason_name(reason));
	ck_assert_msg(elapsed < 3.0 * host_time_factor(), "stopping took %.2f s", elapsed);
	vm_destroy(vm);
}
END_TEST

/* vm_add_device() owns the device also when it fails; the buses close at vm_run(). */
START_TEST(add_device_ownership)
{
	unsigned destroyed = test_device_nr_destroyed();
	struct vm *vm = create_vm("hello", 1, NULL);
	struct test_device *t;

	t = test_device_new("on-com1", BUS_PIO, COM1_PORT + 4, 8);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(vm_add_device(vm, &t->dev), -EEXIST);
	ck_assert_uint_eq(test_device_nr_destroyed(), destroyed + 1);
	ck_assert_msg(strstr(vm->error, "on-com1") != NULL, "error names the device: %s",
		      vm->error);

	t = test_device_new("empty", BUS_MMIO, TEST_MMIO_BASE, 0);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(vm_add_device(vm, &t->dev), -EINVAL);
	ck_assert_uint_eq(test_device_nr_destroyed(), destroyed + 2);

	add_test_device(vm, BUS_MMIO);
	run_to_poweroff(vm);

	t = test_device_new("too-late", BUS_PIO, TEST_PIO_BASE, TEST_PIO_SIZE);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(vm_add_device(vm, &t->dev), -EPERM);
	ck_assert_uint_eq(test_device_nr_destroyed(), destroyed + 3);

	vm_destroy(vm);
	ck_assert_uint_eq(test_device_nr_destroyed(), destroyed + 4);
}
END_TEST

static void boot_cycle(void)
{
	struct vm *vm = create_vm("pio_count", 2, NULL);
	struct test_device *t = add_test_device(vm, BUS_PIO);

	run_to_poweroff(vm);
	ck_assert_uint_eq(t->done, TEST_DONE_MAGIC);
	vm_destroy(vm);
}

START_TEST(teardown_leaves_nothing)
{
	unsigned fds, threads, destroyed;
	unsigned long rss;

	/* The first cycle sets up what a process keeps for good: libuv's signal
	 * pipe, the kick signal handler, malloc arenas. */
	boot_cycle();
	fds = host_count_dir_entries("/proc/self/fd");
	threads = host_count_threads_settled(1, THREADS_SETTLE_MS);
	rss = host_rss_kib();
	destroyed = test_device_nr_destroyed();
	for (int i = 0; i < TEARDOWN_CYCLES; i++)
		boot_cycle();
	ck_assert_uint_eq(test_device_nr_destroyed(), destroyed + TEARDOWN_CYCLES);
	ck_assert_uint_eq(host_count_dir_entries("/proc/self/fd"), fds);
	ck_assert_uint_eq(host_count_threads_settled(threads, THREADS_SETTLE_MS), threads);
	ck_assert_msg(host_rss_kib() <= rss + TEARDOWN_RSS_SLACK_KIB,
		      "VmRSS grew from %lu to %lu KiB over %d cycles", rss, host_rss_kib(),
		      TEARDOWN_CYCLES);
}
END_TEST

int main(int argc, char **argv)
{
	/* Not static: Check's test handles are not constant expressions. */
	const struct host_case cases[] = {
		{"pio", pio_device_counts, 10},
		{"mmio", mmio_device_counts, 10},
		{"unmapped", unmapped_access_reads_all_ones, 10},
		{"bad_width", uart_rejects_bad_width, 10},
		{"smp", two_vcpus_secondary_halts, 10},
		{"smp_start", every_vcpu_runs_before_poweroff, 30},
		{"request_exit", request_exit_stops_spinning_guest, 10},
		{"add_device", add_device_ownership, 10},
		{"teardown", teardown_leaves_nothing, 60},
	};
	const struct host_suite suite = {
		.name = "host",
		.cases = cases,
		.nr_cases = sizeof(cases) / sizeof(cases[0]),
		.setup = host_capture_start,
		.teardown = host_capture_stop,
	};

	return host_run_suite(argc, argv, &suite);
}
