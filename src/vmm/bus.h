/* Address-range dispatch for MMIO and port I/O exits. Ranges are registered
 * while the VM is being built and kept sorted; bus_seal() freezes the table,
 * after which vCPU threads look ranges up without any lock. */
#ifndef KVMKIT_BUS_H
#define KVMKIT_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct device;

struct bus_range {
	uint64_t base;
	uint64_t size;
	struct device *dev;
};

struct bus {
	const char *name; /* "mmio" or "pio", for messages */
	struct bus_range *ranges;
	unsigned nr_ranges;
	unsigned capacity;
	bool sealed;
};

void bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/* Adds [base, base+size) for @dev. -EINVAL for a zero size or a range that
 * wraps, -EEXIST if it overlaps a registered range, -EPERM once sealed,
 * -ENOMEM if the table cannot grow. */
int bus_register(struct bus *bus, uint64_t base, uint64_t size, struct device *dev);

/* Forbids further registration; lookups are safe from any thread afterwards. */
void bus_seal(struct bus *bus);

/* The range wholly containing [addr, addr+len), or NULL (unmapped, or an access
 * that straddles the end of a range). */
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, unsigned len);

#endif
