#include "vmm/dirty_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/dirty_engine.h"

static const struct dirty_engine_ops *engine_ops(enum dirty_engine_kind kind)
{
	switch (kind) {
	case DIRTY_ENGINE_BITMAP: return &dirty_engine_bitmap;
	case DIRTY_ENGINE_BITMAP_CLEAR: return &dirty_engine_bitmap_clear;
	case DIRTY_ENGINE_RING: return &dirty_engine_ring;
	case DIRTY_ENGINE_AUTO: break;
	}
	return NULL;
}

static const char *const engine_names[] = {
	[DIRTY_ENGINE_AUTO] = "auto",
	[DIRTY_ENGINE_BITMAP] = "bitmap",
	[DIRTY_ENGINE_BITMAP_CLEAR] = "bitmap+clear",
	[DIRTY_ENGINE_RING] = "ring",
};

int dirty_engine_parse(const char *text, enum dirty_engine_kind *out)
{
	for (unsigned i = 0; i < sizeof(engine_names) / sizeof(engine_names[0]); i++) {
		if (strcmp(text, engine_names[i]) == 0) {
			*out = (enum dirty_engine_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* The bitmap with KVM_CLEAR_DIRTY_LOG where KVM offers it, else the plain
 * bitmap: bench/dirty measured both against the ring (see its README). */
static enum dirty_engine_kind choose_engine(int vm_fd)
{
	if (dirty_cap(vm_fd, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) > 0)
		return DIRTY_ENGINE_BITMAP_CLEAR;
	return DIRTY_ENGINE_BITMAP;
}

int dirty_log_create(int kvm_fd, int vm_fd, enum dirty_engine_kind kind, unsigned ring_entries,
		     unsigned nr_vcpus, struct dirty_log **out, char *err, size_t errlen)
{
	struct dirty_log *dl;
	int ret;

	*out = NULL;
	if (kind == DIRTY_ENGINE_AUTO)
		kind = choose_engine(vm_fd);
	dl = calloc(1, sizeof(*dl));
	if (!dl)
		return dirty_error(err, errlen, -ENOMEM, "dirty log: out of memory");
	dl->ops = engine_ops(kind);
	dl->kvm_fd = kvm_fd;
	dl->vm_fd = vm_fd;
	dl->nr_vcpus = nr_vcpus;
	dl->ring_entries = ring_entries ? ring_entries : DIRTY_RING_DEFAULT_ENTRIES;
	pthread_mutex_init(&dl->lock, NULL);
	ret = dl->ops->init(dl, err, errlen);
	if (ret < 0) {
		dirty_log_destroy(dl);
		return ret;
	}
	*out = dl;
	return 0;
}

int dirty_log_attach_mem(struct dirty_log *dl, struct guest_mem *mem, char *err, size_t errlen)
{
	size_t largest = 0;
	int ret;

	dl->mem = mem;
	ret = dirty_set_init(&dl->pending, mem);
	if (ret == 0)
		ret = dirty_set_init(&dl->taken_set, mem);
	if (ret < 0)
		return dirty_error(err, errlen, ret, "dirty log: out of memory for its bitmaps");
	for (unsigned i = 0; i < dl->pending.nr_regions; i++) {
		size_t words = (size_t)((dl->pending.regions[i].nr_pages + 63) / 64);

		if (words > largest)
			largest = words;
	}
	dl->scratch = calloc(largest ? largest : 1, sizeof(uint64_t));
	dl->scratch_words = largest;
	if (!dl->scratch)
		return dirty_error(err, errlen, -ENOMEM,
				   "dirty log: out of memory for its bitmaps");
	return 0;
}

int dirty_log_attach_vcpu(struct dirty_log *dl, unsigned index, int vcpu_fd, char *err,
			  size_t errlen)
{
	if (index >= dl->nr_vcpus)
		return dirty_error(err, errlen, -EINVAL, "dirty log: vcpu%u beyond the %u planned",
				   index, dl->nr_vcpus);
	if (!dl->ops->attach_vcpu)
		return 0;
	return dl->ops->attach_vcpu(dl, index, vcpu_fd, err, errlen);
}

void dirty_log_destroy(struct dirty_log *dl)
{
	if (!dl)
		return;
	if (dl->ops && dl->ops->destroy)
		dl->ops->destroy(dl);
	dirty_set_free(&dl->pending);
	dirty_set_free(&dl->taken_set);
	free(dl->scratch);
	free(dl->vcpu_pages);
	pthread_mutex_destroy(&dl->lock);
	free(dl);
}

const char *dirty_log_engine_name(const struct dirty_log *dl)
{
	return engine_names[dl->ops->kind];
}

enum dirty_engine_kind dirty_log_engine(const struct dirty_log *dl) { return dl->ops->kind; }

bool dirty_log_tracking(const struct dirty_log *dl)
{
	bool on;

	pthread_mutex_lock((pthread_mutex_t *)&dl->lock);
	on = dl->tracking;
	pthread_mutex_unlock((pthread_mutex_t *)&dl->lock);
	return on;
}

size_t dirty_log_words(const struct dirty_log *dl) { return dl->pending.nr_words; }

/* Every memslot logs dirty pages, or none does. */
static int set_slots_logging(struct dirty_log *dl, bool on, char *err, size_t errlen)
{
	for (unsigned slot = 0; slot < dl->mem->nr_regions; slot++) {
		const struct guest_mem_region *r = &dl->mem->regions[slot];
		struct kvm_userspace_memory_region region = {
			.slot = slot,
			.flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};
		int ret = dirty_ioctl(dl->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);

		if (ret < 0)
			return dirty_error(err, errlen, ret, "%s dirty logging on memslot %u: %s",
					   on ? "starting" : "stopping", slot, strerror(-ret));
	}
	return 0;
}

/* Pages the devices wrote, into pending. A region no device marked since
 * the last collection is not scanned (bench/dirty: at 0% dirty the scan
 * alone cost a third of a harvest); in one that was, a word is exchanged
 * only when it has a bit set: most are 0, and an atomic exchange costs more
 * than a load. */
static void collect_vmm_writes(struct dirty_log *dl, bool keep)
{
	for (unsigned i = 0; i < dl->mem->nr_regions; i++) {
		struct dirty_bitmap *bm = &dl->mem->regions[i].dirty;
		size_t words = dirty_bitmap_words(bm);

		if (!dirty_bitmap_take_marked(bm))
			continue;
		for (size_t w = 0; w < words; w++) {
			uint64_t bits;

			if (!atomic_load_explicit(&bm->words[w], memory_order_relaxed))
				continue;
			bits = atomic_exchange_explicit(&bm->words[w], 0, memory_order_acq_rel);
			if (keep)
				dl->vmm_pages += dirty_set_or_words(&dl->pending, i, w, &bits, 1);
		}
	}
}

int dirty_log_start(struct dirty_log *dl, bool all, char *err, size_t errlen)
{
	int ret;

	pthread_mutex_lock(&dl->lock);
	if (dl->tracking) {
		ret = dirty_error(err, errlen, -EALREADY, "dirty tracking is already on");
		goto out;
	}
	dirty_set_clear(&dl->pending);
	dirty_set_clear(&dl->taken_set);
	dl->taken = false;
	ret = set_slots_logging(dl, true, err, errlen);
	if (ret < 0)
		goto out;
	ret = dl->ops->started(dl, all, err, errlen);
	if (ret < 0) {
		char ignored[128];

		set_slots_logging(dl, false, ignored, sizeof(ignored));
		goto out;
	}
	/* Earlier device writes are in whatever the consumer copies next. */
	collect_vmm_writes(dl, false);
	if (all)
		dirty_set_fill(&dl->pending);
	dl->guest_pages = dl->vmm_pages = dl->ring_full_exits = 0;
	if (dl->vcpu_pages)
		memset(dl->vcpu_pages, 0, dl->nr_vcpus * sizeof(uint64_t));
	dl->tracking = true;
out:
	pthread_mutex_unlock(&dl->lock);
	return ret;
}

int dirty_log_stop(struct dirty_log *dl, char *err, size_t errlen)
{
	int ret = 0;

	pthread_mutex_lock(&dl->lock);
	if (!dl->tracking) {
		ret = dirty_error(err, errlen, -ENOTCONN, "dirty tracking is not on");
		goto out;
	}
	ret = set_slots_logging(dl, false, err, errlen);
	if (ret < 0)
		goto out;
	dl->ops->stopped(dl);
	dl->tracking = false;
	dl->ring_overrun = false;
	dl->taken = false;
	dirty_set_clear(&dl->pending);
	dirty_set_clear(&dl->taken_set);
out:
	pthread_mutex_unlock(&dl->lock);
	return ret;
}

/* Collects into dl->pending; with @out (the consumer's buffer, dl->pending
 * empty and the engine able to) KVM writes straight into @out, which is
 * left equal to dl->pending. Returns 1 when it did, 0 when @out is
 * untouched. */
static int collect_locked(struct dirty_log *dl, bool final, uint64_t *out, char *err, size_t errlen)
{
	uint64_t before;
	int ret;

	/* Pages were lost: no set from here on can be trusted. */
	if (dl->ring_overrun)
		return dirty_error(
			err, errlen, -EOVERFLOW,
			"KVM overran a dirty ring and pages were lost: stop tracking and "
			"start again with a full copy");
	if (!out || !dl->ops->collect_into || dirty_set_count(&dl->pending)) {
		ret = dl->ops->collect(dl, final, err, errlen);
		/* Device writes after KVM's: a device marks a page after writing
		 * it, so what it wrote before this point is in the set either way. */
		collect_vmm_writes(dl, true);
		return ret < 0 ? ret : 0;
	}
	ret = dl->ops->collect_into(dl, out, err, errlen);
	before = dirty_set_count(&dl->pending);
	collect_vmm_writes(dl, true);
	if (ret < 0)
		return ret;
	/* A page only the devices wrote is not in @out yet. */
	if (dirty_set_count(&dl->pending) != before)
		dirty_set_copy_out(&dl->pending, out, dl->pending.nr_words);
	return 1;
}

int dirty_log_collect(struct dirty_log *dl, bool final, char *err, size_t errlen)
{
	int ret;

	pthread_mutex_lock(&dl->lock);
	if (!dl->tracking)
		ret = dirty_error(err, errlen, -ENOTCONN, "dirty tracking is not on");
	else
		ret = collect_locked(dl, final, NULL, err, errlen);
	pthread_mutex_unlock(&dl->lock);
	return ret;
}

int64_t dirty_log_take(struct dirty_log *dl, bool final, uint64_t *out, size_t n, char *err,
		       size_t errlen)
{
	struct dirty_set swap;
	int64_t ret;

	pthread_mutex_lock(&dl->lock);
	if (!dl->tracking) {
		ret = dirty_error(err, errlen, -ENOTCONN, "dirty tracking is not on");
		goto out;
	}
	if (dl->taken) {
		ret = dirty_error(err, errlen, -EBUSY,
				  "the last harvest was not finished (ok or failed) yet");
		goto out;
	}
	if (n < dl->pending.nr_words) {
		ret = dirty_error(err, errlen, -ENOSPC,
				  "a harvest needs %zu words of bitmap, the buffer has %zu",
				  dl->pending.nr_words, n);
		goto out;
	}
	ret = collect_locked(dl, final, out, err, errlen);
	if (ret < 0)
		goto out; /* what was collected stays pending */
	if (!ret)
		dirty_set_copy_out(&dl->pending, out, n);
	ret = (int64_t)dirty_set_count(&dl->pending);
	/* The consumer's set is the pending one; a fresh one starts empty. */
	swap = dl->taken_set;
	dl->taken_set = dl->pending;
	dl->pending = swap;
	dirty_set_clear(&dl->pending);
	dl->taken = true;
out:
	pthread_mutex_unlock(&dl->lock);
	return ret;
}

int dirty_log_finish(struct dirty_log *dl, bool ok)
{
	int ret = 0;

	pthread_mutex_lock(&dl->lock);
	if (!dl->taken)
		ret = -ENOENT;
	else {
		if (!ok)
			dirty_set_merge(&dl->pending, &dl->taken_set);
		dirty_set_clear(&dl->taken_set);
		dl->taken = false;
	}
	pthread_mutex_unlock(&dl->lock);
	return ret;
}

int dirty_log_counts(struct dirty_log *dl, bool reset, struct dirty_log_counts *out)
{
	*out = (struct dirty_log_counts){0};
	pthread_mutex_lock(&dl->lock);
	out->guest_pages = dl->guest_pages;
	out->vmm_pages = dl->vmm_pages;
	out->ring_full_exits = dl->ring_full_exits;
	out->nr_vcpus = dl->nr_vcpus;
	if (dl->vcpu_pages) {
		out->vcpu_pages = malloc(dl->nr_vcpus * sizeof(uint64_t));
		if (!out->vcpu_pages) {
			pthread_mutex_unlock(&dl->lock);
			return -ENOMEM;
		}
		memcpy(out->vcpu_pages, dl->vcpu_pages, dl->nr_vcpus * sizeof(uint64_t));
	}
	if (reset) {
		dl->guest_pages = dl->vmm_pages = dl->ring_full_exits = 0;
		if (dl->vcpu_pages)
			memset(dl->vcpu_pages, 0, dl->nr_vcpus * sizeof(uint64_t));
	}
	pthread_mutex_unlock(&dl->lock);
	return 0;
}

int dirty_log_ring_full(struct dirty_log *dl, unsigned index, char *err, size_t errlen)
{
	int ret;

	/* Every ring is emptied: one KVM_RESET_DIRTY_RINGS serves all. */
	pthread_mutex_lock(&dl->lock);
	dl->ring_full_exits++;
	ret = dl->ops->collect(dl, false, err, errlen);
	/* Another thread may have emptied the ring just before this exit, once.
	 * A ring that says "full" again and again with nothing in it was
	 * overrun: KVM let the vCPU run past the ring's soft limit and
	 * entries were lost, which no harvest can make up for. */
	if (ret == 0 && index < dl->nr_vcpus && dl->rings &&
	    ++dl->rings[index].empty_full_exits > DIRTY_RING_EMPTY_EXITS_MAX) {
		dl->ring_overrun = true;
		ret = dirty_error(err, errlen, -EOVERFLOW,
				  "KVM overran the dirty ring of vcpu%u (%u entries): pages were "
				  "lost; this host's KVM cannot track with the ring",
				  index, dl->ring_entries);
	}
	/* Entries left from before a stop are not anyone's to keep. */
	if (!dl->tracking)
		dirty_set_clear(&dl->pending);
	pthread_mutex_unlock(&dl->lock);
	return ret;
}
