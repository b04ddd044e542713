/* The x86 reset control register (I/O port 0xcf9): writing RST_CPU with
 * SYS_RST or a hard-reset request resets the machine, which for a VM means it
 * ends with a reset. */
#ifndef KVMKIT_RESET_CONTROL_H
#define KVMKIT_RESET_CONTROL_H

#include <stdint.h>

struct device_host;

int reset_control_create(struct device_host *host, uint64_t port);

#endif
