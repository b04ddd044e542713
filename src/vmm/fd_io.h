/* Whole reads from a file at an offset, retried across short reads and
 * EINTR, for the callers that must have every byte (snapshot memory). */
#ifndef KVMKIT_FD_IO_H
#define KVMKIT_FD_IO_H

#include <stdint.h>

/* Reads exactly @len bytes at @off into @dst. 0, pread()'s negative errno,
 * or -EIO when the file ends first. */
int pread_exact(int fd, void *dst, uint64_t len, uint64_t off);

#endif
