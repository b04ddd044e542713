/* One fd the guest console's output goes to (stdout, the --console-log file,
 * an embedder's console fd): a bounded buffer that producers (vCPU threads)
 * append to under a lock and a writer thread of its own that empties it.
 *
 * Why a thread: the fd's readiness cannot be waited for on the loop without
 * making the fd non-blocking, and O_NONBLOCK is a flag of the open file
 * description, which stdout shares with the user's shell (a dup shares it
 * too); reopening /proc/self/fd/N gives a description of its own only for
 * ttys and pipes, not sockets, and a regular file reopened loses its offset.
 * A writer thread makes plain blocking writes to the fd as it is, for every
 * kind of fd, without changing any flag; when the fd stops taking bytes only
 * that thread waits, never the loop or a vCPU.
 *
 * A regular file (or a block device) never waits for a reader: it is written
 * at once by the producer, without buffer or thread, so that a log read
 * while the guest runs, or left by a kvmkit that was killed, holds every
 * byte printed until then.
 *
 * Policy when the buffer is full: the new bytes are dropped and counted
 * (console_sink_dropped()), never waited for. A write error (EPIPE, EIO...)
 * drops everything after it, counted the same way. */
#ifndef KVMKIT_CONSOLE_SINK_H
#define KVMKIT_CONSOLE_SINK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How long the end of a VM waits for a sink that stopped taking bytes. */
#define CONSOLE_SINK_STALL_MS 1000

/* All zero is a sink with no fd: every call is then a no-op. */
struct console_sink {
	const char *name; /* for messages: "stdout", "the console log"... */
	int fd;
	bool used;    /* console_sink_init() was called with an fd */
	bool owns_fd; /* closed by console_sink_destroy() */
	bool direct;  /* a regular file: written by the producer, no thread */
	bool started; /* the writer thread runs or ran */
	bool closing; /* no more appends: write what is left, then end */
	bool abandon; /* the fd stalled at the end: stop writing */
	bool done;    /* the writer thread returned */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* appends and closing for the writer, progress for the closer */
	char *buf;
	size_t size;      /* of buf: the most bytes that may wait */
	size_t head, len; /* the bytes waiting: buf[head], wrapping at size */
	uint64_t written;
	uint64_t dropped;
	int error; /* the errno that broke the fd, 0 */
	int signo; /* interrupts the writer's write */
	pthread_t thread;
};

/* Prepares @s for @fd (owned when @owns_fd) with room for @size bytes.
 * 0 or -ENOMEM. */
int console_sink_init(struct console_sink *s, const char *name, int fd, bool owns_fd, size_t size);
/* Starts the writer thread; @signo is a signal with a handler installed
 * without SA_RESTART, which console_sink_finish() sends to interrupt a write
 * that stalled. 0 or a negative errno. */
int console_sink_start(struct console_sink *s, int signo);
/* Queues @buf; what does not fit is dropped and counted. Any thread. */
void console_sink_append(struct console_sink *s, const char *buf, size_t len);
/* Lets the writer empty the buffer while it makes progress; after
 * CONSOLE_SINK_STALL_MS without any, stops it: what is left and what comes
 * afterwards is dropped. The sink otherwise goes on taking output. */
void console_sink_flush(struct console_sink *s);
/* The same, then stops the writer in any case: appends afterwards are
 * counted as dropped. Idempotent. */
void console_sink_finish(struct console_sink *s);
/* Bytes dropped so far; the write error (positive errno) in @error if any. */
uint64_t console_sink_dropped(struct console_sink *s, int *error);
void console_sink_destroy(struct console_sink *s);

#endif
