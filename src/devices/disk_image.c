#include "devices/disk_image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bounce buffer and zero-writing chunk: large enough to amortise a syscall,
 * small enough to keep per-disk memory modest. */
#define DISK_BOUNCE_SIZE (1u << 20)
/* When the file system does not say what O_DIRECT needs of buffers, assume
 * a page: bouncing costs a copy, guessing too low costs an I/O error. */
#define DISK_DEFAULT_MEM_ALIGN 4096

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

static int image_size(int fd, const struct stat *st, uint64_t *size)
{
	if (S_ISREG(st->st_mode)) {
		*size = (uint64_t)st->st_size;
		return 0;
	}
	if (S_ISBLK(st->st_mode))
		return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	return -EINVAL;
}

/* What O_DIRECT needs here (Linux 6.1 reports it through statx for block
 * devices and the common file systems). */
static void direct_alignment(struct disk_image *d, const struct stat *st)
{
	struct statx stx;
	int lbs;

	d->mem_align = DISK_DEFAULT_MEM_ALIGN;
	d->offset_align = DISK_SECTOR_SIZE;
	if (statx(d->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_mem_align && stx.stx_dio_offset_align) {
		d->mem_align = stx.stx_dio_mem_align;
		d->offset_align = stx.stx_dio_offset_align;
	} else if (S_ISBLK(st->st_mode) && ioctl(d->fd, BLKSSZGET, &lbs) == 0 && lbs > 0) {
		d->offset_align = (uint32_t)lbs;
	}
	if (d->offset_align < DISK_SECTOR_SIZE)
		d->offset_align = DISK_SECTOR_SIZE;
}

int disk_image_open(struct disk_image *d, const char *path, bool read_only, bool direct, char *err,
		    size_t errlen)
{
	int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? O_DIRECT : 0);
	struct stat st;
	int ret;

	*d = (struct disk_image){.fd = -1, .read_only = read_only, .direct = direct};
	d->fd = open(path, flags);
	if (d->fd < 0) {
		ret = -errno;
		if (direct && ret == -EINVAL)
			return fail(
				err, errlen, ret,
				"%s: this file system does not support O_DIRECT (drop ',direct')",
				path);
		return fail(err, errlen, ret, "%s: %s", path, strerror(-ret));
	}
	if (fstat(d->fd, &st) < 0) {
		ret = fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	ret = image_size(d->fd, &st, &d->size);
	if (ret < 0) {
		fail(err, errlen, ret, "%s: %s", path,
		     ret == -EINVAL ? "not a regular file or a block device" : strerror(-ret));
		goto out;
	}
	if (d->size % DISK_SECTOR_SIZE) {
		ret = fail(err, errlen, -EINVAL, "%s: %llu bytes is not a multiple of %d bytes",
			   path, (unsigned long long)d->size, DISK_SECTOR_SIZE);
		goto out;
	}
	if (flock(d->fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		ret = -errno;
		fail(err, errlen, ret, "%s: %s", path,
		     ret == -EWOULDBLOCK ? "in use (locked by another disk or process)"
					 : strerror(-ret));
		goto out;
	}
	if (direct)
		direct_alignment(d, &st);
	d->regular = S_ISREG(st.st_mode);
	return 0;
out:
	close(d->fd);
	d->fd = -1;
	return ret;
}

void disk_image_close(struct disk_image *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	free(d->bounce);
	d->bounce = NULL;
}

static int get_bounce(struct disk_image *d)
{
	size_t align = d->mem_align > 4096 ? d->mem_align : 4096;

	if (!d->bounce && posix_memalign((void **)&d->bounce, align, DISK_BOUNCE_SIZE) != 0) {
		d->bounce = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* preadv/pwritev until all of @iov is done: the kernel may stop short (at
 * about 2 GiB per call, on signals), and a read that meets the end of the
 * file (which shrank under us) is an I/O error, not zeroes. */
static int transfer_all(struct disk_image *d, bool write, uint64_t offset, const struct iovec *iov,
			int iovcnt)
{
	struct iovec local[IOV_MAX];
	struct iovec *v = local;
	int cnt = iovcnt;

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	memcpy(local, iov, sizeof(*iov) * (size_t)iovcnt);
	while (cnt > 0 && v->iov_len == 0) {
		v++;
		cnt--;
	}
	while (cnt > 0) {
		ssize_t n = write ? pwritev(d->fd, v, cnt, (off_t)offset)
				  : preadv(d->fd, v, cnt, (off_t)offset);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		offset += (uint64_t)n;
		while (n > 0) {
			size_t step = (size_t)n < v->iov_len ? (size_t)n : v->iov_len;

			v->iov_base = (uint8_t *)v->iov_base + step;
			v->iov_len -= step;
			n -= (ssize_t)step;
			if (v->iov_len == 0) {
				v++;
				cnt--;
			}
		}
		while (cnt > 0 && v->iov_len == 0) {
			v++;
			cnt--;
		}
	}
	return 0;
}

/* Before a write to [offset, offset + len): a regular file that shrank
 * since it was opened (someone truncated it) would grow back, the part in
 * between a hole of zeroes. -EIO instead, like a read there. (A truncation
 * between this check and the write still wins; it is the host's mistake.) */
static int check_not_shrunk(const struct disk_image *d, uint64_t offset, uint64_t len)
{
	struct stat st;

	if (!d->regular)
		return 0;
	if (fstat(d->fd, &st) < 0)
		return -errno;
	return (uint64_t)st.st_size < offset + len ? -EIO : 0;
}

static uint64_t iov_total(const struct iovec *iov, int iovcnt)
{
	uint64_t total = 0;

	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	return total;
}

/* Linux's O_DIRECT rule: each segment starts at a multiple of the memory
 * alignment and is a whole number of logical blocks long. */
static bool buffers_aligned(const struct disk_image *d, const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++) {
		if ((uintptr_t)iov[i].iov_base % d->mem_align || iov[i].iov_len % d->offset_align)
			return false;
	}
	return true;
}

/* Copies between @iov (from byte @skip on) and a flat buffer. */
static void iov_copy(const struct iovec *iov, int iovcnt, uint64_t skip, uint8_t *flat, size_t len,
		     bool to_flat)
{
	for (int i = 0; i < iovcnt && len; i++) {
		size_t n;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - (size_t)skip;
		if (n > len)
			n = len;
		if (to_flat)
			memcpy(flat, (uint8_t *)iov[i].iov_base + skip, n);
		else
			memcpy((uint8_t *)iov[i].iov_base + skip, flat, n);
		flat += n;
		len -= n;
		skip = 0;
	}
}

/* O_DIRECT with buffers the kernel would refuse: through the aligned bounce
 * buffer, one chunk at a time. */
static int transfer_bounced(struct disk_image *d, bool write, uint64_t offset,
			    const struct iovec *iov, int iovcnt, uint64_t total)
{
	int ret = get_bounce(d);

	if (ret < 0)
		return ret;
	for (uint64_t done = 0; done < total;) {
		size_t n = total - done < DISK_BOUNCE_SIZE ? (size_t)(total - done)
							   : DISK_BOUNCE_SIZE;
		struct iovec flat = {.iov_base = d->bounce, .iov_len = n};

		if (write)
			iov_copy(iov, iovcnt, done, d->bounce, n, true);
		ret = transfer_all(d, write, offset + done, &flat, 1);
		if (ret < 0)
			return ret;
		if (!write)
			iov_copy(iov, iovcnt, done, d->bounce, n, false);
		done += n;
	}
	return 0;
}

static int transfer(struct disk_image *d, bool write, uint64_t offset, const struct iovec *iov,
		    int iovcnt)
{
	uint64_t total = iov_total(iov, iovcnt);

	if (write && d->read_only)
		return -EROFS;
	if (offset > d->size || total > d->size - offset)
		return -ERANGE;
	if (write) {
		int ret = check_not_shrunk(d, offset, total);

		if (ret < 0)
			return ret;
	}
	if (!d->direct)
		return transfer_all(d, write, offset, iov, iovcnt);
	if (offset % d->offset_align || total % d->offset_align)
		return -EINVAL;
	if (!buffers_aligned(d, iov, iovcnt))
		return transfer_bounced(d, write, offset, iov, iovcnt, total);
	return transfer_all(d, write, offset, iov, iovcnt);
}

int disk_image_read(struct disk_image *d, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	return transfer(d, false, offset, iov, iovcnt);
}

int disk_image_write(struct disk_image *d, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	return transfer(d, true, offset, iov, iovcnt);
}

int disk_image_flush(struct disk_image *d) { return fdatasync(d->fd) < 0 ? -errno : 0; }

static bool check_range(const struct disk_image *d, uint64_t offset, uint64_t len)
{
	return offset <= d->size && len <= d->size - offset;
}

static int punch(struct disk_image *d, int mode, uint64_t offset, uint64_t len)
{
	if (fallocate(d->fd, mode | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len) == 0)
		return 0;
	return -errno;
}

/* The file system offers no way to zero a range: write zeroes. */
static int write_zero_chunks(struct disk_image *d, uint64_t offset, uint64_t len)
{
	int ret = get_bounce(d);

	if (ret < 0)
		return ret;
	memset(d->bounce, 0, DISK_BOUNCE_SIZE);
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < DISK_BOUNCE_SIZE ? (size_t)(len - done) : DISK_BOUNCE_SIZE;
		struct iovec zero = {.iov_base = d->bounce, .iov_len = n};

		ret = transfer_all(d, true, offset + done, &zero, 1);
		if (ret < 0)
			return ret;
		done += n;
	}
	return 0;
}

static bool unsupported(int ret) { return ret == -EOPNOTSUPP || ret == -ENOSYS; }

int disk_image_discard(struct disk_image *d, uint64_t offset, uint64_t len)
{
	int ret;

	if (d->read_only)
		return -EROFS;
	if (!check_range(d, offset, len))
		return -ERANGE;
	if (len == 0)
		return 0;
	ret = punch(d, FALLOC_FL_PUNCH_HOLE, offset, len);
	return unsupported(ret) ? 0 : ret;
}

int disk_image_write_zeroes(struct disk_image *d, uint64_t offset, uint64_t len, bool may_unmap)
{
	int ret = -EOPNOTSUPP;

	if (d->read_only)
		return -EROFS;
	if (!check_range(d, offset, len))
		return -ERANGE;
	if (len == 0)
		return 0;
	ret = check_not_shrunk(d, offset, len);
	if (ret < 0)
		return ret;
	ret = -EOPNOTSUPP;
	if (may_unmap)
		ret = punch(d, FALLOC_FL_PUNCH_HOLE, offset, len);
	if (unsupported(ret))
		ret = punch(d, FALLOC_FL_ZERO_RANGE, offset, len);
	if (unsupported(ret))
		ret = write_zero_chunks(d, offset, len);
	return ret;
}

bool disk_image_same_mtime(struct timespec saved, struct timespec now)
{
	if (now.tv_sec != saved.tv_sec)
		return false;
	return now.tv_nsec == saved.tv_nsec ||
	       now.tv_nsec == saved.tv_nsec - saved.tv_nsec % 1000 || now.tv_nsec == 0;
}
