/* Makes 2-byte accesses to the 16550, which only takes 1-byte ones: both are
 * rejected, the read sees all ones (echoed with its width to the test
 * device), and the UART still works afterwards. */
#include "common.S"

	.globl _start
_start:	ldr x20, =TEST_MMIO_BASE
	ldr x1, =UART_BASE
	mov w2, #0x4142
	strh w2, [x1, #UART_THR]
	ldrh w2, [x1, #UART_THR]
	strh w2, [x20, #TEST_REG_ECHO]
	adr x0, message
	bl puts
	b done

message:
	.asciz "uart still works\n"
	.balign 4
