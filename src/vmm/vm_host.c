/* The VM as its devices see it: the device_host interface over struct vm. */
#include "vmm/vm_host.h"

#include <stdio.h>

#include "arch/arch.h"
#include "vmm/kvm_eventfd.h"
#include "vmm/vm.h"

static int add_device(void *ctx, struct device *dev) { return vm_add_device(ctx, dev); }

static int watch_fd(void *ctx, int fd, host_fd_ready_fn ready, void *opaque)
{
	return vm_watch_fd(ctx, fd, ready, opaque);
}

static int set_irq(void *ctx, unsigned irq, bool level) { return arch_irq_line(ctx, irq, level); }

static int irqfd(void *ctx, unsigned irq, int fd) { return vm_irqfd_add(ctx, irq, fd); }

static int map_memory(void *ctx, uint64_t gpa, uint64_t size, void *host)
{
	return vm_map_device_memory(ctx, gpa, size, host);
}

static int ioeventfd(void *ctx, enum bus_space space, uint64_t addr, unsigned len,
		     uint64_t datamatch, int fd)
{
	return vm_ioeventfd_add(ctx, space, addr, len, datamatch, fd);
}

static void request_reset(void *ctx) { vm_request_exit(ctx, VM_EXIT_RESET); }

static void report(void *ctx, bool input, const char *msg)
{
	if (input)
		vm_input_error(ctx, 0, "%s", msg);
	else
		vm_error(ctx, 0, "%s", msg);
}

static const struct device_host_ops vm_host_ops = {
	.add_device = add_device,
	.watch_fd = watch_fd,
	.set_irq = set_irq,
	.irqfd = irqfd,
	.map_memory = map_memory,
	.ioeventfd = ioeventfd,
	.request_reset = request_reset,
	.report = report,
};

void vm_host_init(struct vm *vm)
{
	vm->host = (struct device_host){
		.ops = &vm_host_ops,
		.ctx = vm,
		.mem = &vm->mem,
		.console = &vm->console,
	};
}
