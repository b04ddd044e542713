/* Prints a greeting, makes one write no device claims, and powers off (HLT).
 * The CLI tests check the console and the exact --stats counts:
 * 17 bytes => com1 reads=17 (LSR) writes=17, vcpu0 pio=34 mmio=1. */
#include "common.S"

	.globl _start
_start:	lea greeting(%rip), %rsi
	call puts
	mov $TEST_UNMAPPED_MMIO, %esi
	movl $0xdeadbeef, (%rsi)
	jmp halt

greeting:
	.asciz "hello from guest\n"
