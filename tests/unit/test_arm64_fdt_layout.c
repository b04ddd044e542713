#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "arch/arm64/fdt_layout.h"
#include "arch/arm64/layout.h"
#include "fdt/fdt_builder.h"
#include "unit.h"
#include "vmm/config.h"
#include "vmm/device.h"

#define RAM_SIZE (256ULL << 20)
#define INITRD_START 0x4f000000ULL
#define INITRD_SIZE 0x123000ULL
#define IRQ_TYPE_LEVEL_HIGH 4
#define IRQ_TYPE_LEVEL_LOW 8

static struct fdt_builder fb;
static uint64_t mpidrs[VM_MAX_CPUS];
static struct arm64_fdt_desc desc;
static uint32_t clock_phandle_seen;

/* Describes itself as a PL011 does, so the tree's hooks are exercised. */
static int fake_uart_describe(struct device *dev, struct fdt_builder *b)
{
	static const char *const compat[] = {"arm,pl011", "arm,primecell", NULL};

	clock_phandle_seen = b->bus_clock_phandle;
	fb_begin_node_at(b, "serial", dev->base);
	fb_prop_strings(b, "compatible", compat);
	fb_prop_reg(b, dev->base, dev->size);
	fb_prop_irq(b, dev->irq);
	fb_prop_u32(b, "clocks", b->bus_clock_phandle);
	fb_end_node(b);
	return b->err;
}

static const struct device_ops fake_uart_ops = {
	.kind = "fake-uart",
	.describe_fdt = fake_uart_describe,
};

static const struct device_ops hidden_ops = {
	.kind = "hidden",
};

static struct device uart = {
	.ops = &fake_uart_ops,
	.name = "uart0",
	.base = ARM64_UART_BASE,
	.size = 0x1000,
	.irq = ARM64_UART_SPI,
};

static struct device hidden = {
	.ops = &hidden_ops,
	.name = "hidden0",
	.base = 0x0a000000,
	.size = 0x200,
};

static struct device *const devices[] = {&uart, &hidden};

/* Two CPUs, GICv3, a command line, an initrd and a console UART. */
static void typical_guest(void)
{
	memset(mpidrs, 0, sizeof(mpidrs));
	mpidrs[1] = 1;
	desc = (struct arm64_fdt_desc){
		.nr_cpus = 2,
		.mpidrs = mpidrs,
		.ram_base = ARM64_RAM_BASE,
		.ram_size = RAM_SIZE,
		.cmdline = "console=ttyAMA0 earlycon",
		.initrd_start = INITRD_START,
		.initrd_size = INITRD_SIZE,
		.gic = ARM64_GIC_V3,
		.devices = devices,
		.nr_devices = ARRAY_SIZE(devices),
		.stdout_device = &uart,
	};
	clock_phandle_seen = 0;
	ck_assert_int_eq(fb_init(&fb, 64 * 1024), 0);
}

static void free_builder(void) { fb_free(&fb); }

static void build(void)
{
	int ret = arm64_fdt_build(&desc, &fb);

	ck_assert_msg(ret == 0, "arm64_fdt_build: %s", fb_strerror(ret));
	ck_assert_int_eq(fdt_check_header(fb.blob), 0);
}

static int node(const char *path)
{
	int offset = fdt_path_offset(fb.blob, path);

	ck_assert_msg(offset >= 0, "%s: %s", path, fdt_strerror(offset));
	return offset;
}

static const void *prop(const char *path, const char *name, int *len)
{
	const void *value = fdt_getprop(fb.blob, node(path), name, len);

	ck_assert_msg(value != NULL, "%s lacks %s", path, name);
	return value;
}

static uint32_t cell(const char *path, const char *name, int index)
{
	int len;
	const fdt32_t *cells = prop(path, name, &len);

	ck_assert_msg(len >= (index + 1) * 4, "%s/%s has %d bytes", path, name, len);
	return fdt32_to_cpu(cells[index]);
}

static const char *string(const char *path, const char *name)
{
	int len;

	return prop(path, name, &len);
}

static bool has_prop(const char *path, const char *name)
{
	return fdt_getprop(fb.blob, node(path), name, NULL) != NULL;
}

START_TEST(tree_is_valid)
{
	build();
	ck_assert_uint_le(fb_total_size(&fb), 64 * 1024);
	ck_assert_int_eq(fdt_check_full(fb.blob, fb_total_size(&fb)), 0);
}
END_TEST

START_TEST(root_properties)
{
	build();
	ck_assert_str_eq(string("/", "compatible"), "linux,dummy-virt");
	ck_assert_uint_eq(cell("/", "#address-cells", 0), 2);
	ck_assert_uint_eq(cell("/", "#size-cells", 0), 2);
	ck_assert_uint_eq(cell("/", "interrupt-parent", 0), ARM64_PHANDLE_GIC);
}
END_TEST

START_TEST(interrupt_parent_is_the_gic)
{
	build();
	ck_assert_int_eq(fdt_node_offset_by_phandle(fb.blob, ARM64_PHANDLE_GIC),
			 node("/intc@8000000"));
}
END_TEST

START_TEST(memory_node)
{
	build();
	ck_assert_str_eq(string("/memory@40000000", "device_type"), "memory");
	ck_assert_uint_eq(cell("/memory@40000000", "reg", 0), 0);
	ck_assert_uint_eq(cell("/memory@40000000", "reg", 1), 0x40000000);
	ck_assert_uint_eq(cell("/memory@40000000", "reg", 2), 0);
	ck_assert_uint_eq(cell("/memory@40000000", "reg", 3), RAM_SIZE);
}
END_TEST

START_TEST(memory_above_4gib)
{
	desc.ram_size = 6ULL << 30;
	build();
	ck_assert_uint_eq(cell("/memory@40000000", "reg", 2), 1);
	ck_assert_uint_eq(cell("/memory@40000000", "reg", 3), 0x80000000);
}
END_TEST

START_TEST(cpu_nodes)
{
	int len;

	build();
	ck_assert_uint_eq(cell("/cpus", "#address-cells", 0), 1);
	ck_assert_uint_eq(cell("/cpus", "#size-cells", 0), 0);
	for (unsigned i = 0; i < 2; i++) {
		const char *path = i ? "/cpus/cpu@1" : "/cpus/cpu@0";

		ck_assert_str_eq(string(path, "device_type"), "cpu");
		ck_assert_str_eq(string(path, "enable-method"), "psci");
		ck_assert_ptr_nonnull(prop(path, "reg", &len));
		ck_assert_int_eq(len, 4);
		ck_assert_uint_eq(cell(path, "reg", 0), i);
	}
	ck_assert_int_eq(fdt_path_offset(fb.blob, "/cpus/cpu@2"), -FDT_ERR_NOTFOUND);
}
END_TEST

START_TEST(cpu_nodes_with_aff3)
{
	int len;

	mpidrs[0] = 0x100000000ULL;
	mpidrs[1] = 0x100000001ULL;
	build();
	ck_assert_uint_eq(cell("/cpus", "#address-cells", 0), 2);
	ck_assert_ptr_nonnull(prop("/cpus/cpu@100000001", "reg", &len));
	ck_assert_int_eq(len, 8);
	ck_assert_uint_eq(cell("/cpus/cpu@100000001", "reg", 0), 1);
	ck_assert_uint_eq(cell("/cpus/cpu@100000001", "reg", 1), 1);
}
END_TEST

START_TEST(sixty_four_cpus)
{
	char path[32];
	int count = 0, child;

	desc.nr_cpus = VM_MAX_CPUS;
	/* Sixteen CPUs per cluster: Aff0 0-15, Aff1 the cluster. */
	for (unsigned i = 0; i < VM_MAX_CPUS; i++)
		mpidrs[i] = (i % 16) | (uint64_t)(i / 16) << 8;
	build();
	fdt_for_each_subnode(child, fb.blob, node("/cpus")) count++;
	ck_assert_int_eq(count, VM_MAX_CPUS);
	snprintf(path, sizeof(path), "/cpus/cpu@%x", 0x30f);
	ck_assert_uint_eq(cell(path, "reg", 0), 0x30f);
	ck_assert_uint_eq(cell("/intc@8000000", "reg", 7), VM_MAX_CPUS * ARM64_GICV3_REDIST_SIZE);
}
END_TEST

START_TEST(psci_node)
{
	int n;

	build();
	n = node("/psci");
	ck_assert_int_eq(fdt_node_check_compatible(fb.blob, n, "arm,psci-0.2"), 0);
	ck_assert_str_eq(string("/psci", "method"), "hvc");
}
END_TEST

START_TEST(gic_v3_node)
{
	build();
	ck_assert_str_eq(string("/intc@8000000", "compatible"), "arm,gic-v3");
	ck_assert(has_prop("/intc@8000000", "interrupt-controller"));
	ck_assert_uint_eq(cell("/intc@8000000", "#interrupt-cells", 0), 3);
	ck_assert_uint_eq(cell("/intc@8000000", "phandle", 0), ARM64_PHANDLE_GIC);
	ck_assert_uint_eq(cell("/intc@8000000", "reg", 1), ARM64_GIC_DIST_BASE);
	ck_assert_uint_eq(cell("/intc@8000000", "reg", 3), ARM64_GICV3_DIST_SIZE);
	ck_assert_uint_eq(cell("/intc@8000000", "reg", 5), ARM64_GICV3_REDIST_BASE);
	ck_assert_uint_eq(cell("/intc@8000000", "reg", 7), 2 * ARM64_GICV3_REDIST_SIZE);
}
END_TEST

START_TEST(gic_v2_node)
{
	desc.gic = ARM64_GIC_V2;
	build();
	ck_assert_str_eq(string("/intc@8000000", "compatible"), "arm,cortex-a15-gic");
	ck_assert_uint_eq(cell("/intc@8000000", "phandle", 0), ARM64_PHANDLE_GIC);
	ck_assert_uint_eq(cell("/intc@8000000", "reg", 3), ARM64_GICV2_DIST_SIZE);
	ck_assert_uint_eq(cell("/intc@8000000", "reg", 5), ARM64_GICV2_CPU_BASE);
	ck_assert_uint_eq(cell("/intc@8000000", "reg", 7), ARM64_GICV2_CPU_SIZE);
}
END_TEST

START_TEST(timer_ppis_gic_v3)
{
	static const uint32_t ppis[] = {13, 14, 11, 10};
	int len;

	build();
	ck_assert_str_eq(string("/timer", "compatible"), "arm,armv8-timer");
	ck_assert_ptr_nonnull(prop("/timer", "interrupts", &len));
	ck_assert_int_eq(len, 12 * 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_uint_eq(cell("/timer", "interrupts", 3 * i), 1);
		ck_assert_uint_eq(cell("/timer", "interrupts", 3 * i + 1), ppis[i]);
		ck_assert_uint_eq(cell("/timer", "interrupts", 3 * i + 2), IRQ_TYPE_LEVEL_LOW);
	}
}
END_TEST

START_TEST(timer_cpu_mask_gic_v2)
{
	desc.gic = ARM64_GIC_V2;
	build();
	ck_assert_uint_eq(cell("/timer", "interrupts", 2), 0x300 | IRQ_TYPE_LEVEL_LOW);
}
END_TEST

START_TEST(timer_cpu_mask_gic_v2_eight_cpus)
{
	desc.gic = ARM64_GIC_V2;
	desc.nr_cpus = ARM64_GICV2_MAX_CPUS;
	for (unsigned i = 0; i < ARM64_GICV2_MAX_CPUS; i++)
		mpidrs[i] = i;
	build();
	ck_assert_uint_eq(cell("/timer", "interrupts", 11), 0xff00 | IRQ_TYPE_LEVEL_LOW);
}
END_TEST

START_TEST(apb_clock_node)
{
	build();
	ck_assert_str_eq(string("/apb-pclk", "compatible"), "fixed-clock");
	ck_assert_uint_eq(cell("/apb-pclk", "#clock-cells", 0), 0);
	ck_assert_uint_eq(cell("/apb-pclk", "phandle", 0), ARM64_PHANDLE_APB_CLOCK);
	ck_assert_uint_gt(cell("/apb-pclk", "clock-frequency", 0), 0);
}
END_TEST

START_TEST(device_describes_itself)
{
	build();
	ck_assert_uint_eq(clock_phandle_seen, ARM64_PHANDLE_APB_CLOCK);
	ck_assert_int_eq(fdt_node_check_compatible(fb.blob, node("/serial@9000000"), "arm,pl011"),
			 0);
	ck_assert_uint_eq(cell("/serial@9000000", "reg", 1), ARM64_UART_BASE);
	/* The GIC's three cells: SPI, number, level-high. */
	ck_assert_uint_eq(cell("/serial@9000000", "interrupts", 0), 0);
	ck_assert_uint_eq(cell("/serial@9000000", "interrupts", 1), ARM64_UART_SPI);
	ck_assert_uint_eq(cell("/serial@9000000", "interrupts", 2), IRQ_TYPE_LEVEL_HIGH);
	ck_assert_int_eq(fdt_node_offset_by_phandle(fb.blob, cell("/serial@9000000", "clocks", 0)),
			 node("/apb-pclk"));
}
END_TEST

START_TEST(device_without_describe_has_no_node)
{
	build();
	ck_assert_int_lt(fdt_path_offset(fb.blob, "/serial@a000000"), 0);
	ck_assert_int_lt(fdt_node_offset_by_compatible(fb.blob, -1, "hidden"), 0);
	ck_assert_int_lt(fdt_path_offset(fb.blob, "/hidden@a000000"), 0);
}
END_TEST

START_TEST(chosen_bootargs)
{
	build();
	ck_assert_str_eq(string("/chosen", "bootargs"), "console=ttyAMA0 earlycon");
}
END_TEST

START_TEST(chosen_stdout_path_resolves)
{
	const char *path;

	build();
	path = string("/chosen", "stdout-path");
	ck_assert_int_eq(fdt_path_offset(fb.blob, path), node("/serial@9000000"));
}
END_TEST

START_TEST(chosen_initrd)
{
	const fdt64_t *start, *end;
	int len;

	build();
	start = prop("/chosen", "linux,initrd-start", &len);
	ck_assert_int_eq(len, 8);
	end = prop("/chosen", "linux,initrd-end", &len);
	ck_assert_int_eq(len, 8);
	ck_assert_uint_eq(fdt64_ld(start), INITRD_START);
	ck_assert_uint_eq(fdt64_ld(end), INITRD_START + INITRD_SIZE);
}
END_TEST

START_TEST(chosen_without_optional_parts)
{
	desc.cmdline = NULL;
	desc.initrd_size = 0;
	desc.stdout_device = NULL;
	build();
	ck_assert_str_eq(string("/chosen", "bootargs"), "");
	ck_assert(!has_prop("/chosen", "stdout-path"));
	ck_assert(!has_prop("/chosen", "linux,initrd-start"));
	ck_assert(!has_prop("/chosen", "linux,initrd-end"));
}
END_TEST

START_TEST(no_devices)
{
	desc.nr_devices = 0;
	desc.stdout_device = NULL;
	build();
	ck_assert_int_lt(fdt_path_offset(fb.blob, "/serial@9000000"), 0);
	ck_assert_int_ge(fdt_path_offset(fb.blob, "/chosen"), 0);
}
END_TEST

START_TEST(small_buffer_is_nospace)
{
	fb_free(&fb);
	ck_assert_int_eq(fb_init(&fb, 512), 0);
	ck_assert_int_eq(arm64_fdt_build(&desc, &fb), -FDT_ERR_NOSPACE);
}
END_TEST

Suite *arm64_fdt_layout_suite(void)
{
	Suite *s = suite_create("arm64_fdt_layout");
	TCase *platform = tcase_create("platform");
	TCase *cpus = tcase_create("cpus");
	TCase *chosen = tcase_create("chosen");

	tcase_add_checked_fixture(platform, typical_guest, free_builder);
	tcase_add_test(platform, tree_is_valid);
	tcase_add_test(platform, root_properties);
	tcase_add_test(platform, interrupt_parent_is_the_gic);
	tcase_add_test(platform, memory_node);
	tcase_add_test(platform, memory_above_4gib);
	tcase_add_test(platform, psci_node);
	tcase_add_test(platform, gic_v3_node);
	tcase_add_test(platform, gic_v2_node);
	tcase_add_test(platform, timer_ppis_gic_v3);
	tcase_add_test(platform, timer_cpu_mask_gic_v2);
	tcase_add_test(platform, timer_cpu_mask_gic_v2_eight_cpus);
	tcase_add_test(platform, apb_clock_node);
	tcase_add_test(platform, device_describes_itself);
	tcase_add_test(platform, device_without_describe_has_no_node);
	tcase_add_test(platform, no_devices);
	tcase_add_test(platform, small_buffer_is_nospace);
	suite_add_tcase(s, platform);

	tcase_add_checked_fixture(cpus, typical_guest, free_builder);
	tcase_add_test(cpus, cpu_nodes);
	tcase_add_test(cpus, cpu_nodes_with_aff3);
	tcase_add_test(cpus, sixty_four_cpus);
	suite_add_tcase(s, cpus);

	tcase_add_checked_fixture(chosen, typical_guest, free_builder);
	tcase_add_test(chosen, chosen_bootargs);
	tcase_add_test(chosen, chosen_stdout_path_resolves);
	tcase_add_test(chosen, chosen_initrd);
	tcase_add_test(chosen, chosen_without_optional_parts);
	suite_add_tcase(s, chosen);
	return s;
}
