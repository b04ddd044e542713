/* Reports its TSC for ever, one line per reading on COM1:
 * "t=<16 hex digits>\n". The snapshot tests' restore-clock case compares the
 * TSC before a snapshot with the one its restores go on from. */
#include "common.S"

	.globl _start
_start:	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, %r8
	mov $'t', %al
	call putc
	mov $'=', %al
	call putc
	mov $60, %cl
1:	mov %r8, %rax
	shr %cl, %rax
	and $15, %rax
	mov hexdigits(%rax), %al
	call putc
	sub $4, %cl
	jns 1b
	mov $'\n', %al
	call putc
	jmp _start

/* Prints %al on COM1 once the transmitter is empty. Clobbers %rdx, %r9. */
putc:	mov %al, %r9b
	mov $COM1_LSR, %dx
2:	inb %dx, %al
	test $LSR_THRE, %al
	jz 2b
	mov %r9b, %al
	mov $COM1_PORT, %dx
	outb %al, %dx
	ret

	.section .rodata
hexdigits:
	.ascii "0123456789abcdef"
