/* Dirty-page tracking (vmm/dirty_log.h), two measurements; prints numbers,
 * it is not a test.
 *
 * harvest: the cost of one harvest per GiB of guest RAM with 0%, 1%, 10%
 * and 100% of the pages dirty, for each engine, against a floor measured
 * in the same run: the raw KVM calls alone (KVM_GET_DIRTY_LOG per slot,
 * plus KVM_CLEAR_DIRTY_LOG for bitmap+clear; for the ring, reading every
 * vCPU's ring into a zeroed bitmap and KVM_RESET_DIRTY_RINGS) plus one
 * word-at-a-time scan of the bitmap. kvmkit's side is dirty_log_take()
 * and dirty_log_finish(ok). Two VMs of the same shape, one per side, have
 * the guest (guests/dirty-x86_64.S) dirty exactly the same pages, are
 * paused, and are harvested one after the other, in alternating order,
 * round after round; medians and the spread (min-max) are printed. The
 * guest runs 8 vCPUs per GiB so no ring (65536 entries) fills: every page
 * goes through the harvest that is timed.
 *
 * guest: what tracking costs the guest. One vCPU dirties its RAM page after
 * page as fast as it can, with tracking off, bitmap, bitmap+clear and ring,
 * while a harvester thread takes (vm_dirty_take + finish) every 10 ms as a
 * migration would; the guest's own count gives pages/s. Configurations
 * alternate within each round.
 *
 *     kvmkit-bench-dirty GUEST [harvest|guest|all] [--gib N] [--rounds N]
 *                        [--seconds N] */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm/device.h"
#include "vmm/dirty_engine.h" /* DIRTY_RING_PAGE_OFFSET: the uapi value can be 0 */
#include "vmm/dirty_log.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vm_dirty.h"

/* What guests/dirty-x86_64.S reads (offsets in the mailbox, in RAM). */
#define MAILBOX 0x200000
#define MB_GEN 0
#define MB_STRIDE 1
#define MB_NR_VCPUS 2
#define MB_NR_PAGES 3
#define MB_MODE 4
#define MB_COUNTERS 8
#define SINK_GPA 0xd0000000ULL
#define PAGE 4096ULL
#define GIB (1ULL << 30)
#define VCPUS_PER_GIB 8 /* 32768 pages each: under a 65536-entry ring */
#define MAX_ROUNDS 101
#define HARVEST_PERIOD_MS 10
#define WAIT_SEC 60

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_us(long us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts @v. */
static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The guest's "I am done" write: only counted (device_write does). */
static int sink_write(struct device *dev, uint64_t offset, const void *data, unsigned len)
{
	(void)dev, (void)offset, (void)data, (void)len;
	return 0;
}

static void sink_destroy(struct device *dev) { free(dev); }

static const struct device_ops sink_ops = {
	.kind = "bench-sink",
	.write = sink_write,
	.destroy = sink_destroy,
};

struct bvm {
	struct vm *vm;
	struct device *sink;
	pthread_t loop;
	volatile uint64_t *mb;
	uint64_t gen;
	uint64_t nr_pages;
	uint64_t *bits; /* the consumer's buffer: vm_dirty_words() words */
	size_t nr_words;
	/* The floor's own view of the rings (a second mapping of each). */
	struct kvm_dirty_gfn **rings;
	uint32_t *fetch;
	uint32_t ring_entries;
};

static void *run_loop(void *opaque)
{
	struct bvm *b = opaque;

	vm_run_loop(b->vm);
	return NULL;
}

/* vCPU i starts where vCPU 0 does, with i in %rdi. */
static int point_vcpus(struct vm *vm)
{
	struct kvm_regs boot;

	if (ioctl(vm->vcpus[0]->fd, KVM_GET_REGS, &boot) < 0)
		return -errno;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct kvm_regs r = boot;

		r.rdi = i;
		if (ioctl(vm->vcpus[i]->fd, KVM_SET_REGS, &r) < 0)
			return -errno;
	}
	return 0;
}

static int bvm_create(struct bvm *b, const char *guest, uint64_t ram, unsigned nr_vcpus,
		      enum dirty_engine_kind engine)
{
	struct vm_config cfg;
	char err[512];
	bool input;

	*b = (struct bvm){0};
	vm_config_defaults(&cfg);
	cfg.kernel_path = guest;
	cfg.mem_size = ram;
	cfg.nr_cpus = nr_vcpus;
	cfg.console_stdio = false;
	cfg.dirty_engine = engine;
	if (vm_create(&cfg, &b->vm, err, sizeof(err), &input) < 0) {
		fprintf(stderr, "bench-dirty: %s\n", err);
		return -1;
	}
	if (b->vm->mem.nr_regions != 1) {
		fprintf(stderr, "bench-dirty: RAM must be one region (below the MMIO hole)\n");
		goto fail;
	}
	b->nr_pages = ram / PAGE;
	b->mb = guest_mem_ptr(&b->vm->mem, MAILBOX, 128);
	b->nr_words = vm_dirty_words(b->vm);
	b->bits = calloc(b->nr_words, sizeof(uint64_t));
	b->sink = calloc(1, sizeof(*b->sink));
	if (!b->mb || !b->bits || !b->sink)
		goto fail;
	device_init(b->sink, &sink_ops, "sink", BUS_MMIO, SINK_GPA, 4, 0);
	if (vm_add_device(b->vm, b->sink) < 0 || point_vcpus(b->vm) < 0) {
		b->sink = NULL;
		fprintf(stderr, "bench-dirty: setting up: %s\n", b->vm->error);
		goto fail;
	}
	b->mb[MB_NR_VCPUS] = nr_vcpus;
	b->mb[MB_NR_PAGES] = b->nr_pages;
	if (vm_start(b->vm) < 0 || pthread_create(&b->loop, NULL, run_loop, b) != 0) {
		fprintf(stderr, "bench-dirty: vm_start: %s\n", b->vm->error);
		goto fail;
	}
	return 0;
fail:
	vm_destroy(b->vm);
	free(b->bits);
	b->vm = NULL;
	return -1;
}

static void bvm_destroy(struct bvm *b)
{
	if (!b->vm)
		return;
	vm_kill(b->vm);
	pthread_join(b->loop, NULL);
	for (unsigned i = 0; b->rings && i < b->vm->nr_vcpus; i++)
		if (b->rings[i])
			munmap(b->rings[i], b->ring_entries * sizeof(struct kvm_dirty_gfn));
	free(b->rings);
	free(b->fetch);
	vm_destroy(b->vm);
	free(b->bits);
	b->vm = NULL;
}

/* The floor's mapping of each vCPU's ring (kvmkit never reads this VM's). */
static int map_rings(struct bvm *b)
{
	long page = sysconf(_SC_PAGESIZE);
	int max = ioctl(b->vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING_ACQ_REL);

	if (max <= 0)
		max = ioctl(b->vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING);
	/* The size kvmkit chose: the largest power of two up to 65536 entries. */
	b->ring_entries = 65536;
	while (b->ring_entries * sizeof(struct kvm_dirty_gfn) > (size_t)max)
		b->ring_entries /= 2;
	b->rings = calloc(b->vm->nr_vcpus, sizeof(*b->rings));
	b->fetch = calloc(b->vm->nr_vcpus, sizeof(*b->fetch));
	if (!b->rings || !b->fetch)
		return -ENOMEM;
	for (unsigned i = 0; i < b->vm->nr_vcpus; i++) {
		void *p = mmap(NULL, b->ring_entries * sizeof(struct kvm_dirty_gfn),
			       PROT_READ | PROT_WRITE, MAP_SHARED, b->vm->vcpus[i]->fd,
			       (off_t)DIRTY_RING_PAGE_OFFSET * page);

		if (p == MAP_FAILED)
			return -errno;
		b->rings[i] = p;
	}
	return 0;
}

/* Has every vCPU dirty the pages of @stride (0: none) and report; returns
 * with the VM paused. */
static int bvm_dirty(struct bvm *b, uint64_t stride)
{
	uint64_t target = atomic_load(&b->sink->nr_writes) + b->vm->nr_vcpus;
	double deadline = now_sec() + WAIT_SEC;

	b->mb[MB_STRIDE] = stride;
	b->mb[MB_MODE] = 0;
	__atomic_store_n(&b->mb[MB_GEN], ++b->gen, __ATOMIC_RELEASE);
	if (vm_resume(b->vm) < 0)
		return -1;
	while (atomic_load(&b->sink->nr_writes) < target) {
		if (now_sec() > deadline || vm_run_state(b->vm) == VM_STATE_ENDED) {
			fprintf(stderr, "bench-dirty: the guest did not finish: %s\n",
				b->vm->error);
			return -1;
		}
		sleep_us(50);
	}
	return vm_pause(b->vm) < 0 ? -1 : 0;
}

static int64_t kvmkit_harvest(struct bvm *b)
{
	char err[256];
	int64_t n = dirty_log_take(b->vm->dirty, false, b->bits, b->nr_words, err, sizeof(err));

	if (n < 0) {
		fprintf(stderr, "bench-dirty: harvest: %s\n", err);
		return n;
	}
	dirty_log_finish(b->vm->dirty, true);
	return n;
}

static uint64_t scan(const uint64_t *bits, size_t n)
{
	uint64_t count = 0;

	for (size_t i = 0; i < n; i++)
		if (bits[i])
			count += (uint64_t)__builtin_popcountll(bits[i]);
	return count;
}

/* The floor: KVM's calls into the consumer's buffer and one scan. */
static int64_t floor_harvest(struct bvm *b, enum dirty_engine_kind engine)
{
	uint64_t count;

	if (engine == DIRTY_ENGINE_RING) {
		uint32_t mask = b->ring_entries - 1;
		uint64_t taken = 0;

		memset(b->bits, 0, b->nr_words * sizeof(uint64_t));
		for (unsigned i = 0; i < b->vm->nr_vcpus; i++) {
			for (;;) {
				struct kvm_dirty_gfn *e = &b->rings[i][b->fetch[i] & mask];

				if (!(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) &
				      KVM_DIRTY_GFN_F_DIRTY))
					break;
				if (e->offset < b->nr_pages)
					b->bits[e->offset / 64] |= 1ULL << (e->offset % 64);
				__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET,
						 __ATOMIC_RELEASE);
				b->fetch[i]++;
				taken++;
			}
		}
		if (taken && ioctl(b->vm->vm_fd, KVM_RESET_DIRTY_RINGS, 0) < 0)
			return -errno;
		return (int64_t)scan(b->bits, b->nr_words);
	}
	struct kvm_dirty_log log = {.slot = 0, .dirty_bitmap = b->bits};

	if (ioctl(b->vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return -errno;
	count = scan(b->bits, b->nr_words);
	if (engine == DIRTY_ENGINE_BITMAP_CLEAR && count) {
		struct kvm_clear_dirty_log clear = {
			.slot = 0,
			.num_pages = (uint32_t)b->nr_pages,
			.first_page = 0,
			.dirty_bitmap = b->bits,
		};

		if (ioctl(b->vm->vm_fd, KVM_CLEAR_DIRTY_LOG, &clear) < 0)
			return -errno;
	}
	return (int64_t)count;
}

struct point {
	const char *name;
	uint64_t stride; /* 0: no page */
};

static const struct point points[] = {
	{"0%", 0},
	{"1%", 100},
	{"10%", 10},
	{"100%", 1},
};

static const struct {
	const char *name;
	enum dirty_engine_kind kind;
} engines[] = {
	{"bitmap", DIRTY_ENGINE_BITMAP},
	{"bitmap+clear", DIRTY_ENGINE_BITMAP_CLEAR},
	{"ring", DIRTY_ENGINE_RING},
};

#define NR_ENGINES (sizeof(engines) / sizeof(engines[0]))
#define NR_POINTS (sizeof(points) / sizeof(points[0]))

static int harvest_engine(const char *guest, unsigned e, uint64_t ram, unsigned rounds)
{
	enum dirty_engine_kind kind = engines[e].kind;
	unsigned nr_vcpus = (unsigned)(ram / GIB) * VCPUS_PER_GIB;
	double gib = (double)ram / (double)GIB;
	struct bvm k, f;
	char err[256];
	int ret = -1;

	if (bvm_create(&k, guest, ram, nr_vcpus, kind) < 0)
		return -1;
	if (bvm_create(&f, guest, ram, nr_vcpus, kind) < 0) {
		bvm_destroy(&k);
		return -1;
	}
	if (kind == DIRTY_ENGINE_RING && map_rings(&f) < 0) {
		fprintf(stderr, "bench-dirty: mapping the rings: %s\n", strerror(errno));
		goto out;
	}
	if (dirty_log_start(k.vm->dirty, false, err, sizeof(err)) < 0 ||
	    dirty_log_start(f.vm->dirty, false, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench-dirty: %s: %s\n", engines[e].name, err);
		goto out;
	}
	for (unsigned p = 0; p < NR_POINTS; p++) {
		double tk[MAX_ROUNDS], tf[MAX_ROUNDS], mk, mf;
		int64_t nk = 0, nf = 0;

		/* Round 0 warms up (first touches, A/D bits) and is not counted. */
		for (unsigned r = 0; r <= rounds; r++) {
			double t0, t1, t2;

			if (bvm_dirty(&k, points[p].stride) < 0 ||
			    bvm_dirty(&f, points[p].stride) < 0)
				goto out;
			if (r % 2) {
				t0 = now_sec();
				nk = kvmkit_harvest(&k);
				t1 = now_sec();
				nf = floor_harvest(&f, kind);
				t2 = now_sec();
				tk[r ? r - 1 : 0] = t1 - t0;
				tf[r ? r - 1 : 0] = t2 - t1;
			} else {
				t0 = now_sec();
				nf = floor_harvest(&f, kind);
				t1 = now_sec();
				nk = kvmkit_harvest(&k);
				t2 = now_sec();
				tf[r ? r - 1 : 0] = t1 - t0;
				tk[r ? r - 1 : 0] = t2 - t1;
			}
			if (nk < 0 || nf < 0) {
				fprintf(stderr, "bench-dirty: harvest failed: %s\n",
					strerror((int)(nk < 0 ? -nk : -nf)));
				goto out;
			}
		}
		mk = median(tk, rounds);
		mf = median(tf, rounds);
		printf("%-12s %5s %8lld %8lld  %9.1f [%7.1f-%7.1f]  %9.1f [%7.1f-%7.1f]  %5.2f\n",
		       engines[e].name, points[p].name, (long long)nf, (long long)nk,
		       mf * 1e6 / gib, tf[0] * 1e6 / gib, tf[rounds - 1] * 1e6 / gib,
		       mk * 1e6 / gib, tk[0] * 1e6 / gib, tk[rounds - 1] * 1e6 / gib, mk / mf);
		fflush(stdout);
	}
	ret = 0;
out:
	bvm_destroy(&k);
	bvm_destroy(&f);
	return ret;
}

/* The guest-cost part: a harvester thread as a migration would run it. */
struct harvester {
	struct bvm *b;
	_Atomic bool stop;
	uint64_t harvests;
	uint64_t pages;
	int error;
};

static void *harvest_loop(void *opaque)
{
	struct harvester *h = opaque;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!atomic_load(&h->stop)) {
		char err[256];
		int64_t n = vm_dirty_take(h->b->vm, h->b->bits, h->b->nr_words, err, sizeof(err));

		if (n < 0) {
			h->error = (int)n;
			break;
		}
		vm_dirty_finish(h->b->vm, true, err, sizeof(err));
		h->harvests++;
		h->pages += (uint64_t)n;
		next.tv_nsec += HARVEST_PERIOD_MS * 1000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
	return NULL;
}

struct guest_result {
	double pages_per_sec;
	double harvested_per_sec;
	double harvests_per_sec;
	uint64_t ring_full_exits;
};

/* @tracking false: the engine is built but never started. */
static int guest_run(const char *guest, uint64_t ram, enum dirty_engine_kind kind, bool tracking,
		     unsigned seconds, struct guest_result *out)
{
	struct harvester h = {0};
	struct dirty_log_counts counts = {0};
	pthread_t thread;
	uint64_t c0, c1;
	double t0, t1, deadline;
	struct bvm b;
	int ret = -1;

	if (bvm_create(&b, guest, ram, 1, kind) < 0)
		return -1;
	b.mb[MB_MODE] = 1;
	__atomic_store_n(&b.mb[MB_GEN], ++b.gen, __ATOMIC_RELEASE);
	/* One lap first: RAM is faulted in before anything is measured. */
	deadline = now_sec() + WAIT_SEC;
	while (__atomic_load_n(&b.mb[MB_COUNTERS], __ATOMIC_RELAXED) < b.nr_pages) {
		if (now_sec() > deadline || vm_run_state(b.vm) == VM_STATE_ENDED) {
			fprintf(stderr, "bench-dirty: the guest did not start: %s\n", b.vm->error);
			goto out;
		}
		sleep_us(1000);
	}
	if (tracking) {
		char err[256];

		if (vm_dirty_start(b.vm, false, err, sizeof(err)) < 0) {
			fprintf(stderr, "bench-dirty: %s\n", err);
			goto out;
		}
		h.b = &b;
		if (pthread_create(&thread, NULL, harvest_loop, &h) != 0)
			goto out;
	}
	c0 = __atomic_load_n(&b.mb[MB_COUNTERS], __ATOMIC_RELAXED);
	t0 = now_sec();
	sleep_us((long)seconds * 1000000L);
	c1 = __atomic_load_n(&b.mb[MB_COUNTERS], __ATOMIC_RELAXED);
	t1 = now_sec();
	if (tracking) {
		atomic_store(&h.stop, true);
		pthread_join(thread, NULL);
		dirty_log_counts(b.vm->dirty, false, &counts);
		free(counts.vcpu_pages);
	}
	if (h.error || vm_run_state(b.vm) == VM_STATE_ENDED) {
		fprintf(stderr, "bench-dirty: the run failed: %s\n", b.vm->error);
		goto out;
	}
	out->pages_per_sec = (double)(c1 - c0) / (t1 - t0);
	out->harvested_per_sec = (double)h.pages / (t1 - t0);
	out->harvests_per_sec = (double)h.harvests / (t1 - t0);
	out->ring_full_exits = counts.ring_full_exits;
	ret = 0;
out:
	bvm_destroy(&b);
	return ret;
}

static int guest_cost(const char *guest, uint64_t ram, unsigned rounds, unsigned seconds)
{
	static const struct {
		const char *name;
		enum dirty_engine_kind kind;
		bool tracking;
	} configs[] = {
		{"off", DIRTY_ENGINE_AUTO, false},
		{"bitmap", DIRTY_ENGINE_BITMAP, true},
		{"bitmap+clear", DIRTY_ENGINE_BITMAP_CLEAR, true},
		{"ring", DIRTY_ENGINE_RING, true},
	};
	enum { NR = sizeof(configs) / sizeof(configs[0]) };
	double rate[NR][MAX_ROUNDS], harvested[NR][MAX_ROUNDS];
	uint64_t full[NR] = {0};

	printf("\nguest cost: 1 vCPU dirtying %.0f MiB page after page, harvests every %d ms, "
	       "%u s per run, %u rounds\n",
	       (double)ram / (1 << 20), HARVEST_PERIOD_MS, seconds, rounds);
	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned j = 0; j < NR; j++) {
			unsigned c = (j + r) % NR; /* rotate the order */
			struct guest_result g;

			if (guest_run(guest, ram, configs[c].kind, configs[c].tracking, seconds,
				      &g) < 0) {
				fprintf(stderr, "bench-dirty: guest cost with %s failed\n",
					configs[c].name);
				return -1;
			}
			rate[c][r] = g.pages_per_sec;
			harvested[c][r] = g.harvested_per_sec;
			full[c] += g.ring_full_exits;
			printf("round %u %-12s %12.0f pages/s  harvested %10.0f pages/s  "
			       "%5.1f harvests/s  ring-full exits %llu\n",
			       r + 1, configs[c].name, g.pages_per_sec, g.harvested_per_sec,
			       g.harvests_per_sec, (unsigned long long)g.ring_full_exits);
			fflush(stdout);
		}
	}
	printf("\n%-12s %14s %21s %12s %14s %10s\n", "tracking", "guest pages/s", "[min-max]",
	       "vs off", "harvested/s", "ring-full");
	double off = 0;
	for (unsigned c = 0; c < NR; c++) {
		double m = median(rate[c], rounds), mh = median(harvested[c], rounds);

		if (c == 0)
			off = m;
		printf("%-12s %14.0f [%9.0f-%9.0f] %11.1f%% %14.0f %10llu\n", configs[c].name, m,
		       rate[c][0], rate[c][rounds - 1], 100.0 * m / off, mh,
		       (unsigned long long)full[c]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *what = "all";
	unsigned rounds = 15, seconds = 3, gib = 1;

	if (argc < 2)
		goto usage;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--gib") == 0 && i + 1 < argc)
			gib = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "harvest") == 0 || strcmp(argv[i], "guest") == 0 ||
			 strcmp(argv[i], "all") == 0)
			what = argv[i];
		else
			goto usage;
	}
	if (gib < 1 || gib > 2 || rounds < 1 || rounds > MAX_ROUNDS - 1 || seconds < 1)
		goto usage;
	log_set_level(LOG_ERROR);
	if (strcmp(what, "guest") != 0) {
		printf("harvest cost per GiB (%u GiB of RAM, %u vCPUs, %u rounds): floor = raw "
		       "KVM calls + one word scan\n",
		       gib, gib * VCPUS_PER_GIB, rounds);
		printf("%-12s %5s %8s %8s  %9s %17s  %9s %17s  %5s\n", "engine", "dirty", "pages",
		       "(kvmkit)", "floor us", "[min-max]", "kvmkit us", "[min-max]", "ratio");
		for (unsigned e = 0; e < NR_ENGINES; e++)
			if (harvest_engine(argv[1], e, (uint64_t)gib * GIB, rounds) < 0)
				return 1;
	}
	if (strcmp(what, "harvest") != 0 &&
	    guest_cost(argv[1], (uint64_t)gib * GIB, rounds < 5 ? rounds : 5, seconds) < 0)
		return 1;
	return 0;
usage:
	fprintf(stderr,
		"usage: %s GUEST [harvest|guest|all] [--gib 1|2] [--rounds N] [--seconds N]\n",
		argv[0]);
	return 2;
}
