/* Whole reads from a file at an offset, retried across short reads and
 * EINTR, for the callers that must have every byte (snapshot memory); and
 * the directory sync that makes a rename in it durable. */
#ifndef KVMKIT_FD_IO_H
#define KVMKIT_FD_IO_H

#include <stdint.h>

/* Reads exactly @len bytes at @off into @dst. 0, pread()'s negative errno,
 * or -EIO when the file ends first. */
int pread_exact(int fd, void *dst, uint64_t len, uint64_t off);

/* fsync() of the directory @dir: 0 or a negative errno. */
int fsync_dir(const char *dir);

#endif
