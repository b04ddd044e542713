/* Asks for a reset through the reset control register at port 0xcf9 and then
 * spins, so only the reset request can end the VM. */
#include "common.S"

	.globl _start
_start:	lea message(%rip), %rsi
	call puts
	mov $RESET_PORT, %dx
	mov $0x06, %al /* SYS_RST | RST_CPU */
	outb %al, %dx
	jmp spin

message:
	.asciz "resetting\n"
