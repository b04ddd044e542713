/* A token bucket for messages a guest can trigger at will: @burst of them go
 * out at once, then one per @interval_ns; the ones held back are counted and
 * the count is handed to the next one that goes out. Pure logic: the caller
 * passes the time and serialises the calls (log_limited() in vmm/log.h
 * does both). */
#ifndef KVMKIT_RATELIMIT_H
#define KVMKIT_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	uint64_t interval_ns;
	unsigned burst;
	unsigned tokens;
	bool started;        /* tokens and last_ns are set from the first call on */
	uint64_t last_ns;    /* when the bucket last gained a token (or was full) */
	uint64_t suppressed; /* held back since the last one that went out */
};

/* What kvmkit uses for guest-triggered messages: 10 at once (a guest's few
 * honest mistakes all show), then one a second. */
#define RATELIMIT_GUEST_BURST 10
#define RATELIMIT_GUEST_INTERVAL_NS 1000000000ULL
#define RATELIMIT_INIT(interval, burst_)                     \
	{                                                    \
		.interval_ns = (interval), .burst = (burst_) \
	}
#define RATELIMIT_GUEST RATELIMIT_INIT(RATELIMIT_GUEST_INTERVAL_NS, RATELIMIT_GUEST_BURST)

/* Whether a message at @now_ns (a monotonic clock) may go out. If it may,
 * *@suppressed gets how many were held back since the one before it. */
bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ns, uint64_t *suppressed);

#endif
