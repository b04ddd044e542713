#include "arch/x86_64/ram_layout.h"

#include <errno.h>

#include "arch/x86_64/layout.h"

#define PAGE_MASK 0xfffULL

int x86_ram_regions(uint64_t ram_size, struct arch_ram_region *out, unsigned max)
{
	const uint64_t low_max = X86_MMIO_HOLE - X86_RAM_BASE;
	unsigned n = 0;

	if (ram_size == 0 || (ram_size & PAGE_MASK) || ram_size > X86_MAX_RAM)
		return -EINVAL;
	if (max < (ram_size > low_max ? 2U : 1U))
		return -ENOSPC;
	out[n++] = (struct arch_ram_region){
		.gpa = X86_RAM_BASE,
		.size = ram_size < low_max ? ram_size : low_max,
	};
	if (ram_size > low_max)
		out[n++] = (struct arch_ram_region){
			.gpa = X86_HIGH_RAM_BASE,
			.size = ram_size - low_max,
		};
	return (int)n;
}
