#include "vmm/console_sink.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/thread.h"

/* How often the closer repeats the signal until the writer saw it (it may
 * arrive just before the writer enters write()). */
#define INTERRUPT_RETRY_MS 10

int console_sink_init(struct console_sink *s, const char *name, int fd, bool owns_fd, size_t size)
{
	pthread_condattr_t attr;
	struct stat st;

	*s = (struct console_sink){.name = name, .fd = fd, .owns_fd = owns_fd, .size = size};
	s->direct = fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode));
	s->buf = s->direct ? NULL : malloc(size);
	if (!s->direct && !s->buf)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &attr);
	pthread_condattr_destroy(&attr);
	s->used = true;
	return 0;
}

/* Called with the lock held: everything waiting is lost. */
static void drop_all(struct console_sink *s)
{
	s->dropped += s->len;
	s->head = s->len = 0;
}

/* An fd someone made non-blocking (an embedder's, say) is waited for here,
 * on the writer thread. */
static void wait_writable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	poll(&p, 1, -1);
}

static void *sink_thread(void *arg)
{
	struct console_sink *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		size_t chunk;
		const char *from;
		ssize_t n;
		int err;

		while (!s->len && !s->closing)
			pthread_cond_wait(&s->cond, &s->lock);
		if (!s->len || s->abandon || s->error)
			break;
		/* Producers only add behind the tail: these bytes stay put. */
		from = s->buf + s->head;
		chunk = s->size - s->head;
		if (chunk > s->len)
			chunk = s->len;
		pthread_mutex_unlock(&s->lock);
		n = write(s->fd, from, chunk);
		err = n < 0 ? errno : 0;
		if (err == EAGAIN || err == EWOULDBLOCK)
			wait_writable(s->fd);
		pthread_mutex_lock(&s->lock);
		if (n > 0) {
			s->head = (s->head + (size_t)n) % s->size;
			s->len -= (size_t)n;
			s->written += (uint64_t)n;
			pthread_cond_broadcast(&s->cond);
		} else if (n == 0 || (err != EINTR && err != EAGAIN && err != EWOULDBLOCK)) {
			/* A closed terminal or reader must not stop the guest. */
			s->error = n == 0 ? EIO : err;
		}
		if (s->abandon || s->error)
			break;
	}
	drop_all(s);
	s->done = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int console_sink_start(struct console_sink *s, int signo)
{
	int ret;

	if (!s->used || s->direct || s->started)
		return 0;
	s->signo = signo;
	ret = vmm_thread_start(&s->thread, sink_thread, s, signo);
	if (ret)
		return -ret;
	s->started = true;
	return 0;
}

/* Called with the lock held, for a regular file. */
static void write_direct(struct console_sink *s, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(s->fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->error = n == 0 ? EIO : errno;
			s->dropped += len;
			return;
		}
		s->written += (uint64_t)n;
		buf += n;
		len -= (size_t)n;
	}
}

void console_sink_append(struct console_sink *s, const char *buf, size_t len)
{
	size_t room, tail, first;

	if (!s->used)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->closing || s->error) {
		s->dropped += len;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (s->direct) {
		write_direct(s, buf, len);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	room = s->size - s->len;
	if (len > room) {
		s->dropped += len - room;
		len = room;
	}
	tail = (s->head + s->len) % s->size;
	first = s->size - tail;
	if (first > len)
		first = len;
	memcpy(s->buf + tail, buf, first);
	memcpy(s->buf, buf + first, len - first);
	if (len && !s->len)
		pthread_cond_broadcast(&s->cond);
	s->len += len;
	pthread_mutex_unlock(&s->lock);
}

static struct timespec after_ms(unsigned ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

static void join_writer(struct console_sink *s)
{
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_mutex_lock(&s->lock);
	s->started = false;
}

/* Waits while the writer makes progress, until the buffer is empty (or,
 * when @close, the writer ended). A writer that made none for
 * CONSOLE_SINK_STALL_MS is stopped, what is left dropped, and the sink
 * takes no more. Called with the lock held. */
static void drain(struct console_sink *s, bool close)
{
	struct timespec deadline = after_ms(CONSOLE_SINK_STALL_MS);
	uint64_t seen = s->written;

	if (close) {
		s->closing = true;
		pthread_cond_broadcast(&s->cond);
	}
	if (!s->started) {
		if (close)
			drop_all(s);
		return;
	}
	while (!s->done && (close || s->len)) {
		int ret = pthread_cond_timedwait(&s->cond, &s->lock, &deadline);

		if (s->written != seen) {
			seen = s->written;
			deadline = after_ms(CONSOLE_SINK_STALL_MS);
		} else if (ret == ETIMEDOUT) {
			break;
		}
	}
	if (!s->done && !close && !s->len)
		return; /* all out; the writer waits for more */
	s->closing = true;
	s->abandon = true;
	while (!s->done) {
		struct timespec retry = after_ms(INTERRUPT_RETRY_MS);

		pthread_kill(s->thread, s->signo);
		pthread_cond_timedwait(&s->cond, &s->lock, &retry);
	}
	join_writer(s);
}

void console_sink_flush(struct console_sink *s)
{
	if (!s->used)
		return;
	pthread_mutex_lock(&s->lock);
	drain(s, false);
	pthread_mutex_unlock(&s->lock);
}

void console_sink_finish(struct console_sink *s)
{
	if (!s->used)
		return;
	pthread_mutex_lock(&s->lock);
	drain(s, true);
	pthread_mutex_unlock(&s->lock);
}

uint64_t console_sink_dropped(struct console_sink *s, int *error)
{
	uint64_t dropped;

	if (!s->used) {
		if (error)
			*error = 0;
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	dropped = s->dropped;
	if (error)
		*error = s->error;
	pthread_mutex_unlock(&s->lock);
	return dropped;
}

void console_sink_destroy(struct console_sink *s)
{
	if (!s->used)
		return;
	console_sink_finish(s);
	if (s->owns_fd && s->fd >= 0)
		close(s->fd);
	free(s->buf);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	*s = (struct console_sink){0};
}
