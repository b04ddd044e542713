/* A snapshot and the snapshots it lies over: a diff snapshot (a "layer",
 * snapshot_file.h) holds only the pages dirtied since its parent, so its
 * guest is its base's memory with every layer's pages laid on in order.
 * Opening follows the parent paths up to the full snapshot at the bottom
 * and checks each link (the parent must still be the very snapshot the
 * layer was taken over: same id, same memory shape). Pure file handling:
 * no KVM, no VM. */
#ifndef KVMKIT_SNAPSHOT_CHAIN_H
#define KVMKIT_SNAPSHOT_CHAIN_H

#include <stddef.h>

#include "vmm/guest_mem.h"
#include "vmm/snapshot_file.h"

/* The most snapshots a chain may hold, base included: a restore reads every
 * layer, so a longer chain is better taken again as a full snapshot. */
#define SNAPSHOT_CHAIN_MAX 32

struct snapshot_link {
	char *path;
	struct snapshot_info info;
	int mem_fd;
};

struct snapshot_chain {
	struct snapshot_link links[SNAPSHOT_CHAIN_MAX]; /* [0] the base, [n - 1] the top */
	unsigned n;
};

/* Opens the snapshot at @path and, while it is a layer, its parents
 * (snapshot_open() checks each). -EINVAL for a broken link (a parent that
 * was replaced, or of another shape), -ELOOP for a chain longer than
 * SNAPSHOT_CHAIN_MAX, else what snapshot_open() says; the message in @err
 * names the snapshot and the link. Nothing is kept open on failure. */
int snapshot_chain_open(const char *path, const char *arch, const char *version,
			struct snapshot_chain *chain, char *err, size_t errlen);

/* The snapshot asked for. */
const struct snapshot_info *snapshot_chain_top(const struct snapshot_chain *chain);

/* With @mem already holding the base's memory, reads every layer's pages
 * into it, oldest first. @mem's regions must be the chain's. */
int snapshot_chain_apply(const struct snapshot_chain *chain, struct guest_mem *mem, char *err,
			 size_t errlen);

void snapshot_chain_close(struct snapshot_chain *chain);

#endif
