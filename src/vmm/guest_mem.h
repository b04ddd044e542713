/* Guest physical memory: a small set of non-overlapping regions, each backed by
 * host memory. Every guest-supplied address is translated by guest_mem_ptr(),
 * which checks the whole range, with overflow, against a single region. */
#ifndef KVMKIT_GUEST_MEM_H
#define KVMKIT_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/dirty_bitmap.h"

#define GUEST_MEM_MAX_REGIONS 8

struct guest_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
	bool owned; /* mmapped by guest_mem_alloc(), unmapped by guest_mem_release() */
	int fd;     /* the memfd behind it (guest_mem_alloc_memfd()), else -1 */
	struct dirty_bitmap dirty; /* pages the VMM wrote */
};

struct guest_mem {
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned nr_regions;
};

/* Records a region backed by @host, with a dirty bitmap. Returns -EINVAL for a
 * zero size, a range that wraps or an unaligned (4 KiB) start or size, -EEXIST
 * if it overlaps a region already present, -ENOSPC when the table is full,
 * -ENOMEM. */
int guest_mem_add(struct guest_mem *mem, uint64_t gpa, uint64_t size, void *host);

/* Maps anonymous memory for [gpa, gpa+size) and records it. -ENOMEM on failure. */
int guest_mem_alloc(struct guest_mem *mem, uint64_t gpa, uint64_t size);

/* The same, backed by a memfd of its own mapped shared (region->fd), so that
 * another process given the fd sees and writes the guest's RAM. -ENOMEM, or
 * memfd_create()'s, ftruncate()'s or mmap()'s errno. */
int guest_mem_alloc_memfd(struct guest_mem *mem, uint64_t gpa, uint64_t size);

/* Copies @size bytes of @fd from @offset into the RAM at [gpa, gpa+size),
 * reading only the file's data (its holes are left as the RAM has them,
 * zero in fresh RAM): a snapshot's memory loaded eagerly, into a memfd.
 * Past the file's end is a hole too (the caller checked its size). -EFAULT
 * if the range is not RAM, -EIO if the file shrinks meanwhile, or lseek()'s
 * or pread()'s errno. */
int guest_mem_load_file(const struct guest_mem *mem, uint64_t gpa, uint64_t size, int fd,
			uint64_t offset);

/* Maps @size bytes of @fd from @offset (both page aligned) privately at
 * [gpa, gpa+size) and records it: pages are read from the file when first
 * touched and copied when first written, the file never changes (a restored
 * snapshot's memory). -EINVAL, -ENOMEM, or mmap()'s errno. */
int guest_mem_map_file(struct guest_mem *mem, uint64_t gpa, uint64_t size, int fd, uint64_t offset);

/* Unmaps what the guest_mem_alloc*() and guest_mem_map_file() calls mapped,
 * closes their memfds and empties the table. */
void guest_mem_release(struct guest_mem *mem);

/* Host pointer for [gpa, gpa+len) or NULL unless the whole range lies inside one
 * region. len 0 is treated as 1 so that a zero-length access still needs a valid gpa. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Records that the VMM wrote [gpa, gpa+len) (device DMA through a pointer from
 * guest_mem_ptr()). guest_mem_write() does it by itself. */
void guest_mem_mark_dirty(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copies between host buffers and guest memory; -EFAULT if the range is not RAM. */
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, size_t len);
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, size_t len);

/* The region containing @gpa, or NULL. */
const struct guest_mem_region *guest_mem_region_of(const struct guest_mem *mem, uint64_t gpa);

#endif
