/* ARM PrimeCell PL031 real-time clock: the guest's wall clock at boot. */
#ifndef KVMKIT_PL031_H
#define KVMKIT_PL031_H

#include <stdint.h>

struct device_host;

#define PL031_SIZE 0x1000

int pl031_create(struct device_host *host, uint64_t base, unsigned irq);

#endif
