/* KVM's eventfd plumbing: an ioeventfd turns a guest store into an eventfd
 * signal inside KVM (no exit to userspace); an irqfd turns an eventfd signal
 * into a guest interrupt without any userspace lock. */
#ifndef KVMKIT_KVM_EVENTFD_H
#define KVMKIT_KVM_EVENTFD_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/device.h"

struct vm;

/* Signals @fd when the guest writes @datamatch as a @len-byte value at @addr in
 * @space. Returns 0 or a negative errno; the caller decides whether that is an
 * error (a device can fall back to handling the write itself). */
int vm_ioeventfd_add(struct vm *vm, enum bus_space space, uint64_t addr, unsigned len,
		     uint64_t datamatch, int fd);

/* Raises platform interrupt @irq (an edge) each time @fd is signalled.
 * -ENOTSUP where the VM has no in-kernel interrupt controller. */
int vm_irqfd_add(struct vm *vm, unsigned irq, int fd);

/* Called once the interrupt controller is ready: assigns the irqfds added
 * so far; later ones are assigned at once. */
int vm_irqfds_activate(struct vm *vm);

#endif
