/* Makes one MMIO write the test names, from the vCPU: spins until the qword
 * at POKE_MAILBOX holds an address, writes the dword at POKE_MAILBOX + 8
 * there (as a driver writes a virtio-mmio register), then spins. */
#include "common.S"

	.globl _start
_start:	mov $POKE_MAILBOX, %esi
1:	pause
	mov (%rsi), %rax
	test %rax, %rax
	jz 1b
	mov 8(%rsi), %ecx
	movl %ecx, (%rax)
	jmp spin
