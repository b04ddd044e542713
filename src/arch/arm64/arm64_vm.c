/* arm64 behind arch.h: vCPUs with in-kernel PSCI 0.2, an in-kernel GICv3
 * (GICv2 where v3 is absent), a 16550 UART, a PL031 RTC and a PL061 GPIO
 * with the power key, and the Linux Image boot protocol with a generated
 * device tree. */
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arch.h"
#include "arch/arm64/fdt_layout.h"
#include "arch/arm64/image.h"
#include "arch/arm64/layout.h"
#include "devices/pl031.h"
#include "devices/pl061.h"
#include "devices/uart_16550.h"
#include "fdt/fdt_builder.h"
#include "vmm/guest_file.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define CORE_REG(field)                                        \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
	 (offsetof(struct kvm_regs, field) / sizeof(uint32_t)))
#define MPIDR_EL1 ARM64_SYS_REG(3, 0, 0, 0, 5)
#define MPIDR_AFFINITY_MASK 0xff00ffffffULL
/* EL1h with debug, SError, IRQ and FIQ masked, as booting.rst asks. */
#define PSTATE_BOOT 0x3c5ULL

struct arm64_state {
	struct kvm_vcpu_init vcpu_init;
	uint64_t mpidr[VM_MAX_CPUS];
	int gic_fd;
	enum arm64_gic_version gic;
	bool nisv_to_user;
	bool can_inject_abort;
	struct device *console_uart;
	struct device *power_gpio; /* the PL061 the power key is on */
};

static const struct kvm_cap_req arm64_caps[] = {
	{KVM_CAP_ARM_PSCI_0_2, "KVM_CAP_ARM_PSCI_0_2"},
	{KVM_CAP_ONE_REG, "KVM_CAP_ONE_REG"},
	{KVM_CAP_DEVICE_CTRL, "KVM_CAP_DEVICE_CTRL"},
	{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
	{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
};

static struct arm64_state *state_of(struct vm *vm) { return vm->arch; }

const char *arch_name(void) { return "arm64"; }

void arch_cpu_relax(void) { __asm__ volatile("yield" ::: "memory"); }

uint64_t arch_ram_base(void) { return ARM64_RAM_BASE; }

uint64_t arch_max_ram(void) { return ARM64_MAX_RAM; }

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

static int set_one_reg(struct vcpu *vcpu, uint64_t id, uint64_t value)
{
	struct kvm_one_reg reg = {.id = id, .addr = (uintptr_t)&value};

	int ret = kvm_ioctl_checked(vcpu->vm, vcpu->fd, KVM_SET_ONE_REG, &reg, "KVM_SET_ONE_REG",
				    "vcpu%u: register 0x%llx", vcpu->index, (unsigned long long)id);

	return ret < 0 ? ret : 0;
}

static int get_one_reg(struct vcpu *vcpu, uint64_t id, uint64_t *value)
{
	struct kvm_one_reg reg = {.id = id, .addr = (uintptr_t)value};

	int ret = kvm_ioctl_checked(vcpu->vm, vcpu->fd, KVM_GET_ONE_REG, &reg, "KVM_GET_ONE_REG",
				    "vcpu%u: register 0x%llx", vcpu->index, (unsigned long long)id);

	return ret < 0 ? ret : 0;
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
	/* A guest access KVM cannot decode (no syndrome) comes to us instead of
	 * killing the VM: we report it and inject an external abort. */
	if (kvm_cap(vm->vm_fd, KVM_CAP_ARM_NISV_TO_USER) > 0) {
		struct kvm_enable_cap cap = {.cap = KVM_CAP_ARM_NISV_TO_USER};

		st->nisv_to_user = kvm_ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) == 0;
	}
	st->can_inject_abort = kvm_cap(vm->vm_fd, KVM_CAP_ARM_INJECT_EXT_DABT) > 0;
	ret = uart_16550_create(&vm->host, "uart0", BUS_MMIO, ARM64_UART_BASE, ARM64_UART_SPI,
				&st->console_uart);
	if (ret < 0)
		return ret;
	ret = pl031_create(&vm->host, ARM64_RTC_BASE, ARM64_RTC_SPI);
	if (ret < 0)
		return ret;
	return pl061_create(&vm->host, ARM64_GPIO_BASE, ARM64_GPIO_SPI, ARM64_PHANDLE_GPIO,
			    &st->power_gpio);
}

int arch_vcpu_setup(struct vm *vm, struct vcpu *vcpu)
{
	struct arm64_state *st = state_of(vm);
	struct kvm_vcpu_init init = st->vcpu_init;
	uint64_t mpidr;
	int ret;

	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	/* Secondaries wait powered off until the guest starts them with PSCI CPU_ON. */
	if (vcpu->index > 0)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	ret = vcpu_ioctl(vcpu, KVM_ARM_VCPU_INIT, &init);
	if (ret < 0)
		return ret;
	ret = get_one_reg(vcpu, MPIDR_EL1, &mpidr);
	if (ret < 0)
		return ret;
	st->mpidr[vcpu->index] = mpidr & MPIDR_AFFINITY_MASK;
	return 0;
}

static int gic_set_attr(struct vm *vm, uint32_t group, uint64_t attr, void *value)
{
	struct kvm_device_attr a = {.group = group, .attr = attr, .addr = (uintptr_t)value};

	int ret = kvm_ioctl_checked(vm, state_of(vm)->gic_fd, KVM_SET_DEVICE_ATTR, &a,
				    "KVM_SET_DEVICE_ATTR", "GIC attribute %u/%llu", group,
				    (unsigned long long)attr);

	return ret < 0 ? ret : 0;
}

static int gic_create(struct vm *vm)
{
	struct arm64_state *st = state_of(vm);
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
	ret = gic_set_attr(vm, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs);
	if (ret < 0)
		return ret;
	if (st->gic == ARM64_GIC_V3) {
		ret = gic_set_attr(vm, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST,
				   &dist);
		if (ret == 0)
			ret = gic_set_attr(vm, KVM_DEV_ARM_VGIC_GRP_ADDR,
					   KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist);
	} else {
		ret = gic_set_attr(vm, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_DIST,
				   &dist);
		if (ret == 0)
			ret = gic_set_attr(vm, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_CPU,
					   &cpu);
	}
	if (ret < 0)
		return ret;
	return gic_set_attr(vm, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
}

int arch_vm_finalize(struct vm *vm)
{
	/* The GIC sizes its redistributors by the vCPUs that exist: create it last. */
	return gic_create(vm);
}

struct boot_layout {
	uint64_t kernel_gpa;
	uint64_t kernel_end;
	uint64_t initrd_gpa;
	uint64_t initrd_size;
	uint64_t fdt_gpa;
};

static int load_kernel(struct vm *vm, struct boot_layout *lay)
{
	uint8_t head[4096];
	struct arm64_image_info info;
	struct guest_file kernel;
	size_t head_len;
	char why[160];
	int ret;

	ret = guest_file_open(vm, "kernel", vm->cfg.kernel_path, &kernel);
	if (ret < 0)
		return ret;
	head_len = kernel.size < sizeof(head) ? (size_t)kernel.size : sizeof(head);
	ret = guest_file_read(vm, &kernel, 0, head, head_len);
	if (ret < 0)
		goto out;
	if (arm64_image_parse(head, head_len, kernel.size, &info, why, sizeof(why)) < 0) {
		ret = vm_input_error(vm, -ENOEXEC, "kernel %s: %s", kernel.path, why);
		goto out;
	}
	/* RAM starts 2 MiB aligned, so the Image goes at its base + text_offset. */
	lay->kernel_gpa = ARM64_RAM_BASE + info.text_offset;
	lay->kernel_end = lay->kernel_gpa + info.image_size;
	/* Written so that a huge image_size from the header cannot wrap. */
	if (info.image_size > vm->cfg.mem_size ||
	    vm->cfg.mem_size - info.image_size < info.text_offset + ARM64_FDT_MAX_SIZE) {
		ret = vm_input_error(
			vm, -EFBIG,
			"kernel %s: needs %llu MiB once loaded; the guest has %llu MiB of RAM",
			kernel.path,
			(unsigned long long)((info.image_size + ARM64_FDT_MAX_SIZE) >> 20) + 1,
			(unsigned long long)(vm->cfg.mem_size >> 20));
		goto out;
	}
	ret = guest_file_load(vm, &kernel, lay->kernel_gpa);
out:
	guest_file_close(&kernel);
	return ret;
}

static int load_initrd(struct vm *vm, struct boot_layout *lay)
{
	struct guest_file initrd;
	uint64_t room;
	int ret;

	if (!vm->cfg.initrd_path)
		return 0;
	ret = guest_file_open(vm, "initrd", vm->cfg.initrd_path, &initrd);
	if (ret < 0)
		return ret;
	room = lay->fdt_gpa - lay->kernel_end;
	if (initrd.size > room) {
		ret = vm_input_error(
			vm, -EFBIG,
			"initrd %s: %llu bytes do not fit beside the kernel in %llu MiB of RAM (room for %llu)",
			initrd.path, (unsigned long long)initrd.size,
			(unsigned long long)(vm->cfg.mem_size >> 20), (unsigned long long)room);
		goto out;
	}
	lay->initrd_size = initrd.size;
	lay->initrd_gpa = (lay->fdt_gpa - initrd.size) & ~0xfffULL;
	ret = guest_file_load(vm, &initrd, lay->initrd_gpa);
out:
	guest_file_close(&initrd);
	return ret;
}

static int write_dtb_file(struct vm *vm, const struct fdt_builder *fb)
{
	const char *path = vm->cfg.dump_dtb_path;
	size_t size = fb_total_size(fb);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n;

	if (fd < 0)
		return vm_input_error(vm, -errno, "--dump-dtb %s: %s", path, strerror(errno));
	n = write(fd, fb->blob, size);
	if (n != (ssize_t)size || fsync(fd) < 0) {
		int err = n < 0 ? errno : EIO;

		close(fd);
		unlink(path);
		return vm_error(vm, -err, "--dump-dtb %s: %s", path, strerror(err));
	}
	close(fd);
	return 0;
}

static int build_fdt(struct vm *vm, const struct boot_layout *lay)
{
	struct arm64_state *st = state_of(vm);
	struct arm64_fdt_desc desc = {
		.nr_cpus = vm->nr_vcpus,
		.mpidrs = st->mpidr,
		.ram_base = ARM64_RAM_BASE,
		.ram_size = vm->cfg.mem_size,
		.cmdline = vm->cfg.cmdline,
		.initrd_start = lay->initrd_gpa,
		.initrd_size = lay->initrd_size,
		.gic = st->gic,
		.devices = vm->devices,
		.nr_devices = vm->nr_devices,
		.stdout_device = st->console_uart,
	};
	struct fdt_builder fb;
	size_t size = 16 * 1024;
	int ret;

	/* Start small (a large buffer would count against the VMM's own memory)
	 * and grow only if the tree does not fit. */
	for (;;) {
		if (fb_init(&fb, size) < 0)
			return vm_error(vm, -ENOMEM, "device tree: out of memory");
		ret = arm64_fdt_build(&desc, &fb);
		if (ret != -FDT_ERR_NOSPACE || size >= ARM64_FDT_MAX_SIZE)
			break;
		fb_free(&fb);
		size *= 2;
	}
	if (ret < 0) {
		ret = vm_error(vm, -EINVAL, "device tree: %s", fb_strerror(ret));
		goto out;
	}
	ret = guest_mem_write(&vm->mem, lay->fdt_gpa, fb.blob, fb_total_size(&fb));
	if (ret < 0) {
		ret = vm_error(vm, ret, "device tree does not fit in guest RAM");
		goto out;
	}
	if (vm->cfg.dump_dtb_path)
		ret = write_dtb_file(vm, &fb);
out:
	fb_free(&fb);
	return ret;
}

int arch_load_guest(struct vm *vm)
{
	struct boot_layout lay = {0};
	struct vcpu *boot = vm->vcpus[0];
	int ret;

	lay.fdt_gpa = ARM64_RAM_BASE + vm->cfg.mem_size - ARM64_FDT_MAX_SIZE;
	ret = load_kernel(vm, &lay);
	if (ret < 0)
		return ret;
	ret = load_initrd(vm, &lay);
	if (ret < 0)
		return ret;
	ret = build_fdt(vm, &lay);
	if (ret < 0)
		return ret;
	ret = set_one_reg(boot, CORE_REG(regs.pstate), PSTATE_BOOT);
	if (ret == 0)
		ret = set_one_reg(boot, CORE_REG(regs.regs[0]), lay.fdt_gpa);
	for (unsigned r = 1; ret == 0 && r < 4; r++)
		ret = set_one_reg(boot, CORE_REG(regs.regs[r]), 0);
	if (ret == 0)
		ret = set_one_reg(boot, CORE_REG(regs.pc), lay.kernel_gpa);
	return ret;
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
	struct arm64_state *st = state_of(vm);

	if (!st || !st->power_gpio)
		return -ENOTSUP;
	return pl061_set_input(st->power_gpio, PL061_POWER_PIN, pressed);
}

/* A data abort KVM could not decode: report it, then make it the guest's
 * problem (an external abort) rather than ours. */
static enum vcpu_action handle_nisv(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct kvm_vcpu_events events = {0};

	log_warn("vcpu%u: guest access at 0x%llx that KVM cannot decode (no syndrome)%s",
		 vcpu->index, (unsigned long long)vcpu->run->arm_nisv.fault_ipa,
		 state_of(vm)->can_inject_abort ? "; injecting an external abort" : "");
	if (!state_of(vm)->can_inject_abort) {
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

void arch_vm_teardown(struct vm *vm)
{
	struct arm64_state *st = state_of(vm);

	if (!st)
		return;
	if (st->gic_fd >= 0)
		close(st->gic_fd);
	free(st);
	vm->arch = NULL;
}
