/* A set of guest pages, one bitmap per RAM region (the same regions, in the
 * same order, as struct guest_mem: region i is KVM memslot i). It is what the
 * dirty log keeps pending and what a consumer takes: plain words, guarded by
 * whoever owns the set, changed only through these functions, which keep
 * the count of pages (a harvest then needs no pass to count, and an empty
 * set none to clear). Pure logic, unit-tested without KVM. */
#ifndef KVMKIT_DIRTY_SET_H
#define KVMKIT_DIRTY_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

struct dirty_set_region {
	uint64_t gpa;
	uint64_t nr_pages;
	uint64_t *words;   /* (nr_pages + 63) / 64; bits past nr_pages stay 0 */
	size_t first_word; /* where this region starts in the flat layout */
};

struct dirty_set {
	struct dirty_set_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned nr_regions;
	size_t nr_words; /* all regions' words */
	uint64_t nr_set; /* pages in the set */
};

/* An empty set shaped like @mem. -ENOMEM. */
int dirty_set_init(struct dirty_set *set, const struct guest_mem *mem);
void dirty_set_free(struct dirty_set *set);

void dirty_set_clear(struct dirty_set *set);
/* Every page of every region. */
void dirty_set_fill(struct dirty_set *set);

/* Adds page @page of region @region; false (nothing changed) when either is
 * out of range. */
bool dirty_set_add_page(struct dirty_set *set, unsigned region, uint64_t page);

/* ORs @n words into region @region from word @first on; words past the
 * region are ignored, as are bits past its last page. Returns how many of
 * the bits given were set (whether or not already in the set). */
uint64_t dirty_set_or_words(struct dirty_set *set, unsigned region, size_t first,
			    const uint64_t *words, size_t n);

/* @dst |= @src; both shaped alike. */
void dirty_set_merge(struct dirty_set *dst, const struct dirty_set *src);

/* Pages in the set (kept as it changes: no scan). */
uint64_t dirty_set_count(const struct dirty_set *set);

bool dirty_set_test(const struct dirty_set *set, uint64_t gpa);

/* The flat layout, one region's words after another (nr_words in all): the
 * form a consumer's buffer has. Copies min(n, nr_words) words; returns it. */
size_t dirty_set_copy_out(const struct dirty_set *set, uint64_t *out, size_t n);

#endif
