#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *bus, const char *name) { *bus = (struct bus){.name = name}; }

void bus_destroy(struct bus *bus)
{
	free(bus->ranges);
	bus_init(bus, bus->name);
}

int bus_register(struct bus *bus, uint64_t base, uint64_t size, struct device *dev)
{
	uint64_t end;
	unsigned pos;

	if (bus->sealed)
		return -EPERM;
	if (size == 0 || __builtin_add_overflow(base, size - 1, &end))
		return -EINVAL;
	/* Keep the table sorted by base: find the insertion point, then check the
	 * neighbours on both sides for overlap. */
	for (pos = 0; pos < bus->nr_ranges && bus->ranges[pos].base < base; pos++)
		;
	if (pos > 0) {
		const struct bus_range *prev = &bus->ranges[pos - 1];

		if (prev->base + (prev->size - 1) >= base)
			return -EEXIST;
	}
	if (pos < bus->nr_ranges && bus->ranges[pos].base <= end)
		return -EEXIST;
	if (bus->nr_ranges == bus->capacity) {
		unsigned cap = bus->capacity ? bus->capacity * 2 : 8;
		struct bus_range *grown = realloc(bus->ranges, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		bus->ranges = grown;
		bus->capacity = cap;
	}
	memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
		(bus->nr_ranges - pos) * sizeof(bus->ranges[0]));
	bus->ranges[pos] = (struct bus_range){.base = base, .size = size, .dev = dev};
	bus->nr_ranges++;
	return 0;
}

void bus_seal(struct bus *bus) { bus->sealed = true; }

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, unsigned len)
{
	unsigned lo = 0, hi = bus->nr_ranges;

	if (len == 0)
		return NULL;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->size) {
			lo = mid + 1;
		} else {
			/* addr is inside; the access must end inside too. */
			if (len > r->size - (addr - r->base))
				return NULL;
			return r;
		}
	}
	return NULL;
}
