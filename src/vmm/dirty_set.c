#include "vmm/dirty_set.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t words_for(uint64_t pages) { return (size_t)((pages + 63) / 64); }

/* The bits of word @w of a region that stand for pages it has. */
static uint64_t valid_mask(const struct dirty_set_region *r, size_t w)
{
	uint64_t rest = r->nr_pages - (uint64_t)w * 64;

	return rest >= 64 ? ~0ULL : (1ULL << rest) - 1;
}

int dirty_set_init(struct dirty_set *set, const struct guest_mem *mem)
{
	*set = (struct dirty_set){0};
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		struct dirty_set_region *r = &set->regions[i];

		r->gpa = mem->regions[i].gpa;
		r->nr_pages = mem->regions[i].size >> DIRTY_PAGE_SHIFT;
		r->first_word = set->nr_words;
		r->words = calloc(words_for(r->nr_pages) ? words_for(r->nr_pages) : 1,
				  sizeof(*r->words));
		set->nr_regions = i + 1;
		if (!r->words) {
			dirty_set_free(set);
			return -ENOMEM;
		}
		set->nr_words += words_for(r->nr_pages);
	}
	return 0;
}

void dirty_set_free(struct dirty_set *set)
{
	for (unsigned i = 0; i < set->nr_regions; i++)
		free(set->regions[i].words);
	*set = (struct dirty_set){0};
}

void dirty_set_clear(struct dirty_set *set)
{
	if (set->nr_set == 0)
		return; /* every word is 0 already */
	set->nr_set = 0;
	for (unsigned i = 0; i < set->nr_regions; i++)
		memset(set->regions[i].words, 0,
		       words_for(set->regions[i].nr_pages) * sizeof(uint64_t));
}

void dirty_set_fill(struct dirty_set *set)
{
	set->nr_set = 0;
	for (unsigned i = 0; i < set->nr_regions; i++) {
		struct dirty_set_region *r = &set->regions[i];

		for (size_t w = 0; w < words_for(r->nr_pages); w++)
			r->words[w] = valid_mask(r, w);
		set->nr_set += r->nr_pages;
	}
}

bool dirty_set_add_page(struct dirty_set *set, unsigned region, uint64_t page)
{
	struct dirty_set_region *r;

	if (region >= set->nr_regions)
		return false;
	r = &set->regions[region];
	if (page >= r->nr_pages)
		return false;
	if (!(r->words[page / 64] & (1ULL << (page % 64)))) {
		r->words[page / 64] |= 1ULL << (page % 64);
		set->nr_set++;
	}
	return true;
}

uint64_t dirty_set_or_words(struct dirty_set *set, unsigned region, size_t first,
			    const uint64_t *words, size_t n)
{
	struct dirty_set_region *r;
	uint64_t count = 0;
	size_t total;

	if (region >= set->nr_regions)
		return 0;
	r = &set->regions[region];
	total = words_for(r->nr_pages);
	if (first >= total)
		return 0;
	if (n > total - first)
		n = total - first;
	for (size_t i = 0; i < n; i++) {
		uint64_t bits, fresh;

		if (!words[i])
			continue; /* most words, mostly: test before anything else */
		bits = words[i] & valid_mask(r, first + i);
		fresh = bits & ~r->words[first + i];
		r->words[first + i] |= bits;
		count += (uint64_t)__builtin_popcountll(bits);
		if (fresh)
			set->nr_set += (uint64_t)__builtin_popcountll(fresh);
	}
	return count;
}

void dirty_set_merge(struct dirty_set *dst, const struct dirty_set *src)
{
	unsigned n = dst->nr_regions < src->nr_regions ? dst->nr_regions : src->nr_regions;

	for (unsigned i = 0; i < n; i++)
		dirty_set_or_words(dst, i, 0, src->regions[i].words,
				   words_for(src->regions[i].nr_pages));
}

uint64_t dirty_set_count(const struct dirty_set *set) { return set->nr_set; }

bool dirty_set_test(const struct dirty_set *set, uint64_t gpa)
{
	for (unsigned i = 0; i < set->nr_regions; i++) {
		const struct dirty_set_region *r = &set->regions[i];
		uint64_t page;

		if (gpa < r->gpa)
			continue;
		page = (gpa - r->gpa) >> DIRTY_PAGE_SHIFT;
		if (page < r->nr_pages)
			return (r->words[page / 64] >> (page % 64)) & 1;
	}
	return false;
}

size_t dirty_set_copy_out(const struct dirty_set *set, uint64_t *out, size_t n)
{
	size_t done = 0;

	if (set->nr_set == 0) {
		done = n < set->nr_words ? n : set->nr_words;
		memset(out, 0, done * sizeof(uint64_t));
		return done;
	}
	for (unsigned i = 0; i < set->nr_regions && done < n; i++) {
		size_t words = words_for(set->regions[i].nr_pages);

		if (words > n - done)
			words = n - done;
		memcpy(out + done, set->regions[i].words, words * sizeof(uint64_t));
		done += words;
	}
	return done;
}
