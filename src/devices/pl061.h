/* ARM PrimeCell PL061 GPIO controller, with one input line wired to a
 * gpio-keys power key: the guest's own power-key handling turns a press into
 * its shutdown (the graceful stop). */
#ifndef KVMKIT_PL061_H
#define KVMKIT_PL061_H

#include <stdbool.h>
#include <stdint.h>

struct device_host;
struct device;

#define PL061_SIZE 0x1000
#define PL061_NR_PINS 8
/* The line the power key is on, as on QEMU's virt machine. */
#define PL061_POWER_PIN 3
/* input-event-codes.h KEY_POWER */
#define PL061_KEY_POWER 116

/* Creates the controller at @base with interrupt @irq. Its device-tree node
 * gets @phandle, and a /gpio-keys node describes the power key on
 * PL061_POWER_PIN. */
int pl061_create(struct device_host *host, uint64_t base, unsigned irq, uint32_t phandle,
		 struct device **out);

/* Drives input line @pin (from any thread); an edge or level the guest
 * enabled raises the interrupt. -EINVAL for a pin out of range. */
int pl061_set_input(struct device *dev, unsigned pin, bool level);

#endif
