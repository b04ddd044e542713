/* The bitmap engines: KVM keeps a bitmap per memslot.
 *
 * "bitmap": KVM_GET_DIRTY_LOG returns the bitmap, clears it and
 * write-protects every page again, all in one call.
 *
 * "bitmap+clear" (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2): the get only copies;
 * KVM_CLEAR_DIRTY_LOG then clears and re-protects exactly the pages
 * harvested, one chunk per call and only in chunks that had any, so a
 * mostly clean slot costs few calls and each call's TLB flush covers a
 * bounded range. With KVM_DIRTY_LOG_INITIALLY_SET, starting the log does
 * not write-protect the whole slot: every page starts dirty and is
 * protected when first harvested. */
#include <errno.h>
#include <string.h>

#include "vmm/dirty_engine.h"

/* 2^18 pages (1 GiB) per KVM_CLEAR_DIRTY_LOG, as a multiple of 64. */
#define CLEAR_CHUNK_WORDS 4096u

static int bitmap_init(struct dirty_log *dl, char *err, size_t errlen)
{
	(void)dl, (void)err, (void)errlen;
	return 0;
}

static int clear_init(struct dirty_log *dl, char *err, size_t errlen)
{
	int offered = dirty_cap(dl->vm_fd, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
	struct kvm_enable_cap cap = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2};
	int ret;

	if (offered <= 0)
		return dirty_error(err, errlen, -ENOTSUP,
				   "dirty engine bitmap+clear: this host's KVM lacks "
				   "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2");
	cap.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
	if (offered & KVM_DIRTY_LOG_INITIALLY_SET)
		cap.args[0] |= KVM_DIRTY_LOG_INITIALLY_SET;
	ret = dirty_ioctl(dl->vm_fd, KVM_ENABLE_CAP, &cap);
	if (ret < 0)
		return dirty_error(err, errlen, ret,
				   "KVM_ENABLE_CAP(MANUAL_DIRTY_LOG_PROTECT2): %s", strerror(-ret));
	dl->initially_set = cap.args[0] & KVM_DIRTY_LOG_INITIALLY_SET;
	return 0;
}

/* KVM_CLEAR_DIRTY_LOG for the pages set in @bits, words [first, first+n) of
 * slot @slot. */
static int clear_pages(struct dirty_log *dl, unsigned slot, uint64_t nr_pages, size_t first,
		       size_t n, uint64_t *bits, char *err, size_t errlen)
{
	uint64_t first_page = (uint64_t)first * 64;
	uint64_t pages = (uint64_t)n * 64;
	struct kvm_clear_dirty_log clear = {.slot = slot, .dirty_bitmap = bits};
	int ret;

	/* A count that is not a multiple of 64 must end the slot. */
	if (first_page + pages > nr_pages)
		pages = nr_pages - first_page;
	clear.first_page = first_page;
	clear.num_pages = (uint32_t)pages;
	ret = dirty_ioctl(dl->vm_fd, KVM_CLEAR_DIRTY_LOG, &clear);
	if (ret < 0)
		return dirty_error(err, errlen, ret,
				   "KVM_CLEAR_DIRTY_LOG of memslot %u pages %llu+%llu: %s", slot,
				   (unsigned long long)first_page, (unsigned long long)pages,
				   strerror(-ret));
	return 0;
}

static bool any_set(const uint64_t *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (words[i])
			return true;
	return false;
}

/* Clears (re-protects) whatever is set in @bits, slot @slot's words. */
static int clear_harvested(struct dirty_log *dl, unsigned slot, uint64_t *bits, char *err,
			   size_t errlen)
{
	const struct dirty_set_region *r = &dl->pending.regions[slot];
	size_t words = (size_t)((r->nr_pages + 63) / 64);

	for (size_t first = 0; first < words; first += CLEAR_CHUNK_WORDS) {
		size_t n = words - first < CLEAR_CHUNK_WORDS ? words - first : CLEAR_CHUNK_WORDS;
		int ret;

		if (!any_set(bits + first, n))
			continue;
		ret = clear_pages(dl, slot, r->nr_pages, first, n, bits + first, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int clear_started(struct dirty_log *dl, bool all, char *err, size_t errlen)
{
	/* INITIALLY_SET: KVM reports every page and protects none. A consumer
	 * that wants only what changes from now on gets the slots protected now;
	 * one that takes everything first lets the harvests protect them. */
	if (!dl->initially_set || all)
		return 0;
	for (unsigned slot = 0; slot < dl->pending.nr_regions; slot++) {
		size_t words = (size_t)((dl->pending.regions[slot].nr_pages + 63) / 64);
		int ret;

		memset(dl->scratch, 0xff, words * sizeof(uint64_t));
		ret = clear_harvested(dl, slot, dl->scratch, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int bitmap_started(struct dirty_log *dl, bool all, char *err, size_t errlen)
{
	(void)dl, (void)all, (void)err, (void)errlen;
	return 0;
}

/* Each slot's bitmap is got into @out + the slot's place in dirty_set's flat
 * layout, or into the scratch buffer when @out is NULL. */
static int collect(struct dirty_log *dl, bool manual, uint64_t *out, char *err, size_t errlen)
{
	for (unsigned slot = 0; slot < dl->pending.nr_regions; slot++) {
		const struct dirty_set_region *r = &dl->pending.regions[slot];
		size_t words = (size_t)((r->nr_pages + 63) / 64);
		uint64_t *bits = out ? out + r->first_word : dl->scratch;
		int ret = dirty_get_log(dl, slot, bits, err, errlen);
		uint64_t got;

		if (ret < 0)
			return ret;
		got = dirty_set_or_words(&dl->pending, slot, 0, bits, words);
		dl->guest_pages += got;
		/* Protect before anyone reads the pages (the consumer takes them
		 * after this returns): a write after this is reported again. A
		 * slot with nothing dirty costs no second pass (bench/dirty). If
		 * the clear fails, KVM keeps reporting the pages: none is lost. */
		if (manual && got) {
			ret = clear_harvested(dl, slot, bits, err, errlen);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

static int bitmap_collect(struct dirty_log *dl, bool final, char *err, size_t errlen)
{
	(void) final;
	return collect(dl, false, NULL, err, errlen);
}

static int clear_collect(struct dirty_log *dl, bool final, char *err, size_t errlen)
{
	(void) final;
	return collect(dl, true, NULL, err, errlen);
}

static int bitmap_collect_into(struct dirty_log *dl, uint64_t *out, char *err, size_t errlen)
{
	return collect(dl, false, out, err, errlen);
}

static int clear_collect_into(struct dirty_log *dl, uint64_t *out, char *err, size_t errlen)
{
	return collect(dl, true, out, err, errlen);
}

static void nothing_left(struct dirty_log *dl) { (void)dl; }

const struct dirty_engine_ops dirty_engine_bitmap = {
	.kind = DIRTY_ENGINE_BITMAP,
	.init = bitmap_init,
	.started = bitmap_started,
	.collect = bitmap_collect,
	.collect_into = bitmap_collect_into,
	.stopped = nothing_left,
};

const struct dirty_engine_ops dirty_engine_bitmap_clear = {
	.kind = DIRTY_ENGINE_BITMAP_CLEAR,
	.init = clear_init,
	.started = clear_started,
	.collect = clear_collect,
	.collect_into = clear_collect_into,
	.stopped = nothing_left,
};
