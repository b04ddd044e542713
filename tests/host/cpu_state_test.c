/* Host tests of vCPU and irqchip state (src/vmm/vm_cpu_state.h and the arch
 * door's arch_vcpu_save() and friends): guests/state_loop.S runs on a
 * thread, the test pauses it mid-loop, saves every vCPU and the irqchip,
 * loads the records back, saves again and compares (all but the TSC, which
 * goes on counting while the VM is paused), feeds bad records and
 * checks they are refused with the VM untouched, then resumes and checks the
 * guest finished its script exactly.
 *
 *     host-cpu-state-test [CASE] */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arch/arch.h"
#include "guests/layout.h"
#include "host_util.h"
#include "test_device.h"
#include "vm_util.h"
#include "vmm/state.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vm_cpu_state.h"

#define GUEST_MEM_SIZE (16ULL << 20)
#define GUEST_TIMEOUT_SEC 20
#define WAIT_SEC 10       /* for the guest to start writing, and to finish */
#define WRITES_BEFORE 200 /* the pause comes after this many writes */

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

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned data_writes(const struct test_device *t)
{
	return __atomic_load_n(&t->nr_data_writes, __ATOMIC_RELAXED);
}

/* Boots state_loop, lets it make WRITES_BEFORE writes and pauses it. */
static void start_paused(struct running_vm *r)
{
	struct vm_config cfg;
	char err[512] = "";
	bool input_error = false;
	double deadline;
	int ret;

	vm_config_defaults(&cfg);
	cfg.kernel_path = host_guest_path("state_loop");
	cfg.nr_cpus = 1;
	cfg.mem_size = GUEST_MEM_SIZE;
	cfg.console_stdio = false;
	cfg.timeout_sec = (unsigned)(GUEST_TIMEOUT_SEC * host_time_factor());
	ret = vm_create(&cfg, &r->vm, err, sizeof(err), &input_error);
	ck_assert_msg(ret == 0, "vm_create(state_loop): %s (%d)", err, ret);
	r->dev = test_device_new("mmio-test", BUS_MMIO, TEST_MMIO_BASE, TEST_MMIO_SIZE);
	ck_assert_ptr_nonnull(r->dev);
	ck_assert_int_eq(vm_add_device(r->vm, &r->dev->dev), 0);
	ck_assert_msg(vm_start(r->vm) == 0, "vm_start: %s", r->vm->error);
	ck_assert_int_eq(pthread_create(&r->loop, NULL, run_loop, r), 0);
	deadline = now_sec() + WAIT_SEC * host_time_factor();
	while (data_writes(r->dev) < WRITES_BEFORE && now_sec() < deadline)
		arch_cpu_relax();
	ck_assert_msg(data_writes(r->dev) >= WRITES_BEFORE, "the guest made %u writes in %d s",
		      data_writes(r->dev), WAIT_SEC);
	ck_assert_msg(vm_pause(r->vm) == 0, "vm_pause: %s", r->vm->error);
	ck_assert_msg(data_writes(r->dev) < STATE_LOOP_WRITES,
		      "the guest finished before the pause: make STATE_LOOP_WRITES larger");
}

/* Resumes the guest and checks it ran its script to the end, exactly. */
static void resume_and_finish(struct running_vm *r)
{
	unsigned paused_at = data_writes(r->dev);

	host_sleep_ms(20);
	ck_assert_msg(data_writes(r->dev) == paused_at, "the paused guest kept writing");
	ck_assert_msg(vm_resume(r->vm) == 0, "vm_resume: %s", r->vm->error);
	pthread_join(r->loop, NULL);
	ck_assert_msg(r->reason == VM_EXIT_POWEROFF, "guest ended with %s, not poweroff (%s)",
		      vm_exit_reason_name(r->reason), r->vm->error);
	ck_assert_uint_eq(r->dev->done, TEST_DONE_MAGIC);
	ck_assert_msg(r->dev->nr_bad_writes == 0,
		      "%u DATA writes off the sequence; first: 0x%llx (%u bytes)",
		      r->dev->nr_bad_writes, (unsigned long long)r->dev->first_bad_write.value,
		      r->dev->first_bad_write.len);
	ck_assert_uint_eq(r->dev->nr_data_writes, STATE_LOOP_WRITES);
	vm_destroy(r->vm);
}

static void save_all(struct vm *vm, struct state_buf *b)
{
	int ret;

	state_buf_init(b);
	ret = vm_cpu_state_save(vm, b);
	ck_assert_msg(ret == 0, "vm_cpu_state_save: %d: %s", ret, vm->error);
	ck_assert_uint_gt(b->len, 0);
}

/* Where two saves differ: the record's kind, the offset in its fields and
 * the bytes around it, so a failure says which register moved. */
static const char *first_difference(const struct state_buf *a, const struct state_buf *b)
{
	static char why[512];
	struct state_reader r, rec;
	char kind[STATE_KIND_MAX];
	uint32_t version;
	size_t at = 0;

	while (at < a->len && at < b->len && a->data[at] == b->data[at])
		at++;
	if (at == a->len && at == b->len)
		return "identical";
	state_reader_init(&r, a->data, a->len);
	while (state_next(&r, kind, &version, &rec) == 0) {
		size_t start = (size_t)(rec.data - a->data);

		if (at < start + rec.len) {
			int n = snprintf(why, sizeof(why), "record %s, field byte %zu:", kind,
					 at - start);

			for (size_t i = at > 24 ? at - 24 : 0;
			     i < at + 12 && i < a->len && i < b->len && n < 400; i++)
				n += snprintf(why + n, sizeof(why) - n, " %02x/%02x", a->data[i],
					      b->data[i]);
			return why;
		}
	}
	snprintf(why, sizeof(why), "byte %zu of %zu/%zu", at, a->len, b->len);
	return why;
}

/* Takes the TSC out of the vCPU record at the start of @b, zeroed in its
 * place (src/arch/x86_64/x86_state.c: after the vCPU index, the parts
 * flags, the XSAVE size and the MSR count). */
static uint64_t take_tsc(struct state_buf *b)
{
	struct state_reader r, rec;
	char kind[STATE_KIND_MAX];
	uint32_t version;
	uint64_t tsc;
	uint8_t *at;

	state_reader_init(&r, b->data, b->len);
	ck_assert_int_eq(state_next(&r, kind, &version, &rec), 0);
	ck_assert_str_eq(kind, "x86-vcpu");
	ck_assert_uint_ge(rec.len, 16 + sizeof(tsc));
	at = b->data + (rec.data - b->data) + 16;
	memcpy(&tsc, at, sizeof(tsc));
	memset(at, 0, sizeof(tsc));
	return tsc;
}

/* The TSCs of two saves of one paused VM, @first's then @second's, taken
 * out of both: the second must be the later one, by less than @max_sec at
 * any TSC rate up to 10 GHz. */
static void check_tsc_went_on(struct state_buf *first, struct state_buf *second, double max_sec)
{
	uint64_t a = take_tsc(first), b = take_tsc(second);

	ck_assert_msg(b >= a, "the TSC went back: %llu, then %llu", (unsigned long long)a,
		      (unsigned long long)b);
	ck_assert_msg((double)(b - a) < max_sec * 10e9,
		      "the TSC jumped by %llu cycles between two saves %.1f s apart at most",
		      (unsigned long long)(b - a), max_sec);
}

START_TEST(round_trip)
{
	struct running_vm r = {0};
	struct state_buf first, second;
	struct state_reader in;
	double t0;
	int ret;

	start_paused(&r);
	t0 = now_sec();
	save_all(r.vm, &first);
	state_reader_init(&in, first.data, first.len);
	ret = vm_cpu_state_load(r.vm, &in, 0);
	ck_assert_msg(ret == 0, "vm_cpu_state_load: %d: %s", ret, r.vm->error);
	ck_assert(state_reader_done(&in));
	save_all(r.vm, &second);
	ck_assert_uint_eq(second.len, first.len);
	check_tsc_went_on(&first, &second, now_sec() - t0);
	ck_assert_msg(memcmp(first.data, second.data, first.len) == 0,
		      "a save after loading the first differs from it: %s",
		      first_difference(&first, &second));
	state_buf_free(&first);
	state_buf_free(&second);
	resume_and_finish(&r);
}
END_TEST

/* Byte offset of the first field of the record at the start of @b. */
static size_t fields_offset(const struct state_buf *b) { return 1u + b->data[0] + 8u; }

static int load_vcpu0(struct vm *vm, const uint8_t *data, size_t len)
{
	struct state_reader in;

	state_reader_init(&in, data, len);
	return arch_vcpu_load(vm->vcpus[0], &in, &(struct arch_clock){0});
}

START_TEST(bad_records)
{
	struct running_vm r = {0};
	struct state_buf good, vcpu, after;
	struct state_reader in, rec, scan;
	char kind[STATE_KIND_MAX];
	uint32_t version;
	uint8_t *bad;
	size_t vcpu_len;
	double t0;

	start_paused(&r);
	t0 = now_sec();
	save_all(r.vm, &good);
	/* The first record alone: vCPU 0's. */
	state_reader_init(&scan, good.data, good.len);
	ck_assert_int_eq(state_next(&scan, kind, &version, &rec), 0);
	vcpu_len = scan.pos;
	state_buf_init(&vcpu);
	state_put_bytes(&vcpu, good.data, vcpu_len);
	bad = malloc(good.len);
	ck_assert_ptr_nonnull(bad);

	/* Cut short anywhere: in the header, in the fields, one byte off. */
	ck_assert_int_eq(load_vcpu0(r.vm, vcpu.data, 3), -EINVAL);
	ck_assert_int_eq(load_vcpu0(r.vm, vcpu.data, vcpu_len / 2), -EINVAL);
	ck_assert_int_eq(load_vcpu0(r.vm, vcpu.data, vcpu_len - 1), -EINVAL);
	/* A record of the right length whose fields end early. */
	memcpy(bad, vcpu.data, vcpu_len);
	bad[fields_offset(&vcpu) - 4] -= 1;
	ck_assert_int_eq(load_vcpu0(r.vm, bad, vcpu_len - 1), -EINVAL);
	/* Another version, another vCPU index, another kind. */
	memcpy(bad, vcpu.data, vcpu_len);
	bad[fields_offset(&vcpu) - 8] += 1;
	ck_assert_int_eq(load_vcpu0(r.vm, bad, vcpu_len), -EINVAL);
	memcpy(bad, vcpu.data, vcpu_len);
	bad[fields_offset(&vcpu)] = 7;
	ck_assert_int_eq(load_vcpu0(r.vm, bad, vcpu_len), -EINVAL);
	state_reader_init(&in, vcpu.data, vcpu_len);
	ck_assert_int_eq(arch_irqchip_load(r.vm, &in), -EINVAL);
	memcpy(bad, good.data + vcpu_len, good.len - vcpu_len);
	ck_assert_int_eq(load_vcpu0(r.vm, bad, good.len - vcpu_len), -EINVAL);
	/* The whole VM's: one record missing, or a byte too many. */
	state_reader_init(&in, good.data, vcpu_len);
	ck_assert_int_eq(vm_cpu_state_load(r.vm, &in, 0), -EINVAL);
	memcpy(bad, good.data, good.len);
	state_reader_init(&in, bad, good.len - 1);
	ck_assert_int_eq(vm_cpu_state_load(r.vm, &in, 0), -EINVAL);
	{
		struct state_buf longer;

		state_buf_init(&longer);
		state_put_bytes(&longer, good.data, good.len);
		state_put_u8(&longer, 0);
		state_reader_init(&in, longer.data, longer.len);
		ck_assert_int_eq(vm_cpu_state_load(r.vm, &in, 0), -EINVAL);
		state_buf_free(&longer);
	}
	/* The refusals reported, and changed nothing. */
	ck_assert_msg(strstr(r.vm->error, "load") != NULL, "no load error reported: \"%s\"",
		      r.vm->error);
	save_all(r.vm, &after);
	ck_assert_uint_eq(after.len, good.len);
	check_tsc_went_on(&good, &after, now_sec() - t0);
	ck_assert_msg(memcmp(after.data, good.data, good.len) == 0,
		      "a refused load changed the state: %s", first_difference(&good, &after));
	free(bad);
	state_buf_free(&vcpu);
	state_buf_free(&after);
	state_buf_free(&good);
	resume_and_finish(&r);
}
END_TEST

int main(int argc, char **argv)
{
	const struct host_case cases[] = {
		{"round_trip", round_trip, 30},
		{"bad_records", bad_records, 30},
	};
	const struct host_suite suite = {
		.name = "cpu-state",
		.cases = cases,
		.nr_cases = sizeof(cases) / sizeof(cases[0]),
		.setup = host_capture_start,
		.teardown = host_capture_stop,
	};

	return host_run_suite(argc, argv, &suite);
}
