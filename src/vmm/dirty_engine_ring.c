/* The ring engine: KVM appends each page a vCPU dirties (slot, offset) to
 * that vCPU's ring, shared with us by mmap. We read entries in order from
 * our fetch index while their DIRTY flag is set, mark each RESET, and
 * KVM_RESET_DIRTY_RINGS re-protects the pages of every RESET entry. The
 * flags are the handshake: read with acquire, written with release (the
 * ACQ_REL capability states that contract; arm64 offers only it).
 *
 * A ring that fills makes KVM_RUN exit with KVM_EXIT_DIRTY_RING_FULL; the
 * vCPU's thread then empties the rings (dirty_log_ring_full()) before it
 * runs again. Pages KVM writes outside any vCPU (the arm64 vGIC's tables)
 * go to a backup bitmap when KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP is on; it
 * is read at the final harvest, once the vCPUs are parked. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/dirty_engine.h"

static size_t ring_bytes(const struct dirty_log *dl)
{
	return (size_t)dl->ring_entries * sizeof(struct kvm_dirty_gfn);
}

static int enable(struct dirty_log *dl, long cap, uint64_t arg, const char *name, char *err,
		  size_t errlen)
{
	struct kvm_enable_cap req = {.cap = (uint32_t)cap, .args = {arg}};
	int ret = dirty_ioctl(dl->vm_fd, KVM_ENABLE_CAP, &req);

	if (ret < 0)
		return dirty_error(err, errlen, ret, "KVM_ENABLE_CAP(%s): %s", name,
				   strerror(-ret));
	return 0;
}

static int ring_init(struct dirty_log *dl, char *err, size_t errlen)
{
	long cap = KVM_CAP_DIRTY_LOG_RING_ACQ_REL;
	const char *cap_name = "DIRTY_LOG_RING_ACQ_REL";
	int max = dirty_cap(dl->vm_fd, cap);
	size_t bytes;
	int ret;

	if (max <= 0) {
		cap = KVM_CAP_DIRTY_LOG_RING;
		cap_name = "DIRTY_LOG_RING";
		max = dirty_cap(dl->vm_fd, cap);
	}
	if (max <= 0)
		return dirty_error(
			err, errlen, -ENOTSUP,
			"dirty engine ring: this host's KVM offers no dirty ring "
			"(KVM_CAP_DIRTY_LOG_RING_ACQ_REL and KVM_CAP_DIRTY_LOG_RING are 0)");
	/* A power of two of at least a page (the option checked both). */
	bytes = (size_t)dl->ring_entries * sizeof(struct kvm_dirty_gfn);
	if (bytes > (size_t)max)
		return dirty_error(err, errlen, -ENOTSUP,
				   "dirty ring of %u entries: this host's KVM allows at most %zu",
				   dl->ring_entries, (size_t)max / sizeof(struct kvm_dirty_gfn));
	if (bytes < (size_t)sysconf(_SC_PAGESIZE))
		return dirty_error(err, errlen, -EINVAL, "dirty ring of %u entries: under a page",
				   dl->ring_entries);
	ret = enable(dl, cap, bytes, cap_name, err, errlen);
	if (ret < 0)
		return ret;
	dl->ring_entries = (uint32_t)(bytes / sizeof(struct kvm_dirty_gfn));
	if (dirty_cap(dl->vm_fd, KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP) > 0) {
		ret = enable(dl, KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP, 0,
			     "DIRTY_LOG_RING_WITH_BITMAP", err, errlen);
		if (ret < 0)
			return ret;
		dl->ring_with_bitmap = true;
	}
	dl->rings = calloc(dl->nr_vcpus, sizeof(*dl->rings));
	dl->vcpu_pages = calloc(dl->nr_vcpus, sizeof(*dl->vcpu_pages));
	if (!dl->rings || !dl->vcpu_pages)
		return dirty_error(err, errlen, -ENOMEM, "dirty rings: out of memory");
	return 0;
}

static int ring_attach_vcpu(struct dirty_log *dl, unsigned index, int vcpu_fd, char *err,
			    size_t errlen)
{
	long page = sysconf(_SC_PAGESIZE);
	void *gfns = mmap(NULL, ring_bytes(dl), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd,
			  (off_t)DIRTY_RING_PAGE_OFFSET * page);

	if (gfns == MAP_FAILED)
		return dirty_error(err, errlen, -errno, "vcpu%u: mmap of its dirty ring: %s", index,
				   strerror(errno));
	dl->rings[index] = (struct dirty_ring){.gfns = gfns};
	return 0;
}

static int ring_started(struct dirty_log *dl, bool all, char *err, size_t errlen)
{
	(void)dl, (void)all, (void)err, (void)errlen;
	return 0;
}

/* Adds one entry's page; an entry naming no page we have (never expected of
 * KVM) makes every page dirty rather than lose one. */
static void add_entry(struct dirty_log *dl, uint32_t slot, uint64_t offset)
{
	unsigned as_id = slot >> 16, id = slot & 0xffff;

	if (as_id == 0 && dirty_set_add_page(&dl->pending, id, offset))
		return;
	dl->ring_bad_entries++;
	dirty_set_fill(&dl->pending);
}

/* Reads vCPU @index's ring; returns the entries taken. */
static uint64_t harvest_ring(struct dirty_log *dl, unsigned index)
{
	struct dirty_ring *ring = &dl->rings[index];
	uint32_t mask = dl->ring_entries - 1;
	uint64_t taken = 0;

	if (!ring->gfns)
		return 0;
	for (;;) {
		struct kvm_dirty_gfn *e = &ring->gfns[ring->fetch & mask];
		uint32_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);

		if (!(flags & KVM_DIRTY_GFN_F_DIRTY))
			break;
		add_entry(dl, e->slot, e->offset);
		__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
		ring->fetch++;
		taken++;
		/* A full lap: KVM stops at a full ring, so this is the end. */
		if (taken == dl->ring_entries)
			break;
	}
	return taken;
}

static int ring_collect(struct dirty_log *dl, bool final, char *err, size_t errlen)
{
	uint64_t total = 0;
	int ret;

	for (unsigned i = 0; i < dl->nr_vcpus; i++) {
		uint64_t n = harvest_ring(dl, i);

		dl->vcpu_pages[i] += n;
		if (n)
			dl->rings[i].empty_full_exits = 0;
		total += n;
	}
	dl->guest_pages += total;
	if (total) {
		ret = dirty_ioctl(dl->vm_fd, KVM_RESET_DIRTY_RINGS, NULL);
		if (ret < 0)
			return dirty_error(err, errlen, ret, "KVM_RESET_DIRTY_RINGS: %s",
					   strerror(-ret));
	}
	if (!final || !dl->ring_with_bitmap)
		return 0;
	for (unsigned slot = 0; slot < dl->pending.nr_regions; slot++) {
		size_t words = (size_t)((dl->pending.regions[slot].nr_pages + 63) / 64);

		ret = dirty_get_log(dl, slot, dl->scratch, err, errlen);
		if (ret < 0)
			return ret;
		dl->guest_pages += dirty_set_or_words(&dl->pending, slot, 0, dl->scratch, words);
	}
	return 0;
}

static void ring_stopped(struct dirty_log *dl)
{
	char ignored[128];

	/* Entries written before logging stopped belong to no one now. */
	ring_collect(dl, false, ignored, sizeof(ignored));
}

static void ring_destroy(struct dirty_log *dl)
{
	for (unsigned i = 0; dl->rings && i < dl->nr_vcpus; i++)
		if (dl->rings[i].gfns)
			munmap(dl->rings[i].gfns, ring_bytes(dl));
	free(dl->rings);
	dl->rings = NULL;
}

const struct dirty_engine_ops dirty_engine_ring = {
	.kind = DIRTY_ENGINE_RING,
	.init = ring_init,
	.attach_vcpu = ring_attach_vcpu,
	.started = ring_started,
	.collect = ring_collect,
	.stopped = ring_stopped,
	.destroy = ring_destroy,
};
