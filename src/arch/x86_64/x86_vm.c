/* x86_64 behind arch.h: a small machine for ELF64 test kernels that start in
 * 64-bit mode, with a COM1 16550 and the 0xcf9 reset register on port I/O.
 * There is no in-kernel irqchip yet, so HLT with nothing to wake the vCPU
 * ends it, and the UART is polled. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "arch/x86_64/elf_loader.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/long_mode.h"
#include "arch/x86_64/ram_layout.h"
#include "devices/reset_control.h"
#include "devices/uart_16550.h"
#include "vmm/guest_file.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

static const struct kvm_cap_req x86_caps[] = {
	{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
	{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
	{KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
};

const char *arch_name(void) { return "x86_64"; }

void arch_cpu_relax(void) { __builtin_ia32_pause(); }

uint64_t arch_max_ram(void) { return X86_MAX_RAM; }

/* kvmkit's x86_64 machine boots ELF64 test kernels and gives no PMU. */
bool arch_has_guest_pmu(void) { return false; }

bool arch_has_raw_kernel(void) { return false; }

int arch_ram_regions(uint64_t ram_size, struct arch_ram_region *out, unsigned max)
{
	return x86_ram_regions(ram_size, out, max);
}

const struct kvm_cap_req *arch_required_caps(unsigned *count)
{
	*count = sizeof(x86_caps) / sizeof(x86_caps[0]);
	return x86_caps;
}

int arch_vm_type(int kvm_fd, unsigned long *type)
{
	(void)kvm_fd;
	*type = 0;
	return 0;
}

int arch_check_config(struct vm *vm)
{
	if (vm->cfg.nested != VM_NESTED_OFF)
		return vm_input_error(vm, -ENOTSUP,
				      "--nested: kvmkit runs guest hypervisors on arm64 hosts only "
				      "(KVM_ARM_VCPU_HAS_EL2); this is an x86_64 host");
	return 0;
}

int arch_vm_setup(struct vm *vm)
{
	int ret = uart_16550_create(&vm->host, "com1", BUS_PIO, X86_COM1_PORT, 0, NULL);

	if (ret < 0)
		return ret;
	return reset_control_create(&vm->host, X86_RESET_PORT);
}

static int set_cpuid(struct vm *vm, struct vcpu *vcpu)
{
	unsigned nent = 128;
	struct kvm_cpuid2 *cpuid;
	int ret = 0;

	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return vm_error(vm, -ENOMEM, "cpuid: out of memory");
		cpuid->nent = nent;
		ret = kvm_ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid);
		if (ret == 0)
			break;
		free(cpuid);
		if (ret != -E2BIG || nent >= 4096)
			return vm_error(vm, ret, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-ret));
		nent *= 2;
	}
	ret = vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	return ret < 0 ? ret : 0;
}

int arch_vcpu_setup(struct vm *vm, struct vcpu *vcpu) { return set_cpuid(vm, vcpu); }

int arch_vm_finalize(struct vm *vm)
{
	(void)vm;
	return 0;
}

/* Where kernel segments may go, for messages: "0x44000-0xc0000000,
 * 0x100000000-0x140000000". */
static void describe_loadable_ram(const struct guest_mem *mem, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < mem->nr_regions && used < len; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		uint64_t start = r->gpa < X86_LOW_RESERVED ? X86_LOW_RESERVED : r->gpa;
		int n = snprintf(buf + used, len - used, "%s0x%llx-0x%llx", i ? ", " : "",
				 (unsigned long long)start, (unsigned long long)(r->gpa + r->size));

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* Loads every segment into RAM (each inside one region: the hole splits
 * none) and returns the entry and where the segments below the hole end. */
static int load_elf(struct vm *vm, struct guest_file *kernel, uint64_t *entry, uint64_t *low_end)
{
	uint8_t head[4096];
	size_t head_len = kernel->size < sizeof(head) ? (size_t)kernel->size : sizeof(head);
	struct elf_image img;
	char why[128], ram[128];
	bool entry_loaded = false;
	int ret;

	ret = guest_file_read(vm, kernel, 0, head, head_len);
	if (ret < 0)
		return ret;
	if (elf_parse(head, head_len, kernel->size, &img, why, sizeof(why)) < 0)
		return vm_input_error(vm, -ENOEXEC, "kernel %s: %s", kernel->path, why);
	for (unsigned i = 0; i < img.nr_segments; i++) {
		const struct elf_segment *s = &img.segments[i];
		uint8_t *dst = guest_mem_ptr(&vm->mem, s->paddr, s->mem_size);

		if (!dst || s->paddr < X86_LOW_RESERVED) {
			describe_loadable_ram(&vm->mem, ram, sizeof(ram));
			return vm_input_error(
				vm, -EFBIG,
				"kernel %s: segment at 0x%llx (%llu bytes) is outside the guest's RAM (%s)",
				kernel->path, (unsigned long long)s->paddr,
				(unsigned long long)s->mem_size, ram);
		}
		ret = guest_file_read(vm, kernel, s->file_offset, dst, s->file_size);
		if (ret < 0)
			return ret;
		memset(dst + s->file_size, 0, s->mem_size - s->file_size);
		if (s->paddr < X86_MMIO_HOLE && s->paddr + s->mem_size > *low_end)
			*low_end = s->paddr + s->mem_size;
		if (img.entry >= s->paddr && img.entry - s->paddr < s->mem_size)
			entry_loaded = true;
	}
	if (!entry_loaded)
		return vm_input_error(vm, -ENOEXEC,
				      "kernel %s: entry point 0x%llx is in no loaded segment",
				      kernel->path, (unsigned long long)img.entry);
	*entry = img.entry;
	return 0;
}

/* Test kernels find the initrd through RDI (address) and RSI (size). It goes
 * at the top of the RAM below the MMIO hole, where a 32-bit boot protocol can
 * point at it too, and must stay clear of the kernel's segments there. */
static int load_initrd(struct vm *vm, uint64_t kernel_low_end, struct kvm_regs *regs)
{
	const struct guest_mem_region *low = guest_mem_region_of(&vm->mem, X86_RAM_BASE);
	struct guest_file initrd;
	uint64_t ram_end = low->gpa + low->size, room, gpa;
	int ret;

	if (!vm->cfg.initrd_path)
		return 0;
	ret = guest_file_open(vm, "initrd", vm->cfg.initrd_path, &initrd);
	if (ret < 0)
		return ret;
	room = ram_end > kernel_low_end ? (ram_end - kernel_low_end) & ~0xfffULL : 0;
	if (initrd.size > room) {
		ret = vm_input_error(
			vm, -EFBIG,
			"initrd %s: %llu bytes do not fit above the kernel in the %llu MiB of RAM below the MMIO hole (room for %llu)",
			initrd.path, (unsigned long long)initrd.size,
			(unsigned long long)(low->size >> 20), (unsigned long long)room);
		goto out;
	}
	gpa = (ram_end - initrd.size) & ~0xfffULL;
	ret = guest_file_load(vm, &initrd, gpa);
	regs->rdi = gpa;
	regs->rsi = initrd.size;
out:
	guest_file_close(&initrd);
	return ret;
}

int arch_load_guest(struct vm *vm)
{
	struct guest_file kernel;
	struct kvm_sregs sregs;
	struct kvm_regs regs = {0};
	struct vcpu *boot = vm->vcpus[0];
	uint64_t entry = 0, kernel_low_end = 0;
	int ret;

	ret = guest_file_open(vm, "kernel", vm->cfg.kernel_path, &kernel);
	if (ret < 0)
		return ret;
	ret = load_elf(vm, &kernel, &entry, &kernel_low_end);
	guest_file_close(&kernel);
	if (ret < 0)
		return ret;
	ret = load_initrd(vm, kernel_low_end, &regs);
	if (ret < 0)
		return ret;
	ret = long_mode_write_tables(&vm->mem);
	if (ret < 0)
		return vm_error(vm, ret, "cannot write boot page tables: %s", strerror(-ret));
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		ret = vcpu_ioctl(v, KVM_GET_SREGS, &sregs);
		if (ret < 0)
			return ret;
		long_mode_sregs(&sregs);
		ret = vcpu_ioctl(v, KVM_SET_SREGS, &sregs);
		if (ret < 0)
			return ret;
	}
	regs.rflags = 0x2;
	regs.rip = entry;
	regs.rsp = X86_BOOT_STACK;
	ret = vcpu_ioctl(boot, KVM_SET_REGS, &regs);
	if (ret < 0)
		return ret;
	/* Secondary vCPUs of test kernels have nothing to run until an irqchip and
	 * INIT/SIPI exist; they start halted at a HLT instruction placed at the
	 * bottom of the reserved low page. */
	for (unsigned i = 1; i < vm->nr_vcpus; i++) {
		struct kvm_regs r = {.rflags = 0x2, .rip = X86_HLT_ADDR, .rsp = X86_BOOT_STACK};

		ret = vcpu_ioctl(vm->vcpus[i], KVM_SET_REGS, &r);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int arch_irq_line(struct vm *vm, unsigned irq, bool level)
{
	(void)vm;
	(void)irq;
	(void)level;
	/* No interrupt controller is modelled on x86_64 yet: devices are polled. */
	return -ENOTSUP;
}

int arch_irq_gsi(struct vm *vm, unsigned irq, unsigned *gsi)
{
	(void)vm;
	(void)irq;
	(void)gsi;
	return -ENOTSUP;
}

/* Test kernels drive virtio-mmio devices by polling: no interrupt yet. */
int arch_virtio_mmio_slot(struct vm *vm, unsigned index, uint64_t *base, unsigned *irq)
{
	(void)vm;
	if (index >= X86_VIRTIO_MMIO_SLOTS)
		return -ENOSPC;
	*base = X86_VIRTIO_MMIO_BASE + index * X86_VIRTIO_MMIO_SIZE;
	*irq = 0;
	return 0;
}

/* The test machine has no ACPI and so no power button: a stop is a hard stop. */
int arch_power_button(struct vm *vm, bool pressed)
{
	(void)vm;
	(void)pressed;
	return -ENOTSUP;
}

enum vcpu_action arch_handle_exit(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	switch (vcpu->run->exit_reason) {
	case KVM_EXIT_HLT:
		/* Without an irqchip nothing can wake a halted vCPU. */
		log_info("vcpu%u: halted", vcpu->index);
		return VCPU_STOP;
	case KVM_EXIT_SHUTDOWN:
		log_info("vcpu%u: triple fault, treating it as a reset", vcpu->index);
		vm_request_exit(vm, VM_EXIT_RESET);
		return VCPU_STOP;
	default:
		vm_error(vm, -EIO, "vcpu%u: unexpected KVM exit reason %u", vcpu->index,
			 vcpu->run->exit_reason);
		vm_request_exit(vm, VM_EXIT_ERROR);
		return VCPU_STOP;
	}
}

void arch_vm_teardown(struct vm *vm) { (void)vm; }
