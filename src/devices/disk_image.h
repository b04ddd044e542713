/* A raw disk image on the host: a regular file or a block device whose size
 * is a whole number of 512-byte sectors. Reads and writes are all-or-nothing
 * from the caller's view (short transfers are retried; a transfer that cannot
 * complete is an error). With O_DIRECT, buffers the kernel would refuse
 * (address or length not aligned as the file system requires) go through an
 * aligned bounce buffer. Not thread-safe: one thread (the device's worker)
 * uses an image at a time. */
#ifndef KVMKIT_DISK_IMAGE_H
#define KVMKIT_DISK_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

#define DISK_SECTOR_SIZE 512

struct disk_image {
	int fd;
	uint64_t size; /* bytes, a multiple of DISK_SECTOR_SIZE */
	bool read_only;
	bool direct;
	bool regular; /* a regular file, which may shrink under us */
	/* With direct: what O_DIRECT needs of buffer addresses and lengths
	 * (mem_align) and of file offsets (offset_align); both powers of two. */
	uint32_t mem_align;
	uint32_t offset_align;
	uint8_t *bounce; /* DISK_BOUNCE_SIZE bytes aligned to mem_align, on first use */
};

/* Opens @path (read-only or read-write, O_DIRECT if @direct) and takes an
 * advisory lock on it (shared when read-only), so that two VMs cannot write
 * one image. Returns 0, or a negative errno with a message naming @path in
 * @err: not found, not a regular file or block device, size not a multiple
 * of 512, no O_DIRECT on this file system, locked by another process. */
int disk_image_open(struct disk_image *d, const char *path, bool read_only, bool direct, char *err,
		    size_t errlen);

void disk_image_close(struct disk_image *d);

/* Reads or writes the whole of @iov at byte @offset. The caller has checked
 * that [offset, offset + total) lies inside the image and that offset and
 * total are multiples of 512. Returns 0 or a negative errno (-EROFS for a
 * write to a read-only image, -EINVAL for a direct request whose offset is
 * not aligned as O_DIRECT needs). A file that shrank since it was opened
 * gives -EIO for a read or write past its new end: a read does not make up
 * zeroes, a write does not grow the file back around a hole. */
int disk_image_read(struct disk_image *d, uint64_t offset, const struct iovec *iov, int iovcnt);
int disk_image_write(struct disk_image *d, uint64_t offset, const struct iovec *iov, int iovcnt);

/* Data written so far reaches stable storage (fdatasync). */
int disk_image_flush(struct disk_image *d);

/* Lets the host forget [offset, offset + len) (punches a hole). A file system
 * that cannot is not an error: discarding is a hint. */
int disk_image_discard(struct disk_image *d, uint64_t offset, uint64_t len);

/* Makes [offset, offset + len) read as zeroes: a hole when @may_unmap, else
 * zeroes allocated in place; by writing zeroes where the file system offers
 * neither. -EIO past the end of a file that shrank, as for a write. */
int disk_image_write_zeroes(struct disk_image *d, uint64_t offset, uint64_t len, bool may_unmap);

/* Whether an image whose modification time is @now is the one that had
 * @saved: the same time, or the same time at the precision the copying tool
 * kept (busybox cp -p, tar and scp -p keep whole seconds, utimes(2)
 * microseconds), the copy's finer digits then being zero. A change made
 * later gets a time of its own. */
bool disk_image_same_mtime(struct timespec saved, struct timespec now);

#endif
