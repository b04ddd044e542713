/* Host tests of virtio-rng with the test as its driver (virtio_driver.h): a
 * driver that refills the queue as fast as the device serves it does not
 * hold the main loop, whose other work (here the VM's timeout) still runs.
 *
 *     host-virtio-rng-test [CASE] */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "host_util.h"
#include "virtio_driver.h"
#include "vm_util.h"
#include "vmm/device_type.h"
#include "vmm/vm.h"

#define RNG_ID 4
/* As much as the device fills per chain. Every chain is one descriptor and
 * all of them share one buffer, so the ring holds VDRV_QUEUE_SIZE of them:
 * milliseconds of work for the device. */
#define RNG_CHAIN_LEN (64 * 1024)
#define DESC_F_WRITE 2

struct flood {
	struct vdrv *d;
	atomic_bool stop;
	atomic_uint served; /* chains the device used */
	int cpus;           /* this process may run on */
};

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* Keeps the ring full: each chain the device used is posted again, checked
 * for every 50 us. With more than one CPU the thread runs at a real-time
 * priority when it may, so that a loaded host cannot keep it off the CPU
 * long enough for the device to find the ring empty. */
static void *flood_thread(void *arg)
{
	struct flood *f = arg;
	struct vdrv_queue *q = &f->d->q[0];
	struct desc *desc = vdrv_gpa(f->d, q->desc, sizeof(*desc) * VDRV_QUEUE_SIZE);
	uint16_t *avail = vdrv_gpa(f->d, q->avail, 6 + 2 * VDRV_QUEUE_SIZE);
	uint32_t *used = vdrv_gpa(f->d, q->used + 4, 8 * VDRV_QUEUE_SIZE);
	struct timespec nap = {0, 50 * 1000};
	uint16_t avail_idx = 0, seen = 0;

	/* Not with one CPU: a real-time thread polling every 50 us there would
	 * starve the very loop under test (the x86_64 L1 tier has one). */
	if (f->cpus > 1)
		pthread_setschedparam(pthread_self(), SCHED_FIFO,
				      &(struct sched_param){.sched_priority = 1});
	for (unsigned i = 0; i < VDRV_QUEUE_SIZE; i++) {
		desc[i] = (struct desc){VDRV_BUF_GPA, RNG_CHAIN_LEN, DESC_F_WRITE, 0};
		avail[2 + avail_idx++ % VDRV_QUEUE_SIZE] = (uint16_t)i;
	}
	__atomic_store_n(&avail[1], avail_idx, __ATOMIC_RELEASE);
	vdrv_kick(f->d, 0);
	while (!atomic_load(&f->stop)) {
		uint16_t now = vdrv_used_idx(f->d, 0);

		if (now == seen) {
			nanosleep(&nap, NULL);
			continue;
		}
		for (; seen != now; seen++)
			avail[2 + avail_idx++ % VDRV_QUEUE_SIZE] =
				(uint16_t)used[2 * (seen % VDRV_QUEUE_SIZE)];
		__atomic_store_n(&avail[1], avail_idx, __ATOMIC_RELEASE);
		atomic_store(&f->served, seen);
		vdrv_kick(f->d, 0);
	}
	return NULL;
}

/* The VM's timeout (a timer on the loop) ends it while the driver keeps the
 * rng busy: the device serves a bounded amount per turn of the loop. */
START_TEST(flood_leaves_loop_free)
{
	struct running_vm r;
	struct vm_config cfg;
	struct flood f = {0};
	struct vdrv d;
	pthread_t t;
	struct timespec delay = {0, 1000 * 1000};
	bool ended;

	cpu_set_t set;

	vdrv_config_init(&cfg);
	vm_config_add_device(&cfg, device_type_find("rng"));
	/* Long enough for the flood to get under way in the slowest tier. */
	cfg.timeout_sec = (unsigned)(1 * host_time_factor());
	f.cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
	vdrv_start_vm(&r, &cfg);
	vdrv_init(&d, r.vm, "virtio-rng", RNG_ID, 1, 0);
	f.d = &d;
	ck_assert_int_eq(pthread_create(&t, NULL, flood_thread, &f), 0);
	/* The flood is under way (the ring refilled twice) before the timeout
	 * can fire. */
	for (int i = 0; i < VDRV_WAIT_SEC * 1000 && atomic_load(&f.served) < 2 * VDRV_QUEUE_SIZE;
	     i++)
		nanosleep(&delay, NULL);
	ck_assert_uint_ge(atomic_load(&f.served), 2 * VDRV_QUEUE_SIZE);
	ended = vdrv_wait_vm_end(&r);
	atomic_store(&f.stop, true);
	pthread_join(t, NULL);
	ck_assert_msg(ended,
		      "the VM's timeout did not fire while the rng was kept busy "
		      "(%u chains served)",
		      atomic_load(&f.served));
	ck_assert_int_eq(atomic_load(&r.vm->exit_reason), VM_EXIT_TIMEOUT);
	vdrv_stop_vm(&r);
}
END_TEST

int main(int argc, char **argv)
{
	const struct host_case cases[] = {
		{"flood_leaves_loop_free", flood_leaves_loop_free, 30},
	};
	const struct host_suite suite = {
		.name = "virtio-rng",
		.cases = cases,
		.nr_cases = sizeof(cases) / sizeof(cases[0]),
		.setup = host_capture_start,
		.teardown = host_capture_stop,
	};

	return host_run_suite(argc, argv, &suite);
}
