/* The device tree an arm64 guest boots with: memory, CPUs (PSCI), PSCI, the
 * GIC, the architected timer, the PMU if asked, an APB clock, a node per
 * device rendered from its description (vmm/device_desc.h), the power key as
 * gpio-keys, and /chosen. Pure: it only writes a blob, so it is unit-tested on any host. */
#ifndef KVMKIT_ARM64_FDT_LAYOUT_H
#define KVMKIT_ARM64_FDT_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

struct device;
struct fdt_builder;

enum arm64_gic_version { ARM64_GIC_V2 = 2, ARM64_GIC_V3 = 3 };

struct arm64_fdt_desc {
	unsigned nr_cpus;
	const uint64_t *mpidrs; /* per vCPU, affinity bits only */
	uint64_t ram_base;
	uint64_t ram_size;
	const char *cmdline; /* may be NULL */
	uint64_t initrd_start;
	uint64_t initrd_size; /* 0: no initrd */
	enum arm64_gic_version gic;
	struct device *const *devices;
	unsigned nr_devices;
	const struct device *stdout_device; /* the console UART, or NULL */
	/* The GPIO controller whose line ARM64_POWER_KEY_PIN is the power key,
	 * or NULL for no power key. */
	const struct device *power_gpio;
	/* A PMU node (arm,armv8-pmuv3, PPI ARM64_PMU_PPI); without, the tree
	 * has none and is otherwise the same, byte for byte. */
	bool pmu;
	/* The vCPUs start at EL2 (--nested): PSCI is called with SMC (an HVC
	 * from EL2 would go to the guest's own vectors), the GIC node names the
	 * vGIC maintenance interrupt and the timer the EL2 virtual timer. */
	bool nested;
};

/* Phandles the tree uses. */
#define ARM64_PHANDLE_GIC 1
#define ARM64_PHANDLE_APB_CLOCK 2
#define ARM64_PHANDLE_GPIO 3 /* the power key's GPIO controller */

/* Builds the tree into @fb (initialised by the caller with fb_init()).
 * Returns 0 or a negative FDT_ERR_* code. */
int arm64_fdt_build(const struct arm64_fdt_desc *desc, struct fdt_builder *fb);

#endif
