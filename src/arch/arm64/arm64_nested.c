/* --nested on arm64: the guest's vCPUs start at EL2 (KVM_ARM_VCPU_HAS_EL2),
 * so that it can run KVM itself. The host's KVM must offer it
 * (KVM_CAP_ARM_EL2: Linux 6.16 or newer on a CPU with FEAT_NV2, booted with
 * kvm-arm.mode=nested); non-VHE (E2H fixed at 0) needs KVM_CAP_ARM_EL2_E2H0
 * too. The device tree's share is in fdt_layout.c (desc.nested). */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arch/arm64/arm64.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/vm.h"

/* Older uapi headers (the cross sysroot's) lack these; the values are ABI. */
#ifndef KVM_CAP_ARM_EL2
#define KVM_CAP_ARM_EL2 240
#endif
#ifndef KVM_CAP_ARM_EL2_E2H0
#define KVM_CAP_ARM_EL2_E2H0 241
#endif
#ifndef KVM_ARM_VCPU_HAS_EL2
#define KVM_ARM_VCPU_HAS_EL2 7
#endif
#ifndef KVM_ARM_VCPU_HAS_EL2_E2H0
#define KVM_ARM_VCPU_HAS_EL2_E2H0 8
#endif
#ifndef KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ
#define KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ 9
#endif

/* The maintenance interrupt's INTID: PPI 9, as the device tree says. */
#define GIC_MAINT_INTID (16 + 9)

/* Whether this host's kernel was booted with kvm-arm.mode=nested: it tells
 * "turn it on" from "this kernel or CPU cannot". */
static bool host_asked_for_nested(void)
{
	char line[4096];
	ssize_t n;
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return false;
	line[n] = '\0';
	return strstr(line, "kvm-arm.mode=nested") != NULL;
}

int arm64_nested_setup(struct vm *vm)
{
	struct arm64_state *st = arm64_state_of(vm);
	bool nvhe = vm->cfg.nested == VM_NESTED_NVHE;

	if (vm->cfg.nested == VM_NESTED_OFF)
		return 0;
	if (kvm_cap(vm->vm_fd, KVM_CAP_ARM_EL2) <= 0) {
		if (host_asked_for_nested())
			return vm_input_error(
				vm, -ENOTSUP,
				"--nested: this host's KVM lacks KVM_CAP_ARM_EL2 although it was "
				"booted with kvm-arm.mode=nested: the kernel is too old (nested "
				"virtualization needs Linux 6.16 or newer) or the CPU has no FEAT_NV2");
		return vm_input_error(
			vm, -ENOTSUP,
			"--nested: this host's KVM lacks KVM_CAP_ARM_EL2: nested virtualization is "
			"not enabled (boot the host with kvm-arm.mode=nested) or the kernel is too "
			"old for it (Linux 6.16 or newer)");
	}
	if (nvhe && kvm_cap(vm->vm_fd, KVM_CAP_ARM_EL2_E2H0) <= 0)
		return vm_input_error(vm, -ENOTSUP,
				      "--nested=nvhe: this host's KVM lacks KVM_CAP_ARM_EL2_E2H0 "
				      "(it offers only VHE guest hypervisors: use --nested)");
	st->vcpu_init.features[0] |= 1u << KVM_ARM_VCPU_HAS_EL2;
	if (nvhe)
		st->vcpu_init.features[0] |= 1u << KVM_ARM_VCPU_HAS_EL2_E2H0;
	st->nested = true;
	log_debug("--nested: vCPUs start at EL2%s", nvhe ? " with E2H 0 (nVHE)" : "");
	return 0;
}

int arm64_gic_nested_setup(struct vm *vm)
{
	struct arm64_state *st = arm64_state_of(vm);
	struct kvm_device_attr probe = {.group = KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ};
	uint32_t intid = GIC_MAINT_INTID;

	if (!st->nested || st->gic != ARM64_GIC_V3)
		return 0;
	/* Kernels that do not offer the attribute take the maintenance
	 * interrupt from their default (PPI 9 too). */
	if (kvm_ioctl(st->gic_fd, KVM_HAS_DEVICE_ATTR, &probe) < 0) {
		log_debug("--nested: KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ not offered; KVM's default");
		return 0;
	}
	return arm64_gic_set_attr(vm, KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ, 0, &intid);
}
