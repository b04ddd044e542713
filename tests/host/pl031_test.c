/* Host tests of the PL031 real-time clock, its registers driven from the
 * test while a VM runs (the alarm timer lives on the VM's event loop): the
 * count follows the host's clock from the loaded value, the alarm raises its
 * status exactly when the count reaches the match value (never while the
 * count still reads the second before), and bad accesses are refused.
 *
 *     host-pl031-test [CASE] */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "devices/pl031.h"
#include "host_util.h"
#include "virtio_driver.h"
#include "vm_util.h"
#include "vmm/device.h"
#include "vmm/vm.h"

#define RTC_BASE 0xd0000000ULL /* free on the x86_64 test machine's MMIO bus */
#define RTC_DR 0x00
#define RTC_MR 0x04
#define RTC_LR 0x08
#define RTC_IMSC 0x10
#define RTC_RIS 0x14
#define RTC_MIS 0x18
#define RTC_ICR 0x1c
#define ALARM_WAIT_NS (3LL * 1000 * 1000 * 1000)
/* Longest gap between the last poll that saw the status clear and the
 * count read that still tells a late alarm from a late test. */
#define JUDGE_WINDOW_NS (100LL * 1000 * 1000)

struct rtc_vm {
	struct vm *vm;
	struct device *rtc;
	pthread_t loop;
};

static void *run_loop(void *arg)
{
	vm_run(arg);
	return NULL;
}

static void start(struct rtc_vm *r)
{
	struct vm_config cfg;
	char err[512] = "";
	bool input_error;

	vdrv_config_init(&cfg);
	ck_assert_msg(vm_create(&cfg, &r->vm, err, sizeof(err), &input_error) == 0, "vm_create: %s",
		      err);
	/* No interrupt line on the test machine: the status registers say it all. */
	ck_assert_msg(pl031_create(&r->vm->host, RTC_BASE, 0) == 0, "pl031_create: %s",
		      r->vm->error);
	r->rtc = host_find_device(r->vm, "rtc");
	ck_assert_int_eq(pthread_create(&r->loop, NULL, run_loop, r->vm), 0);
}

static void stop(struct rtc_vm *r)
{
	vm_request_exit(r->vm, VM_EXIT_QUIT);
	pthread_join(r->loop, NULL);
	vm_destroy(r->vm);
}

static uint32_t rd(struct rtc_vm *r, uint64_t reg)
{
	uint32_t value;

	ck_assert_int_eq(device_read(r->rtc, reg, &value, 4), 0);
	return value;
}

static void wr(struct rtc_vm *r, uint64_t reg, uint32_t value)
{
	ck_assert_int_eq(device_write(r->rtc, reg, &value, 4), 0);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Arms the alarm one second ahead of the count and polls the raw status as
 * fast as it can; the count read right after it rose must be the match.
 * Returns false when the round cannot tell: this thread was off the CPU for
 * long enough between the last poll and the read (a busy host) that the
 * count may have moved on. */
static bool alarm_fires_on_match(struct rtc_vm *r)
{
	uint32_t match = rd(r, RTC_DR) + 1, count;
	int64_t start_ns = now_ns(), clear_ns = start_ns, poll_ns;

	wr(r, RTC_MR, match);
	wr(r, RTC_IMSC, 1);
	for (;;) {
		poll_ns = now_ns();
		if (rd(r, RTC_RIS) & 1)
			break;
		clear_ns = poll_ns; /* the status was still clear after this time */
		ck_assert_msg(poll_ns - start_ns < ALARM_WAIT_NS * host_time_factor(),
			      "no alarm within %.0f s", 3 * host_time_factor());
	}
	count = rd(r, RTC_DR);
	if (now_ns() - clear_ns > JUDGE_WINDOW_NS) {
		wr(r, RTC_ICR, 1);
		return false;
	}
	ck_assert_msg(count == match, "alarm raised while the count read %u, match %u", count,
		      match);
	ck_assert_uint_eq(rd(r, RTC_MIS), 1);
	wr(r, RTC_ICR, 1);
	ck_assert_uint_eq(rd(r, RTC_RIS), 0);
	ck_assert_uint_eq(rd(r, RTC_MIS), 0);
	return true;
}

START_TEST(alarm)
{
	struct rtc_vm r;
	int judged = 0;

	start(&r);
	for (int round = 0; judged < 3 && round < 20; round++)
		judged += alarm_fires_on_match(&r);
	ck_assert_msg(judged == 3, "only %d of 20 rounds could be judged: the host is too busy",
		      judged);
	stop(&r);
}
END_TEST

/* A loaded count goes on from there with the host's seconds, and the alarm
 * follows the loaded count, not the host's. */
START_TEST(load)
{
	struct rtc_vm r;
	uint32_t count;

	start(&r);
	wr(&r, RTC_LR, 1000);
	count = rd(&r, RTC_DR);
	ck_assert_msg(count == 1000 || count == 1001, "count %u after loading 1000", count);
	alarm_fires_on_match(&r);
	ck_assert_uint_le(rd(&r, RTC_DR), 1003);
	/* The count wraps like the chip's 32-bit counter. */
	wr(&r, RTC_LR, UINT32_MAX);
	count = rd(&r, RTC_DR);
	ck_assert_msg(count == UINT32_MAX || count == 0, "count %u after loading 0xffffffff",
		      count);
	stop(&r);
}
END_TEST

/* Only aligned 32-bit accesses to known registers; the rest read as all ones. */
START_TEST(bad_access)
{
	struct rtc_vm r;
	uint32_t value = 0;
	uint16_t half;

	start(&r);
	ck_assert_int_eq(device_read(r.rtc, RTC_DR, &half, 2), -EINVAL);
	ck_assert_uint_eq(half, 0xffff);
	ck_assert_int_eq(device_read(r.rtc, RTC_DR + 1, &value, 4), -EINVAL);
	ck_assert_int_eq(device_read(r.rtc, 0x40, &value, 4), -EINVAL);
	ck_assert_int_eq(device_write(r.rtc, RTC_RIS, &value, 4), -EINVAL);
	ck_assert_int_eq(device_write(r.rtc, RTC_MR, &half, 2), -EINVAL);
	/* The PrimeCell ID the AMBA bus probes. */
	ck_assert_uint_eq(rd(&r, 0xfe0), 0x31);
	ck_assert_uint_eq(rd(&r, 0xffc), 0xb1);
	stop(&r);
}
END_TEST

int main(int argc, char **argv)
{
	const struct host_case cases[] = {
		{"alarm", alarm, 30},
		{"load", load, 30},
		{"bad_access", bad_access, 30},
	};
	const struct host_suite suite = {
		.name = "pl031",
		.cases = cases,
		.nr_cases = sizeof(cases) / sizeof(cases[0]),
		.setup = host_capture_start,
		.teardown = host_capture_stop,
	};

	return host_run_suite(argc, argv, &suite);
}
