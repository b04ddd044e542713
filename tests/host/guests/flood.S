/* Floods the console: FLOOD_BYTES of 'x' in string writes to COM1 (one exit
 * per page, without waiting for LSR.THRE, as fast as KVM goes), then the
 * marker "flood done\n", then spins. For the console's behaviour when its
 * output fd does not keep up (a terminal nobody reads, a stalled pipe). */
#include "common.S"

	.globl _start
_start:	mov $FLOOD_BUFFER, %rdi
	mov $FLOOD_BYTES, %rcx
	mov $'x', %al
	cld
	rep stosb
	mov $FLOOD_BUFFER, %rsi
	mov $FLOOD_BYTES, %rcx
	mov $COM1_PORT, %dx
	rep outsb
	lea marker(%rip), %rsi
	call puts
	jmp spin

marker:
	.asciz "flood done\n"
