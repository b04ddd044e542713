/* A 16550A UART: the guest's early and default console. */
#ifndef KVMKIT_UART_16550_H
#define KVMKIT_UART_16550_H

#include "vmm/device.h"

#define UART_16550_SIZE 8
#define UART_16550_CLOCK_HZ 1843200

struct device_host;

/* Creates the UART at @base in @space with interrupt @irq (0: polled only) and
 * connects it to the VM's console. The VM owns it after vm_add_device(). */
int uart_16550_create(struct device_host *host, const char *name, enum bus_space space,
		      uint64_t base, unsigned irq, struct device **out);

#endif
