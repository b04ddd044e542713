#include "vmm/kvm_eventfd.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/arch.h"
#include "vmm/vm.h"

static int ioeventfd(struct vm *vm, enum bus_space space, uint64_t addr, unsigned len,
		     uint64_t datamatch, int fd, bool remove)
{
	struct kvm_ioeventfd io = {
		.datamatch = datamatch,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};

	if (space == BUS_PIO)
		io.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (remove)
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return -errno;
	return 0;
}

int vm_ioeventfd_add(struct vm *vm, enum bus_space space, uint64_t addr, unsigned len,
		     uint64_t datamatch, int fd)
{
	return ioeventfd(vm, space, addr, len, datamatch, fd, false);
}

int vm_ioeventfd_remove(struct vm *vm, enum bus_space space, uint64_t addr, unsigned len,
			uint64_t datamatch, int fd)
{
	return ioeventfd(vm, space, addr, len, datamatch, fd, true);
}

static int irqfd(struct vm *vm, unsigned irq, int fd, bool remove)
{
	struct kvm_irqfd req = {.fd = (uint32_t)fd};
	unsigned gsi;
	int ret = arch_irq_gsi(vm, irq, &gsi);

	if (ret < 0)
		return ret;
	req.gsi = gsi;
	if (remove)
		req.flags = KVM_IRQFD_FLAG_DEASSIGN;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &req) < 0)
		return vm_error(vm, -errno, "KVM_IRQFD for interrupt %u: %s", irq, strerror(errno));
	return 0;
}

int vm_irqfd_add(struct vm *vm, unsigned irq, int fd)
{
	unsigned gsi;
	int ret = arch_irq_gsi(vm, irq, &gsi);

	if (ret < 0)
		return ret;
	if (vm->irqfds_live)
		return irqfd(vm, irq, fd, false);
	/* KVM accepts irqfds only once the in-kernel irqchip is initialised,
	 * which happens after every vCPU exists: remember it until then. */
	if (vm->nr_irqfds == VM_MAX_DEVICES)
		return vm_error(vm, -ENOSPC, "too many interrupt sources");
	vm->irqfds[vm->nr_irqfds].irq = irq;
	vm->irqfds[vm->nr_irqfds].fd = fd;
	vm->nr_irqfds++;
	return 0;
}

int vm_irqfds_activate(struct vm *vm)
{
	vm->irqfds_live = true;
	for (unsigned i = 0; i < vm->nr_irqfds; i++) {
		int ret = irqfd(vm, vm->irqfds[i].irq, vm->irqfds[i].fd, false);

		if (ret < 0)
			return ret;
	}
	return 0;
}

int vm_irqfd_remove(struct vm *vm, unsigned irq, int fd) { return irqfd(vm, irq, fd, true); }
