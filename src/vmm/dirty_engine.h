/* Inside the dirty log (dirty_log.c): the state every engine shares and the
 * table each engine fills (dirty_engine_bitmap.c, dirty_engine_ring.c). Only
 * those three files include it. */
#ifndef KVMKIT_DIRTY_ENGINE_H
#define KVMKIT_DIRTY_ENGINE_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdarg.h>

#include "vmm/config.h"
#include "vmm/dirty_set.h"
#include "vmm/guest_mem.h"

/* Ring size in entries (16 bytes each) unless KVM allows less. */
#define DIRTY_RING_DEFAULT_ENTRIES DIRTY_RING_MAX_ENTRIES
/* "Ring full" exits in a row that find the ring empty before it is deemed
 * overrun (dirty_log_ring_full()). */
#define DIRTY_RING_EMPTY_EXITS_MAX 16

struct dirty_log;

/* Older uapi headers (Debian 12's are Linux 6.1) lack these. */
#ifndef KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP
#define KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP 225
#endif
/* Where a vCPU's ring is mapped in its fd, in pages. The uapi headers define
 * it per architecture and default it to 0 where they know no ring: Debian
 * 12's arm64 headers (Linux 6.1, before the arm64 ring) do, and a ring
 * mapped at 0 is the kvm_run page. Every architecture with a ring uses 64. */
#define DIRTY_RING_PAGE_OFFSET 64
#ifndef KVM_DIRTY_LOG_INITIALLY_SET
#define KVM_DIRTY_LOG_INITIALLY_SET (1 << 1)
#endif

struct dirty_engine_ops {
	enum dirty_engine_kind kind;
	/* On the fresh VM, before memslots and vCPUs. */
	int (*init)(struct dirty_log *dl, char *err, size_t errlen);
	int (*attach_vcpu)(struct dirty_log *dl, unsigned index, int vcpu_fd, char *err,
			   size_t errlen);
	/* The slots have just started logging. @all: pending is full. */
	int (*started)(struct dirty_log *dl, bool all, char *err, size_t errlen);
	/* Moves KVM's record into dl->pending and re-arms write protection for
	 * what it moved; adds to the counts. Under dl->lock. */
	int (*collect)(struct dirty_log *dl, bool final, char *err, size_t errlen);
	/* Optional: the same, while dl->pending is empty, with KVM writing
	 * straight into @out (the consumer's buffer, dirty_set's flat layout),
	 * which then holds exactly what was added to dl->pending. A harvest
	 * then makes one pass over the bits, not three (bench/dirty at 0%). */
	int (*collect_into)(struct dirty_log *dl, uint64_t *out, char *err, size_t errlen);
	/* The slots have just stopped logging: drop what KVM still holds. */
	void (*stopped)(struct dirty_log *dl);
	void (*destroy)(struct dirty_log *dl);
};

extern const struct dirty_engine_ops dirty_engine_bitmap;
extern const struct dirty_engine_ops dirty_engine_bitmap_clear;
extern const struct dirty_engine_ops dirty_engine_ring;

struct dirty_ring {
	struct kvm_dirty_gfn *gfns; /* mmapped from the vCPU fd */
	uint32_t fetch;             /* next entry to read */
	unsigned empty_full_exits;  /* "ring full" exits in a row that found it empty */
};

struct dirty_log {
	const struct dirty_engine_ops *ops;
	int kvm_fd;
	int vm_fd;
	unsigned nr_vcpus;
	struct guest_mem *mem;
	pthread_mutex_t lock;
	bool tracking;
	bool taken; /* a consumer holds taken_set */
	struct dirty_set pending;
	struct dirty_set taken_set;
	uint64_t *scratch; /* the largest region's bitmap, for KVM_GET_DIRTY_LOG */
	size_t scratch_words;

	uint64_t guest_pages;
	uint64_t vmm_pages;
	uint64_t ring_full_exits;
	uint64_t *vcpu_pages; /* ring: per vCPU */

	/* bitmap+clear */
	bool initially_set;
	/* ring */
	struct dirty_ring *rings; /* nr_vcpus */
	uint32_t ring_entries;    /* a power of two */
	bool ring_with_bitmap;
	uint64_t ring_bad_entries;
	bool ring_overrun;
};

/* Formats into @err; returns @ret (a negative errno). */
int dirty_error(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ioctl() on a KVM fd, repeated on EINTR: the result or -errno. The dirty
 * log is not part of the VM (vmm/kvm.h is), so it has its own two lines. */
int dirty_ioctl(int fd, unsigned long request, void *arg);
/* KVM_CHECK_EXTENSION; <= 0 means absent. */
int dirty_cap(int fd, long cap);

/* KVM_GET_DIRTY_LOG of slot @slot into @bits (the slot's words). */
int dirty_get_log(struct dirty_log *dl, unsigned slot, uint64_t *bits, char *err, size_t errlen);

#endif
