/* The Linux arm64 Image boot protocol: the Image at RAM base + text_offset
 * (a raw kernel, --kernel-format raw, at RAM base + ARM64_RAW_KERNEL_OFFSET),
 * the initrd below the device tree, the device tree (generated from the
 * platform) in the last 2 MiB of RAM, and the boot vCPU's entry registers. */
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <linux/kvm.h>
#include <string.h>
#include <unistd.h>

#include "arch/arch.h"
#include "arch/arm64/arm64.h"
#include "arch/arm64/fdt_layout.h"
#include "arch/arm64/image.h"
#include "arch/arm64/layout.h"
#include "fdt/fdt_builder.h"
#include "vmm/guest_file.h"
#include "vmm/guest_mem.h"
#include "vmm/kvm.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

/* EL1h with debug, SError, IRQ and FIQ masked, as booting.rst asks. */
#define PSTATE_BOOT 0x3c5ULL
/* The same at EL2h, for a vCPU with EL2 (--nested): the kernel then finds
 * itself at EL2 and can run KVM. */
#define PSTATE_BOOT_EL2 0x3c9ULL

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
	if (vm->cfg.kernel_format == KERNEL_FORMAT_RAW)
		ret = arm64_raw_image_info(kernel.size, &info, why, sizeof(why));
	else
		ret = arm64_image_parse(head, head_len, kernel.size, &info, why, sizeof(why));
	if (ret < 0) {
		ret = vm_input_error(vm, -ENOEXEC, "kernel %s: %s", kernel.path, why);
		goto out;
	}
	/* RAM starts 2 MiB aligned, so the Image goes at its base + text_offset;
	 * a raw kernel at its base + ARM64_RAW_KERNEL_OFFSET. Either is entered
	 * at its first byte. */
	lay->kernel_gpa = ARM64_RAM_BASE + info.text_offset;
	lay->kernel_end = lay->kernel_gpa + info.image_size;
	if (!arm64_kernel_fits(&info, vm->cfg.mem_size)) {
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
	struct arm64_state *st = arm64_state_of(vm);
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
		.power_gpio = st->power_gpio,
		.pmu = vm->cfg.pmu,
		.nested = st->nested,
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
	ret = arm64_set_one_reg(boot, CORE_REG(regs.pstate),
				arm64_state_of(vm)->nested ? PSTATE_BOOT_EL2 : PSTATE_BOOT);
	if (ret == 0)
		ret = arm64_set_one_reg(boot, CORE_REG(regs.regs[0]), lay.fdt_gpa);
	for (unsigned r = 1; ret == 0 && r < 4; r++)
		ret = arm64_set_one_reg(boot, CORE_REG(regs.regs[r]), 0);
	if (ret == 0)
		ret = arm64_set_one_reg(boot, CORE_REG(regs.pc), lay.kernel_gpa);
	return ret;
}
