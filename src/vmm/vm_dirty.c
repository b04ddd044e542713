#include "vmm/vm_dirty.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/vm.h"

static int fail(struct vm *vm, int ret, const char *what, const char *why)
{
	return vm_error(vm, ret, "dirty tracking: %s: %s", what, why);
}

/* Every vCPU is outside KVM_RUN and stays there until we are done. */
static bool vcpus_parked(struct vm *vm)
{
	enum vm_run_state state = vm_run_state(vm);

	return state == VM_STATE_PAUSED || atomic_load(&vm->nr_running_vcpus) == 0;
}

int vm_dirty_start(struct vm *vm, bool all)
{
	char why[256];
	int ret = dirty_log_start(vm->dirty, all, why, sizeof(why));

	return ret < 0 ? fail(vm, ret, "start", why) : 0;
}

int vm_dirty_stop(struct vm *vm)
{
	char why[256];
	int ret = dirty_log_stop(vm->dirty, why, sizeof(why));

	return ret < 0 ? fail(vm, ret, "stop", why) : 0;
}

int64_t vm_dirty_take(struct vm *vm, uint64_t *out, size_t n)
{
	char why[256];
	int64_t ret = dirty_log_take(vm->dirty, vcpus_parked(vm), out, n, why, sizeof(why));

	return ret < 0 ? fail(vm, (int)ret, "harvest", why) : ret;
}

int vm_dirty_finish(struct vm *vm, bool ok)
{
	int ret = dirty_log_finish(vm->dirty, ok);

	return ret < 0 ? fail(vm, ret, "finish", "no harvest was taken") : 0;
}

size_t vm_dirty_words(struct vm *vm) { return dirty_log_words(vm->dirty); }

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int vm_dirty_rate(struct vm *vm, unsigned ms, struct vm_dirty_rate *out)
{
	struct timespec wait = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	struct dirty_log_counts counts;
	bool started = false;
	double t0, secs;
	char why[256];
	int ret;

	*out = (struct vm_dirty_rate){0};
	if (!dirty_log_tracking(vm->dirty)) {
		ret = dirty_log_start(vm->dirty, false, why, sizeof(why));
		if (ret < 0)
			return fail(vm, ret, "dirty rate", why);
		started = true;
	}
	/* Counts from now: what was recorded before goes to pending, uncounted. */
	ret = dirty_log_collect(vm->dirty, false, why, sizeof(why));
	if (ret == 0)
		ret = dirty_log_counts(vm->dirty, true, &counts);
	if (ret < 0)
		goto out;
	free(counts.vcpu_pages);
	t0 = now_sec();
	while (nanosleep(&wait, &wait) < 0 && errno == EINTR)
		;
	ret = dirty_log_collect(vm->dirty, vcpus_parked(vm), why, sizeof(why));
	if (ret == 0)
		ret = dirty_log_counts(vm->dirty, true, &counts);
	if (ret < 0)
		goto out;
	secs = now_sec() - t0;
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
out:
	if (started)
		dirty_log_stop(vm->dirty, why, sizeof(why));
	if (ret < 0)
		return fail(vm, ret, "dirty rate", ret == -ENOMEM ? "out of memory" : why);
	return 0;
}
