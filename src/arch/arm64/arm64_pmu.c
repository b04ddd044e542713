/* The guest PMU (--pmu): every vCPU is created with KVM_ARM_VCPU_PMU_V3
 * (arm64_vcpu.c), and once the vGIC is initialized each one gets its
 * overflow interrupt, PPI ARM64_PMU_PPI, then KVM_ARM_VCPU_PMU_V3_INIT
 * (Linux Documentation/virt/kvm/devices/vcpu.rst: the interrupt must be set
 * before INIT, INIT needs an initialized in-kernel GIC, and with a GICv3 the
 * PPI must be the same on every vCPU). The device tree describes it as an
 * arm,armv8-pmuv3 node (fdt_layout.c). */
#include <linux/kvm.h>

#include "arch/arm64/arm64.h"
#include "arch/arm64/layout.h"
#include "vmm/kvm.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

static int pmu_attr(struct vcpu *vcpu, uint64_t attr, void *value, const char *what)
{
	struct kvm_device_attr a = {
		.group = KVM_ARM_VCPU_PMU_V3_CTRL,
		.attr = attr,
		.addr = (uintptr_t)value,
	};
	int ret = kvm_ioctl_checked(vcpu->vm, vcpu->fd, KVM_SET_DEVICE_ATTR, &a,
				    "KVM_SET_DEVICE_ATTR", "vcpu%u: PMU %s", vcpu->index, what);

	return ret < 0 ? ret : 0;
}

int arm64_pmu_init(struct vm *vm)
{
	int intid = ARM64_GIC_PPI_BASE + ARM64_PMU_PPI;

	if (!vm->cfg.pmu)
		return 0;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		int ret = pmu_attr(vm->vcpus[i], KVM_ARM_VCPU_PMU_V3_IRQ, &intid,
				   "overflow interrupt");

		if (ret == 0)
			ret = pmu_attr(vm->vcpus[i], KVM_ARM_VCPU_PMU_V3_INIT, NULL, "init");
		if (ret < 0)
			return ret;
	}
	return 0;
}
