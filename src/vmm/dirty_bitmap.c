#include "vmm/dirty_bitmap.h"

#include <errno.h>
#include <stdlib.h>

int dirty_bitmap_init(struct dirty_bitmap *bm, uint64_t gpa, uint64_t size)
{
	const uint64_t page = 1ULL << DIRTY_PAGE_SHIFT;

	*bm = (struct dirty_bitmap){0};
	if (size == 0 || (gpa & (page - 1)) || (size & (page - 1)) || gpa + size < gpa)
		return -EINVAL;
	bm->base_gpa = gpa;
	bm->nr_pages = size >> DIRTY_PAGE_SHIFT;
	bm->words = calloc((bm->nr_pages + 63) / 64, sizeof(*bm->words));
	if (!bm->words)
		return -ENOMEM;
	return 0;
}

void dirty_bitmap_free(struct dirty_bitmap *bm)
{
	free((void *)bm->words);
	*bm = (struct dirty_bitmap){0};
}

void dirty_bitmap_mark(struct dirty_bitmap *bm, uint64_t gpa, uint64_t len)
{
	uint64_t limit, start, end, first, last;

	if (!bm->words || len == 0)
		return;
	/* Clip [gpa, gpa+len) to the bitmap; init ruled out a wrapping limit. */
	limit = bm->base_gpa + (bm->nr_pages << DIRTY_PAGE_SHIFT);
	if (__builtin_add_overflow(gpa, len, &end))
		end = UINT64_MAX;
	start = gpa < bm->base_gpa ? bm->base_gpa : gpa;
	if (end > limit)
		end = limit;
	if (start >= end)
		return;
	first = (start - bm->base_gpa) >> DIRTY_PAGE_SHIFT;
	last = (end - 1 - bm->base_gpa) >> DIRTY_PAGE_SHIFT;
	/* Release: the caller stored the data before marking, and whoever
	 * collects the bit (acquire) and then copies the page must see that
	 * data; a relaxed OR would let a weakly ordered CPU (arm64) publish the
	 * bit first, and the copy taken then would miss the data for good. */
	for (uint64_t p = first; p <= last; p++)
		atomic_fetch_or_explicit(&bm->words[p / 64], 1ULL << (p % 64),
					 memory_order_release);
	/* After the bits: a collector that sees the flag sees them. */
	atomic_store_explicit(&bm->marked, true, memory_order_release);
}

bool dirty_bitmap_take_marked(struct dirty_bitmap *bm)
{
	return atomic_exchange_explicit(&bm->marked, false, memory_order_acq_rel);
}

bool dirty_bitmap_test(const struct dirty_bitmap *bm, uint64_t gpa)
{
	uint64_t p;

	if (!bm->words || gpa < bm->base_gpa)
		return false;
	p = (gpa - bm->base_gpa) >> DIRTY_PAGE_SHIFT;
	if (p >= bm->nr_pages)
		return false;
	return (atomic_load_explicit(&bm->words[p / 64], memory_order_relaxed) >> (p % 64)) & 1;
}

size_t dirty_bitmap_words(const struct dirty_bitmap *bm) { return (bm->nr_pages + 63) / 64; }

size_t dirty_bitmap_collect(struct dirty_bitmap *bm, uint64_t *out, size_t n)
{
	size_t words = dirty_bitmap_words(bm);

	if (n > words)
		n = words;
	dirty_bitmap_take_marked(bm);
	for (size_t i = 0; i < n; i++)
		out[i] = atomic_exchange_explicit(&bm->words[i], 0, memory_order_acq_rel);
	return n;
}
