/* Helpers shared by the test guests: included (not linked) by each guest,
 * which keeps every guest a single object file. */
#include "layout.h"

	.section .note.GNU-stack, "", @progbits
	.text
	.code64

/* Prints the NUL-terminated string at %rsi on COM1, polling LSR.THRE before
 * each byte as a real driver would. Clobbers %rax, %rdx, %rsi. */
puts:	lodsb
	test %al, %al
	jz 2f
	mov %al, %ah
	mov $COM1_LSR, %dx
1:	inb %dx, %al
	test $LSR_THRE, %al
	jz 1b
	mov %ah, %al
	mov $COM1_PORT, %dx
	outb %al, %dx
	jmp puts
2:	ret

/* %rax = (%rcx + 1) * TEST_SEQ_MUL: the value of write number %rcx.
 * Clobbers %rbx only, so %rdx can hold a port number across the call. */
seq_value:
	lea 1(%rcx), %rax
	mov $TEST_SEQ_MUL, %rbx
	imul %rbx, %rax
	ret

/* Stops this vCPU for good: with no interrupt controller HLT ends it. */
halt:	cli
	hlt
	jmp halt

/* Burns time until the VMM stops the guest. */
spin:	pause
	jmp spin
