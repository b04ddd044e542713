#include "vmm/ratelimit.h"

bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ns, uint64_t *suppressed)
{
	if (!rl->started) {
		rl->started = true;
		rl->tokens = rl->burst;
		rl->last_ns = now_ns;
	} else if (now_ns > rl->last_ns && rl->interval_ns) {
		uint64_t gained = (now_ns - rl->last_ns) / rl->interval_ns;

		if (gained >= rl->burst - rl->tokens) {
			rl->tokens = rl->burst;
			rl->last_ns = now_ns;
		} else {
			rl->tokens += (unsigned)gained;
			rl->last_ns += gained * rl->interval_ns;
		}
	}
	if (rl->tokens == 0) {
		rl->suppressed++;
		return false;
	}
	rl->tokens--;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}
