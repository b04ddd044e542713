/* A snapshot on disk: a directory holding two files, written together and
 * replaced atomically (a crash at any point leaves the previous snapshot
 * whole).
 *
 *   state   "KVMKSNAP", then records of vmm/state.h: "snapshot" (format
 *           version, architecture, kvmkit version, snapshot id, the host's
 *           wall clock at save), "config" (the machine's settings, JSON
 *           text), "memory" (the RAM regions and where each lives in the
 *           memory file), "machine" (the vCPU, interrupt controller and
 *           device records, opaque here); then a CRC-32C of everything
 *           before it. Read whole and checked before anything is used.
 *   memory  page 0 is its own header (magic, the snapshot id, its size),
 *           then each RAM region at a page-aligned offset. Zero pages are
 *           holes, so the file is as large as what the guest used. A
 *           restore maps it MAP_PRIVATE: restore time does not grow with the
 *           guest, and pages come in when first touched. Its contents are not
 *           checksummed (that would read every page); its header ties it to
 *           its state file.
 *
 * Pure file handling: no KVM, no VM. */
#ifndef KVMKIT_SNAPSHOT_FILE_H
#define KVMKIT_SNAPSHOT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

#define SNAPSHOT_FORMAT_VERSION 1
#define SNAPSHOT_ID_BYTES 16
#define SNAPSHOT_STATE_FILE "state"
#define SNAPSHOT_MEMORY_FILE "memory"
/* A state file larger than this is refused before it is read. */
#define SNAPSHOT_STATE_MAX (64u << 20)

struct snapshot_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset; /* in the memory file, page aligned */
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
};

/* Writes a snapshot of @mem (every region, in order) with @config and
 * @machine to the directory @path. @arch and @version are this build's;
 * the id is made fresh and the wall clock read here; both are stored back
 * into @info_out when given (with everything else but config and machine,
 * which are left NULL there: the caller has them). Everything goes to a
 * temporary directory next to @path, every file and the directory are
 * fsynced, and only then does it take @path's place (an existing snapshot
 * there is swapped out and removed). Anything at @path that is not a
 * snapshot directory (one holding a "state" file and at most a "memory"
 * file besides) is refused with -EEXIST and left alone. On failure @path is
 * as it was and the temporary directory is gone; the one exception is a
 * failed fsync of @path's parent after the swap, where @path holds the new
 * snapshot. Returns 0 or a negative errno with a message in @err naming the
 * file (-EFBIG: the state would exceed SNAPSHOT_STATE_MAX). */
int snapshot_write(const char *path, const struct guest_mem *mem, const char *arch,
		   const char *version, const char *config, const uint8_t *machine,
		   size_t machine_len, struct snapshot_info *info_out, char *err, size_t errlen);

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
