#include "vmm/snapshot_chain.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/fd_io.h"

#define PAGE 4096u

static bool same_shape(const struct snapshot_info *a, const struct snapshot_info *b)
{
	if (a->nr_regions != b->nr_regions)
		return false;
	for (unsigned i = 0; i < a->nr_regions; i++) {
		if (a->regions[i].gpa != b->regions[i].gpa ||
		    a->regions[i].size != b->regions[i].size)
			return false;
	}
	return true;
}

/* Opens @path into the next free link, the chain's top so far being the
 * layer @child (NULL for the first). */
static int open_link(struct snapshot_chain *chain, const char *path, const char *arch,
		     const char *version, const struct snapshot_link *child, char *err,
		     size_t errlen)
{
	struct snapshot_link *link = &chain->links[chain->n];
	char why[512];
	int ret;

	link->path = strdup(path);
	if (!link->path) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	ret = snapshot_open(path, arch, version, &link->info, &link->mem_fd, why, sizeof(why));
	if (ret < 0) {
		free(link->path);
		link->path = NULL;
		if (child)
			snprintf(err, errlen,
				 "diff snapshot %s lies over %s, which cannot be used: %s",
				 child->path, path, why);
		else
			snprintf(err, errlen, "%s", why);
		return ret;
	}
	chain->n++;
	if (child && memcmp(link->info.id, child->info.layer.parent_id, SNAPSHOT_ID_BYTES)) {
		snprintf(err, errlen,
			 "diff snapshot %s lies over %s, but that is another snapshot now (its id "
			 "differs: it was replaced after the diff was taken)",
			 child->path, path);
		return -EINVAL;
	}
	if (child && !same_shape(&link->info, &child->info)) {
		snprintf(err, errlen,
			 "diff snapshot %s lies over %s, whose memory regions differ from its own",
			 child->path, path);
		return -EINVAL;
	}
	return 0;
}

int snapshot_chain_open(const char *path, const char *arch, const char *version,
			struct snapshot_chain *chain, char *err, size_t errlen)
{
	int ret;

	*chain = (struct snapshot_chain){0};
	ret = open_link(chain, path, arch, version, NULL, err, errlen);
	while (ret == 0 && chain->links[chain->n - 1].info.is_layer) {
		const struct snapshot_link *child = &chain->links[chain->n - 1];

		if (chain->n == SNAPSHOT_CHAIN_MAX) {
			snprintf(err, errlen,
				 "%s: more than %d snapshots lie under one another (a loop, or a "
				 "chain to take again as a full snapshot)",
				 path, SNAPSHOT_CHAIN_MAX);
			ret = -ELOOP;
			break;
		}
		ret = open_link(chain, child->info.layer.parent_path, arch, version, child, err,
				errlen);
	}
	if (ret < 0) {
		snapshot_chain_close(chain);
		return ret;
	}
	/* Base first: the order the layers are laid on. */
	for (unsigned i = 0; i < chain->n / 2; i++) {
		struct snapshot_link t = chain->links[i];

		chain->links[i] = chain->links[chain->n - 1 - i];
		chain->links[chain->n - 1 - i] = t;
	}
	return 0;
}

const struct snapshot_info *snapshot_chain_top(const struct snapshot_chain *chain)
{
	return &chain->links[chain->n - 1].info;
}

/* Lays @link's pages of region @i (bits from @words on) onto @r. */
static int apply_region(const struct snapshot_link *link, unsigned i, const uint64_t *words,
			struct guest_mem_region *r)
{
	const struct snapshot_region *sr = &link->info.regions[i];
	uint64_t pages = sr->size / PAGE, start = 0;
	bool in_run = false;

	for (uint64_t p = 0; p <= pages; p++) {
		bool in = p < pages && (words[p / 64] >> (p % 64)) & 1;
		int ret;

		if (in && !in_run) {
			start = p;
			in_run = true;
		} else if (!in && in_run) {
			ret = pread_exact(link->mem_fd, r->host + start * PAGE, (p - start) * PAGE,
					  sr->offset + start * PAGE);
			if (ret < 0)
				return ret;
			in_run = false;
		}
	}
	return 0;
}

int snapshot_chain_apply(const struct snapshot_chain *chain, struct guest_mem *mem, char *err,
			 size_t errlen)
{
	const struct snapshot_info *base = &chain->links[0].info;

	if (mem->nr_regions != base->nr_regions) {
		snprintf(err, errlen, "the guest has %u memory regions, the snapshot %u",
			 mem->nr_regions, base->nr_regions);
		return -EINVAL;
	}
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		if (mem->regions[i].gpa != base->regions[i].gpa ||
		    mem->regions[i].size != base->regions[i].size) {
			snprintf(err, errlen,
				 "the guest's memory region %u differs from the snapshot's", i);
			return -EINVAL;
		}
	}
	for (unsigned l = 1; l < chain->n; l++) {
		const struct snapshot_link *link = &chain->links[l];
		size_t first_word = 0;

		for (unsigned i = 0; i < mem->nr_regions; i++) {
			int ret = apply_region(link, i, link->info.layer.pages + first_word,
					       &mem->regions[i]);

			if (ret < 0) {
				snprintf(err, errlen, "%s: cannot read its memory file: %s",
					 link->path, strerror(-ret));
				return ret;
			}
			first_word += (size_t)((link->info.regions[i].size / PAGE + 63) / 64);
		}
	}
	return 0;
}

void snapshot_chain_close(struct snapshot_chain *chain)
{
	for (unsigned i = 0; i < chain->n; i++) {
		struct snapshot_link *link = &chain->links[i];

		snapshot_info_free(&link->info);
		if (link->mem_fd >= 0)
			close(link->mem_fd);
		free(link->path);
	}
	chain->n = 0;
}
