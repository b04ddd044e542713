/* Guest physical layout on x86_64, as on a PC: RAM from 0 up to the 32-bit
 * MMIO hole, the rest from 4 GiB. The boot page tables identity-map the first
 * 4 GiB and all RAM above, so test kernels reach RAM and MMIO alike. */
#ifndef KVMKIT_X86_LAYOUT_H
#define KVMKIT_X86_LAYOUT_H

#define X86_RAM_BASE 0x0ULL
#define X86_MMIO_HOLE 0xc0000000ULL      /* low RAM ends below this */
#define X86_HIGH_RAM_BASE 0x100000000ULL /* RAM above the hole continues at 4 GiB */
/* RAM ends at or below 64 GiB (2^36). Every x86_64 CPU implements at least 36
 * physical address bits, the guest's MAXPHYADDR is the host's (its CPUID comes
 * from KVM_GET_SUPPORTED_CPUID) and KVM refuses memslots above the host's, so
 * this much is addressable on any host. The boot identity map covers it with
 * 2 MiB pages in 64 page-directory pages (X86_PD_PAGES). */
#define X86_RAM_END_MAX 0x1000000000ULL
#define X86_MAX_RAM ((X86_MMIO_HOLE - X86_RAM_BASE) + (X86_RAM_END_MAX - X86_HIGH_RAM_BASE))

#define X86_GDT_ADDR 0x500ULL
#define X86_PML4_ADDR 0x1000ULL
#define X86_PDPT_ADDR 0x2000ULL
#define X86_HLT_ADDR 0x3000ULL /* a lone HLT for vCPUs with nothing to run */
#define X86_PD_ADDR 0x4000ULL  /* one page per GiB mapped, in 2 MiB pages */
#define X86_PD_PAGES (X86_RAM_END_MAX >> 30)
#define X86_LOW_RESERVED (X86_PD_ADDR + X86_PD_PAGES * 0x1000ULL) /* nothing is loaded below */
#define X86_BOOT_STACK 0x80000ULL

#define X86_VIRTIO_MMIO_BASE 0xd1000000ULL
#define X86_VIRTIO_MMIO_SIZE 0x200ULL
#define X86_VIRTIO_MMIO_SLOTS 32

#define X86_COM1_PORT 0x3f8
#define X86_RESET_PORT 0xcf9

#endif
