/* A snapshot on disk: a directory holding two files, written together and
 * replaced atomically (a crash at any point leaves the previous snapshot
 * whole).
 *
 *   state   "KVMKSNAP", then records of vmm/state.h: "snapshot" (format
 *           version, architecture, kvmkit version, snapshot id, the host's
 *           wall clock at save), "config" (the machine's settings, JSON
 *           text), "memory" (the RAM regions and where each lives in the
 *           memory file), "machine" (the vCPU, interrupt controller and
 *           device records, opaque here), and for a diff snapshot "layer"
 *           (its parent's id and path, and which pages it holds); then a
 *           CRC-32C of everything before it. Read whole and checked before
 *           anything is used.
 *   memory  page 0 is its own header (magic, the snapshot id, its size),
 *           then each RAM region at a 2 MiB-aligned offset (any page-aligned
 *           one is read), so that huge pages of the file map whole
 *           blocks of guest RAM. Zero pages are
 *           holes, so the file is as large as what the guest used. A
 *           restore maps it MAP_PRIVATE: restore time does not grow with the
 *           guest, and pages come in when first touched. Its contents are not
 *           checksummed (that would read every page); its header ties it to
 *           its state file. A diff snapshot's memory file has the same
 *           shape but holds only its layer's pages (the others are holes
 *           that mean "the parent's"; a page of the layer that is a hole is
 *           a zero page).
 *
 * Pure file handling: no KVM, no VM. */
#ifndef KVMKIT_SNAPSHOT_FILE_H
#define KVMKIT_SNAPSHOT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

#define SNAPSHOT_FORMAT_VERSION 1
#define SNAPSHOT_ID_BYTES 16
#define SNAPSHOT_STATE_FILE "state"
#define SNAPSHOT_MEMORY_FILE "memory"
/* A snapshot directory may also hold its working set (vmm/working_set.h),
 * written after the snapshot by a restore that recorded it, and while that
 * is written, a temporary "working-set.tmp-XXXXXX" beside it. */
#define SNAPSHOT_WORKING_SET_FILE "working-set"
/* A state file larger than this is refused before it is read. */
#define SNAPSHOT_STATE_MAX (64u << 20)

struct snapshot_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset; /* in the memory file, page aligned */
};

/* What makes a snapshot a diff: the snapshot it lies over and the pages it
 * holds, one bit per 4 KiB page in the flat layout of vmm/dirty_set.h
 * (region after region, each starting on a word). */
struct snapshot_layer {
	uint8_t parent_id[SNAPSHOT_ID_BYTES];
	char *parent_path; /* absolute; owned when read */
	uint64_t *pages;   /* owned when read */
	size_t nr_words;
	uint64_t nr_pages; /* bits set in @pages */
};

struct snapshot_info {
	uint32_t format_version;
	char arch[16];
	char kvmkit_version[64];
	uint8_t id[SNAPSHOT_ID_BYTES];
	uint64_t saved_realtime_ns; /* the host's CLOCK_REALTIME when saved */
	struct snapshot_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned nr_regions;
	uint64_t memory_size; /* of the memory file */
	char *config;         /* JSON text, NUL-terminated; owned */
	size_t config_len;
	uint8_t *machine; /* state.h records; owned */
	size_t machine_len;
	bool is_layer; /* a diff snapshot: @layer says over what */
	struct snapshot_layer layer;
};

/* What snapshot_write() writes. */
struct snapshot_content {
	const struct guest_mem *mem;
	const char *arch;    /* this build's */
	const char *version; /* this build's */
	const char *config;  /* JSON text; NULL is "" */
	const uint8_t *machine;
	size_t machine_len;
	const struct snapshot_layer *layer; /* NULL: a full snapshot */
	/* Set from another thread, the write stops early with -ECANCELED
	 * and leaves nothing behind; NULL: never. */
	const _Atomic bool *cancel;
};

/* Words of the flat page bitmap of @mem (vmm/dirty_set.h's layout). */
size_t snapshot_layer_words(const struct guest_mem *mem);

/* Writes a snapshot of @c->mem (every region, in order; for a diff only the
 * pages of @c->layer) with @c->config and @c->machine to the directory
 * @path. The id is made fresh and the wall clock read here; both are stored back
 * into @info_out when given (with everything else but config and machine,
 * which are left NULL there: the caller has them). Everything goes to a
 * temporary directory next to @path, every file and the directory are
 * fsynced, and only then does it take @path's place (an existing snapshot
 * there is swapped out and removed). Anything at @path that is not a
 * snapshot directory (one holding a "state" file and at most a "memory"
 * file and working-set files besides) is refused with -EEXIST and left alone. On failure @path is
 * as it was and the temporary directory is gone; the one exception is a
 * failed fsync of @path's parent after the swap, where @path holds the new
 * snapshot. Returns 0 or a negative errno with a message in @err naming the
 * file (-EFBIG: the state would exceed SNAPSHOT_STATE_MAX). */
int snapshot_write(const char *path, const struct snapshot_content *c,
		   struct snapshot_info *info_out, char *err, size_t errlen);

/* Reads and checks the snapshot at @path: the state file's magic, CRC,
 * format version, architecture (@arch) and kvmkit version (@version) must
 * match, every record be whole, the memory file's header carry the same id
 * and its size be the one the state file records. Fills @info (free with
 * snapshot_info_free()) and returns the memory file opened read-only in
 * @mem_fd. -EINVAL (corrupt, truncated), -ENOENT (missing file), -EPROTO
 * (another format, architecture or version) with a message in @err that
 * names the file and what was wrong. Nothing is returned on failure. */
int snapshot_open(const char *path, const char *arch, const char *version,
		  struct snapshot_info *info, int *mem_fd, char *err, size_t errlen);

void snapshot_info_free(struct snapshot_info *info);

/* CRC-32C (Castagnoli) of @len bytes, continuing from @crc (0 to start). */
uint32_t snapshot_crc32c(uint32_t crc, const void *data, size_t len);

#endif
