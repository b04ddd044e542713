/* Counts the CPU cycles of a known loop at EL0 with perf_event_open: the L2
 * Linux's proof that kvmkit's --pmu gave it a working PMU (the nested-pmu
 * case; l2-init test=pmu runs it from /dev/vda). Only cycles: QEMU's TCG
 * PMU (the L1 here) counts INST_RETIRED only with -icount, so L2's KVM PMU
 * does not offer it (perf_event_open of instructions: ENOENT). Prints
 *     KVMKIT-L2-PMU-COUNT cycles=N loops=L
 * and exits 0 when the loop took at least a cycle per ten iterations, 1
 * (with the reason) otherwise. */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOOPS 1000000

static int open_counter(uint64_t config, const char *name)
{
	struct perf_event_attr attr;
	long fd;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_HARDWARE;
	attr.config = config;
	attr.disabled = 1;
	attr.exclude_kernel = 1;
	attr.exclude_hv = 1;
	fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
	if (fd < 0)
		printf("KVMKIT-L2-PMU-COUNT FAIL perf_event_open(%s): %s\n", name, strerror(errno));
	return (int)fd;
}

static int read_counter(int fd, uint64_t *value, const char *name)
{
	if (read(fd, value, sizeof(*value)) != (ssize_t)sizeof(*value)) {
		printf("KVMKIT-L2-PMU-COUNT FAIL read(%s): %s\n", name, strerror(errno));
		return -1;
	}
	return 0;
}

int main(void)
{
	uint64_t cycles = 0;
	volatile uint64_t sink = 0;
	int cfd = open_counter(PERF_COUNT_HW_CPU_CYCLES, "cycles");

	if (cfd < 0)
		return 1;
	ioctl(cfd, PERF_EVENT_IOC_ENABLE, 0);
	for (unsigned i = 0; i < LOOPS; i++)
		sink += i;
	ioctl(cfd, PERF_EVENT_IOC_DISABLE, 0);
	if (read_counter(cfd, &cycles, "cycles") < 0)
		return 1;
	printf("KVMKIT-L2-PMU-COUNT cycles=%llu loops=%u\n", (unsigned long long)cycles, LOOPS);
	/* Each iteration is several instructions (a load, an add and a store
	 * of the volatile, the loop's own): far more than a tenth of a cycle. */
	if (cycles < LOOPS / 10) {
		printf("KVMKIT-L2-PMU-COUNT FAIL the counters did not count the loop\n");
		return 1;
	}
	return 0;
}
