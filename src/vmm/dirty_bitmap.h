/* The VMM's own record of guest pages it wrote (device DMA into guest RAM):
 * one bit per 4 KiB page, set with atomic ORs from any thread, collected and
 * cleared word by word. Snapshot and migration OR it with KVM's dirty log,
 * which sees only the guest's own writes. */
#ifndef KVMKIT_DIRTY_BITMAP_H
#define KVMKIT_DIRTY_BITMAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIRTY_PAGE_SHIFT 12

struct dirty_bitmap {
	uint64_t base_gpa;
	uint64_t nr_pages;
	_Atomic uint64_t *words;
	/* Set after every mark: lets a collector skip a bitmap nothing marked
	 * (a harvest then costs no scan of it). */
	_Atomic bool marked;
};

/* For [gpa, gpa+size), page aligned. -EINVAL or -ENOMEM. */
int dirty_bitmap_init(struct dirty_bitmap *bm, uint64_t gpa, uint64_t size);
void dirty_bitmap_free(struct dirty_bitmap *bm);

/* Marks every page that [gpa, gpa+len) touches; the part outside the bitmap is
 * ignored. len 0 marks nothing. Call it after the data is stored, never
 * before: a collect between the mark and the store would lose the page. */
void dirty_bitmap_mark(struct dirty_bitmap *bm, uint64_t gpa, uint64_t len);

bool dirty_bitmap_test(const struct dirty_bitmap *bm, uint64_t gpa);

/* Number of 64-bit words: (nr_pages + 63) / 64. */
size_t dirty_bitmap_words(const struct dirty_bitmap *bm);

/* Whether anything was marked since the last call (or collect), and forgets
 * it: a page marked after this returns false is reported by the next call.
 * A true answer makes the marks visible (acquire). */
bool dirty_bitmap_take_marked(struct dirty_bitmap *bm);

/* Copies up to @n words into @out and clears them, atomically per word, so a
 * page marked meanwhile is never lost. Returns the number of words copied. */
size_t dirty_bitmap_collect(struct dirty_bitmap *bm, uint64_t *out, size_t n);

#endif
