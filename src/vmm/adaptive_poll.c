/* The adaptive poll window (adaptive_poll.h). */
#include "vmm/adaptive_poll.h"

#include <sched.h>

#include "arch/arch.h"

void adaptive_poll_init(struct adaptive_poll *p, uint64_t min_ns, uint64_t max_ns, bool enabled)
{
	*p = (struct adaptive_poll){.min_ns = min_ns, .max_ns = max_ns, .enabled = enabled};
}

void adaptive_poll_woken(struct adaptive_poll *p, uint64_t now_ns)
{
	uint64_t slept = now_ns - p->slept_at_ns;

	if (!p->enabled || !p->slept_at_ns)
		return;
	p->slept_at_ns = 0;
	if (slept < p->max_ns) {
		/* Doubling reaches any gap below max_ns in a few wake-ups. */
		p->window_ns = p->window_ns ? p->window_ns * 2 : p->min_ns;
		if (p->window_ns > p->max_ns)
			p->window_ns = p->max_ns;
	} else {
		p->window_ns /= 2;
		if (p->window_ns < p->min_ns)
			p->window_ns = 0;
	}
}

void adaptive_poll_sleep(struct adaptive_poll *p, uint64_t now_ns)
{
	if (p->enabled)
		p->slept_at_ns = now_ns ? now_ns : 1;
}

unsigned adaptive_poll_usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	return (unsigned)CPU_COUNT(&set);
}

void adaptive_poll_relax(void) { arch_cpu_relax(); }
