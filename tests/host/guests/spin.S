/* Prints a marker and then runs forever: for --timeout, --expect and signals. */
#include "common.S"

	.globl _start
_start:	lea marker(%rip), %rsi
	call puts
	jmp spin

marker:
	.asciz "guest is spinning\n"
