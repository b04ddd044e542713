#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "arch/arm64/fdt_layout.h"
#include "arch/arm64/layout.h"
#include "fdt/fdt_builder.h"
#include "unit.h"
#include "vmm/config.h"
#include "vmm/device.h"
#include "vmm/device_desc.h"

#include "arm64_fdt_typical.inc"

#define RAM_SIZE (256ULL << 20)
#define INITRD_START 0x4f000000ULL
#define INITRD_SIZE 0x123000ULL
#define IRQ_TYPE_EDGE_RISING 1
#define IRQ_TYPE_LEVEL_HIGH 4
#define IRQ_TYPE_LEVEL_LOW 8

static struct fdt_builder fb;
static uint64_t mpidrs[VM_MAX_CPUS];
static struct arm64_fdt_desc desc;

/* Described as a PL011 is: a PrimeCell on the bus clock, plus properties of
 * each type. */
static const char *const fake_uart_compatible[] = {"arm,pl011", "arm,primecell", NULL};

static const struct device_prop fake_uart_props[] = {
	{.name = "current-speed", .type = DEVICE_PROP_U32, .u32 = 115200},
	{.name = "label", .type = DEVICE_PROP_STRING, .str = "console"},
	{.name = "wakeup-source", .type = DEVICE_PROP_EMPTY},
	{.name = NULL},
};

static const struct device_desc fake_uart_desc = {
	.class_name = "serial",
	.compatible = fake_uart_compatible,
	.irq_trigger = DEVICE_IRQ_LEVEL,
	.flags = DEVICE_BUS_CLOCK,
	.props = fake_uart_props,
};

static const struct device_ops fake_uart_ops = {
	.kind = "fake-uart",
	.desc = &fake_uart_desc,
};

/* Signals by pulses and does coherent DMA, as virtio-mmio does. */
static const char *const fake_virtio_compatible[] = {"virtio,mmio", NULL};

static const struct device_desc fake_virtio_desc = {
	.class_name = "virtio_mmio",
	.compatible = fake_virtio_compatible,
	.irq_trigger = DEVICE_IRQ_EDGE,
	.flags = DEVICE_DMA_COHERENT,
};

static const struct device_ops fake_virtio_ops = {
	.kind = "fake-virtio",
	.desc = &fake_virtio_desc,
};

/* A GPIO controller, as the PL061 is. */
static const char *const fake_gpio_compatible[] = {"arm,pl061", "arm,primecell", NULL};

static const struct device_desc fake_gpio_desc = {
	.class_name = "gpio",
	.compatible = fake_gpio_compatible,
	.irq_trigger = DEVICE_IRQ_LEVEL,
	.flags = DEVICE_BUS_CLOCK,
	.gpio_cells = 2,
};

static const struct device_ops fake_gpio_ops = {
	.kind = "fake-gpio",
	.desc = &fake_gpio_desc,
};

static const struct device_ops hidden_ops = {
	.kind = "hidden",
};

static struct device uart, gpio, virtio, hidden;

static struct device *const devices[] = {&uart, &gpio, &hidden, &virtio};

/* Two CPUs, GICv3, a command line, an initrd, a console UART, a GPIO
 * controller with the power key, a device without a description and a
 * virtio-mmio one. */
static void typical_guest(void)
{
	memset(mpidrs, 0, sizeof(mpidrs));
	mpidrs[1] = 1;
	uart = (struct device){.ops = &fake_uart_ops,
			       .name = "uart0",
			       .base = ARM64_UART_BASE,
			       .size = 0x1000,
			       .irq = ARM64_UART_SPI};
	gpio = (struct device){.ops = &fake_gpio_ops,
			       .name = "gpio",
			       .base = ARM64_GPIO_BASE,
			       .size = 0x1000,
			       .irq = ARM64_GPIO_SPI};
	hidden = (struct device){
		.ops = &hidden_ops, .name = "hidden0", .base = 0x0a000000, .size = 0x200};
	virtio = (struct device){.ops = &fake_virtio_ops,
				 .name = "virtio-rng",
				 .base = 0x0a000200,
				 .size = 0x200,
				 .irq = ARM64_VIRTIO_SPI_BASE + 1};
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
		.power_gpio = &gpio,
	};
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

/* The node's properties are @names (NULL-terminated), in this order. */
static void assert_prop_order(const char *path, const char *const *names)
{
	int offset, i = 0;

	fdt_for_each_property_offset(offset, fb.blob, node(path))
	{
		const char *name;

		ck_assert_ptr_nonnull(fdt_getprop_by_offset(fb.blob, offset, &name, NULL));
		ck_assert_msg(names[i] != NULL, "%s: unexpected %s", path, name);
		ck_assert_str_eq(name, names[i]);
		i++;
	}
	ck_assert_msg(names[i] == NULL, "%s lacks %s", path, names[i]);
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

/* Without --nested the tree is the one kvmkit built before --nested
 * existed, byte for byte. */
START_TEST(not_nested_tree_unchanged)
{
	build();
	ck_assert_uint_eq(fb_total_size(&fb), sizeof(typical_guest_dtb));
	ck_assert_mem_eq(fb.blob, typical_guest_dtb, sizeof(typical_guest_dtb));
	ck_assert(!has_prop("/intc@8000000", "interrupts"));
}
END_TEST

START_TEST(nested_psci_uses_smc)
{
	desc.nested = true;
	build();
	ck_assert_int_eq(fdt_check_full(fb.blob, fb_total_size(&fb)), 0);
	ck_assert_str_eq(string("/psci", "method"), "smc");
}
END_TEST

/* <GIC_PPI 9 IRQ_TYPE_LEVEL_HIGH>: without it a guest hypervisor's KVM has
 * no vGIC. */
START_TEST(nested_gic_maintenance_interrupt)
{
	int len;

	desc.nested = true;
	build();
	ck_assert_ptr_nonnull(prop("/intc@8000000", "interrupts", &len));
	ck_assert_int_eq(len, 3 * 4);
	ck_assert_uint_eq(cell("/intc@8000000", "interrupts", 0), 1);
	ck_assert_uint_eq(cell("/intc@8000000", "interrupts", 1), 9);
	ck_assert_uint_eq(cell("/intc@8000000", "interrupts", 2), IRQ_TYPE_LEVEL_HIGH);
	ck_assert_uint_eq(cell("/intc@8000000", "phandle", 0), ARM64_PHANDLE_GIC);
}
END_TEST

START_TEST(nested_timer_has_el2_virtual_timer)
{
	static const uint32_t ppis[] = {13, 14, 11, 10, 12};
	int len;

	desc.nested = true;
	build();
	ck_assert_ptr_nonnull(prop("/timer", "interrupts", &len));
	ck_assert_int_eq(len, 15 * 4);
	for (int i = 0; i < 5; i++) {
		ck_assert_uint_eq(cell("/timer", "interrupts", 3 * i), 1);
		ck_assert_uint_eq(cell("/timer", "interrupts", 3 * i + 1), ppis[i]);
		ck_assert_uint_eq(cell("/timer", "interrupts", 3 * i + 2), IRQ_TYPE_LEVEL_LOW);
	}
}
END_TEST

/* --nested changes those three properties and nothing else: the rest of
 * the tree (memory, CPUs, devices, chosen) is the same. */
START_TEST(nested_changes_only_psci_gic_timer)
{
	static const char *const same[] = {
		"/memory@40000000", "/cpus/cpu@0",      "/cpus/cpu@1", "/apb-pclk",
		"/chosen",          "/gpio-keys/power", NULL};
	struct fdt_builder plain;
	int off_a, off_b, len_a, len_b;

	build();
	plain = fb;
	fb = (struct fdt_builder){0};
	ck_assert_int_eq(fb_init(&fb, 64 * 1024), 0);
	desc.nested = true;
	build();
	for (int i = 0; same[i]; i++) {
		off_a = fdt_path_offset(plain.blob, same[i]);
		off_b = fdt_path_offset(fb.blob, same[i]);
		ck_assert_msg(off_a >= 0 && off_b >= 0, "%s missing", same[i]);
		for (int p = fdt_first_property_offset(plain.blob, off_a); p >= 0;
		     p = fdt_next_property_offset(plain.blob, p)) {
			const char *name;
			const void *a = fdt_getprop_by_offset(plain.blob, p, &name, &len_a);
			const void *b = fdt_getprop(fb.blob, off_b, name, &len_b);

			ck_assert_msg(b && len_a == len_b && memcmp(a, b, (size_t)len_a) == 0,
				      "%s/%s differs with --nested", same[i], name);
		}
	}
	fb_free(&plain);
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
	ck_assert_uint_eq(cell("/serial@9000000", "clocks", 0), ARM64_PHANDLE_APB_CLOCK);
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

START_TEST(device_without_desc_has_no_node)
{
	build();
	ck_assert_int_lt(fdt_path_offset(fb.blob, "/serial@a000000"), 0);
	ck_assert_int_lt(fdt_node_offset_by_compatible(fb.blob, -1, "hidden"), 0);
	ck_assert_int_lt(fdt_path_offset(fb.blob, "/hidden@a000000"), 0);
}
END_TEST

START_TEST(device_flags)
{
	build();
	ck_assert_str_eq(string("/serial@9000000", "clock-names"), "apb_pclk");
	ck_assert(!has_prop("/serial@9000000", "dma-coherent"));
	ck_assert(!has_prop("/serial@9000000", "gpio-controller"));
	ck_assert(!has_prop("/serial@9000000", "phandle"));
	ck_assert(has_prop("/virtio_mmio@a000200", "dma-coherent"));
	ck_assert(!has_prop("/virtio_mmio@a000200", "clocks"));
	ck_assert(!has_prop("/virtio_mmio@a000200", "clock-names"));
}
END_TEST

START_TEST(device_edge_interrupt)
{
	build();
	ck_assert_int_eq(
		fdt_node_check_compatible(fb.blob, node("/virtio_mmio@a000200"), "virtio,mmio"), 0);
	ck_assert_uint_eq(cell("/virtio_mmio@a000200", "reg", 1), 0x0a000200);
	ck_assert_uint_eq(cell("/virtio_mmio@a000200", "reg", 3), 0x200);
	/* The GIC's three cells: SPI, number, rising edge. */
	ck_assert_uint_eq(cell("/virtio_mmio@a000200", "interrupts", 0), 0);
	ck_assert_uint_eq(cell("/virtio_mmio@a000200", "interrupts", 1), ARM64_VIRTIO_SPI_BASE + 1);
	ck_assert_uint_eq(cell("/virtio_mmio@a000200", "interrupts", 2), IRQ_TYPE_EDGE_RISING);
}
END_TEST

START_TEST(device_without_irq_has_no_interrupts)
{
	virtio.irq = 0;
	build();
	ck_assert(!has_prop("/virtio_mmio@a000200", "interrupts"));
	ck_assert(has_prop("/virtio_mmio@a000200", "dma-coherent"));
}
END_TEST

START_TEST(device_extra_props)
{
	static const char *const order[] = {
		"compatible",    "reg",   "interrupts",    "clocks", "clock-names",
		"current-speed", "label", "wakeup-source", NULL,
	};
	int len;

	build();
	ck_assert_uint_eq(cell("/serial@9000000", "current-speed", 0), 115200);
	ck_assert_str_eq(string("/serial@9000000", "label"), "console");
	ck_assert_ptr_nonnull(prop("/serial@9000000", "wakeup-source", &len));
	ck_assert_int_eq(len, 0);
	assert_prop_order("/serial@9000000", order);
}
END_TEST

START_TEST(gpio_controller_node)
{
	static const char *const order[] = {
		"compatible",  "reg",     "interrupts", "gpio-controller", "#gpio-cells", "clocks",
		"clock-names", "phandle", NULL,
	};
	int len;

	build();
	ck_assert_ptr_nonnull(prop("/gpio@9030000", "gpio-controller", &len));
	ck_assert_int_eq(len, 0);
	ck_assert_uint_eq(cell("/gpio@9030000", "#gpio-cells", 0), 2);
	ck_assert_uint_eq(cell("/gpio@9030000", "interrupts", 1), ARM64_GPIO_SPI);
	ck_assert_uint_eq(cell("/gpio@9030000", "interrupts", 2), IRQ_TYPE_LEVEL_HIGH);
	ck_assert_uint_eq(cell("/gpio@9030000", "phandle", 0), ARM64_PHANDLE_GPIO);
	assert_prop_order("/gpio@9030000", order);
}
END_TEST

START_TEST(power_key_node)
{
	build();
	ck_assert_str_eq(string("/gpio-keys", "compatible"), "gpio-keys");
	ck_assert_str_eq(string("/gpio-keys/power", "label"), "Power");
	ck_assert_uint_eq(cell("/gpio-keys/power", "linux,code", 0), 116); /* KEY_POWER */
	ck_assert_uint_eq(cell("/gpio-keys/power", "gpios", 0), ARM64_PHANDLE_GPIO);
	ck_assert_uint_eq(cell("/gpio-keys/power", "gpios", 1), ARM64_POWER_KEY_PIN);
	ck_assert_uint_eq(cell("/gpio-keys/power", "gpios", 2), 0); /* active high */
	ck_assert_int_eq(fdt_node_offset_by_phandle(fb.blob, cell("/gpio-keys/power", "gpios", 0)),
			 node("/gpio@9030000"));
	/* Right after its controller, as the PL061 wrote it when it was its own. */
	ck_assert_int_eq(fdt_next_subnode(fb.blob, node("/gpio@9030000")), node("/gpio-keys"));
}
END_TEST

START_TEST(no_power_key)
{
	desc.power_gpio = NULL;
	build();
	ck_assert_int_lt(fdt_path_offset(fb.blob, "/gpio-keys"), 0);
	ck_assert(has_prop("/gpio@9030000", "gpio-controller"));
	ck_assert(!has_prop("/gpio@9030000", "phandle"));
}
END_TEST

START_TEST(power_key_needs_its_controller_node)
{
	desc.nr_devices = 1; /* the UART only: the GPIO controller has no node */
	build();
	ck_assert_int_lt(fdt_path_offset(fb.blob, "/gpio@9030000"), 0);
	ck_assert_int_lt(fdt_path_offset(fb.blob, "/gpio-keys"), 0);
	ck_assert_int_lt(fdt_node_offset_by_phandle(fb.blob, ARM64_PHANDLE_GPIO), 0);
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

START_TEST(no_pmu_by_default)
{
	build();
	ck_assert_int_eq(fdt_path_offset(fb.blob, "/pmu"), -FDT_ERR_NOTFOUND);
	ck_assert_int_lt(fdt_node_offset_by_compatible(fb.blob, -1, "arm,armv8-pmuv3"), 0);
}
END_TEST

START_TEST(pmu_node_gic_v3)
{
	int len;

	desc.pmu = true;
	build();
	ck_assert_int_eq(fdt_check_full(fb.blob, fb_total_size(&fb)), 0);
	ck_assert_str_eq(string("/pmu", "compatible"), "arm,armv8-pmuv3");
	ck_assert_ptr_nonnull(prop("/pmu", "interrupts", &len));
	ck_assert_int_eq(len, 3 * 4);
	ck_assert_uint_eq(cell("/pmu", "interrupts", 0), 1); /* PPI */
	ck_assert_uint_eq(cell("/pmu", "interrupts", 1), 7);
	ck_assert_uint_eq(cell("/pmu", "interrupts", 2), IRQ_TYPE_LEVEL_HIGH);
	ck_assert(!has_prop("/pmu", "interrupt-affinity"));
	/* Right after the timer, before the clock. */
	ck_assert_int_eq(fdt_next_subnode(fb.blob, node("/timer")), node("/pmu"));
}
END_TEST

START_TEST(pmu_node_gic_v2)
{
	desc.pmu = true;
	desc.gic = ARM64_GIC_V2;
	build();
	ck_assert_uint_eq(cell("/pmu", "interrupts", 1), 7);
	ck_assert_uint_eq(cell("/pmu", "interrupts", 2), (0x3u << 8) | IRQ_TYPE_LEVEL_HIGH);
}
END_TEST

/* Without --pmu the tree is the one with it minus the /pmu node, byte for
 * byte: the PMU adds a node and nothing else (no string, no phandle). */
START_TEST(pmu_off_tree_is_pmu_tree_without_the_node)
{
	static char without[64 * 1024], with[64 * 1024];
	size_t without_size;

	build();
	without_size = fb_total_size(&fb);
	memcpy(without, fb.blob, without_size);
	fb_free(&fb);
	ck_assert_int_eq(fb_init(&fb, 64 * 1024), 0);
	desc.pmu = true;
	build();
	ck_assert_uint_gt(fb_total_size(&fb), without_size);
	ck_assert_int_eq(fdt_open_into(fb.blob, with, sizeof(with)), 0);
	ck_assert_int_eq(fdt_del_node(with, fdt_path_offset(with, "/pmu")), 0);
	ck_assert_int_eq(fdt_pack(with), 0);
	ck_assert_uint_eq(fdt_totalsize(with), without_size);
	ck_assert(memcmp(with, without, without_size) == 0);
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
	tcase_add_test(platform, not_nested_tree_unchanged);
	tcase_add_test(platform, nested_psci_uses_smc);
	tcase_add_test(platform, nested_gic_maintenance_interrupt);
	tcase_add_test(platform, nested_timer_has_el2_virtual_timer);
	tcase_add_test(platform, nested_changes_only_psci_gic_timer);
	tcase_add_test(platform, apb_clock_node);
	tcase_add_test(platform, device_describes_itself);
	tcase_add_test(platform, device_without_desc_has_no_node);
	tcase_add_test(platform, device_flags);
	tcase_add_test(platform, device_edge_interrupt);
	tcase_add_test(platform, device_without_irq_has_no_interrupts);
	tcase_add_test(platform, device_extra_props);
	tcase_add_test(platform, gpio_controller_node);
	tcase_add_test(platform, power_key_node);
	tcase_add_test(platform, no_power_key);
	tcase_add_test(platform, power_key_needs_its_controller_node);
	tcase_add_test(platform, no_devices);
	tcase_add_test(platform, no_pmu_by_default);
	tcase_add_test(platform, pmu_node_gic_v3);
	tcase_add_test(platform, pmu_node_gic_v2);
	tcase_add_test(platform, pmu_off_tree_is_pmu_tree_without_the_node);
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
