/* The start of every arm64 test guest, included (not linked) first so that
 * one object makes one guest: the 64-byte arm64 Image header kvmkit's loader
 * checks (src/arch/arm64/image.c: magic at 0x38, text_offset 0, image_size),
 * then helpers. A guest that defines TEST_RAW_GUEST first has no header: a
 * raw binary (--kernel-format raw), entered at its first byte. The guest is linked at TEST_RAM_BASE (text_offset 0), runs
 * at EL1 with the MMU off, and defines _start. Loads and stores to devices
 * use a base register and an unsigned offset, without writeback: only those
 * give KVM the syndrome it needs to hand the access to kvmkit. */
#include "layout.h"

	.text
	.globl _head
_head:
#ifndef TEST_RAW_GUEST
	b entry			/* code0 */
	.long 0			/* code1 */
	.quad 0			/* text_offset */
	.quad _end - TEST_RAM_BASE /* image_size: the whole guest, from the linker */
	.quad 0			/* flags: little-endian */
	.quad 0, 0, 0		/* res2, res3, res4 */
	.long 0x644d5241	/* magic "ARM\x64" */
	.long 0			/* res5 */
#endif

entry:	ldr x1, =TEST_STACK_TOP
	mov sp, x1
	b _start

/* Prints the NUL-terminated string at x0 on the UART, polling LSR.THRE
 * before each byte. Clobbers x0-x3. */
puts:	ldr x1, =UART_BASE
1:	ldrb w2, [x0], #1
	cbz w2, 3f
2:	ldrb w3, [x1, #UART_LSR]
	tbz w3, #UART_LSR_THRE_BIT, 2b
	strb w2, [x1, #UART_THR]
	b 1b
3:	ret

/* x10 = (x9 + 1) * x21: the value of DATA write number x9, with x21 holding
 * TEST_SEQ_MUL. */
seq_value:
	add x10, x9, #1
	mul x10, x10, x21
	ret

/* Writes TEST_DONE_MAGIC to DONE of the test device at x20, then powers off. */
done:	mov w1, #TEST_DONE_MAGIC
	str w1, [x20, #TEST_REG_DONE]
	/* fall through */

/* PSCI SYSTEM_OFF: KVM ends KVM_RUN with a shutdown event, kvmkit powers off. */
system_off:
	ldr x0, =PSCI_SYSTEM_OFF
	hvc #0
	b system_off
