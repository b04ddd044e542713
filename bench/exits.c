/* MMIO exits per second: a guest that stores to one MMIO address forever, run
 * (a) by a bare KVM_RUN loop on the main thread that only counts exits and
 * (b) by kvmkit itself: vCPU thread, bus lookup, device lock and dispatch.
 * Both use the same VM setup and alternate in one process, so the ratio is
 * meaningful on a noisy machine. Prints numbers; it is not a test. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "arch/arch.h"
#include "vmm/device.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define MAX_ROUNDS 15

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The store target: nothing but a write counter (device_write counts). */
static int sink_write(struct device *dev, uint64_t offset, const void *data, unsigned len)
{
	(void)dev;
	(void)offset;
	(void)data;
	(void)len;
	return 0;
}

static void sink_destroy(struct device *dev) { free(dev); }

static const struct device_ops sink_ops = {
	.kind = "bench-sink",
	.write = sink_write,
	.destroy = sink_destroy,
};

static uint64_t sink_address(void)
{
	return strcmp(arch_name(), "arm64") == 0 ? 0x0c000000ULL : 0xd0000000ULL;
}

static struct vm *make_vm(const char *guest, unsigned seconds)
{
	struct vm_config cfg;
	struct vm *vm;
	char err[512];
	bool input;

	vm_config_defaults(&cfg);
	cfg.kernel_path = guest;
	cfg.mem_size = 64ULL << 20;
	cfg.console_stdio = false;
	cfg.timeout_sec = seconds;
	if (vm_create(&cfg, &vm, err, sizeof(err), &input) < 0) {
		fprintf(stderr, "bench-exits: %s\n", err);
		return NULL;
	}
	return vm;
}

static double run_bare(const char *guest, unsigned seconds)
{
	struct vm *vm = make_vm(guest, seconds);
	struct vcpu *vcpu;
	uint64_t exits = 0;
	double start, end;

	if (!vm)
		return -1;
	vcpu = vm->vcpus[0];
	start = now_seconds();
	end = start + seconds;
	for (;;) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0 && errno != EINTR) {
			perror("bench-exits: KVM_RUN");
			break;
		}
		if (vcpu->run->exit_reason != KVM_EXIT_MMIO) {
			fprintf(stderr, "bench-exits: unexpected exit %u\n",
				vcpu->run->exit_reason);
			break;
		}
		exits++;
		if ((exits & 1023) == 0 && now_seconds() >= end)
			break;
	}
	end = now_seconds();
	vm_destroy(vm);
	return (double)exits / (end - start);
}

static double run_kvmkit(const char *guest, unsigned seconds)
{
	struct vm *vm = make_vm(guest, seconds);
	struct device *sink;
	double start, elapsed, rate;

	if (!vm)
		return -1;
	sink = calloc(1, sizeof(*sink));
	if (!sink) {
		vm_destroy(vm);
		return -1;
	}
	device_init(sink, &sink_ops, "sink", BUS_MMIO, sink_address(), 4, 0);
	if (vm_add_device(vm, sink) < 0) {
		fprintf(stderr, "bench-exits: %s\n", vm->error);
		vm_destroy(vm);
		return -1;
	}
	start = now_seconds();
	if (vm_run(vm) != VM_EXIT_TIMEOUT)
		fprintf(stderr, "bench-exits: guest stopped early: %s\n", vm->error);
	elapsed = now_seconds() - start;
	rate = (double)atomic_load(&sink->nr_writes) / elapsed;
	vm_destroy(vm);
	return rate;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	double bare[MAX_ROUNDS], full[MAX_ROUNDS], mb, mf;
	unsigned seconds = 2, rounds = 5;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: %s GUEST [SECONDS-PER-RUN] [ROUNDS]\n", argv[0]);
		return 2;
	}
	if (argc > 2)
		seconds = (unsigned)atoi(argv[2]);
	if (argc > 3)
		rounds = (unsigned)atoi(argv[3]);
	if (seconds < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "bench-exits: SECONDS >= 1, ROUNDS 1..%d\n", MAX_ROUNDS);
		return 2;
	}
	log_set_level(LOG_ERROR);
	for (unsigned i = 0; i < rounds; i++) {
		bare[i] = run_bare(argv[1], seconds);
		full[i] = run_kvmkit(argv[1], seconds);
		if (bare[i] <= 0 || full[i] <= 0)
			return 1;
		printf("round %u: bare %.0f exits/s, kvmkit %.0f exits/s\n", i + 1, bare[i],
		       full[i]);
		fflush(stdout);
	}
	mb = median(bare, rounds);
	mf = median(full, rounds);
	printf("bench-exits %s: median bare %.0f exits/s (%.2f us/exit), kvmkit %.0f exits/s "
	       "(%.2f us/exit), kvmkit overhead %.1f%%\n",
	       arch_name(), mb, 1e6 / mb, mf, 1e6 / mf, (mb / mf - 1.0) * 100.0);
	return 0;
}
