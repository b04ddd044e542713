/* Prints a greeting on the UART and powers off through PSCI SYSTEM_OFF. */
#include "common.S"

	.globl _start
_start:	adr x0, greeting
	bl puts
	b system_off

greeting:
	.asciz "hello from the arm64 guest\n"
	.balign 4
