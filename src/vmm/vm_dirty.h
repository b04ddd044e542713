/* Dirty-page tracking of a VM (vmm/dirty_log.h), for the library, the
 * control socket and tests: errors become the VM's message, and a harvest
 * knows when it is final (every vCPU parked). */
#ifndef KVMKIT_VM_DIRTY_H
#define KVMKIT_VM_DIRTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/dirty_log.h"

struct vm;

int vm_dirty_start(struct vm *vm, bool all);
int vm_dirty_stop(struct vm *vm);
/* Harvests into @out (vm_dirty_words() words); returns the page count. */
int64_t vm_dirty_take(struct vm *vm, uint64_t *out, size_t n);
int vm_dirty_finish(struct vm *vm, bool ok);
size_t vm_dirty_words(struct vm *vm);

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
int vm_dirty_rate(struct vm *vm, unsigned ms, struct vm_dirty_rate *out);

#endif
