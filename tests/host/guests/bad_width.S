/* Makes 2-byte accesses to the 16550, which only takes 1-byte ones: both are
 * rejected, the read sees all ones (echoed to the MMIO test device), and the
 * UART still works afterwards. */
#include "common.S"

	.globl _start
_start:	mov $TEST_MMIO_BASE, %edi
	mov $COM1_PORT, %dx
	mov $0x4142, %ax
	outw %ax, %dx
	inw %dx, %ax
	movw %ax, TEST_REG_ECHO(%rdi)
	lea message(%rip), %rsi
	call puts
	movl $TEST_DONE_MAGIC, TEST_REG_DONE(%rdi)
	jmp halt

message:
	.asciz "uart still works\n"
