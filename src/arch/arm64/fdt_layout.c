#include "arch/arm64/fdt_layout.h"

#include <stdio.h>

#include "arch/arm64/layout.h"
#include "fdt/fdt_builder.h"
#include "vmm/device.h"
#include "vmm/device_desc.h"

#define GIC_FDT_SPI 0
#define GIC_FDT_PPI 1
#define IRQ_TYPE_EDGE_RISING 1
#define IRQ_TYPE_LEVEL_HIGH 4
#define IRQ_TYPE_LEVEL_LOW 8
#define LINUX_KEY_POWER 116 /* input-event-codes.h */

/* Architected timer PPIs: secure, non-secure physical, virtual, hypervisor,
 * and with EL2 in the guest (--nested) the hypervisor's virtual timer. */
static const uint32_t timer_ppis[] = {13, 14, 11, 10, 12};
#define TIMER_PPIS 4
#define TIMER_PPIS_NESTED 5
/* The vGIC maintenance interrupt a guest hypervisor's KVM takes (PPI 9, as
 * QEMU's virt machine has it). */
#define GIC_MAINT_PPI 9

static unsigned encode_spi(const struct fdt_builder *fb, unsigned irq, bool edge, uint32_t *cells)
{
	(void)fb;
	cells[0] = GIC_FDT_SPI;
	cells[1] = irq;
	cells[2] = edge ? IRQ_TYPE_EDGE_RISING : IRQ_TYPE_LEVEL_HIGH;
	return 3;
}

static void write_cpus(const struct arm64_fdt_desc *d, struct fdt_builder *fb)
{
	uint64_t all = 0;

	for (unsigned i = 0; i < d->nr_cpus; i++)
		all |= d->mpidrs[i];
	fb_begin_node(fb, "cpus");
	/* One address cell unless an MPIDR needs Aff3. */
	fb_prop_u32(fb, "#address-cells", (all >> 32) ? 2 : 1);
	fb_prop_u32(fb, "#size-cells", 0);
	for (unsigned i = 0; i < d->nr_cpus; i++) {
		fb_begin_node_at(fb, "cpu", d->mpidrs[i]);
		fb_prop_string(fb, "device_type", "cpu");
		fb_prop_string(fb, "compatible", "arm,arm-v8");
		fb_prop_string(fb, "enable-method", "psci");
		if (all >> 32)
			fb_prop_u64(fb, "reg", d->mpidrs[i]);
		else
			fb_prop_u32(fb, "reg", (uint32_t)d->mpidrs[i]);
		fb_end_node(fb);
	}
	fb_end_node(fb);
}

static void write_gic(const struct arm64_fdt_desc *d, struct fdt_builder *fb)
{
	uint32_t reg[8];

	fb_begin_node_at(fb, "intc", ARM64_GIC_DIST_BASE);
	if (d->gic == ARM64_GIC_V3) {
		uint64_t redist = ARM64_GICV3_REDIST_SIZE * d->nr_cpus;

		fb_prop_string(fb, "compatible", "arm,gic-v3");
		reg[0] = (uint32_t)(ARM64_GIC_DIST_BASE >> 32);
		reg[1] = (uint32_t)ARM64_GIC_DIST_BASE;
		reg[2] = 0;
		reg[3] = (uint32_t)ARM64_GICV3_DIST_SIZE;
		reg[4] = (uint32_t)(ARM64_GICV3_REDIST_BASE >> 32);
		reg[5] = (uint32_t)ARM64_GICV3_REDIST_BASE;
		reg[6] = (uint32_t)(redist >> 32);
		reg[7] = (uint32_t)redist;
	} else {
		fb_prop_string(fb, "compatible", "arm,cortex-a15-gic");
		reg[0] = (uint32_t)(ARM64_GIC_DIST_BASE >> 32);
		reg[1] = (uint32_t)ARM64_GIC_DIST_BASE;
		reg[2] = 0;
		reg[3] = (uint32_t)ARM64_GICV2_DIST_SIZE;
		reg[4] = (uint32_t)(ARM64_GICV2_CPU_BASE >> 32);
		reg[5] = (uint32_t)ARM64_GICV2_CPU_BASE;
		reg[6] = 0;
		reg[7] = (uint32_t)ARM64_GICV2_CPU_SIZE;
	}
	fb_prop_cells(fb, "reg", reg, 8);
	fb_prop_u32(fb, "#interrupt-cells", 3);
	fb_prop_empty(fb, "interrupt-controller");
	fb_prop_u32(fb, "#address-cells", 2);
	fb_prop_u32(fb, "#size-cells", 2);
	fb_prop_u32(fb, "phandle", ARM64_PHANDLE_GIC);
	if (d->nested) {
		const uint32_t maint[3] = {GIC_FDT_PPI, GIC_MAINT_PPI, IRQ_TYPE_LEVEL_HIGH};

		fb_prop_cells(fb, "interrupts", maint, 3);
	}
	fb_end_node(fb);
}

/* GICv2 PPI flags carry a mask of the (at most 8) CPUs it goes to. */
static uint32_t gic_v2_cpu_mask(const struct arm64_fdt_desc *d)
{
	unsigned mask_cpus = d->nr_cpus < 8 ? d->nr_cpus : 8;

	return d->gic == ARM64_GIC_V2 ? ((1u << mask_cpus) - 1) << 8 : 0;
}

static void write_timer(const struct arm64_fdt_desc *d, struct fdt_builder *fb)
{
	uint32_t cells[3 * TIMER_PPIS_NESTED];
	unsigned nr = d->nested ? TIMER_PPIS_NESTED : TIMER_PPIS;
	uint32_t cpu_mask = gic_v2_cpu_mask(d);

	for (unsigned i = 0; i < nr; i++) {
		cells[i * 3] = GIC_FDT_PPI;
		cells[i * 3 + 1] = timer_ppis[i];
		cells[i * 3 + 2] = cpu_mask | IRQ_TYPE_LEVEL_LOW;
	}
	fb_begin_node(fb, "timer");
	fb_prop_string(fb, "compatible", "arm,armv8-timer");
	fb_prop_cells(fb, "interrupts", cells, 3 * nr);
	fb_prop_empty(fb, "always-on");
	fb_end_node(fb);
}

/* The PMU's overflow interrupt, a PPI: with a GICv3 no interrupt-affinity is
 * needed, every CPU has its own. */
static void write_pmu(const struct arm64_fdt_desc *d, struct fdt_builder *fb)
{
	uint32_t cells[3] = {GIC_FDT_PPI, ARM64_PMU_PPI, IRQ_TYPE_LEVEL_HIGH};

	cells[2] |= gic_v2_cpu_mask(d);
	fb_begin_node(fb, "pmu");
	fb_prop_string(fb, "compatible", "arm,armv8-pmuv3");
	fb_prop_cells(fb, "interrupts", cells, 3);
	fb_end_node(fb);
}

static void write_prop(struct fdt_builder *fb, const struct device_prop *p)
{
	switch (p->type) {
	case DEVICE_PROP_EMPTY: fb_prop_empty(fb, p->name); break;
	case DEVICE_PROP_U32: fb_prop_u32(fb, p->name, p->u32); break;
	case DEVICE_PROP_STRING: fb_prop_string(fb, p->name, p->str); break;
	}
}

/* A device's node, from its description: class@base, compatible, reg,
 * interrupts (a GIC SPI with the device's trigger), then what its flags and
 * properties add. The power key's GPIO controller gets the phandle the
 * gpio-keys node names. */
static void write_device(const struct arm64_fdt_desc *d, struct fdt_builder *fb,
			 const struct device *dev)
{
	const struct device_desc *desc = dev->ops->desc;

	fb_begin_node_at(fb, desc->class_name, dev->base);
	fb_prop_strings(fb, "compatible", desc->compatible);
	fb_prop_reg(fb, dev->base, dev->size);
	if (dev->irq) {
		if (desc->irq_trigger == DEVICE_IRQ_EDGE)
			fb_prop_irq_edge(fb, dev->irq);
		else
			fb_prop_irq(fb, dev->irq);
	}
	if (desc->gpio_cells) {
		fb_prop_empty(fb, "gpio-controller");
		fb_prop_u32(fb, "#gpio-cells", desc->gpio_cells);
	}
	if (desc->flags & DEVICE_BUS_CLOCK) {
		fb_prop_u32(fb, "clocks", ARM64_PHANDLE_APB_CLOCK);
		fb_prop_string(fb, "clock-names", "apb_pclk");
	}
	if (dev == d->power_gpio)
		fb_prop_u32(fb, "phandle", ARM64_PHANDLE_GPIO);
	if (desc->flags & DEVICE_DMA_COHERENT)
		fb_prop_empty(fb, "dma-coherent");
	for (const struct device_prop *p = desc->props; p && p->name; p++)
		write_prop(fb, p);
	fb_end_node(fb);
}

/* The power key: KEY_POWER on line ARM64_POWER_KEY_PIN of the power GPIO
 * controller (whose #gpio-cells is 2: line, flags), active high. */
static void write_power_key(struct fdt_builder *fb)
{
	static const uint32_t gpios[3] = {ARM64_PHANDLE_GPIO, ARM64_POWER_KEY_PIN, 0};

	fb_begin_node(fb, "gpio-keys");
	fb_prop_string(fb, "compatible", "gpio-keys");
	fb_begin_node(fb, "power");
	fb_prop_string(fb, "label", "Power");
	fb_prop_u32(fb, "linux,code", LINUX_KEY_POWER);
	fb_prop_cells(fb, "gpios", gpios, 3);
	fb_end_node(fb);
	fb_end_node(fb);
}

static void write_chosen(const struct arm64_fdt_desc *d, struct fdt_builder *fb)
{
	const struct device *out = d->stdout_device;
	char path[64];

	fb_begin_node(fb, "chosen");
	fb_prop_string(fb, "bootargs", d->cmdline ? d->cmdline : "");
	if (out && out->ops->desc) {
		snprintf(path, sizeof(path), "/%s@%llx", out->ops->desc->class_name,
			 (unsigned long long)out->base);
		fb_prop_string(fb, "stdout-path", path);
	}
	if (d->initrd_size) {
		fb_prop_u64(fb, "linux,initrd-start", d->initrd_start);
		fb_prop_u64(fb, "linux,initrd-end", d->initrd_start + d->initrd_size);
	}
	fb_end_node(fb);
}

int arm64_fdt_build(const struct arm64_fdt_desc *d, struct fdt_builder *fb)
{
	static const char *const psci_compat[] = {"arm,psci-0.2", "arm,psci", NULL};

	fb->encode_irq = encode_spi;

	fb_begin_node(fb, "");
	fb_prop_string(fb, "compatible", "linux,dummy-virt");
	fb_prop_string(fb, "model", "kvmkit");
	fb_prop_u32(fb, "#address-cells", 2);
	fb_prop_u32(fb, "#size-cells", 2);
	fb_prop_u32(fb, "interrupt-parent", ARM64_PHANDLE_GIC);

	fb_begin_node_at(fb, "memory", d->ram_base);
	fb_prop_string(fb, "device_type", "memory");
	fb_prop_reg(fb, d->ram_base, d->ram_size);
	fb_end_node(fb);

	write_cpus(d, fb);

	fb_begin_node(fb, "psci");
	fb_prop_strings(fb, "compatible", psci_compat);
	fb_prop_string(fb, "method", d->nested ? "smc" : "hvc");
	fb_end_node(fb);

	write_gic(d, fb);
	write_timer(d, fb);
	if (d->pmu)
		write_pmu(d, fb);

	fb_begin_node(fb, "apb-pclk");
	fb_prop_string(fb, "compatible", "fixed-clock");
	fb_prop_u32(fb, "#clock-cells", 0);
	fb_prop_u32(fb, "clock-frequency", 24000000);
	fb_prop_string(fb, "clock-output-names", "clk24mhz");
	fb_prop_u32(fb, "phandle", ARM64_PHANDLE_APB_CLOCK);
	fb_end_node(fb);

	/* The power key's node follows its controller's. */
	for (unsigned i = 0; i < d->nr_devices; i++) {
		const struct device *dev = d->devices[i];

		if (!dev->ops->desc)
			continue;
		write_device(d, fb, dev);
		if (dev == d->power_gpio)
			write_power_key(fb);
	}

	write_chosen(d, fb);
	fb_end_node(fb);
	return fb_finish(fb);
}
