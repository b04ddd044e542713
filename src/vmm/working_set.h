/* A snapshot's working set: the guest pages a restored guest touched soon
 * after its restore, recorded once (kvmkit run --restore DIR
 * --record-working-set MS) so that later restores of the same snapshot can
 * bring those pages in before the guest runs, instead of one stage-2 fault
 * (two for a page it writes: a read, then the copy on write) at a time.
 *
 *   DIR/working-set   "KVMKITWS", then a vmm/state.h record "working-set"
 *                     (the snapshot's id, the RAM regions, two page sets in
 *                     vmm/dirty_set.h's flat layout: the pages touched and,
 *                     among them, the pages written), then a CRC-32C of
 *                     everything before it.
 *
 * The file is a hint: it never changes what the guest sees, only when its
 * pages come in. One written for another snapshot, or damaged, is refused
 * by working_set_read() with a message and the caller goes on without it.
 * Pure file handling: no KVM, no VM. */
#ifndef KVMKIT_WORKING_SET_H
#define KVMKIT_WORKING_SET_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/dirty_set.h"
#include "vmm/snapshot_file.h"

#define WORKING_SET_FILE SNAPSHOT_WORKING_SET_FILE
#define WORKING_SET_VERSION 1

struct working_set {
	uint8_t snapshot_id[SNAPSHOT_ID_BYTES];
	struct dirty_set touched; /* every page the guest read or wrote */
	struct dirty_set written; /* the pages of @touched it wrote (a subset) */
};

/* Empty sets shaped like @mem, for the snapshot @id. -ENOMEM. */
int working_set_init(struct working_set *ws, const uint8_t id[SNAPSHOT_ID_BYTES],
		     const struct guest_mem *mem);
void working_set_free(struct working_set *ws);

/* Writes @ws as DIR/working-set: to a temporary file in @dir, fsynced, then
 * renamed over any earlier one and @dir fsynced. Returns 0 or a negative
 * errno with a message naming the file in @err; on failure nothing is left
 * but what was there before. */
int working_set_write(const char *dir, const struct working_set *ws, char *err, size_t errlen);

/* Reads DIR/working-set into @ws (shaped like @mem, which must be the RAM
 * of the snapshot @id) and checks it: magic, CRC, version, the id, every
 * region, written pages among the touched ones. -ENOENT when there is no
 * file; -EINVAL (damaged, cut short) or -ESTALE (another snapshot's, or
 * another RAM layout) with a message naming the file in @err. @ws holds
 * nothing on failure (working_set_free() is then a no-op). */
int working_set_read(const char *dir, const uint8_t id[SNAPSHOT_ID_BYTES],
		     const struct guest_mem *mem, struct working_set *ws, char *err, size_t errlen);

/* The next run of pages of region @region of @set at or after page @from:
 * true with its first page and length, false when there is none. */
bool working_set_next_run(const struct dirty_set *set, unsigned region, uint64_t from,
			  uint64_t *first, uint64_t *count);

#endif
