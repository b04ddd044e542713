/* One file in a FUSE file system the test serves itself (/dev/fuse, a
 * process of its own, no libfuse): an image whose reads, writes and fsyncs fail
 * when the test says so, with the errno the kernel then hands to whoever
 * uses the file. That is how a host test gets an honest EIO from
 * preadv/pwritev/fdatasync in every tier: FUSE is in the kernel of this
 * host and a module of the L1's (scripts/guest-assets loads it). Needs root
 * (mount); anything missing fails the test.
 *
 * The file is opened with FOPEN_DIRECT_IO, so every read and write reaches
 * the server (no page cache in between).
 *
 * The server is a child process, not a thread: a test that fails with the
 * file open still gets its close answered (the kernel waits for FUSE_FLUSH
 * at close, and a process cannot answer its own close while it exits). It
 * dies with the test (PR_SET_PDEATHSIG), and fuse_file_detach() unmounts
 * the file system as soon as the image is open, so a failed test leaves no
 * mount behind. */
#ifndef KVMKIT_TEST_FUSE_FILE_H
#define KVMKIT_TEST_FUSE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fuse_shared;

struct fuse_file {
	char dir[64];  /* the mount point */
	char path[80]; /* the file: dir/img */
	pid_t server;
	bool mounted;
	struct fuse_shared *sh; /* shared with the server */
	size_t sh_len;
};

/* Mounts a file system holding the file @path of @size bytes, a copy of
 * @init, and starts its server. Call before any thread is started. */
void fuse_file_start(struct fuse_file *f, const uint8_t *init, uint64_t size);
/* Unmounts it lazily: files open stay usable, @path is gone. */
void fuse_file_detach(struct fuse_file *f);
/* Ends the server (the file must be closed) and frees everything. */
void fuse_file_stop(struct fuse_file *f);

void fuse_file_fail_reads(struct fuse_file *f, int err);
void fuse_file_fail_writes(struct fuse_file *f, int err);
/* A server that stops answering: while @hold, each READ waits unanswered
 * (and the server with it, so nothing else of the file is answered either);
 * clearing it answers them. Clear it before the file is closed. */
void fuse_file_hold_reads(struct fuse_file *f, bool hold);
/* READs that were held so far (counted when they arrive). */
unsigned fuse_file_reads_held(struct fuse_file *f);
/* The next @count FSYNC requests fail with EIO. */
void fuse_file_fail_fsyncs(struct fuse_file *f, unsigned count);
/* FSYNC requests seen so far. */
unsigned fuse_file_fsyncs(struct fuse_file *f);
/* A copy of @len bytes of the file at @offset. */
void fuse_file_read(struct fuse_file *f, uint64_t offset, void *buf, uint64_t len);

#endif
