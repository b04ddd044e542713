/* Dirty-page tracking: which guest pages changed since a consumer last took
 * them. One interface over two KVM engines:
 *
 *   bitmap  KVM_GET_DIRTY_LOG per memslot; with KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2
 *           the get does not re-protect and KVM_CLEAR_DIRTY_LOG re-arms write
 *           protection only for the pages harvested, a chunk at a time
 *           ("bitmap+clear"; INITIALLY_SET is used where offered).
 *   ring    a ring of dirty GFNs per vCPU (KVM_CAP_DIRTY_LOG_RING or, on
 *           arm64, _ACQ_REL), mmapped, reset with KVM_RESET_DIRTY_RINGS; a
 *           full ring is emptied on its vCPU's thread; with
 *           KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP the backup bitmap (pages KVM
 *           wrote outside any vCPU, e.g. the arm64 vGIC) is read at the final
 *           harvest. Never combined with INITIALLY_SET.
 *
 * Pages kvmkit's own devices write are recorded by guest_mem_mark_dirty()
 * (struct dirty_bitmap in each region) and merged in at every collection, so
 * there is one dirty set.
 *
 * Harvests are transactional: dirty_log_take() hands the pending set to a
 * consumer and starts a new one; dirty_log_finish(ok=false) puts what it took
 * back, so nothing is lost when the consumer fails. Pages are re-protected
 * when they are collected, before the consumer reads them, so a write that
 * comes after is reported again. Thread-safe: one lock. */
#ifndef KVMKIT_DIRTY_LOG_H
#define KVMKIT_DIRTY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/config.h"
#include "vmm/dirty_set.h"
#include "vmm/guest_mem.h"

struct dirty_log;

/* What was reported since tracking started (or the counts were read). */
struct dirty_log_counts {
	uint64_t guest_pages; /* reported by KVM: pages the guest wrote */
	uint64_t vmm_pages;   /* pages kvmkit's devices wrote */
	uint64_t ring_full_exits;
	unsigned nr_vcpus;
	uint64_t *vcpu_pages; /* ring only: per vCPU, nr_vcpus entries; else NULL */
};

/* Chooses and prepares the engine on @vm_fd (@ring_entries: the ring's
 * size, 0 for DIRTY_RING_DEFAULT_ENTRIES): call after KVM_CREATE_VM and
 * before any memslot and vCPU exists (the ring must be enabled first).
 * @kind AUTO picks from the capabilities. Errors come back as -errno with a
 * message in @err. */
int dirty_log_create(int kvm_fd, int vm_fd, enum dirty_engine_kind kind, unsigned ring_entries,
		     unsigned nr_vcpus, struct dirty_log **out, char *err, size_t errlen);
/* Once RAM is registered (slot i is region i of @mem). */
int dirty_log_attach_mem(struct dirty_log *dl, struct guest_mem *mem, char *err, size_t errlen);
/* For each vCPU as it is created (maps its ring). */
int dirty_log_attach_vcpu(struct dirty_log *dl, unsigned index, int vcpu_fd, char *err,
			  size_t errlen);
void dirty_log_destroy(struct dirty_log *dl);

/* "bitmap", "bitmap+clear" or "ring". */
const char *dirty_log_engine_name(const struct dirty_log *dl);
enum dirty_engine_kind dirty_log_engine(const struct dirty_log *dl);
bool dirty_log_tracking(const struct dirty_log *dl);
/* Parses "auto", "bitmap", "bitmap+clear", "ring"; -EINVAL. */
int dirty_engine_parse(const char *text, enum dirty_engine_kind *out);

/* Starts tracking. @all: the pending set starts with every page (a
 * consumer that has copied nothing yet); else empty (the caller copies
 * after this returns). -EALREADY when on. */
int dirty_log_start(struct dirty_log *dl, bool all, char *err, size_t errlen);
/* Stops tracking and forgets what was pending. */
int dirty_log_stop(struct dirty_log *dl, char *err, size_t errlen);

/* Moves what KVM and the devices recorded into the pending set. @final:
 * the vCPUs are parked (the ring engine then also reads KVM's backup
 * bitmap). */
int dirty_log_collect(struct dirty_log *dl, bool final, char *err, size_t errlen);

/* Collects, then hands the pending set to the consumer: copies it into @out
 * (dirty_log_words() words, region after region as in struct dirty_set) and
 * keeps it until dirty_log_finish(). Returns the number of pages, -EBUSY
 * while another harvest is unfinished, -ENOSPC when @n is too small,
 * -ENOTCONN when not tracking. */
int64_t dirty_log_take(struct dirty_log *dl, bool final, uint64_t *out, size_t n, char *err,
		       size_t errlen);
/* The consumer's verdict on what it took: @ok forgets it, else it is
 * pending again. -ENOENT when nothing was taken. */
int dirty_log_finish(struct dirty_log *dl, bool ok);
size_t dirty_log_words(const struct dirty_log *dl);

/* A copy of the counts (free vcpu_pages with free()); @reset starts them
 * again from 0. */
int dirty_log_counts(struct dirty_log *dl, bool reset, struct dirty_log_counts *out);

/* The ring engine, on vCPU @index's thread after KVM_EXIT_DIRTY_RING_FULL:
 * empties the rings so KVM_RUN can go on. */
int dirty_log_ring_full(struct dirty_log *dl, unsigned index, char *err, size_t errlen);

#endif
