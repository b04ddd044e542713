#include "arch/x86_64/long_mode.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "arch/x86_64/layout.h"
#include "vmm/guest_mem.h"

#define PTE_PRESENT 0x1ULL
#define PTE_WRITE 0x2ULL
#define PTE_HUGE 0x80ULL

#define CR0_PE 0x1ULL
#define CR0_MP 0x2ULL
#define CR0_ET 0x10ULL
#define CR0_NE 0x20ULL
#define CR0_WP 0x10000ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define CR4_OSFXSR 0x200ULL
#define CR4_OSXMMEXCPT 0x400ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

enum { GDT_NULL, GDT_CODE64, GDT_DATA, GDT_ENTRIES };

static const uint64_t gdt[GDT_ENTRIES] = {
	[GDT_NULL] = 0,
	[GDT_CODE64] = 0x00af9b000000ffffULL, /* present, DPL0, code, L=1 */
	[GDT_DATA] = 0x00cf93000000ffffULL,   /* present, DPL0, data, 4 GiB */
};

/* Where the identity map ends: 4 GiB (RAM below the hole and the 32-bit MMIO
 * above it) or the end of RAM above 4 GiB, whole GiB each (one page directory
 * of 2 MiB pages). 0 if RAM reaches beyond what the tables can map. */
static uint64_t map_end(const struct guest_mem *mem)
{
	uint64_t end = X86_HIGH_RAM_BASE;

	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];

		if (r->gpa + r->size > end)
			end = r->gpa + r->size;
	}
	end = (end + (1ULL << 30) - 1) & ~((1ULL << 30) - 1);
	return end <= X86_PD_PAGES << 30 ? end : 0;
}

int long_mode_write_tables(const struct guest_mem *mem)
{
	uint64_t end = map_end(mem), nr_pd = end >> 30;
	uint64_t *pml4 = guest_mem_ptr(mem, X86_PML4_ADDR, 4096);
	uint64_t *pdpt = guest_mem_ptr(mem, X86_PDPT_ADDR, 4096);
	uint64_t *pd = guest_mem_ptr(mem, X86_PD_ADDR, nr_pd * 4096);
	uint8_t *hlt = guest_mem_ptr(mem, X86_HLT_ADDR, 3);

	if (!end || !pml4 || !pdpt || !pd || !hlt ||
	    guest_mem_write(mem, X86_GDT_ADDR, gdt, sizeof(gdt)))
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = X86_PDPT_ADDR | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < nr_pd; i++)
		pdpt[i] = (X86_PD_ADDR + i * 4096) | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < nr_pd * 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_HUGE;
	hlt[0] = 0xf4; /* hlt */
	hlt[1] = 0xeb; /* jmp back to the hlt */
	hlt[2] = 0xfd;
	return 0;
}

static void flat_segment(struct kvm_segment *seg, unsigned index, bool code)
{
	*seg = (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = (uint16_t)(index * 8),
		.type = code ? 0xb : 0x3,
		.present = 1,
		.dpl = 0,
		.db = code ? 0 : 1,
		.s = 1,
		.l = code ? 1 : 0,
		.g = 1,
	};
}

void long_mode_sregs(struct kvm_sregs *sregs)
{
	flat_segment(&sregs->cs, GDT_CODE64, true);
	flat_segment(&sregs->ds, GDT_DATA, false);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	sregs->gdt.base = X86_GDT_ADDR;
	sregs->gdt.limit = sizeof(gdt) - 1;
	sregs->cr3 = X86_PML4_ADDR;
	sregs->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs->efer = EFER_LME | EFER_LMA;
}
