/* Private to src/arch/arm64: the state the arm64 side of arch.h keeps per VM
 * (vm->arch) and what its files share. arm64_platform.c sets the VM up and
 * tears it down, arm64_vcpu.c owns vCPUs and their exits, arm64_gic.c the
 * interrupt controller, arm64_pmu.c the guest PMU (--pmu), arm64_boot.c
 * the kernel (an Image, or a raw binary), initrd and device tree;
 * arm64_vcpu_state.c and arm64_gic_state.c save and load their state. */
#ifndef KVMKIT_ARCH_ARM64_H
#define KVMKIT_ARCH_ARM64_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/arm64/fdt_layout.h"
#include "vmm/vm.h"

#define CORE_REG(field)                                        \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
	 (offsetof(struct kvm_regs, field) / sizeof(uint32_t)))

struct arm64_state {
	struct kvm_vcpu_init vcpu_init;
	uint64_t mpidr[VM_MAX_CPUS];
	int gic_fd;
	enum arm64_gic_version gic;
	bool nisv_to_user;
	bool can_inject_abort;
	bool nested; /* vCPUs start at EL2 (--nested) */
	struct device *console_uart;
	struct device *power_gpio; /* the PL061 the power key is on */
};

static inline struct arm64_state *arm64_state_of(struct vm *vm) { return vm->arch; }

struct vcpu;

/* KVM_SET_ONE_REG / KVM_GET_ONE_REG of a 64-bit register; a failure is the
 * VM's error, naming the vCPU and the register. */
int arm64_set_one_reg(struct vcpu *vcpu, uint64_t id, uint64_t value);
int arm64_get_one_reg(struct vcpu *vcpu, uint64_t id, uint64_t *value);

/* Creates the in-kernel GIC (v3, else v2) for the vCPUs that exist and
 * initializes it (arm64_gic.c). */
int arm64_gic_create(struct vm *vm);

/* With --pmu, after the GIC is initialized: gives every vCPU its PMU
 * overflow interrupt and initializes its PMU (arm64_pmu.c). Nothing without. */
int arm64_pmu_init(struct vm *vm);
/* --nested (arm64_nested.c): checks that the host's KVM offers what the
 * mode needs (an input error naming what is missing otherwise) and adds
 * the EL2 features to vcpu_init. Called from arch_vm_setup() after
 * KVM_ARM_PREFERRED_TARGET, before any vCPU. */
int arm64_nested_setup(struct vm *vm);

/* With --nested and a GICv3: names the maintenance interrupt (PPI 9) to
 * KVM where it offers KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ. Called after the GIC
 * exists, before KVM_DEV_ARM_VGIC_CTRL_INIT. */
int arm64_gic_nested_setup(struct vm *vm);

/* KVM_SET_DEVICE_ATTR / KVM_GET_DEVICE_ATTR on the GIC; a failure is the
 * VM's error, naming the group and attribute. */
int arm64_gic_set_attr(struct vm *vm, uint32_t group, uint64_t attr, void *value);
int arm64_gic_get_attr(struct vm *vm, uint32_t group, uint64_t attr, void *value);

#endif
