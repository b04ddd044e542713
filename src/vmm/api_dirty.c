/* The public dirty-page tracking calls (include/kvmkit/kvmkit.h) over the
 * VM's dirty log (vmm/vm_dirty.h). */
#include <errno.h>
#include <stdlib.h>

#include "vmm/api.h"
#include "vmm/vm_dirty.h"

/* The call's failure, kind by cause: a wrong state or argument is the
 * caller's, anything KVM refused is the host's. */
static enum kvmkit_error_kind kind_of(int err)
{
	switch (err) {
	case -EALREADY:
	case -ENOTCONN:
	case -EBUSY:
	case -ENOSPC:
	case -ENOENT:
	case -EINVAL: return KVMKIT_ERROR_USAGE;
	}
	return KVMKIT_ERROR_HOST;
}

static int failed(struct kvmkit_vm *h, const char *what, int err, const char *why)
{
	return api_vm_fail(h, kind_of(err), err, "%s: %s", what, why);
}

const char *kvmkit_vm_dirty_engine(struct kvmkit_vm *h)
{
	int ret = 0;
	struct vm *vm = h ? api_running_vm(h, "dirty_engine", &ret) : NULL;

	return vm ? dirty_log_engine_name(vm->dirty) : "";
}

int kvmkit_vm_dirty_start(struct kvmkit_vm *h, unsigned flags)
{
	char why[256];
	struct vm *vm;
	int ret = 0;

	if (!h)
		return -EINVAL;
	if (flags & ~KVMKIT_DIRTY_START_ALL)
		return api_vm_fail(h, KVMKIT_ERROR_USAGE, -EINVAL,
				   "dirty_start: unknown flags 0x%x", flags);
	vm = api_running_vm(h, "dirty_start", &ret);
	if (!vm)
		return ret;
	ret = vm_dirty_start(vm, flags & KVMKIT_DIRTY_START_ALL, why, sizeof(why));
	return ret < 0 ? failed(h, "dirty_start", ret, why) : 0;
}

int kvmkit_vm_dirty_stop(struct kvmkit_vm *h)
{
	char why[256];
	struct vm *vm;
	int ret = 0;

	if (!h)
		return -EINVAL;
	vm = api_running_vm(h, "dirty_stop", &ret);
	if (!vm)
		return ret;
	ret = vm_dirty_stop(vm, why, sizeof(why));
	return ret < 0 ? failed(h, "dirty_stop", ret, why) : 0;
}

size_t kvmkit_vm_dirty_bitmap_words(struct kvmkit_vm *h)
{
	int ret = 0;
	struct vm *vm = h ? api_running_vm(h, "dirty_bitmap_words", &ret) : NULL;

	return vm ? vm_dirty_words(vm) : 0;
}

int64_t kvmkit_vm_dirty_harvest(struct kvmkit_vm *h, uint64_t *bitmap, size_t words)
{
	char why[256];
	struct vm *vm;
	int64_t ret;
	int err = 0;

	if (!h || (!bitmap && words))
		return -EINVAL;
	vm = api_running_vm(h, "dirty_harvest", &err);
	if (!vm)
		return err;
	ret = vm_dirty_take(vm, bitmap, words, why, sizeof(why));
	return ret < 0 ? failed(h, "dirty_harvest", (int)ret, why) : ret;
}

int kvmkit_vm_dirty_finish(struct kvmkit_vm *h, int ok)
{
	char why[256];
	struct vm *vm;
	int ret = 0;

	if (!h)
		return -EINVAL;
	vm = api_running_vm(h, "dirty_finish", &ret);
	if (!vm)
		return ret;
	ret = vm_dirty_finish(vm, ok != 0, why, sizeof(why));
	return ret < 0 ? failed(h, "dirty_finish", ret, why) : 0;
}

int kvmkit_vm_dirty_rate(struct kvmkit_vm *h, unsigned ms, struct kvmkit_dirty_rate *out,
			 double *vcpu_pages_per_sec, unsigned max_vcpus)
{
	struct vm_dirty_rate rate;
	char why[256];
	struct vm *vm;
	int ret = 0;

	if (!h || !out || (!vcpu_pages_per_sec && max_vcpus))
		return -EINVAL;
	if (ms == 0 || ms > 3600 * 1000)
		return api_vm_fail(h, KVMKIT_ERROR_USAGE, -EINVAL,
				   "dirty_rate: %u ms: expected 1 ms to an hour", ms);
	vm = api_running_vm(h, "dirty_rate", &ret);
	if (!vm)
		return ret;
	ret = vm_dirty_rate(vm, ms, &rate, why, sizeof(why));
	if (ret < 0)
		return failed(h, "dirty_rate", ret, why);
	*out = (struct kvmkit_dirty_rate){
		.guest_pages_per_sec = rate.guest_pages_per_sec,
		.vmm_pages_per_sec = rate.vmm_pages_per_sec,
		.seconds = rate.seconds,
		.nr_vcpus = rate.vcpu_pages_per_sec ? rate.nr_vcpus : 0,
	};
	for (unsigned i = 0; i < out->nr_vcpus && i < max_vcpus; i++)
		vcpu_pages_per_sec[i] = rate.vcpu_pages_per_sec[i];
	free(rate.vcpu_pages_per_sec);
	return 0;
}
