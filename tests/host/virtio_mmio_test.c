/* Host tests of the virtio device state machine (virtio_mmio.c and the core
 * in virtio_dev.c), with the test as the driver of a virtio-rng: the device
 * status only moves forward until a reset, features the device did not offer
 * and DRIVER_OK before FEATURES_OK are refused, a live queue cannot be set
 * up again under the device; a driver that repeats a mistake does not flood
 * the log.
 *
 *     host-virtio-mmio-test [CASE] */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "host_util.h"
#include "virtio_driver.h"
#include "vm_util.h"
#include "vmm/device_type.h"
#include "vmm/ratelimit.h"
#include "vmm/vm.h"

#define RNG_ID 4
#define ACK_DRIVER (VDRV_STATUS_ACK | VDRV_STATUS_DRIVER)
#define F_VERSION_1 (1ULL << 32)
/* How long a chain that must not be served is watched (a lower bound). */
#define NOT_SERVED_MS 200

static void start(struct running_vm *r)
{
	struct vm_config cfg;

	vdrv_config_init(&cfg);
	vm_config_add_device(&cfg, device_type_find("rng"));
	vdrv_start_vm(r, &cfg);
}

/* A driver of the rng that has reset it, set ACKNOWLEDGE and DRIVER and
 * written @features; the rest is the test's. */
static void begin(struct vdrv *d, struct vm *vm, uint64_t features)
{
	memset(d, 0, sizeof(*d));
	d->vm = vm;
	d->dev = host_find_device(vm, "virtio-rng");
	d->nr_queues = 1;
	d->ring_gpa = VDRV_RING_GPA;
	vdrv_reset(d);
	vdrv_reg_write(d, VDRV_REG_STATUS, VDRV_STATUS_ACK);
	vdrv_reg_write(d, VDRV_REG_STATUS, ACK_DRIVER);
	vdrv_reg_write(d, VDRV_REG_DRIVER_FEATURES_SEL, 0);
	vdrv_reg_write(d, VDRV_REG_DRIVER_FEATURES, (uint32_t)features);
	vdrv_reg_write(d, VDRV_REG_DRIVER_FEATURES_SEL, 1);
	vdrv_reg_write(d, VDRV_REG_DRIVER_FEATURES, (uint32_t)(features >> 32));
	d->features = features;
}

/* Posts one 64-byte chain at @gpa, filled with 0xaa, and kicks. */
static void post_chain(struct vdrv *d, uint64_t gpa)
{
	memset(vdrv_gpa(d, gpa, 64), 0xaa, 64);
	vdrv_post(d, 0, (struct vdrv_buf[]){{gpa, 64, true}}, 1);
	vdrv_kick(d, 0);
}

static bool untouched(struct vdrv *d, uint64_t gpa)
{
	const uint8_t *p = vdrv_gpa(d, gpa, 64);

	for (unsigned i = 0; i < 64; i++)
		if (p[i] != 0xaa)
			return false;
	return true;
}

/* DRIVER_OK without FEATURES_OK is not kept and the device does not serve. */
START_TEST(driver_ok_needs_features_ok)
{
	struct running_vm r;
	struct vdrv d;
	bool queue_taken;

	start(&r);
	begin(&d, r.vm, F_VERSION_1);
	/* Queues are set up after FEATURES_OK: this one is refused too. */
	queue_taken = vdrv_queue_setup(&d, 0, VDRV_RING_GPA);
	vdrv_reg_write(&d, VDRV_REG_STATUS, ACK_DRIVER | VDRV_STATUS_DRIVER_OK);
	ck_assert_uint_eq(vdrv_status(&d), ACK_DRIVER);
	ck_assert_msg(!queue_taken, "a queue was made ready before FEATURES_OK");
	post_chain(&d, VDRV_BUF_GPA);
	ck_assert_msg(!vdrv_wait_used_within(&d, 0, 1, NOT_SERVED_MS),
		      "a device without FEATURES_OK served its queue");
	ck_assert(untouched(&d, VDRV_BUF_GPA));
	/* A reset and a proper start serve as ever. */
	vdrv_init(&d, r.vm, "virtio-rng", RNG_ID, 1, 0);
	post_chain(&d, VDRV_BUF_GPA);
	ck_assert(vdrv_wait_used(&d, 0, 1, NULL));
	ck_assert(!untouched(&d, VDRV_BUF_GPA));
	vdrv_stop_vm(&r);
	ck_assert_msg(strstr(host_captured(), "DRIVER_OK without FEATURES_OK"), "log: %s",
		      host_captured());
}
END_TEST

/* Features the device did not offer: FEATURES_OK is not kept, and DRIVER_OK
 * in the same write does not start the device either. */
START_TEST(features_not_offered)
{
	struct running_vm r;
	struct vdrv d;

	start(&r);
	begin(&d, r.vm, F_VERSION_1 | 1); /* bit 0: no feature of an rng */
	vdrv_reg_write(&d, VDRV_REG_STATUS, ACK_DRIVER | VDRV_STATUS_FEATURES_OK);
	ck_assert_uint_eq(vdrv_status(&d), ACK_DRIVER);
	vdrv_reg_write(&d, VDRV_REG_STATUS,
		       ACK_DRIVER | VDRV_STATUS_FEATURES_OK | VDRV_STATUS_DRIVER_OK);
	ck_assert_uint_eq(vdrv_status(&d), ACK_DRIVER);
	vdrv_stop_vm(&r);
	ck_assert_msg(strstr(host_captured(), "refused"), "log: %s", host_captured());
}
END_TEST

/* Only a reset clears status bits: a write that would clear DRIVER_OK is
 * ignored and the device goes on serving. */
START_TEST(status_never_goes_back)
{
	struct running_vm r;
	struct vdrv d;
	const uint32_t live = ACK_DRIVER | VDRV_STATUS_FEATURES_OK | VDRV_STATUS_DRIVER_OK;

	start(&r);
	vdrv_init(&d, r.vm, "virtio-rng", RNG_ID, 1, 0);
	vdrv_reg_write(&d, VDRV_REG_STATUS, ACK_DRIVER | VDRV_STATUS_FEATURES_OK);
	ck_assert_uint_eq(vdrv_status(&d), live);
	vdrv_reg_write(&d, VDRV_REG_STATUS, VDRV_STATUS_ACK);
	ck_assert_uint_eq(vdrv_status(&d), live);
	post_chain(&d, VDRV_BUF_GPA);
	ck_assert(vdrv_wait_used(&d, 0, 1, NULL));
	vdrv_stop_vm(&r);
	ck_assert_msg(strstr(host_captured(), "without a reset"), "log: %s", host_captured());
}
END_TEST

/* QueueReady 1 on a live queue changes nothing: the device does not start
 * the ring over and refill a buffer the driver already got back. */
START_TEST(live_queue_ready_again)
{
	struct running_vm r;
	struct vdrv d;

	start(&r);
	vdrv_init(&d, r.vm, "virtio-rng", RNG_ID, 1, 0);
	post_chain(&d, VDRV_BUF_GPA);
	ck_assert(vdrv_wait_used(&d, 0, 1, NULL));
	/* The driver has the buffer back and reuses it for its own data. */
	memset(vdrv_gpa(&d, VDRV_BUF_GPA, 64), 0xaa, 64);
	vdrv_reg_write(&d, VDRV_REG_QUEUE_SEL, 0);
	vdrv_reg_write(&d, VDRV_REG_QUEUE_NUM, 8);
	vdrv_reg_write(&d, VDRV_REG_QUEUE_READY, 1);
	post_chain(&d, VDRV_BUF_GPA + 0x1000);
	ck_assert(vdrv_wait_used(&d, 0, 1, NULL));
	ck_assert_uint_eq(vdrv_used_idx(&d, 0), 2);
	ck_assert_msg(untouched(&d, VDRV_BUF_GPA), "a returned buffer was filled again");
	ck_assert(!untouched(&d, VDRV_BUF_GPA + 0x1000));
	vdrv_stop_vm(&r);
	ck_assert_msg(strstr(host_captured(), "again while live"), "log: %s", host_captured());
}
END_TEST

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Where line @n (from 0) of @text starts; the end of the text past its last. */
static const char *line_at(const char *text, unsigned n)
{
	while (n-- && (text = strchr(text, '\n')))
		text++;
	return text ? text : "";
}

/* 10000 bad status writes make a few lines, not 10000: the first ones, one a
 * second while they last (a slow tier takes several seconds), and, once the
 * limiter lets one more through after the flood, a count of the rest. */
START_TEST(log_flood_bounded)
{
	struct running_vm r;
	struct vdrv d;
	const char *mark;
	unsigned long long suppressed = 0, n;
	unsigned writes = 0, lines, after_flood;
	double t0, seconds;

	start(&r);
	vdrv_init(&d, r.vm, "virtio-rng", RNG_ID, 1, 0);
	t0 = now_sec();
	for (; writes < 10000; writes++)
		vdrv_reg_write(&d, VDRV_REG_STATUS, VDRV_STATUS_ACK);
	seconds = now_sec() - t0;
	lines = after_flood = host_captured_lines();
	/* The burst, then at most one line per second begun. */
	ck_assert_msg(lines >= 1 && lines <= RATELIMIT_GUEST_BURST + 1 + (unsigned)seconds,
		      "%u lines for 10000 bad writes in %.1f s, the first:\n%.1000s", lines,
		      seconds, host_captured());
	/* The count of what was held back since the last line comes with the
	 * next line the limiter lets out. */
	for (int i = 0; i < VDRV_WAIT_SEC * 1000 &&
			!strstr(line_at(host_captured(), after_flood), "suppressed");
	     i++) {
		struct timespec delay = {0, 1000 * 1000};

		vdrv_reg_write(&d, VDRV_REG_STATUS, VDRV_STATUS_ACK);
		writes++;
		nanosleep(&delay, NULL);
	}
	ck_assert_msg(strstr(line_at(host_captured(), after_flood), "(suppressed "),
		      "no count of suppressed messages after the flood:\n%.1000s", host_captured());
	for (mark = host_captured(); (mark = strstr(mark, "(suppressed ")); mark++) {
		ck_assert(sscanf(mark, "(suppressed %llu more)", &n) == 1);
		suppressed += n;
	}
	lines = host_captured_lines();
	/* Every write was either reported or counted, none twice. */
	ck_assert_uint_eq(lines + suppressed, writes);
	ck_assert_uint_eq(vdrv_status(&d),
			  ACK_DRIVER | VDRV_STATUS_FEATURES_OK | VDRV_STATUS_DRIVER_OK);
	vdrv_stop_vm(&r);
}
END_TEST

int main(int argc, char **argv)
{
	const struct host_case cases[] = {
		{"driver_ok_needs_features_ok", driver_ok_needs_features_ok, 30},
		{"features_not_offered", features_not_offered, 30},
		{"status_never_goes_back", status_never_goes_back, 30},
		{"live_queue_ready_again", live_queue_ready_again, 30},
		{"log_flood_bounded", log_flood_bounded, 60},
	};
	const struct host_suite suite = {
		.name = "virtio-mmio",
		.cases = cases,
		.nr_cases = sizeof(cases) / sizeof(cases[0]),
		.setup = host_capture_start,
		.teardown = host_capture_stop,
	};

	return host_run_suite(argc, argv, &suite);
}
