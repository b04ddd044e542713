/* The in-kernel GIC: v3, or v2 where the host has no v3, created after every
 * vCPU (it sizes its redistributors by them), and the platform interrupt
 * lines behind it. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "arch/arch.h"
#include "arch/arm64/arm64.h"
#include "arch/arm64/layout.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/vm.h"

int arm64_gic_set_attr(struct vm *vm, uint32_t group, uint64_t attr, void *value)
{
	struct kvm_device_attr a = {.group = group, .attr = attr, .addr = (uintptr_t)value};

	int ret = kvm_ioctl_checked(vm, arm64_state_of(vm)->gic_fd, KVM_SET_DEVICE_ATTR, &a,
				    "KVM_SET_DEVICE_ATTR", "GIC attribute %u/0x%llx", group,
				    (unsigned long long)attr);

	return ret < 0 ? ret : 0;
}

int arm64_gic_get_attr(struct vm *vm, uint32_t group, uint64_t attr, void *value)
{
	struct kvm_device_attr a = {.group = group, .attr = attr, .addr = (uintptr_t)value};

	int ret = kvm_ioctl_checked(vm, arm64_state_of(vm)->gic_fd, KVM_GET_DEVICE_ATTR, &a,
				    "KVM_GET_DEVICE_ATTR", "GIC attribute %u/0x%llx", group,
				    (unsigned long long)attr);

	return ret < 0 ? ret : 0;
}

int arm64_gic_create(struct vm *vm)
{
	struct arm64_state *st = arm64_state_of(vm);
	struct kvm_create_device dev = {.type = KVM_DEV_TYPE_ARM_VGIC_V3};
	uint64_t dist = ARM64_GIC_DIST_BASE, redist = ARM64_GICV3_REDIST_BASE;
	uint64_t cpu = ARM64_GICV2_CPU_BASE;
	uint32_t nr_irqs = ARM64_GIC_NR_IRQS;
	int ret;

	ret = kvm_ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &dev);
	if (ret == 0) {
		st->gic = ARM64_GIC_V3;
	} else {
		int v3_err = -ret;

		dev = (struct kvm_create_device){.type = KVM_DEV_TYPE_ARM_VGIC_V2};
		if (vm->nr_vcpus > ARM64_GICV2_MAX_CPUS)
			return vm_input_error(
				vm, -EINVAL,
				"--cpus %u: this host has no GICv3 (%s) and GICv2 serves at most %d",
				vm->nr_vcpus, strerror(v3_err), ARM64_GICV2_MAX_CPUS);
		ret = kvm_ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &dev);
		if (ret < 0)
			return vm_error(vm, ret,
					"KVM_CREATE_DEVICE: no in-kernel GIC: v3: %s, v2: %s",
					strerror(v3_err), strerror(-ret));
		st->gic = ARM64_GIC_V2;
	}
	st->gic_fd = (int)dev.fd;
	log_debug("using an in-kernel GICv%d", st->gic);
	ret = arm64_gic_set_attr(vm, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs);
	if (ret < 0)
		return ret;
	if (st->gic == ARM64_GIC_V3) {
		ret = arm64_gic_set_attr(vm, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST,
					 &dist);
		if (ret == 0)
			ret = arm64_gic_set_attr(vm, KVM_DEV_ARM_VGIC_GRP_ADDR,
						 KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist);
	} else {
		ret = arm64_gic_set_attr(vm, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_DIST,
					 &dist);
		if (ret == 0)
			ret = arm64_gic_set_attr(vm, KVM_DEV_ARM_VGIC_GRP_ADDR,
						 KVM_VGIC_V2_ADDR_TYPE_CPU, &cpu);
	}
	if (ret == 0)
		ret = arm64_gic_nested_setup(vm);
	if (ret < 0)
		return ret;
	return arm64_gic_set_attr(vm, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
}

int arch_vm_finalize(struct vm *vm)
{
	/* The GIC sizes its redistributors by the vCPUs that exist: create it
	 * last. The PMU's interrupt needs it initialized. */
	int ret = arm64_gic_create(vm);

	return ret < 0 ? ret : arm64_pmu_init(vm);
}

int arch_irq_line(struct vm *vm, unsigned irq, bool level)
{
	struct kvm_irq_level line = {
		.irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) |
		       (ARM64_GIC_SPI_BASE + irq),
		.level = level,
	};

	int ret = kvm_ioctl(vm->vm_fd, KVM_IRQ_LINE, &line);

	return ret < 0 ? ret : 0;
}

int arch_irq_gsi(struct vm *vm, unsigned irq, unsigned *gsi)
{
	(void)vm;
	/* KVM's default arm64 routing maps GSI n to SPI n. */
	*gsi = irq;
	return 0;
}
