#include "vmm/guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/fd_io.h"

#define GUEST_PAGE_MASK 0xfffULL
#define GUEST_HUGE_PAGE 0x200000ULL

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int guest_mem_add(struct guest_mem *mem, uint64_t gpa, uint64_t size, void *host)
{
	struct guest_mem_region *r;
	uint64_t end;

	if (size == 0 || (gpa & GUEST_PAGE_MASK) || (size & GUEST_PAGE_MASK) || !host)
		return -EINVAL;
	if (__builtin_add_overflow(gpa, size, &end))
		return -EINVAL;
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *other = &mem->regions[i];

		if (ranges_overlap(gpa, size, other->gpa, other->size))
			return -EEXIST;
	}
	if (mem->nr_regions == GUEST_MEM_MAX_REGIONS)
		return -ENOSPC;
	r = &mem->regions[mem->nr_regions];
	*r = (struct guest_mem_region){
		.gpa = gpa, .size = size, .host = host, .owned = false, .fd = -1};
	if (dirty_bitmap_init(&r->dirty, gpa, size) < 0)
		return -ENOMEM;
	mem->nr_regions++;
	return 0;
}

/* Anonymous memory whose start is 2 MiB aligned: KVM can map guest RAM with
 * huge stage-2 blocks only where host and guest addresses agree modulo the
 * block size, and an unaligned mmap would cost one fault per 4 KiB page. */
static void *map_aligned(uint64_t size)
{
	uint64_t span;
	uint8_t *raw, *aligned;
	uintptr_t head;

	if (__builtin_add_overflow(size, GUEST_HUGE_PAGE, &span))
		return NULL;
	raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	head = (GUEST_HUGE_PAGE - ((uintptr_t)raw & (GUEST_HUGE_PAGE - 1))) & (GUEST_HUGE_PAGE - 1);
	aligned = raw + head;
	if (head)
		munmap(raw, head);
	if (span - head > size)
		munmap(aligned + size, span - head - size);
	return aligned;
}

int guest_mem_alloc(struct guest_mem *mem, uint64_t gpa, uint64_t size)
{
	void *host;
	int ret;

	if (size == 0 || (size & GUEST_PAGE_MASK))
		return -EINVAL;
	host = map_aligned(size);
	if (!host)
		return -ENOMEM;
	/* Transparent huge pages cut stage-2 faults; a refusal is harmless. */
	madvise(host, size, MADV_HUGEPAGE);
	ret = guest_mem_add(mem, gpa, size, host);
	if (ret < 0) {
		munmap(host, size);
		return ret;
	}
	mem->regions[mem->nr_regions - 1].owned = true;
	return 0;
}

int guest_mem_alloc_memfd(struct guest_mem *mem, uint64_t gpa, uint64_t size)
{
	void *host, *mapped;
	int fd, ret;

	if (size == 0 || (size & GUEST_PAGE_MASK))
		return -EINVAL;
	fd = memfd_create("kvmkit-ram", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	host = map_aligned(size);
	if (!host) {
		close(fd);
		return -ENOMEM;
	}
	mapped = mmap(host, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (mapped == MAP_FAILED) {
		ret = -errno;
		munmap(host, size);
		close(fd);
		return ret;
	}
	/* shmem takes huge pages where /sys/kernel/mm/transparent_hugepage/
	 * shmem_enabled says advise; a refusal is harmless. */
	madvise(host, size, MADV_HUGEPAGE);
	ret = guest_mem_add(mem, gpa, size, host);
	if (ret < 0) {
		munmap(host, size);
		close(fd);
		return ret;
	}
	mem->regions[mem->nr_regions - 1].owned = true;
	mem->regions[mem->nr_regions - 1].fd = fd;
	return 0;
}

int guest_mem_load_file(const struct guest_mem *mem, uint64_t gpa, uint64_t size, int fd,
			uint64_t offset)
{
	uint8_t *host = guest_mem_ptr(mem, gpa, size);
	uint64_t end, pos = offset;
	int ret;

	if (!host || size == 0)
		return -EFAULT;
	if (__builtin_add_overflow(offset, size, &end) || end > (uint64_t)INT64_MAX)
		return -EINVAL;
	while (pos < end) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA), hole;

		/* ENXIO: no data after pos, the rest is a hole. */
		if (data < 0)
			return errno == ENXIO ? 0 : -errno;
		if ((uint64_t)data >= end)
			return 0;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		if ((uint64_t)hole > end)
			hole = (off_t)end;
		ret = pread_exact(fd, host + ((uint64_t)data - offset), (uint64_t)(hole - data),
				  (uint64_t)data);
		if (ret < 0)
			return ret;
		pos = (uint64_t)hole;
	}
	return 0;
}

int guest_mem_map_file(struct guest_mem *mem, uint64_t gpa, uint64_t size, int fd, uint64_t offset)
{
	void *host, *mapped;
	int ret;

	if (size == 0 || (size & GUEST_PAGE_MASK) || (offset & GUEST_PAGE_MASK))
		return -EINVAL;
	/* Reserve an aligned range first, for the same reason as above. */
	host = map_aligned(size);
	if (!host)
		return -ENOMEM;
	mapped = mmap(host, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE,
		      fd, (off_t)offset);
	if (mapped == MAP_FAILED) {
		ret = -errno;
		munmap(host, size);
		return ret;
	}
	ret = guest_mem_add(mem, gpa, size, host);
	if (ret < 0) {
		munmap(host, size);
		return ret;
	}
	mem->regions[mem->nr_regions - 1].owned = true;
	return 0;
}

void guest_mem_release(struct guest_mem *mem)
{
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		struct guest_mem_region *r = &mem->regions[i];

		if (r->owned)
			munmap(r->host, r->size);
		if (r->fd >= 0)
			close(r->fd);
		dirty_bitmap_free(&r->dirty);
	}
	mem->nr_regions = 0;
}

const struct guest_mem_region *guest_mem_region_of(const struct guest_mem *mem, uint64_t gpa)
{
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	const struct guest_mem_region *r = guest_mem_region_of(mem, gpa);
	uint64_t offset;

	if (!r)
		return NULL;
	if (len == 0)
		len = 1;
	offset = gpa - r->gpa;
	/* offset < size holds, so size - offset cannot underflow. */
	if (len > r->size - offset)
		return NULL;
	return r->host + offset;
}

void guest_mem_mark_dirty(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	const struct guest_mem_region *r = guest_mem_region_of(mem, gpa);

	if (r)
		dirty_bitmap_mark((struct dirty_bitmap *)&r->dirty, gpa, len);
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, size_t len)
{
	void *dst = guest_mem_ptr(mem, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	guest_mem_mark_dirty(mem, gpa, len);
	return 0;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, size_t len)
{
	const void *src = guest_mem_ptr(mem, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}
