/* Benchmark guest (x86_64 ELF test kernel): stores to one MMIO address forever. */
	.code64
	.globl _start
_start:
	mov $0xd0000000, %rbx
1:	movl %ecx, (%rbx)
	inc %ecx
	jmp 1b
