/* Diagnostics: one leveled logger with a replaceable sink. The library never
 * prints unless the embedder installs a sink or raises the level. */
#ifndef KVMKIT_LOG_H
#define KVMKIT_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

typedef void (*log_sink_fn)(enum log_level level, const char *msg, void *opaque);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Messages go to the sink; with no sink they go to stderr prefixed "kvmkit: ". */
void log_set_sink(log_sink_fn sink, void *opaque);
/* Parses "error", "warn", "info" or "debug"; returns -EINVAL otherwise. */
int log_level_parse(const char *name, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct ratelimit;

/* For what a guest can trigger at will (a bad register write, a broken
 * queue): goes out through @rl (vmm/ratelimit.h, one per source, e.g.
 * RATELIMIT_GUEST), and the first message after some were held back ends
 * with "(suppressed N more)". Any thread. */
void log_limited(struct ratelimit *rl, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
