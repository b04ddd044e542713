/* What the host tests of kvmkit's internals (src/vmm) share around a struct
 * vm: a log sink that captures what the VMM logs during a test, and device
 * lookup by name. Assertions are Check's: any failure ends the test. */
#ifndef KVMKIT_TEST_VM_UTIL_H
#define KVMKIT_TEST_VM_UTIL_H

#include <stddef.h>

#include "vmm/vm.h"

/* A checked fixture pair: from host_capture_start() on, messages of LOG_WARN
 * and above go to the capture (emptied) instead of stderr, one per line;
 * host_capture_stop() restores the default sink. */
void host_capture_start(void);
void host_capture_stop(void);

/* What was captured since host_capture_start(): the text (cut at 16 KiB),
 * its length and the number of messages. */
const char *host_captured(void);
size_t host_captured_len(void);
unsigned host_captured_lines(void);

/* The device called @name on @vm; fails the test when there is none. */
struct device *host_find_device(struct vm *vm, const char *name);

/* vm_pause(); fails the test unless @vm is then paused. */
void host_pause(struct vm *vm);

#endif
