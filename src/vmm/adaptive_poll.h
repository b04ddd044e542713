/* How long a device keeps watching a queue after serving it, before it asks
 * for a notification and sleeps. Polling pays when the driver posts its next
 * buffer moments later (it saves the notification's exit and the wake-up);
 * it wastes a CPU when the next one is far off, and it cannot pay at all when
 * the guest's vCPU needs the CPU the poller holds. So the window follows what
 * happened, as KVM's halt polling does: it grows when a notification came
 * soon after the device went to sleep, shrinks when one came late, and stays
 * at zero on a host with a single usable CPU. Pure logic: times are given. */
#ifndef KVMKIT_ADAPTIVE_POLL_H
#define KVMKIT_ADAPTIVE_POLL_H

#include <stdbool.h>
#include <stdint.h>

struct adaptive_poll {
	uint64_t window_ns; /* the next poll's length; 0 = do not poll */
	uint64_t min_ns, max_ns;
	uint64_t slept_at_ns; /* when the device last went to sleep; 0 = awake */
	bool enabled;
};

/* @enabled false keeps the window at zero for good (one usable CPU). */
void adaptive_poll_init(struct adaptive_poll *p, uint64_t min_ns, uint64_t max_ns, bool enabled);

/* A notification woke the device at @now_ns: the window grows if the device
 * slept less than max_ns (a longer poll would have caught it), else shrinks. */
void adaptive_poll_woken(struct adaptive_poll *p, uint64_t now_ns);

/* The device stops polling (the window passed with nothing) and sleeps. */
void adaptive_poll_sleep(struct adaptive_poll *p, uint64_t now_ns);

/* Whether more than @now_ns - @start_ns of polling still fits in the window. */
static inline bool adaptive_poll_continue(const struct adaptive_poll *p, uint64_t start_ns,
					  uint64_t now_ns)
{
	return now_ns - start_ns < p->window_ns;
}

/* The number of CPUs this process may run on (1 if it cannot tell). */
unsigned adaptive_poll_usable_cpus(void);

/* The CPU's spin-wait hint (PAUSE, YIELD), between two polls. */
void adaptive_poll_relax(void);

#endif
