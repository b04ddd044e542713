/* Loads an empty IDT and raises #UD: the CPU cannot deliver it, nor the
 * #DF that follows, and shuts down (a triple fault), which kvmkit treats as
 * a reset. */
#include "common.S"

	.globl _start
_start:	lea message(%rip), %rsi
	call puts
	lidt empty_idt(%rip)
	ud2
	jmp spin

message:
	.asciz "faulting\n"
	.balign 8
empty_idt:
	.word 0 /* limit */
	.quad 0 /* base */
