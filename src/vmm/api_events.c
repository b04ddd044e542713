/* The event queue behind kvmkit_vm_event_fd(): a ring under a lock, and an
 * eventfd whose counter is non-zero exactly while the ring is not empty, so
 * an embedder's poll() wakes for queued events and only for them. */
#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/api.h"

int api_events_init(struct api_events *q)
{
	q->head = q->count = 0;
	q->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->fd < 0)
		return -errno;
	pthread_mutex_init(&q->lock, NULL);
	return 0;
}

void api_events_destroy(struct api_events *q)
{
	if (q->fd < 0)
		return;
	close(q->fd);
	q->fd = -1;
	pthread_mutex_destroy(&q->lock);
}

void api_events_push(struct api_events *q, const struct kvmkit_event *ev)
{
	uint64_t one = 1;
	ssize_t n;

	pthread_mutex_lock(&q->lock);
	if (q->count == API_EVENT_QUEUE) {
		q->head = (q->head + 1) % API_EVENT_QUEUE;
		q->count--;
	}
	q->ring[(q->head + q->count) % API_EVENT_QUEUE] = *ev;
	q->count++;
	/* Cannot fail: the counter stays far below its limit, as pop() resets it. */
	n = write(q->fd, &one, sizeof(one));
	(void)n;
	pthread_mutex_unlock(&q->lock);
}

int api_events_pop(struct api_events *q, struct kvmkit_event *ev)
{
	uint64_t counter;

	pthread_mutex_lock(&q->lock);
	if (q->count == 0) {
		pthread_mutex_unlock(&q->lock);
		return -EAGAIN;
	}
	*ev = q->ring[q->head];
	q->head = (q->head + 1) % API_EVENT_QUEUE;
	q->count--;
	/* The ring is empty: so must the fd be. */
	if (q->count == 0) {
		ssize_t n = read(q->fd, &counter, sizeof(counter));

		(void)n;
	}
	pthread_mutex_unlock(&q->lock);
	return 0;
}
