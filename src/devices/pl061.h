/* ARM PrimeCell PL061 GPIO controller: eight lines, each an input the VMM
 * drives (pl061_set_input) or an output the guest drives. What a line is
 * wired to (arm64: the power key) is the platform's business. */
#ifndef KVMKIT_PL061_H
#define KVMKIT_PL061_H

#include <stdbool.h>
#include <stdint.h>

struct device_host;
struct device;

#define PL061_SIZE 0x1000
#define PL061_NR_PINS 8

/* Creates the controller at @base with interrupt @irq; *@out (if not NULL)
 * is the device, for pl061_set_input(). */
int pl061_create(struct device_host *host, uint64_t base, unsigned irq, struct device **out);

/* Drives input line @pin (from any thread); an edge or level the guest
 * enabled raises the interrupt. -EINVAL for a pin out of range. */
int pl061_set_input(struct device *dev, unsigned pin, bool level);

#endif
