#include "vmm/vm_dirty.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/vm.h"

/* Every vCPU is outside KVM_RUN and stays there until we are done. */
static bool vcpus_parked(struct vm *vm)
{
	enum vm_run_state state = vm_run_state(vm);

	return state == VM_STATE_PAUSED || atomic_load(&vm->nr_running_vcpus) == 0;
}

/* With --diff-snapshots the tracker's one pending set is the snapshots':
 * a second consumer would take pages a diff needs. */
static int owned_by_snapshots(struct vm *vm, char *err, size_t errlen)
{
	if (!vm->cfg.diff_snapshots)
		return 0;
	snprintf(err, errlen,
		 "dirty tracking serves this VM's diff snapshots (--diff-snapshots); it has no "
		 "room for a second consumer");
	return -EBUSY;
}

int vm_dirty_start(struct vm *vm, bool all, char *err, size_t errlen)
{
	int ret = owned_by_snapshots(vm, err, errlen);

	return ret < 0 ? ret : dirty_log_start(vm->dirty, all, err, errlen);
}

int vm_dirty_stop(struct vm *vm, char *err, size_t errlen)
{
	int ret = owned_by_snapshots(vm, err, errlen);

	return ret < 0 ? ret : dirty_log_stop(vm->dirty, err, errlen);
}

int64_t vm_dirty_take(struct vm *vm, uint64_t *out, size_t n, char *err, size_t errlen)
{
	int ret = owned_by_snapshots(vm, err, errlen);

	return ret < 0 ? ret : dirty_log_take(vm->dirty, vcpus_parked(vm), out, n, err, errlen);
}

int vm_dirty_finish(struct vm *vm, bool ok, char *err, size_t errlen)
{
	int ret = owned_by_snapshots(vm, err, errlen);

	if (ret < 0)
		return ret;
	ret = dirty_log_finish(vm->dirty, ok);

	if (ret < 0)
		snprintf(err, errlen, "no harvest is waiting for its verdict");
	return ret;
}

size_t vm_dirty_words(struct vm *vm) { return dirty_log_words(vm->dirty); }

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int vm_dirty_rate_begin(struct vm *vm, bool *started, double *t0, char *err, size_t errlen)
{
	struct dirty_log_counts counts;
	int ret;

	*started = false;
	if (!dirty_log_tracking(vm->dirty)) {
		ret = dirty_log_start(vm->dirty, false, err, errlen);
		if (ret < 0)
			return ret;
		*started = true;
	}
	/* Count from now: what was recorded before goes to pending, uncounted. */
	ret = dirty_log_collect(vm->dirty, false, err, errlen);
	if (ret == 0) {
		ret = dirty_log_counts(vm->dirty, true, &counts);
		if (ret < 0)
			snprintf(err, errlen, "out of memory");
		else
			free(counts.vcpu_pages);
	}
	if (ret < 0 && *started) {
		char ignored[128];

		dirty_log_stop(vm->dirty, ignored, sizeof(ignored));
		*started = false;
	}
	*t0 = now_sec();
	return ret;
}

int vm_dirty_rate_end(struct vm *vm, bool started, double t0, struct vm_dirty_rate *out, char *err,
		      size_t errlen)
{
	struct dirty_log_counts counts;
	double secs;
	int ret;

	*out = (struct vm_dirty_rate){0};
	ret = dirty_log_collect(vm->dirty, vcpus_parked(vm), err, errlen);
	if (ret == 0) {
		ret = dirty_log_counts(vm->dirty, true, &counts);
		if (ret < 0)
			snprintf(err, errlen, "out of memory");
	}
	if (started) {
		char ignored[128];

		dirty_log_stop(vm->dirty, ignored, sizeof(ignored));
	}
	if (ret < 0)
		return ret;
	secs = now_sec() - t0;
	if (secs <= 0)
		secs = 1e-9;
	out->seconds = secs;
	out->guest_pages_per_sec = (double)counts.guest_pages / secs;
	out->vmm_pages_per_sec = (double)counts.vmm_pages / secs;
	out->nr_vcpus = counts.nr_vcpus;
	if (counts.vcpu_pages) {
		out->vcpu_pages_per_sec = calloc(counts.nr_vcpus, sizeof(double));
		for (unsigned i = 0; out->vcpu_pages_per_sec && i < counts.nr_vcpus; i++)
			out->vcpu_pages_per_sec[i] = (double)counts.vcpu_pages[i] / secs;
		free(counts.vcpu_pages);
	}
	return 0;
}

int vm_dirty_rate(struct vm *vm, unsigned ms, struct vm_dirty_rate *out, char *err, size_t errlen)
{
	struct timespec wait = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	bool started;
	double t0;
	int ret;

	*out = (struct vm_dirty_rate){0};
	ret = vm_dirty_rate_begin(vm, &started, &t0, err, errlen);
	if (ret < 0)
		return ret;
	while (nanosleep(&wait, &wait) < 0 && errno == EINTR)
		;
	return vm_dirty_rate_end(vm, started, t0, out, err, errlen);
}
