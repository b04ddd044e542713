/* The arm64 counterpart of the host suite: flat test guests
 * (tests/arm64/guests) booted by kvmkit's core on the /dev/kvm of the arm64
 * L1 that tests/nested/runner.py starts (tests/arm64/run-case.sh runs one
 * case there). Built static for aarch64 by the cross build.
 *
 *     kvmkit-arm64-guest-test [CASE] */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "guests/layout.h"
#include "host_util.h"
#include "kvmkit/kvmkit.h"
#include "test_device.h"
#include "vm_util.h"
#include "vmm/state.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vm_cpu_state.h"

/* Linux 6.3 and later; the cross build's headers are 6.1's. */
#ifndef KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP
#define KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP 225
#endif

#define MiB (1ULL << 20)
#define GUEST_MEM_SIZE (16 * MiB) /* kvmkit's minimum: keeps each boot cheap */
#define GUEST_TIMEOUT_SEC 20      /* a broken guest fails, it does not hang */
#define WAIT_SEC 20               /* for a running guest to get somewhere */
#define STATE_WRITES_BEFORE 200   /* the cpu_state pause comes after this many writes */
#define DIRTY_UCALLS 2            /* ucalls seen per generation */
#define PATTERN_BYTES (TEST_PATTERN_QWORDS * 8)
#define CLOCK_WAIT_SEC 4.0  /* restore_clock: the host's time between save and restore */
#define CLOCK_SLACK_SEC 1.0 /* of guest time around a save or a restore */

static uint64_t counter(const _Atomic uint64_t *value) { return atomic_load(value); }

static unsigned relaxed(const unsigned *value) { return __atomic_load_n(value, __ATOMIC_RELAXED); }

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits until *@value reaches @target; fails the test after WAIT_SEC. */
static void wait_count(const unsigned *value, unsigned target, const char *what)
{
	double deadline = now_sec() + WAIT_SEC * host_time_factor();

	while (relaxed(value) < target && now_sec() < deadline)
		arch_cpu_relax();
	ck_assert_msg(relaxed(value) >= target, "%s: %u after %d s, waited for %u", what,
		      relaxed(value), WAIT_SEC, target);
}

static void assert_logged(const char *text)
{
	ck_assert_msg(strstr(host_captured(), text) != NULL, "expected \"%s\" in the log:\n%s",
		      text, host_captured());
}

/* The guest's console, as the VM hands it to its embedder. */
static pthread_mutex_t console_lock = PTHREAD_MUTEX_INITIALIZER;
static char console[4096];
static size_t console_len;

static void on_console(void *opaque, const char *buf, size_t len)
{
	(void)opaque;
	pthread_mutex_lock(&console_lock);
	if (len > sizeof(console) - 1 - console_len)
		len = sizeof(console) - 1 - console_len;
	memcpy(console + console_len, buf, len);
	console_len += len;
	console[console_len] = '\0';
	pthread_mutex_unlock(&console_lock);
}

static int try_create_vm(const char *guest, uint64_t mem_size, enum kernel_format format,
			 unsigned nr_cpus, struct vm **vm, char *err, size_t errlen,
			 bool *input_error)
{
	const struct vm_hooks hooks = {.console_output = on_console, .console_fd = -1};
	struct vm_config cfg;

	vm_config_defaults(&cfg);
	cfg.kernel_path = host_guest_path(guest);
	cfg.kernel_format = format;
	cfg.nr_cpus = nr_cpus;
	cfg.mem_size = mem_size;
	cfg.console_stdio = false;
	cfg.timeout_sec = (unsigned)(GUEST_TIMEOUT_SEC * host_time_factor());
	return vm_create_hooked(&cfg, &hooks, vm, err, errlen, input_error);
}

static struct vm *create_vm_full(const char *guest, uint64_t mem_size, enum kernel_format format,
				 unsigned nr_cpus)
{
	struct vm *vm = NULL;
	char err[512] = "";
	bool input_error = false;
	int ret = try_create_vm(guest, mem_size, format, nr_cpus, &vm, err, sizeof(err),
				&input_error);

	ck_assert_msg(ret == 0, "vm_create(%s): %s (%d, input error %d)", guest, err, ret,
		      input_error);
	return vm;
}

static struct vm *create_vm_as(const char *guest, uint64_t mem_size, enum kernel_format format)
{
	return create_vm_full(guest, mem_size, format, 1);
}

static struct vm *create_vm_cpus(const char *guest, uint64_t mem_size, unsigned nr_cpus)
{
	return create_vm_full(guest, mem_size, KERNEL_FORMAT_AUTO, nr_cpus);
}

static struct vm *create_vm(const char *guest, uint64_t mem_size)
{
	return create_vm_as(guest, mem_size, KERNEL_FORMAT_AUTO);
}

static struct test_device *add_test_device(struct vm *vm)
{
	struct test_device *t =
		test_device_new("mmio-test", BUS_MMIO, TEST_MMIO_BASE, TEST_MMIO_SIZE);

	ck_assert_ptr_nonnull(t);
	ck_assert_msg(vm_add_device(vm, &t->dev) == 0, "vm_add_device: %s", vm->error);
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
		      "%u DATA writes off the sequence; first: 0x%llx (%u bytes)", t->nr_bad_writes,
		      (unsigned long long)t->first_bad_write.value, t->first_bad_write.len);
	ck_assert_uint_eq(t->nr_good_writes, t->nr_data_writes);
}

START_TEST(hello)
{
	struct vm *vm = create_vm("hello", GUEST_MEM_SIZE);

	run_to_poweroff(vm);
	ck_assert_str_eq(console, "hello from the arm64 guest\n");
	ck_assert_msg(host_captured_lines() == 0, "unexpected messages:\n%s", host_captured());
	vm_destroy(vm);
}
END_TEST

static struct vm *create_pmu_vm(bool pmu)
{
	const struct vm_hooks hooks = {.console_output = on_console, .console_fd = -1};
	struct vm_config cfg;
	struct vm *vm = NULL;
	char err[512] = "";
	bool input_error = false;
	int ret;

	vm_config_defaults(&cfg);
	cfg.kernel_path = host_guest_path("pmu");
	cfg.pmu = pmu;
	cfg.nr_cpus = 1;
	cfg.mem_size = GUEST_MEM_SIZE;
	cfg.console_stdio = false;
	cfg.timeout_sec = (unsigned)(GUEST_TIMEOUT_SEC * host_time_factor());
	ret = vm_create_hooked(&cfg, &hooks, &vm, err, sizeof(err), &input_error);
	ck_assert_msg(ret == 0, "vm_create(pmu, --pmu %d): %s (%d)", pmu, err, ret);
	return vm;
}

/* --pmu (cfg.pmu): the vCPU has PMUv3 (ID_AA64DFR0_EL1.PMUVer neither 0 nor
 * IMPLEMENTATION DEFINED), and its cycle counter, started by the guest at
 * EL1, counts the guest's loop: KVM_ARM_VCPU_PMU_V3_IRQ and _INIT went
 * through after the vGIC. */
START_TEST(pmu)
{
	struct vm *vm = create_pmu_vm(true);
	struct test_device *t = add_test_device(vm);

	run_to_poweroff(vm);
	ck_assert_uint_eq(t->done, TEST_DONE_MAGIC);
	ck_assert_uint_eq(t->nr_echoes, 3);
	printf("KVMKIT-ARM64 pmu: PMUVer=%llx counters=%llu cycles=%llu\n",
	       (unsigned long long)t->echoes[0].value, (unsigned long long)t->echoes[1].value,
	       (unsigned long long)t->echoes[2].value);
	ck_assert_uint_ne(t->echoes[0].value, 0);
	ck_assert_uint_ne(t->echoes[0].value, 0xf);
	ck_assert_uint_le(t->echoes[1].value, 31);
	ck_assert_uint_gt(t->echoes[2].value, 0);
	ck_assert_msg(host_captured_lines() == 0, "unexpected messages:\n%s", host_captured());
	vm_destroy(vm);
}
END_TEST

/* Without --pmu the same guest sees no PMU at all (PMUVer 0). */
START_TEST(pmu_off)
{
	struct vm *vm = create_pmu_vm(false);
	struct test_device *t = add_test_device(vm);

	run_to_poweroff(vm);
	ck_assert_uint_eq(t->done, TEST_DONE_MAGIC);
	ck_assert_uint_eq(t->nr_echoes, 1);
	ck_assert_uint_eq(t->echoes[0].value, 0);
	vm_destroy(vm);
}
END_TEST

/* guests/raw_hello.S has no Image header: with --kernel-format raw it is
 * loaded at the start of RAM and entered at its first byte, where it prints
 * its line through the UART. */
START_TEST(raw)
{
	struct vm *vm = create_vm_as("raw_hello", GUEST_MEM_SIZE, KERNEL_FORMAT_RAW);

	run_to_poweroff(vm);
	ck_assert_str_eq(console, "hello from the raw arm64 guest\n");
	ck_assert_msg(host_captured_lines() == 0, "unexpected messages:\n%s", host_captured());
	vm_destroy(vm);
}
END_TEST

/* The same binary without --kernel-format raw is not an Image: refused as
 * bad input, with a message naming the setting that would boot it. */
START_TEST(raw_refused)
{
	struct vm *vm = NULL;
	char err[512] = "";
	bool input_error = false;
	int ret = try_create_vm("raw_hello", GUEST_MEM_SIZE, KERNEL_FORMAT_AUTO, 1, &vm, err,
				sizeof(err), &input_error);

	ck_assert_int_eq(ret, -ENOEXEC);
	ck_assert_ptr_null(vm);
	ck_assert(input_error);
	printf("KVMKIT-ARM64 raw_refused: %s\n", err);
	ck_assert_msg(strstr(err, "raw_hello.img: not an arm64 Image (no \"ARM\\x64\" magic") &&
			      strstr(err, "a raw binary needs --kernel-format raw"),
		      "message: %s", err);
	ck_assert_uint_eq(console_len, 0);
}
END_TEST

/* guests/mmio_count.S: every width KVM decodes on arm64 reaches the device
 * with its length, reads return the sequence and come back echoed. */
START_TEST(mmio)
{
	const unsigned w = TEST_WRITES_PER_WIDTH, r = TEST_READS_PER_WIDTH;
	struct vm *vm = create_vm("mmio_count", GUEST_MEM_SIZE);
	struct test_device *t = add_test_device(vm);

	run_to_poweroff(vm);
	ck_assert_uint_eq(t->done, TEST_DONE_MAGIC);
	assert_no_bad_writes(t);
	ck_assert_uint_eq(t->nr_data_writes, 4 * w);
	ck_assert_uint_eq(t->nr_data_reads, 4 * r);
	for (unsigned len = 1; len <= 8; len *= 2) {
		ck_assert_uint_eq(t->nr_data_writes_by_len[len], w);
		ck_assert_uint_eq(t->nr_data_reads_by_len[len], r);
	}
	ck_assert_uint_eq(t->nr_echoes, t->nr_data_reads);
	for (unsigned i = 0; i < t->nr_echoes; i++)
		ck_assert_msg(
			t->echoes[i].len == t->reads[i].len &&
				t->echoes[i].value == t->reads[i].value,
			"read %u returned 0x%llx (%u bytes), the guest echoed 0x%llx (%u bytes)", i,
			(unsigned long long)t->reads[i].value, t->reads[i].len,
			(unsigned long long)t->echoes[i].value, t->echoes[i].len);
	ck_assert_uint_eq(counter(&t->dev.nr_writes), t->nr_data_writes + t->nr_echoes + 1);
	ck_assert_uint_eq(counter(&t->dev.nr_reads), t->nr_data_reads);
	ck_assert_uint_eq(counter(&t->dev.nr_rejected), 0);
	ck_assert_uint_eq(counter(&vm->vcpus[0]->nr_mmio_exits),
			  t->nr_data_writes + t->nr_data_reads + t->nr_echoes + 1);
	ck_assert_msg(host_captured_lines() == 0, "unexpected messages:\n%s", host_captured());
	vm_destroy(vm);
}
END_TEST

/* guests/bad_width.S: 2-byte accesses to the byte-wide 16550 are refused
 * and reported, the read sees all ones, and the UART still prints. */
START_TEST(bad_width)
{
	struct vm *vm = create_vm("bad_width", GUEST_MEM_SIZE);
	struct test_device *t = add_test_device(vm);
	struct device *uart;

	run_to_poweroff(vm);
	ck_assert_uint_eq(t->done, TEST_DONE_MAGIC);
	ck_assert_uint_eq(t->nr_echoes, 1);
	ck_assert_uint_eq(t->echoes[0].len, 2);
	ck_assert_uint_eq(t->echoes[0].value, 0xffff);
	uart = host_find_device(vm, "uart0");
	ck_assert_uint_eq(counter(&uart->nr_rejected), 2);
	assert_logged("vcpu0: 2-byte mmio write at 0x9000000: uart0 does not implement it\n");
	assert_logged("vcpu0: 2-byte mmio read at 0x9000000: uart0 does not implement it\n");
	ck_assert_uint_eq(host_captured_lines(), 2);
	ck_assert_str_eq(console, "uart still works\n");
	vm_destroy(vm);
}
END_TEST

/* guests/ram_pattern.S writes the sequence at each of @gpas and reads it
 * back through the test device; the test finds it in vm->mem. */
static void write_and_find_pattern(uint64_t mem_size, const uint64_t *gpas, unsigned nr)
{
	uint64_t table[1 + TEST_RAM_TABLE_MAX] = {nr};
	struct vm *vm = create_vm("ram_pattern", mem_size);
	struct test_device *t = add_test_device(vm);

	ck_assert_uint_le(nr, TEST_RAM_TABLE_MAX);
	ck_assert_uint_eq(vm->mem.nr_regions, 1);
	ck_assert_uint_eq(vm->mem.regions[0].gpa, TEST_RAM_BASE);
	ck_assert_uint_eq(vm->mem.regions[0].size, mem_size);
	for (unsigned i = 0; i < nr; i++) {
		const uint8_t *host = guest_mem_ptr(&vm->mem, gpas[i], PATTERN_BYTES);

		ck_assert_msg(host, "0x%llx is not RAM", (unsigned long long)gpas[i]);
		for (unsigned b = 0; b < PATTERN_BYTES; b++)
			ck_assert_uint_eq(host[b], 0);
		table[1 + i] = gpas[i];
	}
	ck_assert_int_eq(guest_mem_write(&vm->mem, TEST_RAM_TABLE, table, sizeof(table)), 0);
	run_to_poweroff(vm);
	ck_assert_uint_eq(t->done, TEST_DONE_MAGIC);
	ck_assert_msg(t->nr_bad_writes == 0,
		      "the guest read back 0x%llx as value %u of its pattern (%u bad)",
		      (unsigned long long)t->first_bad_write.value, t->nr_good_writes,
		      t->nr_bad_writes);
	ck_assert_uint_eq(t->nr_good_writes, nr * TEST_PATTERN_QWORDS);
	for (unsigned i = 0; i < nr; i++) {
		for (unsigned q = 0; q < TEST_PATTERN_QWORDS; q++) {
			uint64_t gpa = gpas[i] + 8 * q, want = test_seq_value(i * 8 + q, 8), seen;

			ck_assert_int_eq(guest_mem_read(&vm->mem, gpa, &seen, sizeof(seen)), 0);
			ck_assert_msg(seen == want,
				      "vm->mem at 0x%llx holds 0x%llx, the guest wrote 0x%llx",
				      (unsigned long long)gpa, (unsigned long long)seen,
				      (unsigned long long)want);
		}
	}
	ck_assert_msg(host_captured_lines() == 0, "unexpected messages:\n%s", host_captured());
	vm_destroy(vm);
}

/* The minimum RAM: above the table, across a page boundary, at its end
 * (beyond the device tree in the last 2 MiB). */
START_TEST(ram)
{
	const uint64_t end = TEST_RAM_BASE + GUEST_MEM_SIZE;
	const uint64_t gpas[] = {
		TEST_RAM_TABLE + 0x1000,
		TEST_RAM_BASE + GUEST_MEM_SIZE / 2 - PATTERN_BYTES / 2,
		end - PATTERN_BYTES,
	};

	write_and_find_pattern(GUEST_MEM_SIZE, gpas, sizeof(gpas) / sizeof(gpas[0]));
}
END_TEST

/* The largest RAM the layout allows ends just inside the default 40-bit IPA
 * space: KVM takes the memslot and the guest reaches its last page.
 * Anonymous memory is mapped lazily: only the touched pages cost. */
START_TEST(ram_largest)
{
	const uint64_t size = arch_max_ram(), end = TEST_RAM_BASE + size;
	const uint64_t gpas[] = {TEST_RAM_BASE + (4ULL << 30), end - 0x1000 - PATTERN_BYTES / 2};

	write_and_find_pattern(size, gpas, sizeof(gpas) / sizeof(gpas[0]));
}
END_TEST

struct running_vm {
	struct vm *vm;
	struct test_device *dev;
	pthread_t loop;
	enum vm_exit_reason reason;
};

static void *run_loop(void *arg)
{
	struct running_vm *r = arg;

	r->reason = vm_run_loop(r->vm);
	return NULL;
}

static void start_on_thread(struct running_vm *r, const char *guest, uint64_t mem_size)
{
	r->vm = create_vm(guest, mem_size);
	r->dev = add_test_device(r->vm);
	ck_assert_msg(vm_start(r->vm) == 0, "vm_start: %s", r->vm->error);
	ck_assert_int_eq(pthread_create(&r->loop, NULL, run_loop, r), 0);
}

static void save_all(struct vm *vm, struct state_buf *b)
{
	int ret;

	state_buf_init(b);
	ret = vm_cpu_state_save(vm, b);
	ck_assert_msg(ret == 0, "vm_cpu_state_save: %d: %s", ret, vm->error);
	ck_assert_uint_gt(b->len, 0);
}

/* Takes the virtual counter out of the vCPU record of @b (the first record),
 * zeroed in its place: the one value that goes on counting in a paused VM
 * (src/arch/arm64/arm64_vcpu_state.c), after the vCPU index in the fields. */
static uint64_t take_counter(struct state_buf *b)
{
	struct state_reader r, rec;
	char kind[STATE_KIND_MAX];
	uint32_t version;
	uint64_t counter;
	uint8_t *at;

	state_reader_init(&r, b->data, b->len);
	ck_assert_int_eq(state_next(&r, kind, &version, &rec), 0);
	ck_assert_str_eq(kind, "arm64-vcpu");
	ck_assert_uint_ge(rec.len, 4 + sizeof(counter));
	at = b->data + (rec.data - b->data) + 4;
	memcpy(&counter, at, sizeof(counter));
	memset(at, 0, sizeof(counter));
	return counter;
}

/* guests/state_loop.S paused mid-loop: every vCPU and the GIC saved, loaded
 * back and saved again byte for byte but for the virtual counter, which
 * only went forward; the guest then finishes its sequence exactly (a
 * register lost or changed shows as a write off the sequence). */
START_TEST(cpu_state)
{
	struct running_vm r = {0};
	struct state_buf first, second;
	struct state_reader in;
	uint64_t counters[2];
	unsigned paused_at;
	size_t at = 0;
	int ret;

	start_on_thread(&r, "state_loop", GUEST_MEM_SIZE);
	wait_count(&r.dev->nr_data_writes, STATE_WRITES_BEFORE, "state_loop's DATA writes");
	host_pause(r.vm);
	paused_at = relaxed(&r.dev->nr_data_writes);
	ck_assert_msg(paused_at < STATE_LOOP_WRITES,
		      "the guest finished before the pause: make STATE_LOOP_WRITES larger");
	save_all(r.vm, &first);
	state_reader_init(&in, first.data, first.len);
	ret = vm_cpu_state_load(r.vm, &in, 0);
	ck_assert_msg(ret == 0, "vm_cpu_state_load: %d: %s", ret, r.vm->error);
	ck_assert(state_reader_done(&in));
	save_all(r.vm, &second);
	ck_assert_uint_eq(second.len, first.len);
	counters[0] = take_counter(&first);
	counters[1] = take_counter(&second);
	ck_assert_msg(counters[1] >= counters[0], "the virtual counter went back: %llu, then %llu",
		      (unsigned long long)counters[0], (unsigned long long)counters[1]);
	while (at < first.len && first.data[at] == second.data[at])
		at++;
	ck_assert_msg(at == first.len, "a save after loading the first differs at byte %zu of %zu",
		      at, first.len);
	state_buf_free(&first);
	state_buf_free(&second);
	host_sleep_ms(20);
	ck_assert_msg(relaxed(&r.dev->nr_data_writes) == paused_at,
		      "the paused guest kept writing");
	ck_assert_msg(vm_resume(r.vm) == 0, "vm_resume: %s", r.vm->error);
	pthread_join(r.loop, NULL);
	ck_assert_msg(r.reason == VM_EXIT_POWEROFF, "guest ended with %s, not poweroff (%s)",
		      vm_exit_reason_name(r.reason), r.vm->error);
	ck_assert_uint_eq(r.dev->done, TEST_DONE_MAGIC);
	assert_no_bad_writes(r.dev);
	ck_assert_uint_eq(r.dev->nr_data_writes, STATE_LOOP_WRITES);
	ck_assert_msg(host_captured_lines() == 0, "unexpected messages:\n%s", host_captured());
	vm_destroy(r.vm);
}
END_TEST

static uint64_t read_u64(struct vm *vm, uint64_t gpa)
{
	uint64_t value;

	ck_assert_int_eq(guest_mem_read(&vm->mem, gpa, &value, sizeof(value)), 0);
	return value;
}

static uint64_t xorshift64(uint64_t x)
{
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

/* guests/dirty_writer.S keeps the protocol of ../host/guests/dirty_layout.h,
 * which the dirty-log tests rely on: its count and ucalls go up, and once
 * paused every page it wrote (replayed from the seed) holds a generation it
 * saw in both qwords, every other page nothing, and the last write the
 * generation the host set while it ran. */
START_TEST(dirty_writer)
{
	struct running_vm r = {0};
	const uint64_t generation = 0x1d1e;
	uint64_t count, x = DIRTY_SEED, next_page, last_page = 0;
	unsigned ucalls, nr_new = 0;
	static uint8_t touched[DIRTY_AREA_PAGES];

	start_on_thread(&r, "dirty_writer", TEST_DIRTY_MEM_SIZE);
	wait_count(&r.dev->nr_echoes, DIRTY_UCALLS, "the dirty writer's ucalls");
	for (unsigned i = 0; i < DIRTY_UCALLS; i++)
		ck_assert_uint_eq(r.dev->echoes[i].value, (i + 1ULL) * DIRTY_UCALL_EVERY);
	ck_assert_uint_eq(r.dev->echoes[0].len, 8);
	count = read_u64(r.vm, TEST_DIRTY_MAILBOX + 8);
	ck_assert_uint_ge(count, DIRTY_UCALLS * DIRTY_UCALL_EVERY);

	ck_assert_int_eq(guest_mem_write(&r.vm->mem, TEST_DIRTY_MAILBOX, &generation,
					 sizeof(generation)),
			 0);
	ucalls = relaxed(&r.dev->nr_echoes);
	wait_count(&r.dev->nr_echoes, ucalls + DIRTY_UCALLS, "the dirty writer's ucalls");
	ck_assert_uint_gt(read_u64(r.vm, TEST_DIRTY_MAILBOX + 8), count);

	host_pause(r.vm);
	count = read_u64(r.vm, TEST_DIRTY_MAILBOX + 8);
	ck_assert_uint_ge(count, (uint64_t)relaxed(&r.dev->nr_echoes) * DIRTY_UCALL_EVERY);
	for (uint64_t i = 0; i < count; i++) {
		x = xorshift64(x);
		last_page = x % DIRTY_AREA_PAGES;
		touched[last_page] = 1;
	}
	next_page = xorshift64(x) % DIRTY_AREA_PAGES; /* may be half written */
	for (unsigned p = 0; p < DIRTY_AREA_PAGES; p++) {
		uint64_t gpa = TEST_DIRTY_AREA + (uint64_t)p * TEST_DIRTY_PAGE_SIZE;
		uint64_t head = read_u64(r.vm, gpa);
		uint64_t tail = read_u64(r.vm, gpa + TEST_DIRTY_PAGE_SIZE - 8);

		if (p == next_page) {
			ck_assert_msg(head == generation || head == tail,
				      "page %u (next write): 0x%llx/0x%llx", p,
				      (unsigned long long)head, (unsigned long long)tail);
			continue;
		}
		ck_assert_msg(head == tail && (head == 0 || head == generation) &&
				      (touched[p] || head == 0),
			      "page %u (%s): first qword 0x%llx, last 0x%llx", p,
			      touched[p] ? "written" : "never written", (unsigned long long)head,
			      (unsigned long long)tail);
		nr_new += head == generation;
	}
	ck_assert_uint_eq(read_u64(r.vm, TEST_DIRTY_AREA + last_page * TEST_DIRTY_PAGE_SIZE),
			  generation);
	ck_assert_uint_gt(nr_new, 0);
	ck_assert_int_eq(vm_kill(r.vm), 0);
	pthread_join(r.loop, NULL);
	ck_assert_msg(r.reason == VM_EXIT_KILLED, "guest ended with %s, not killed (%s)",
		      vm_exit_reason_name(r.reason), r.vm->error);
	ck_assert_msg(host_captured_lines() == 0, "unexpected messages:\n%s", host_captured());
	printf("KVMKIT-ARM64 dirty_writer writes=%llu ucalls=%u pages-with-new-generation=%u\n",
	       (unsigned long long)count, relaxed(&r.dev->nr_echoes), nr_new);
	vm_destroy(r.vm);
}
END_TEST

/* Where the dirty-log ring tests can run: this kernel's KVM offers the
 * arm64 ring (which needs ACQ_REL) with its bitmap, and a VM takes both. */
START_TEST(dirty_ring_caps)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, acq_rel, bitmap, plain;
	struct kvm_enable_cap ring = {.cap = KVM_CAP_DIRTY_LOG_RING_ACQ_REL};
	struct kvm_enable_cap with_bitmap = {.cap = KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP};

	ck_assert_msg(kvm >= 0, "/dev/kvm: %s", strerror(errno));
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	ck_assert_msg(vm >= 0, "KVM_CREATE_VM: %s", strerror(errno));
	plain = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING);
	acq_rel = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING_ACQ_REL);
	bitmap = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP);
	printf("KVMKIT-ARM64 caps DIRTY_LOG_RING=%d DIRTY_LOG_RING_ACQ_REL=%d "
	       "DIRTY_LOG_RING_WITH_BITMAP=%d\n",
	       plain, acq_rel, bitmap);
	ck_assert_msg(acq_rel > 0, "KVM_CAP_DIRTY_LOG_RING_ACQ_REL is %d", acq_rel);
	ck_assert_msg(bitmap > 0, "KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP is %d", bitmap);
	/* The smallest ring (one page of entries), before any vCPU or memslot. */
	ring.args[0] = 4096;
	ck_assert_msg(ioctl(vm, KVM_ENABLE_CAP, &ring) == 0, "enabling the ring: %s",
		      strerror(errno));
	ck_assert_msg(ioctl(vm, KVM_ENABLE_CAP, &with_bitmap) == 0, "enabling its bitmap: %s",
		      strerror(errno));
	close(vm);
	close(kvm);
}
END_TEST

/* timer: arms per timer per vCPU in one run (a multiple of TIMER_ITER_STEP),
 * and runs per case unless the L1's command line sets timer_runs (the
 * 100-in-a-row measurement). */
#define TIMER_ARMS 2048
#define TIMER_RUNS 3
#define TIMER_RUNS_MAX 1000

struct timer_counts {
	uint64_t arms, delivered, early, extra, masked_arms, masked_istatus, masked_leaks, missed,
		istatus_early, expired_arms, tval_arms, no_istatus, max_latency, wfi_waits;
};

static struct timer_counts read_timer_counts(struct vm *vm, uint64_t block)
{
	return (struct timer_counts){
		.arms = read_u64(vm, block + T_ARMS),
		.delivered = read_u64(vm, block + T_DELIVERED),
		.early = read_u64(vm, block + T_EARLY),
		.extra = read_u64(vm, block + T_EXTRA),
		.masked_arms = read_u64(vm, block + T_MASKED_ARMS),
		.masked_istatus = read_u64(vm, block + T_MASKED_ISTATUS),
		.masked_leaks = read_u64(vm, block + T_MASKED_LEAKS),
		.missed = read_u64(vm, block + T_MISSED),
		.istatus_early = read_u64(vm, block + T_ISTATUS_EARLY),
		.expired_arms = read_u64(vm, block + T_EXPIRED_ARMS),
		.tval_arms = read_u64(vm, block + T_TVAL_ARMS),
		.no_istatus = read_u64(vm, block + T_NO_ISTATUS),
		.max_latency = read_u64(vm, block + T_MAX_LATENCY),
		.wfi_waits = read_u64(vm, block + T_WFI_WAITS),
	};
}

static void print_timer_counts(const char *what, unsigned cpu, const struct timer_counts *c)
{
	printf("KVMKIT-ARM64 timer vcpu%u %s: arms=%llu delivered=%llu early=%llu extra=%llu "
	       "masked=%llu masked-istatus=%llu masked-leaks=%llu missed=%llu "
	       "istatus-early=%llu no-istatus=%llu expired=%llu tval=%llu wfi=%llu "
	       "max-latency-ticks=%llu\n",
	       cpu, what, (unsigned long long)c->arms, (unsigned long long)c->delivered,
	       (unsigned long long)c->early, (unsigned long long)c->extra,
	       (unsigned long long)c->masked_arms, (unsigned long long)c->masked_istatus,
	       (unsigned long long)c->masked_leaks, (unsigned long long)c->missed,
	       (unsigned long long)c->istatus_early, (unsigned long long)c->no_istatus,
	       (unsigned long long)c->expired_arms, (unsigned long long)c->tval_arms,
	       (unsigned long long)c->wfi_waits, (unsigned long long)c->max_latency);
}

/* What guests/timer.S's arm numbers 0 to @arms - 1 are, from their bits. */
static struct timer_counts timer_expected(uint64_t arms)
{
	struct timer_counts e = {.arms = arms, .delivered = arms};

	for (uint64_t i = 0; i < arms; i++) {
		e.tval_arms += (i & 1) != 0;
		e.expired_arms += (i & 2) == 0;
		e.masked_arms += (i & 4) != 0;
		e.wfi_waits += (i & 16) != 0;
	}
	e.masked_istatus = e.masked_arms;
	return e;
}

static void assert_timer_counts(const char *what, unsigned cpu, const struct timer_counts *c,
				const struct timer_counts *e)
{
#define TIMER_EQ(field)                                                                        \
	ck_assert_msg(c->field == e->field, "vcpu%u %s timer: " #field " %llu, expected %llu", \
		      cpu, what, (unsigned long long)c->field, (unsigned long long)e->field)
	TIMER_EQ(arms);
	TIMER_EQ(missed);
	TIMER_EQ(delivered);
	TIMER_EQ(early);
	TIMER_EQ(extra);
	TIMER_EQ(no_istatus);
	TIMER_EQ(istatus_early);
	TIMER_EQ(masked_arms);
	TIMER_EQ(masked_istatus);
	TIMER_EQ(masked_leaks);
	TIMER_EQ(expired_arms);
	TIMER_EQ(tval_arms);
	TIMER_EQ(wfi_waits);
#undef TIMER_EQ
}

/* One boot of guests/timer.S on @nr_cpus vCPUs; returns the longest time
 * from a deadline to its handler, in counter ticks. */
static uint64_t timer_run(unsigned nr_cpus, unsigned run, double *seconds)
{
	const uint64_t params[2] = {nr_cpus, TIMER_ARMS};
	const struct timer_counts expected = timer_expected(TIMER_ARMS);
	struct vm *vm = create_vm_cpus("timer", GUEST_MEM_SIZE, nr_cpus);
	struct test_device *t = add_test_device(vm);
	uint64_t started[TIMER_MAX_CPUS], finished[TIMER_MAX_CPUS], latency = 0;
	enum vm_exit_reason reason;
	double t0 = now_sec();

	ck_assert_int_eq(guest_mem_write(&vm->mem, TEST_TIMER_PARAMS, params, sizeof(params)), 0);
	reason = vm_run(vm);
	*seconds = now_sec() - t0;
	for (unsigned cpu = 0; cpu < nr_cpus; cpu++) {
		uint64_t base = TEST_TIMER_RESULTS + (uint64_t)cpu * TIMER_CPU_STRIDE;
		struct timer_counts v = read_timer_counts(vm, base + TIMER_V);
		struct timer_counts p = read_timer_counts(vm, base + TIMER_P);

		if (reason != VM_EXIT_POWEROFF || read_u64(vm, base + M_DONE) != TIMER_DONE_MAGIC) {
			print_timer_counts("virtual", cpu, &v);
			print_timer_counts("physical", cpu, &p);
		}
	}
	ck_assert_msg(reason == VM_EXIT_POWEROFF, "run %u: guest ended with %s, not poweroff (%s)",
		      run, vm_exit_reason_name(reason), vm->error);
	ck_assert_uint_eq(t->done, TEST_DONE_MAGIC);
	for (unsigned cpu = 0; cpu < nr_cpus; cpu++) {
		uint64_t base = TEST_TIMER_RESULTS + (uint64_t)cpu * TIMER_CPU_STRIDE;
		struct timer_counts v = read_timer_counts(vm, base + TIMER_V);
		struct timer_counts p = read_timer_counts(vm, base + TIMER_P);

		ck_assert_msg(read_u64(vm, base + M_BAD_ESR) == 0,
			      "run %u: vcpu%u took an exception, ESR 0x%llx at 0x%llx", run, cpu,
			      (unsigned long long)read_u64(vm, base + M_BAD_ESR),
			      (unsigned long long)read_u64(vm, base + M_BAD_ELR));
		if (cpu == 0 && nr_cpus > 1)
			ck_assert_msg(read_u64(vm, base + M_CPU_ON) == 0,
				      "run %u: PSCI CPU_ON of vcpu1 returned %lld", run,
				      (long long)read_u64(vm, base + M_CPU_ON));
		ck_assert_uint_eq(read_u64(vm, base + M_MPIDR) & 0xff, cpu);
		ck_assert_msg(read_u64(vm, base + M_DONE) == TIMER_DONE_MAGIC,
			      "run %u: vcpu%u did not finish", run, cpu);
		ck_assert_msg(read_u64(vm, base + M_SPURIOUS) == 0,
			      "run %u: vcpu%u read %llu spurious INTIDs", run, cpu,
			      (unsigned long long)read_u64(vm, base + M_SPURIOUS));
		ck_assert_msg(read_u64(vm, base + M_OTHER) == 0,
			      "run %u: vcpu%u took %llu other interrupts (last INTID %llu)", run,
			      cpu, (unsigned long long)read_u64(vm, base + M_OTHER),
			      (unsigned long long)read_u64(vm, base + M_OTHER_INTID));
		assert_timer_counts("virtual", cpu, &v, &expected);
		assert_timer_counts("physical", cpu, &p, &expected);
		if (run == 0) {
			print_timer_counts("virtual", cpu, &v);
			print_timer_counts("physical", cpu, &p);
			printf("KVMKIT-ARM64 timer vcpu%u 64 CVAL reads: virtual %llu ticks, "
			       "physical %llu ticks\n",
			       cpu, (unsigned long long)read_u64(vm, base + M_CNTV_READ_TICKS),
			       (unsigned long long)read_u64(vm, base + M_CNTP_READ_TICKS));
		}
		latency = v.max_latency > latency ? v.max_latency : latency;
		latency = p.max_latency > latency ? p.max_latency : latency;
		started[cpu] = read_u64(vm, base + M_STARTED);
		finished[cpu] = read_u64(vm, base + M_FINISHED);
		ck_assert_uint_lt(started[cpu], finished[cpu]);
	}
	if (nr_cpus > 1 && run == 0)
		printf("KVMKIT-ARM64 timer vcpus overlap: vcpu0 %llu..%llu, vcpu1 %llu..%llu\n",
		       (unsigned long long)started[0], (unsigned long long)finished[0],
		       (unsigned long long)started[1], (unsigned long long)finished[1]);
	ck_assert_msg(host_captured_lines() == 0, "unexpected messages:\n%s", host_captured());
	ck_assert_uint_eq(console_len, 0);
	vm_destroy(vm);
	return latency;
}

/* guests/timer.S run timer_runs times (TIMER_RUNS unless set) on
 * @nr_cpus vCPUs: every run every arm's interrupt exactly once, none before
 * its deadline, none while masked, none extra. */
static void timer_case(unsigned nr_cpus)
{
	const char *env = getenv("timer_runs");
	unsigned runs = env ? (unsigned)strtoul(env, NULL, 10) : TIMER_RUNS, passed = 0;
	uint64_t latency = 0;
	double slowest = 0, total = 0;

	ck_assert_msg(runs > 0 && runs <= TIMER_RUNS_MAX, "timer_runs=%s: 1 to %d", env,
		      TIMER_RUNS_MAX);
	for (unsigned run = 0; run < runs; run++) {
		double seconds;
		uint64_t l = timer_run(nr_cpus, run, &seconds);

		latency = l > latency ? l : latency;
		slowest = seconds > slowest ? seconds : slowest;
		total += seconds;
		passed++;
		printf("KVMKIT-ARM64 timer run %u/%u passed (%.2f s)\n", run + 1, runs, seconds);
		fflush(stdout);
	}
	printf("KVMKIT-ARM64 timer cpus=%u runs=%u passed=%u arms-per-timer=%d "
	       "max-latency-ticks=%llu mean-run=%.2fs slowest-run=%.2fs\n",
	       nr_cpus, runs, passed, TIMER_ARMS, (unsigned long long)latency, total / runs,
	       slowest);
}

START_TEST(timer) { timer_case(1); }
END_TEST

START_TEST(timer_2cpu) { timer_case(2); }
END_TEST

/* The console of a VM run through the public API (restore_clock). */
struct api_console {
	pthread_mutex_t lock;
	char text[16384];
	size_t len;
};

static void api_console_out(struct kvmkit_vm *vm, const char *buf, size_t len, void *opaque)
{
	struct api_console *c = opaque;

	(void)vm;
	pthread_mutex_lock(&c->lock);
	if (len > sizeof(c->text) - 1 - c->len)
		len = sizeof(c->text) - 1 - c->len;
	memcpy(c->text + c->len, buf, len);
	c->len += len;
	c->text[c->len] = '\0';
	pthread_mutex_unlock(&c->lock);
}

static unsigned api_console_lines(struct api_console *c)
{
	unsigned n = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->len; i++)
		n += c->text[i] == '\n';
	pthread_mutex_unlock(&c->lock);
	return n;
}

static void print_log(enum kvmkit_log_level level, const char *msg, void *opaque)
{
	(void)level;
	(void)opaque;
	printf("KVMKIT-ARM64 log: %s\n", msg);
}

static double realtime_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* guests/clock.S's line at @line: its counter and frequency. */
static void parse_clock_line(const char *line, uint64_t *counter, uint64_t *hz)
{
	unsigned long long v, f;
	int used = 0;

	ck_assert_msg(sscanf(line, "v=%16llx f=%16llx%n", &v, &f, &used) == 2 && used == 37 &&
			      line[37] == '\n',
		      "not a clock line: %.40s", line);
	*counter = v;
	*hz = f;
}

/* Starts @cfg (freed here) with its console in @c; returns the VM. */
static struct kvmkit_vm *api_start(struct kvmkit_config *cfg, struct api_console *c)
{
	struct kvmkit_vm *vm;
	int ret;

	ck_assert_int_eq(kvmkit_vm_create(cfg, &vm), 0);
	kvmkit_config_free(cfg);
	ck_assert_int_eq(kvmkit_vm_set_console_callback(vm, api_console_out, c), 0);
	ret = kvmkit_vm_start(vm);
	ck_assert_msg(ret == 0, "start: %d: %s", ret, kvmkit_vm_last_error(vm));
	return vm;
}

static void api_wait_lines(struct api_console *c, unsigned lines)
{
	double deadline = now_sec() + WAIT_SEC * host_time_factor();

	while (api_console_lines(c) < lines && now_sec() < deadline)
		host_sleep_ms(1);
	ck_assert_msg(api_console_lines(c) >= lines, "%u console lines after %d s, waited for %u",
		      api_console_lines(c), WAIT_SEC, lines);
}

static void api_end(struct kvmkit_vm *vm, enum kvmkit_exit_reason expected)
{
	enum kvmkit_exit_reason reason = KVMKIT_EXIT_NONE;
	int ret = kvmkit_vm_wait(vm, (int)(WAIT_SEC * 1000 * host_time_factor()), &reason);

	ck_assert_msg(ret == 0 && reason == expected, "wait: %d, exit %s (%s)", ret,
		      kvmkit_exit_reason_name(reason), kvmkit_vm_last_error(vm));
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
}

/* One restore of @snap with --restore-clock @how: the counter of the
 * guest's first line printed after the restore, and the host's time just
 * before the restore began and once that line was in. */
static uint64_t restore_counter(const char *snap, const char *how, double *t_start, double *t_line,
				uint64_t *hz)
{
	static struct api_console c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct kvmkit_config *cfg;
	struct kvmkit_vm *vm;
	uint64_t counter;
	const char *line;

	c.len = 0;
	c.text[0] = '\0';
	ck_assert_int_eq(kvmkit_config_new(&cfg), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "restore", snap), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "restore-clock", how), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "log-level", "info"), 0);
	*t_start = realtime_sec();
	vm = api_start(cfg, &c);
	/* The first line may be the rest of one cut short by the save; the
	 * second began after the restore. */
	api_wait_lines(&c, 2);
	*t_line = realtime_sec();
	ck_assert_int_eq(kvmkit_vm_kill(vm), 0);
	api_end(vm, KVMKIT_EXIT_KILLED);
	line = strchr(c.text, '\n') + 1;
	parse_clock_line(line, &counter, hz);
	return counter;
}

static void remove_snapshot(const char *dir, const char *snap)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/state", snap);
	ck_assert_int_eq(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/memory", snap);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(snap), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}

/* --restore-clock through the public API: guests/clock.S (two vCPUs, one
 * running) is saved, the host's clock moves on CLOCK_WAIT_SEC, and each
 * restore's first reading of the virtual counter is compared with the
 * last one before the save. continue: it went on by no more than the time
 * the guest ran (the restore's own time and a slack for the lines around
 * the save), not the wait. advance: by at least the host's time between
 * the save and the restore, and not more than all of it. */
START_TEST(restore_clock)
{
	static struct api_console saved = {.lock = PTHREAD_MUTEX_INITIALIZER};
	char dir[] = "/tmp/kvmkit-restore-clock-XXXXXX", snap[64];
	struct kvmkit_config *cfg;
	struct kvmkit_vm *vm;
	uint64_t v_saved, hz, hz_after, v;
	double t_save0, t_save1, t_start, t_line, jump;
	const char *last;
	int ret;

	kvmkit_set_log(print_log, NULL);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(snap, sizeof(snap), "%s/snap", dir);

	/* Without --restore the setting is refused, naming both. */
	ck_assert_int_eq(kvmkit_config_new(&cfg), 0);
	ck_assert_int_lt(kvmkit_config_set(cfg, "restore-clock", "sideways"), 0);
	ck_assert_msg(strstr(kvmkit_config_last_error(cfg), "--restore-clock"), "%s",
		      kvmkit_config_last_error(cfg));
	ck_assert_int_eq(kvmkit_config_set(cfg, "kernel", host_guest_path("clock")), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "restore-clock", "advance"), 0);
	ck_assert_int_eq(kvmkit_vm_create(cfg, &vm), 0);
	kvmkit_config_free(cfg);
	ck_assert_int_lt(kvmkit_vm_start(vm), 0);
	ck_assert_int_eq(kvmkit_vm_last_error_kind(vm), KVMKIT_ERROR_INPUT);
	ck_assert_msg(strstr(kvmkit_vm_last_error(vm), "--restore-clock") &&
			      strstr(kvmkit_vm_last_error(vm), "--restore:"),
		      "%s", kvmkit_vm_last_error(vm));
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);

	ck_assert_int_eq(kvmkit_config_new(&cfg), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "kernel", host_guest_path("clock")), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "memory", "16M"), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "cpus", "2"), 0);
	vm = api_start(cfg, &saved);
	api_wait_lines(&saved, 20);
	t_save0 = realtime_sec();
	ret = kvmkit_vm_snapshot(vm, snap, KVMKIT_SNAPSHOT_STOP, NULL);
	t_save1 = realtime_sec();
	ck_assert_msg(ret == 0, "snapshot: %d: %s", ret, kvmkit_vm_last_error(vm));
	api_end(vm, KVMKIT_EXIT_SNAPSHOT);
	/* The last whole line: the counter's last reading before the save. */
	ck_assert_uint_gt(saved.len, 40);
	last = strrchr(saved.text, '\n'); /* the end of the last whole line */
	while (last > saved.text && last[-1] != '\n')
		last--;
	parse_clock_line(last, &v_saved, &hz);
	ck_assert_uint_gt(hz, 0);

	/* Not a sleep: the host's clock must have moved on this far. */
	while (realtime_sec() < t_save1 + CLOCK_WAIT_SEC)
		host_sleep_ms(10);

	v = restore_counter(snap, "continue", &t_start, &t_line, &hz_after);
	ck_assert_uint_eq(hz_after, hz);
	jump = (double)(int64_t)(v - v_saved) / (double)hz;
	printf("KVMKIT-ARM64 restore_clock continue: counter +%.3f s over the save, restore "
	       "took %.3f s, host time since the save %.3f s\n",
	       jump, t_line - t_start, t_start - t_save1);
	ck_assert_msg(t_line - t_start + CLOCK_SLACK_SEC < CLOCK_WAIT_SEC - 1.0,
		      "the restore took %.3f s: too slow to tell continue from advance",
		      t_line - t_start);
	ck_assert_msg(jump > 0, "continue: the counter went back %.3f s", -jump);
	ck_assert_msg(jump < t_line - t_start + CLOCK_SLACK_SEC,
		      "continue: the counter moved %.3f s, the guest ran %.3f s since the restore",
		      jump, t_line - t_start);

	v = restore_counter(snap, "advance", &t_start, &t_line, &hz_after);
	ck_assert_uint_eq(hz_after, hz);
	jump = (double)(int64_t)(v - v_saved) / (double)hz;
	printf("KVMKIT-ARM64 restore_clock advance: counter +%.3f s over the save, host time "
	       "from the save to the restore %.3f s, to the line %.3f s\n",
	       jump, t_start - t_save1, t_line - t_save0);
	ck_assert_msg(jump >= t_start - t_save1,
		      "advance: the counter moved %.3f s, the host's clock %.3f s or more", jump,
		      t_start - t_save1);
	ck_assert_msg(jump < t_line - t_save0 + CLOCK_SLACK_SEC,
		      "advance: the counter moved %.3f s, the host's clock %.3f s at most", jump,
		      t_line - t_save0);
	remove_snapshot(dir, snap);
}
END_TEST

int main(int argc, char **argv)
{
	const struct host_case cases[] = {
		{"hello", hello, 10},
		{"raw", raw, 10},
		{"pmu", pmu, 10},
		{"pmu_off", pmu_off, 10},
		{"raw_refused", raw_refused, 10},
		{"mmio", mmio, 10},
		{"bad_width", bad_width, 10},
		{"ram", ram, 10},
		{"ram_largest", ram_largest, 30},
		{"cpu_state", cpu_state, 30},
		{"dirty_writer", dirty_writer, 60},
		{"dirty_ring_caps", dirty_ring_caps, 10},
		{"restore_clock", restore_clock, 60},
		{"timer", timer, 120},
		{"timer_2cpu", timer_2cpu, 120},
	};
	const struct host_suite suite = {
		.name = "arm64",
		.cases = cases,
		.nr_cases = sizeof(cases) / sizeof(cases[0]),
		.setup = host_capture_start,
		.teardown = host_capture_stop,
	};

	return host_run_suite(argc, argv, &suite);
}
