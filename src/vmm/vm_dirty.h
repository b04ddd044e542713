/* Dirty-page tracking of a VM (vmm/dirty_log.h), for the library, the
 * control socket and tests: a harvest knows when it is final (every vCPU
 * parked). Errors are -errno with the reason in @err: they belong to the
 * call, not to the VM (whose error is what ended it). */
#ifndef KVMKIT_VM_DIRTY_H
#define KVMKIT_VM_DIRTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/dirty_log.h"

struct vm;

int vm_dirty_start(struct vm *vm, bool all, char *err, size_t errlen);
int vm_dirty_stop(struct vm *vm, char *err, size_t errlen);
/* Harvests into @out (vm_dirty_words() words); returns the page count. */
int64_t vm_dirty_take(struct vm *vm, uint64_t *out, size_t n, char *err, size_t errlen);
int vm_dirty_finish(struct vm *vm, bool ok, char *err, size_t errlen);
size_t vm_dirty_words(struct vm *vm);

/* The longest window a rate is measured over. */
#define DIRTY_RATE_MAX_SEC 3600

/* Pages written per second, measured over @ms milliseconds on the calling
 * thread (tracking is started for the measurement and stopped after when it
 * was off; a consumer's pending pages are kept when it was on). */
struct vm_dirty_rate {
	double guest_pages_per_sec;
	double vmm_pages_per_sec;
	unsigned nr_vcpus;
	double *vcpu_pages_per_sec; /* ring only, else NULL; free() it */
	double seconds;
};
int vm_dirty_rate(struct vm *vm, unsigned ms, struct vm_dirty_rate *out, char *err, size_t errlen);

/* The measurement in two halves, for the loop (the control socket), which
 * must not sleep: begin, and later end with what begin returned in
 * @started (tracking was off and is stopped by the end). */
int vm_dirty_rate_begin(struct vm *vm, bool *started, double *t0, char *err, size_t errlen);
int vm_dirty_rate_end(struct vm *vm, bool started, double t0, struct vm_dirty_rate *out, char *err,
		      size_t errlen);

#endif
