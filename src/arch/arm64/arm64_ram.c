/* arm64 guest RAM is one region from ARM64_RAM_BASE: nothing sits above it. */
#include <errno.h>

#include "arch/arch.h"
#include "arch/arm64/layout.h"

int arch_ram_regions(uint64_t ram_size, struct arch_ram_region *out, unsigned max)
{
	if (ram_size == 0 || (ram_size & 0xfffULL) || ram_size > ARM64_MAX_RAM)
		return -EINVAL;
	if (max < 1)
		return -ENOSPC;
	out[0] = (struct arch_ram_region){.gpa = ARM64_RAM_BASE, .size = ram_size};
	return 1;
}
