/* arm64 vCPUs: KVM_ARM_VCPU_INIT with in-kernel PSCI 0.2 (secondaries start
 * powered off), their MPIDR for the device tree, one-register access, and
 * the exits the core leaves to the architecture (an access KVM cannot
 * decode). */
#include <errno.h>
#include <linux/kvm.h>

#include "arch/arch.h"
#include "arch/arm64/arm64.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define MPIDR_EL1 ARM64_SYS_REG(3, 0, 0, 0, 5)
#define MPIDR_AFFINITY_MASK 0xff00ffffffULL

int arm64_set_one_reg(struct vcpu *vcpu, uint64_t id, uint64_t value)
{
	struct kvm_one_reg reg = {.id = id, .addr = (uintptr_t)&value};

	int ret = kvm_ioctl_checked(vcpu->vm, vcpu->fd, KVM_SET_ONE_REG, &reg, "KVM_SET_ONE_REG",
				    "vcpu%u: register 0x%llx", vcpu->index, (unsigned long long)id);

	return ret < 0 ? ret : 0;
}

int arm64_get_one_reg(struct vcpu *vcpu, uint64_t id, uint64_t *value)
{
	struct kvm_one_reg reg = {.id = id, .addr = (uintptr_t)value};

	int ret = kvm_ioctl_checked(vcpu->vm, vcpu->fd, KVM_GET_ONE_REG, &reg, "KVM_GET_ONE_REG",
				    "vcpu%u: register 0x%llx", vcpu->index, (unsigned long long)id);

	return ret < 0 ? ret : 0;
}

int arch_vcpu_setup(struct vm *vm, struct vcpu *vcpu)
{
	struct arm64_state *st = arm64_state_of(vm);
	struct kvm_vcpu_init init = st->vcpu_init;
	uint64_t mpidr;
	int ret;

	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (vm->cfg.pmu)
		init.features[0] |= 1u << KVM_ARM_VCPU_PMU_V3;
	/* Secondaries wait powered off until the guest starts them with PSCI CPU_ON. */
	if (vcpu->index > 0)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	ret = vcpu_ioctl(vcpu, KVM_ARM_VCPU_INIT, &init);
	if (ret < 0)
		return ret;
	ret = arm64_get_one_reg(vcpu, MPIDR_EL1, &mpidr);
	if (ret < 0)
		return ret;
	st->mpidr[vcpu->index] = mpidr & MPIDR_AFFINITY_MASK;
	return 0;
}

/* A data abort KVM could not decode: report it, then make it the guest's
 * problem (an external abort) rather than ours. */
static enum vcpu_action handle_nisv(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct kvm_vcpu_events events = {0};

	log_limited(&vcpu->log_limit, LOG_WARN,
		    "vcpu%u: guest access at 0x%llx that KVM cannot decode (no syndrome)%s",
		    vcpu->index, (unsigned long long)vcpu->run->arm_nisv.fault_ipa,
		    arm64_state_of(vm)->can_inject_abort ? "; injecting an external abort" : "");
	if (!arm64_state_of(vm)->can_inject_abort) {
		vm_error(vm, -EIO,
			 "vcpu%u: undecodable access at 0x%llx and no way to inject an abort",
			 vcpu->index, (unsigned long long)vcpu->run->arm_nisv.fault_ipa);
		vm_request_exit(vm, VM_EXIT_ERROR);
		return VCPU_STOP;
	}
	events.exception.ext_dabt_pending = 1;
	if (vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &events) < 0) {
		vm_request_exit(vm, VM_EXIT_ERROR);
		return VCPU_STOP;
	}
	return VCPU_CONTINUE;
}

enum vcpu_action arch_handle_exit(struct vcpu *vcpu)
{
	if (vcpu->run->exit_reason == KVM_EXIT_ARM_NISV)
		return handle_nisv(vcpu);
	vm_error(vcpu->vm, -EIO, "vcpu%u: unexpected KVM exit reason %u", vcpu->index,
		 vcpu->run->exit_reason);
	vm_request_exit(vcpu->vm, VM_EXIT_ERROR);
	return VCPU_STOP;
}
