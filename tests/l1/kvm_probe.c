/* kvm-probe: can this host's /dev/kvm run an x86_64 guest?
 *
 * The file existing proves nothing (a kvm_pvm host may refuse to bind, a
 * container may hide the device's backing), so this creates a VM with 2 MiB
 * of RAM, one vCPU in 64-bit mode, and runs four instructions that write a
 * value to an I/O port and halt. Exit status 0 and one line "usable: ..." when
 * the value came back; 1 and one line naming the step that failed otherwise.
 * scripts/check runs the host suite natively or in an x86_64 L1 on this
 * answer. Raw ioctls on purpose: the probe must not depend on kvmkit working.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define RAM_SIZE (2u << 20)
#define PML4 0x1000u
#define PDPT 0x2000u
#define PD 0x3000u
#define GDT 0x500u
#define CODE 0x8000u
#define PROBE_PORT 0x80
#define PROBE_VALUE 0x5a

static int fail(const char *step)
{
	printf("unusable: %s: %s\n", step, strerror(errno));
	return 1;
}

static void write_guest(uint8_t *ram)
{
	uint64_t *pml4 = (uint64_t *)(ram + PML4), *pdpt = (uint64_t *)(ram + PDPT);
	uint64_t *pd = (uint64_t *)(ram + PD), *gdt = (uint64_t *)(ram + GDT);
	/* mov al, PROBE_VALUE; out PROBE_PORT, al; hlt; jmp to the hlt */
	static const uint8_t code[] = {0xb0, PROBE_VALUE, 0xe6, PROBE_PORT, 0xf4, 0xeb, 0xfd};

	pml4[0] = PDPT | 3;
	pdpt[0] = PD | 3;
	pd[0] = 0x83;                   /* the first 2 MiB, present, writable, large page */
	gdt[1] = 0x00af9b000000ffffULL; /* 64-bit code */
	gdt[2] = 0x00cf93000000ffffULL; /* data */
	memcpy(ram + CODE, code, sizeof(code));
}

static void long_mode(struct kvm_sregs *s)
{
	struct kvm_segment code = {.limit = 0xffffffff,
				   .selector = 8,
				   .type = 0xb,
				   .present = 1,
				   .s = 1,
				   .l = 1,
				   .g = 1};
	struct kvm_segment data = {.limit = 0xffffffff,
				   .selector = 16,
				   .type = 0x3,
				   .present = 1,
				   .db = 1,
				   .s = 1,
				   .g = 1};

	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->gdt.base = GDT;
	s->gdt.limit = 3 * 8 - 1;
	s->cr3 = PML4;
	s->cr4 = 0x20;       /* PAE */
	s->cr0 = 0x80000031; /* PG, NE, ET, PE */
	s->efer = 0x500;     /* LMA, LME */
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	int version = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		printf("unusable: KVM API version %d, expected %d\n", version, KVM_API_VERSION);
		return 1;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");

	uint8_t *ram =
		mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		return fail("mmap guest RAM");
	write_guest(ram);
	struct kvm_userspace_memory_region region = {.slot = 0,
						     .guest_phys_addr = 0,
						     .memory_size = RAM_SIZE,
						     .userspace_addr = (uintptr_t)ram};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run =
		mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	long_mode(&sregs);
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	struct kvm_regs regs = {.rip = CODE, .rsp = RAM_SIZE - 16, .rflags = 2};
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	bool seen = false;
	/* A few exits at most: the port write, then the halt. */
	for (int exits = 0; exits < 8; exits++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return fail("KVM_RUN");
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
		    run->io.port == PROBE_PORT && run->io.size == 1) {
			seen = ((uint8_t *)run)[run->io.data_offset] == PROBE_VALUE;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_HLT && seen) {
			printf("usable: a 64-bit vCPU ran, wrote port 0x%x and halted\n",
			       PROBE_PORT);
			return 0;
		}
		printf("unusable: the probe guest exited with reason %u (port write %s)\n",
		       run->exit_reason, seen ? "seen" : "not seen");
		return 1;
	}
	printf("unusable: the probe guest did not halt\n");
	return 1;
}
