#include "vmm/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vmm/ratelimit.h"

static _Atomic int current_level = LOG_WARN;
static log_sink_fn current_sink;
static void *current_opaque;

void log_set_level(enum log_level level) { current_level = level; }

enum log_level log_get_level(void) { return current_level; }

void log_set_sink(log_sink_fn sink, void *opaque)
{
	current_sink = sink;
	current_opaque = opaque;
}

int log_level_parse(const char *name, enum log_level *out)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if ((int)level > current_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (current_sink) {
		current_sink(level, buf, current_opaque);
		return;
	}
	/* One write per message so lines from vCPU threads do not interleave. */
	fprintf(stderr, "kvmkit: %s\n", buf);
}

/* One lock for every limiter: they are touched only when a guest misbehaves. */
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;

void log_limited(struct ratelimit *rl, enum log_level level, const char *fmt, ...)
{
	char buf[512];
	struct timespec now;
	uint64_t suppressed = 0;
	bool allowed;
	va_list ap;

	if ((int)level > current_level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&limit_lock);
	allowed = ratelimit_allow(rl, (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec,
				  &suppressed);
	pthread_mutex_unlock(&limit_lock);
	if (!allowed)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (suppressed)
		log_msg(level, "%s (suppressed %llu more)", buf, (unsigned long long)suppressed);
	else
		log_msg(level, "%s", buf);
}
