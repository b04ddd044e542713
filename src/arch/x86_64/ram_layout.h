/* How x86_64 guest RAM is split around the 32-bit MMIO hole: pure arithmetic
 * on layout.h, behind arch_ram_regions(), and tested on every host. */
#ifndef KVMKIT_X86_RAM_LAYOUT_H
#define KVMKIT_X86_RAM_LAYOUT_H

#include <stdint.h>

#include "arch/arch.h"

/* Splits @ram_size bytes into RAM below X86_MMIO_HOLE and, for what does not
 * fit there, RAM from X86_HIGH_RAM_BASE: one region or two, as
 * arch_ram_regions() describes (same arguments, same errors). */
int x86_ram_regions(uint64_t ram_size, struct arch_ram_region *out, unsigned max);

#endif
