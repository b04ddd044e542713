/* What a device is, said once and in no platform's format: the platform
 * renders it for the guest (arm64: a device-tree node, in
 * arch/arm64/fdt_layout.c; x86_64 later: ACPI). A device points its ops at a
 * static description (device_ops.desc); its registers and interrupt are the
 * struct device's base, size and irq. A device without one is not described
 * to the guest. */
#ifndef KVMKIT_DEVICE_DESC_H
#define KVMKIT_DEVICE_DESC_H

#include <stdint.h>

/* How the device's interrupt signals: a level it holds while it wants
 * service, or edges (pulses, as an irqfd delivers them). */
enum device_irq_trigger { DEVICE_IRQ_LEVEL, DEVICE_IRQ_EDGE };

enum device_desc_flags {
	/* Clocked by the platform's peripheral bus clock (a PrimeCell's apb_pclk). */
	DEVICE_BUS_CLOCK = 1u << 0,
	/* Its DMA into guest memory is coherent with the CPUs' caches. */
	DEVICE_DMA_COHERENT = 1u << 1,
};

enum device_prop_type { DEVICE_PROP_EMPTY, DEVICE_PROP_U32, DEVICE_PROP_STRING };

/* A property of the device's binding the platform passes on as it is, e.g.
 * a UART's clock frequency and register width. */
struct device_prop {
	const char *name;
	enum device_prop_type type;
	uint32_t u32;    /* DEVICE_PROP_U32 */
	const char *str; /* DEVICE_PROP_STRING */
};

struct device_desc {
	/* Generic name of the device's class: "serial", "rtc", "gpio", "virtio_mmio". */
	const char *class_name;
	/* What it is compatible with, most specific first; NULL-terminated. */
	const char *const *compatible;
	enum device_irq_trigger irq_trigger;
	unsigned flags; /* enum device_desc_flags */
	/* A GPIO controller: the cells after the controller in a reference to
	 * one of its lines (line, flags: 2). 0: not a GPIO controller. */
	unsigned gpio_cells;
	/* Further properties, in order, up to one whose name is NULL; or NULL. */
	const struct device_prop *props;
};

#endif
