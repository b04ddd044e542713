#include "vmm/kvm_eventfd.h"

#include <errno.h>
#include <linux/kvm.h>

#include "arch/arch.h"
#include "vmm/kvm.h"
#include "vmm/vm.h"

int vm_ioeventfd_add(struct vm *vm, enum bus_space space, uint64_t addr, unsigned len,
		     uint64_t datamatch, int fd)
{
	struct kvm_ioeventfd io = {
		.datamatch = datamatch,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	int ret;

	if (space == BUS_PIO)
		io.flags |= KVM_IOEVENTFD_FLAG_PIO;
	ret = kvm_ioctl(vm->vm_fd, KVM_IOEVENTFD, &io);
	return ret < 0 ? ret : 0;
}

static int irqfd_assign(struct vm *vm, unsigned irq, int fd)
{
	struct kvm_irqfd req = {.fd = (uint32_t)fd};
	unsigned gsi;
	int ret = arch_irq_gsi(vm, irq, &gsi);

	if (ret < 0)
		return ret;
	req.gsi = gsi;
	ret = kvm_ioctl_checked(vm, vm->vm_fd, KVM_IRQFD, &req, "KVM_IRQFD", "interrupt %u", irq);
	return ret < 0 ? ret : 0;
}

int vm_irqfd_add(struct vm *vm, unsigned irq, int fd)
{
	unsigned gsi;
	int ret = arch_irq_gsi(vm, irq, &gsi);

	if (ret < 0)
		return ret;
	if (vm->irqfds_live)
		return irqfd_assign(vm, irq, fd);
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
		int ret = irqfd_assign(vm, vm->irqfds[i].irq, vm->irqfds[i].fd);

		if (ret < 0)
			return ret;
	}
	return 0;
}
