/* Guest physical layout on x86_64. RAM starts at 0 and stays below the 32-bit
 * MMIO hole; the boot page tables identity-map the first 4 GiB, so test
 * kernels reach RAM and MMIO alike. */
#ifndef KVMKIT_X86_LAYOUT_H
#define KVMKIT_X86_LAYOUT_H

#define X86_RAM_BASE 0x0ULL
#define X86_MMIO_HOLE 0xc0000000ULL /* RAM ends below this */
#define X86_GDT_ADDR 0x500ULL
#define X86_PML4_ADDR 0x1000ULL
#define X86_PDPT_ADDR 0x2000ULL
#define X86_PD_ADDR 0x3000ULL  /* four pages: 4 GiB in 2 MiB pages */
#define X86_HLT_ADDR 0x7000ULL /* a lone HLT for vCPUs with nothing to run */
#define X86_BOOT_STACK 0x80000ULL
#define X86_LOW_RESERVED 0x8000ULL /* nothing may be loaded below this */

#define X86_VIRTIO_MMIO_BASE 0xd1000000ULL
#define X86_VIRTIO_MMIO_SIZE 0x200ULL
#define X86_VIRTIO_MMIO_SLOTS 32

#define X86_COM1_PORT 0x3f8
#define X86_RESET_PORT 0xcf9

#endif
