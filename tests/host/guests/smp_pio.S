/* pio_count.S for a VM with several vCPUs: the boot vCPU idles for some
 * milliseconds before its script, so that it cannot finish before kvmkit
 * has started the secondary vCPUs (which only halt). */
#define START_DELAY_LOOPS 30000
#include "pio_count.S"
