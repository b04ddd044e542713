/* arm64 behind arch.h, the machine as a whole: the capabilities it needs, the
 * per-VM state, the platform devices (a 16550 UART, a PL031 RTC, a PL061
 * GPIO with the power key and the VM generation ID), the virtio-mmio slots,
 * and teardown. vCPUs are in
 * arm64_vcpu.c, the GIC in arm64_gic.c, booting in arm64_boot.c. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <unistd.h>

#include "arch/arch.h"
#include "arch/arm64/arm64.h"
#include "arch/arm64/layout.h"
#include "devices/pl031.h"
#include "devices/pl061.h"
#include "devices/uart_16550.h"
#include "devices/vmgenid.h"
#include "vmm/kvm.h"
#include "vmm/vm.h"

static const struct kvm_cap_req arm64_caps[] = {
	{KVM_CAP_ARM_PSCI_0_2, "KVM_CAP_ARM_PSCI_0_2"},
	{KVM_CAP_ONE_REG, "KVM_CAP_ONE_REG"},
	{KVM_CAP_DEVICE_CTRL, "KVM_CAP_DEVICE_CTRL"},
	{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
	{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
};

const char *arch_name(void) { return "arm64"; }

void arch_cpu_relax(void) { __asm__ volatile("yield" ::: "memory"); }

uint64_t arch_max_ram(void) { return ARM64_MAX_RAM; }

bool arch_has_guest_pmu(void) { return true; }

bool arch_has_raw_kernel(void) { return true; }

int arch_check_config(struct vm *vm)
{
	/* --nested depends on the host's KVM: arm64_nested_setup() asks it. */
	(void)vm;
	return 0;
}

const struct kvm_cap_req *arch_required_caps(unsigned *count)
{
	*count = sizeof(arm64_caps) / sizeof(arm64_caps[0]);
	return arm64_caps;
}

int arch_vm_type(int kvm_fd, unsigned long *type)
{
	(void)kvm_fd;
	*type = 0; /* the default 40-bit IPA space holds the whole layout */
	return 0;
}

int arch_vm_setup(struct vm *vm)
{
	struct arm64_state *st = calloc(1, sizeof(*st));
	int ret;

	if (!st)
		return vm_error(vm, -ENOMEM, "out of memory");
	st->gic_fd = -1;
	vm->arch = st;
	ret = vm_ioctl(vm, KVM_ARM_PREFERRED_TARGET, &st->vcpu_init);
	if (ret < 0)
		return ret;
	ret = arm64_nested_setup(vm);
	if (ret < 0)
		return ret;
	/* A guest access KVM cannot decode (no syndrome) comes to us instead of
	 * killing the VM: we report it and inject an external abort. */
	if (kvm_cap(vm->vm_fd, KVM_CAP_ARM_NISV_TO_USER) > 0) {
		struct kvm_enable_cap cap = {.cap = KVM_CAP_ARM_NISV_TO_USER};

		st->nisv_to_user = kvm_ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) == 0;
	}
	st->can_inject_abort = kvm_cap(vm->vm_fd, KVM_CAP_ARM_INJECT_EXT_DABT) > 0;
	if (vm->cfg.pmu && kvm_cap(vm->vm_fd, KVM_CAP_ARM_PMU_V3) <= 0)
		return vm_input_error(vm, -ENOTSUP,
				      "--pmu: this host's KVM cannot give a guest a PMU "
				      "(no KVM_CAP_ARM_PMU_V3: the host has no PMU KVM can use)");
	ret = uart_16550_create(&vm->host, "uart0", BUS_MMIO, ARM64_UART_BASE, ARM64_UART_SPI,
				&st->console_uart);
	if (ret < 0)
		return ret;
	ret = pl031_create(&vm->host, ARM64_RTC_BASE, ARM64_RTC_SPI);
	if (ret < 0)
		return ret;
	ret = pl061_create(&vm->host, ARM64_GPIO_BASE, ARM64_GPIO_SPI, &st->power_gpio);
	if (ret < 0 || vm->cfg.no_vmgenid)
		return ret;
	return vmgenid_create(&vm->host, ARM64_VMGENID_BASE, ARM64_VMGENID_SPI);
}

int arch_virtio_mmio_slot(struct vm *vm, unsigned index, uint64_t *base, unsigned *irq)
{
	(void)vm;
	if (index >= ARM64_VIRTIO_MMIO_SLOTS)
		return -ENOSPC;
	*base = ARM64_VIRTIO_MMIO_BASE + index * ARM64_VIRTIO_MMIO_SIZE;
	*irq = ARM64_VIRTIO_SPI_BASE + index;
	return 0;
}

/* A gpio-keys KEY_POWER on a PL061 line, as QEMU's virt machine has it. */
int arch_power_button(struct vm *vm, bool pressed)
{
	struct arm64_state *st = arm64_state_of(vm);

	if (!st || !st->power_gpio)
		return -ENOTSUP;
	return pl061_set_input(st->power_gpio, ARM64_POWER_KEY_PIN, pressed);
}

void arch_vm_teardown(struct vm *vm)
{
	struct arm64_state *st = arm64_state_of(vm);

	if (!st)
		return;
	if (st->gic_fd >= 0)
		close(st->gic_fd);
	free(st);
	vm->arch = NULL;
}
