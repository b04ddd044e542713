#include "vmm/vm_working_set.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vm_snapshot.h"
#include "vmm/working_set.h"

/* Linux 5.14; not every libc names them. */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
/* Linux 6.11 (x86_64); arm64 later. */
#ifndef KVM_CAP_PRE_FAULT_MEMORY
#define KVM_CAP_PRE_FAULT_MEMORY 236
struct kvm_pre_fault_memory {
	__u64 gpa;
	__u64 size;
	__u64 flags;
	__u64 padding[5];
};
#define KVM_PRE_FAULT_MEMORY _IOWR(KVMIO, 0xd5, struct kvm_pre_fault_memory)
#endif

/* /proc/PID/pagemap: one 64-bit entry per page of the address space. */
#define PAGEMAP_PRESENT (1ULL << 63)
#define PAGEMAP_SWAPPED (1ULL << 62)
#define PAGEMAP_FILE_OR_SHARED (1ULL << 61)
#define PAGEMAP_CHUNK 512

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *top_dir(const struct vm *vm)
{
	const struct vm_restore *rs = vm->cfg.restore;

	return rs->chain.links[rs->chain.n - 1].path;
}

/* madvise(@advice) over every run of @set; stops at the first failure. */
static int populate(struct vm *vm, const struct dirty_set *set, int advice)
{
	for (unsigned i = 0; i < set->nr_regions; i++) {
		uint8_t *host = vm->mem.regions[i].host;
		uint64_t first, count, from = 0;

		while (working_set_next_run(set, i, from, &first, &count)) {
			if (madvise(host + (first << DIRTY_PAGE_SHIFT), count << DIRTY_PAGE_SHIFT,
				    advice) < 0)
				return -errno;
			from = first + count;
		}
	}
	return 0;
}

/* KVM_PRE_FAULT_MEMORY over every run of @set, on vCPU 0: the guest then
 * finds those pages in its stage-2 tables. Counts the pages done in @done. */
static int prefault(struct vm *vm, const struct dirty_set *set, uint64_t *done)
{
	int fd = vm->vcpus[0]->fd;

	for (unsigned i = 0; i < set->nr_regions; i++) {
		uint64_t first, count, from = 0;

		while (working_set_next_run(set, i, from, &first, &count)) {
			struct kvm_pre_fault_memory range = {
				.gpa = set->regions[i].gpa + (first << DIRTY_PAGE_SHIFT),
				.size = count << DIRTY_PAGE_SHIFT,
			};

			/* KVM moves gpa and size on as it goes; EAGAIN and EINTR
			 * only mean "call again". */
			while (range.size) {
				if (ioctl(fd, KVM_PRE_FAULT_MEMORY, &range) < 0 && errno != EINTR &&
				    errno != EAGAIN)
					return -errno;
			}
			*done += count;
			from = first + count;
		}
	}
	return 0;
}

void vm_working_set_prefetch(struct vm *vm)
{
	struct vm_working_set_stats *st = &vm->working_set;
	const struct vm_restore *rs = vm->cfg.restore;
	uint64_t begun = now_ns();
	struct working_set ws;
	char why[512];
	int ret;

	if (!rs || vm->cfg.no_working_set || vm->nr_vcpus == 0)
		return;
	ret = working_set_read(top_dir(vm), rs->info->id, &vm->mem, &ws, why, sizeof(why));
	if (ret == -ENOENT) {
		log_debug("restore: %s has no working set: the guest's pages come in as it "
			  "touches them",
			  top_dir(vm));
		return;
	}
	if (ret < 0) {
		log_warn("restore: working set not used: %s; the guest's pages come in as it "
			 "touches them",
			 why);
		return;
	}
	st->used = true;
	st->touched = dirty_set_count(&ws.touched);
	st->written = dirty_set_count(&ws.written);
	/* The copies first: populating a page for reading and then copying it
	 * would map it twice. */
	ret = populate(vm, &ws.written, MADV_POPULATE_WRITE);
	if (ret == 0)
		ret = populate(vm, &ws.touched, MADV_POPULATE_READ);
	if (ret < 0)
		log_warn("restore: working set: cannot bring its pages in (%s); the rest come "
			 "in as the guest touches them",
			 strerror(-ret));
	if (ret == 0 && kvm_cap(vm->vm_fd, KVM_CAP_PRE_FAULT_MEMORY) > 0) {
		ret = prefault(vm, &ws.touched, &st->prefaulted);
		/* EOPNOTSUPP: KVM has the ioctl but not for this VM (x86_64
		 * without two-dimensional paging): the guest faults them in. */
		if (ret == -EOPNOTSUPP)
			log_debug("restore: working set: KVM_PRE_FAULT_MEMORY: not for this VM");
		else if (ret < 0)
			log_warn("restore: working set: KVM_PRE_FAULT_MEMORY: %s (%llu pages "
				 "mapped before it)",
				 strerror(-ret), (unsigned long long)st->prefaulted);
	}
	st->us = (now_ns() - begun) / 1000;
	log_debug("restore: working set: %llu pages, %llu written, %llu in stage 2, %llu us",
		  (unsigned long long)st->touched, (unsigned long long)st->written,
		  (unsigned long long)st->prefaulted, (unsigned long long)st->us);
	working_set_free(&ws);
}

/* Adds the pages of region @i mapped now to @ws, reading pagemap (@fd). */
static int record_region(struct vm *vm, int fd, unsigned i, struct working_set *ws)
{
	const struct guest_mem_region *r = &vm->mem.regions[i];
	/* Shared RAM (a memfd) shows every page as shared: what the guest
	 * wrote cannot be told from what it read there. */
	bool private = r->fd < 0;
	uint64_t pages = r->size >> DIRTY_PAGE_SHIFT, entries[PAGEMAP_CHUNK];

	for (uint64_t p = 0; p < pages; p += PAGEMAP_CHUNK) {
		uint64_t n = pages - p < PAGEMAP_CHUNK ? pages - p : PAGEMAP_CHUNK;
		uint64_t off = ((uint64_t)(uintptr_t)r->host >> DIRTY_PAGE_SHIFT) + p;
		ssize_t got = pread(fd, entries, n * sizeof(uint64_t), (off_t)(off * 8));

		if (got != (ssize_t)(n * sizeof(uint64_t)))
			return got < 0 ? -errno : -EIO;
		for (uint64_t k = 0; k < n; k++) {
			uint64_t e = entries[k];

			if (!(e & (PAGEMAP_PRESENT | PAGEMAP_SWAPPED)))
				continue;
			dirty_set_add_page(&ws->touched, i, p + k);
			if (private && ((e & PAGEMAP_SWAPPED) || !(e & PAGEMAP_FILE_OR_SHARED)))
				dirty_set_add_page(&ws->written, i, p + k);
		}
	}
	return 0;
}

int vm_working_set_record(struct vm *vm)
{
	const struct vm_restore *rs = vm->cfg.restore;
	struct working_set ws;
	char why[512];
	int fd, ret;

	if (!rs)
		return 0;
	if (sysconf(_SC_PAGESIZE) != (1L << DIRTY_PAGE_SHIFT)) {
		log_warn("--record-working-set: the host's pages are not 4 KiB: nothing recorded");
		return -EOPNOTSUPP;
	}
	ret = working_set_init(&ws, rs->info->id, &vm->mem);
	if (ret < 0) {
		log_warn("--record-working-set: out of memory: nothing recorded");
		return ret;
	}
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		log_warn("--record-working-set: /proc/self/pagemap: %s: nothing recorded",
			 strerror(errno));
		goto out;
	}
	for (unsigned i = 0; ret == 0 && i < vm->mem.nr_regions; i++)
		ret = record_region(vm, fd, i, &ws);
	close(fd);
	if (ret < 0) {
		log_warn("--record-working-set: reading /proc/self/pagemap: %s: nothing recorded",
			 strerror(-ret));
		goto out;
	}
	ret = working_set_write(top_dir(vm), &ws, why, sizeof(why));
	if (ret < 0)
		log_warn("--record-working-set: %s", why);
	else
		log_info("restore: recorded the working set in %s/%s: %llu pages touched, %llu "
			 "written",
			 top_dir(vm), WORKING_SET_FILE,
			 (unsigned long long)dirty_set_count(&ws.touched),
			 (unsigned long long)dirty_set_count(&ws.written));
out:
	working_set_free(&ws);
	return ret;
}
