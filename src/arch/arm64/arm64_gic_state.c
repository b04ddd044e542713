/* The in-kernel GICv3's state as one record, through the vGIC's device
 * attributes (Documentation/virt/kvm/devices/arm-vgic-v3.rst): distributor
 * registers, each vCPU's redistributor (SGI/PPI frame) and CPU interface
 * system registers, and the line level of level-triggered SPIs. There is no
 * ITS, so there are no LPIs and no pending tables to save. GICv2 is not
 * saved (-ENOTSUP).
 *
 * Which registers is fixed by the layout below (the interrupt count is
 * fixed too), so the record holds values only, in the order they are
 * loaded: GICD_CTLR first (its ARE and group enables change how the rest
 * reads), the configuration of each interrupt before its state, and of the
 * state the line level before pending, pending before active, enables last.
 * A set/clear pair is loaded by clearing what is not set, then setting. The
 * CPU interface registers a host implements vary (ICC_AP0R<n>/AP1R<n> with
 * its priority bits): the record names each one. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "arch/arm64/arm64.h"
#include "arch/arm64/layout.h"
#include "vmm/kvm.h"
#include "vmm/state.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define GIC_KIND "arm64-gicv3"
#define GIC_VERSION 1

#define GICD_CTLR 0x0000
#define GICD_IGROUPR 0x0080
#define GICD_ISENABLER 0x0100
#define GICD_ISPENDR 0x0200
#define GICD_ISACTIVER 0x0300
#define GICD_IPRIORITYR 0x0400
#define GICD_ICFGR 0x0c00
#define GICD_IGRPMODR 0x0d00
#define GICD_IROUTER 0x6000
#define GIC_CLEAR_OFFSET 0x80 /* ICENABLER from ISENABLER, and so on */
#define GICR_SGI_FRAME 0x10000

#define NR_SPI_WORDS (ARM64_GIC_NR_IRQS / 32)
#define MAX_GIC_REGS 512

enum gic_reg_kind { GIC_PLAIN, GIC_SET_CLEAR };

struct gic_reg {
	uint32_t offset;
	enum gic_reg_kind kind;
};

static void add(struct gic_reg *regs, unsigned *n, uint32_t offset, enum gic_reg_kind kind)
{
	regs[(*n)++] = (struct gic_reg){offset, kind};
}

/* Distributor registers of the SPIs, in load order (GICD_CTLR is apart). */
static unsigned dist_config_layout(struct gic_reg *regs)
{
	unsigned n = 0;

	for (unsigned w = 1; w < NR_SPI_WORDS; w++)
		add(regs, &n, GICD_IGROUPR + 4 * w, GIC_PLAIN);
	for (unsigned w = 1; w < NR_SPI_WORDS; w++)
		add(regs, &n, GICD_IGRPMODR + 4 * w, GIC_PLAIN);
	for (unsigned irq = 32; irq < ARM64_GIC_NR_IRQS; irq += 4)
		add(regs, &n, GICD_IPRIORITYR + irq, GIC_PLAIN);
	for (unsigned irq = 32; irq < ARM64_GIC_NR_IRQS; irq += 16)
		add(regs, &n, GICD_ICFGR + irq / 4, GIC_PLAIN);
	for (unsigned irq = 32; irq < ARM64_GIC_NR_IRQS; irq++) {
		add(regs, &n, GICD_IROUTER + 8 * irq, GIC_PLAIN);
		add(regs, &n, GICD_IROUTER + 8 * irq + 4, GIC_PLAIN);
	}
	return n;
}

static unsigned dist_state_layout(struct gic_reg *regs)
{
	static const uint32_t banks[] = {GICD_ISPENDR, GICD_ISACTIVER, GICD_ISENABLER};
	unsigned n = 0;

	for (unsigned b = 0; b < 3; b++)
		for (unsigned w = 1; w < NR_SPI_WORDS; w++)
			add(regs, &n, banks[b] + 4 * w, GIC_SET_CLEAR);
	return n;
}

/* One vCPU's SGI and PPI frame, configuration then state. */
static unsigned redist_layout(struct gic_reg *regs)
{
	unsigned n = 0;

	add(regs, &n, GICR_SGI_FRAME + GICD_IGROUPR, GIC_PLAIN);
	add(regs, &n, GICR_SGI_FRAME + GICD_IGRPMODR, GIC_PLAIN);
	for (unsigned irq = 0; irq < 32; irq += 4)
		add(regs, &n, GICR_SGI_FRAME + GICD_IPRIORITYR + irq, GIC_PLAIN);
	add(regs, &n, GICR_SGI_FRAME + GICD_ICFGR + 4, GIC_PLAIN);
	add(regs, &n, GICR_SGI_FRAME + GICD_ISPENDR, GIC_SET_CLEAR);
	add(regs, &n, GICR_SGI_FRAME + GICD_ISACTIVER, GIC_SET_CLEAR);
	add(regs, &n, GICR_SGI_FRAME + GICD_ISENABLER, GIC_SET_CLEAR);
	return n;
}

#define ICC(op1, crn, crm, op2) (ARM64_SYS_REG(3, op1, crn, crm, op2) & 0xffff)

/* CPU interface registers, in load order: SRE and CTLR first. */
static const uint64_t icc_regs[] = {
	ICC(0, 12, 12, 5),                                                       /* ICC_SRE_EL1 */
	ICC(0, 12, 12, 4),                                                       /* ICC_CTLR_EL1 */
	ICC(0, 4, 6, 0),                                                         /* ICC_PMR_EL1 */
	ICC(0, 12, 8, 3),                                                        /* ICC_BPR0_EL1 */
	ICC(0, 12, 12, 3),                                                       /* ICC_BPR1_EL1 */
	ICC(0, 12, 8, 4),  ICC(0, 12, 8, 5), ICC(0, 12, 8, 6), ICC(0, 12, 8, 7), /* AP0R0-3 */
	ICC(0, 12, 9, 0),  ICC(0, 12, 9, 1), ICC(0, 12, 9, 2), ICC(0, 12, 9, 3), /* AP1R0-3 */
	ICC(0, 12, 12, 6), /* ICC_IGRPEN0_EL1 */
	ICC(0, 12, 12, 7), /* ICC_IGRPEN1_EL1 */
};
#define NR_ICC_REGS (sizeof(icc_regs) / sizeof(icc_regs[0]))

/* The attribute's MPIDR field: Aff3.Aff2.Aff1.Aff0 in bits 63..32. */
static uint64_t mpidr_attr(struct vm *vm, unsigned cpu)
{
	uint64_t m = arm64_state_of(vm)->mpidr[cpu];
	uint64_t aff = ((m >> 32) & 0xff) << 24 | (m & 0xffffff);

	return aff << 32;
}

static bool has_attr(struct vm *vm, uint32_t group, uint64_t attr)
{
	struct kvm_device_attr a = {.group = group, .attr = attr};

	return kvm_ioctl(arm64_state_of(vm)->gic_fd, KVM_HAS_DEVICE_ATTR, &a) == 0;
}

/* Whether this GIC has CPU interface register @id: KVM_HAS_DEVICE_ATTR says
 * yes to every ICC_AP0R<n>/AP1R<n>, while only those the priority bits call
 * for can be read. */
static bool has_icc(struct vm *vm, uint64_t mpidr, uint64_t id)
{
	uint64_t v;
	struct kvm_device_attr a = {.group = KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
				    .attr = mpidr | id,
				    .addr = (uintptr_t)&v};

	return kvm_ioctl(arm64_state_of(vm)->gic_fd, KVM_GET_DEVICE_ATTR, &a) == 0;
}

static uint64_t level_attr(unsigned word)
{
	return (uint64_t)VGIC_LEVEL_INFO_LINE_LEVEL << KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT |
	       32 * word;
}

static bool has_level_info(struct vm *vm)
{
	return has_attr(vm, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, mpidr_attr(vm, 0) | level_attr(1));
}

static int check_gicv3(struct vm *vm, const char *what)
{
	struct arm64_state *st = arm64_state_of(vm);

	if (st->gic_fd < 0)
		return vm_error(vm, -EINVAL, "%s of the GIC: it is not created yet", what);
	if (st->gic != ARM64_GIC_V3)
		return vm_error(vm, -ENOTSUP, "%s of the GIC: kvmkit saves only a GICv3, not v%d",
				what, st->gic);
	return 0;
}

static int save_regs(struct vm *vm, uint32_t group, uint64_t mpidr, const struct gic_reg *regs,
		     unsigned n, struct state_buf *out)
{
	state_put_u32(out, n);
	for (unsigned i = 0; i < n; i++) {
		uint32_t v;
		int ret = arm64_gic_get_attr(vm, group, mpidr | regs[i].offset, &v);

		if (ret < 0)
			return ret;
		state_put_u32(out, v);
	}
	return 0;
}

int arch_irqchip_save(struct vm *vm, struct state_buf *out)
{
	struct gic_reg regs[MAX_GIC_REGS];
	bool levels = has_level_info(vm);
	uint32_t ctlr;
	int ret = check_gicv3(vm, "save");

	if (ret < 0)
		return ret;
	state_begin(out, GIC_KIND, GIC_VERSION);
	state_put_u32(out, vm->nr_vcpus);
	state_put_u32(out, ARM64_GIC_NR_IRQS);
	ret = arm64_gic_get_attr(vm, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_CTLR, &ctlr);
	state_put_u32(out, ctlr);
	for (unsigned c = 0; ret == 0 && c < vm->nr_vcpus; c++) {
		uint64_t mpidr = mpidr_attr(vm, c);
		unsigned nr_icc = 0;

		ret = save_regs(vm, KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, mpidr, regs,
				redist_layout(regs), out);
		for (unsigned i = 0; i < NR_ICC_REGS; i++)
			nr_icc += has_icc(vm, mpidr, icc_regs[i]);
		state_put_u32(out, nr_icc);
		for (unsigned i = 0; ret == 0 && i < NR_ICC_REGS; i++) {
			uint64_t v;

			if (!has_icc(vm, mpidr, icc_regs[i]))
				continue;
			ret = arm64_gic_get_attr(vm, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
						 mpidr | icc_regs[i], &v);
			state_put_u32(out, (uint32_t)icc_regs[i]);
			state_put_u64(out, v);
		}
	}
	if (ret == 0)
		ret = save_regs(vm, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 0, regs,
				dist_config_layout(regs), out);
	state_put_bool(out, levels);
	for (unsigned w = 1; ret == 0 && levels && w < NR_SPI_WORDS; w++) {
		uint32_t v;

		ret = arm64_gic_get_attr(vm, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
					 mpidr_attr(vm, 0) | level_attr(w), &v);
		state_put_u32(out, v);
	}
	if (ret == 0)
		ret = save_regs(vm, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 0, regs,
				dist_state_layout(regs), out);
	if (ret == 0) {
		ret = state_end(out);
		if (ret < 0)
			vm_error(vm, ret, "GIC: saving state: %s", strerror(-ret));
	}
	return ret;
}

/* What the record holds, read and checked in full before anything is set. */
struct gic_image {
	uint32_t ctlr;
	uint32_t redist[VM_MAX_CPUS][64];
	unsigned nr_icc[VM_MAX_CPUS];
	uint64_t icc_id[VM_MAX_CPUS][NR_ICC_REGS];
	uint64_t icc_val[VM_MAX_CPUS][NR_ICC_REGS];
	uint32_t dist_config[MAX_GIC_REGS];
	bool levels;
	uint32_t level[NR_SPI_WORDS];
	uint32_t dist_state[MAX_GIC_REGS];
};

static bool read_values(struct state_reader *rec, unsigned want, uint32_t *values)
{
	if (state_get_u32(rec) != want)
		return false;
	for (unsigned i = 0; i < want; i++)
		values[i] = state_get_u32(rec);
	return !rec->err;
}

static bool known_icc(uint64_t id)
{
	for (unsigned i = 0; i < NR_ICC_REGS; i++)
		if (icc_regs[i] == id)
			return true;
	return false;
}

static const char *read_image(struct vm *vm, struct state_reader *rec, struct gic_image *img)
{
	struct gic_reg regs[MAX_GIC_REGS];

	if (state_get_u32(rec) != vm->nr_vcpus)
		return "saved with another number of vCPUs";
	if (state_get_u32(rec) != ARM64_GIC_NR_IRQS)
		return "saved with another number of interrupts";
	img->ctlr = state_get_u32(rec);
	for (unsigned c = 0; c < vm->nr_vcpus; c++) {
		uint64_t mpidr = mpidr_attr(vm, c);

		if (!read_values(rec, redist_layout(regs), img->redist[c]))
			return "redistributor registers differ";
		img->nr_icc[c] = state_get_u32(rec);
		if (img->nr_icc[c] > NR_ICC_REGS)
			return "too many CPU interface registers";
		for (unsigned i = 0; i < img->nr_icc[c]; i++) {
			img->icc_id[c][i] = state_get_u32(rec);
			img->icc_val[c][i] = state_get_u64(rec);
			if (!rec->err && (!known_icc(img->icc_id[c][i]) ||
					  !has_icc(vm, mpidr, img->icc_id[c][i])))
				return "a CPU interface register this GIC does not have";
		}
	}
	if (!read_values(rec, dist_config_layout(regs), img->dist_config))
		return "distributor registers differ";
	img->levels = state_get_bool(rec);
	if (!rec->err && img->levels != has_level_info(vm))
		return "line levels saved on a host that differs here";
	for (unsigned w = 1; img->levels && w < NR_SPI_WORDS; w++)
		img->level[w] = state_get_u32(rec);
	if (!read_values(rec, dist_state_layout(regs), img->dist_state))
		return "distributor state differs";
	if (state_finish(rec) < 0)
		return "cut short or too long";
	return NULL;
}

static int load_regs(struct vm *vm, uint32_t group, uint64_t mpidr, const struct gic_reg *regs,
		     unsigned n, uint32_t *values)
{
	int ret = 0;

	for (unsigned i = 0; ret == 0 && i < n; i++) {
		uint64_t attr = mpidr | regs[i].offset;

		if (regs[i].kind == GIC_SET_CLEAR) {
			uint32_t clear = ~values[i];

			ret = arm64_gic_set_attr(vm, group, attr + GIC_CLEAR_OFFSET, &clear);
		}
		if (ret == 0)
			ret = arm64_gic_set_attr(vm, group, attr, &values[i]);
	}
	return ret;
}

int arch_irqchip_load(struct vm *vm, struct state_reader *in)
{
	struct gic_reg regs[MAX_GIC_REGS];
	struct state_reader rec;
	struct gic_image *img;
	uint32_t version;
	const char *why;
	int ret = check_gicv3(vm, "load");

	if (ret < 0)
		return ret;
	if (state_expect(in, GIC_KIND, &version, &rec) < 0)
		return vm_error(vm, -EINVAL, "GIC: load: not an %s record", GIC_KIND);
	if (version != GIC_VERSION)
		return vm_error(vm, -EINVAL, "GIC: load: %s record version %u (want %u)", GIC_KIND,
				version, GIC_VERSION);
	img = calloc(1, sizeof(*img));
	if (!img)
		return vm_error(vm, -ENOMEM, "GIC: out of memory");
	why = read_image(vm, &rec, img);
	if (why) {
		ret = vm_error(vm, -EINVAL, "GIC: load: bad %s record: %s", GIC_KIND, why);
		goto out;
	}
	ret = arm64_gic_set_attr(vm, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_CTLR, &img->ctlr);
	for (unsigned c = 0; ret == 0 && c < vm->nr_vcpus; c++) {
		uint64_t mpidr = mpidr_attr(vm, c);

		ret = load_regs(vm, KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, mpidr, regs,
				redist_layout(regs), img->redist[c]);
		for (unsigned i = 0; ret == 0 && i < img->nr_icc[c]; i++)
			ret = arm64_gic_set_attr(vm, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
						 mpidr | img->icc_id[c][i], &img->icc_val[c][i]);
	}
	if (ret == 0)
		ret = load_regs(vm, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 0, regs,
				dist_config_layout(regs), img->dist_config);
	for (unsigned w = 1; ret == 0 && img->levels && w < NR_SPI_WORDS; w++)
		ret = arm64_gic_set_attr(vm, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
					 mpidr_attr(vm, 0) | level_attr(w), &img->level[w]);
	if (ret == 0)
		ret = load_regs(vm, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 0, regs,
				dist_state_layout(regs), img->dist_state);
out:
	free(img);
	return ret;
}
