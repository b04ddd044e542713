/* The 64-bit boot environment for test kernels: a flat GDT, identity-mapped
 * page tables (2 MiB pages) for the first 4 GiB and all RAM above, and the
 * matching segment and control registers. */
#ifndef KVMKIT_X86_LONG_MODE_H
#define KVMKIT_X86_LONG_MODE_H

#include <linux/kvm.h>

struct guest_mem;

/* Writes GDT, page tables and the HLT stub into low RAM, mapping every region
 * of @mem. -EFAULT if RAM is too small to hold them or ends above
 * X86_RAM_END_MAX. */
int long_mode_write_tables(const struct guest_mem *mem);

/* Sets @sregs for 64-bit mode with paging on those tables. */
void long_mode_sregs(struct kvm_sregs *sregs);

#endif
