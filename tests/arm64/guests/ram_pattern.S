/* Writes guest RAM at addresses the test chose and reads it back:
 *   for each address of the table at TEST_RAM_TABLE, TEST_PATTERN_QWORDS
 *   8-byte writes of the sequence, one address after the other;
 *   then reads all of them back in the same order, each into DATA of the MMIO
 *   test device, which checks it against the sequence;
 * then writes TEST_DONE_MAGIC to DONE and powers off. The MMU is off, so an
 * address is its own pointer. */
#include "common.S"

	.globl _start
_start:	ldr x19, =TEST_RAM_TABLE
	ldr x20, =TEST_MMIO_BASE
	ldr x21, =TEST_SEQ_MUL
	ldr x22, [x19]			/* number of addresses */
	mov x9, #0			/* sequence index */

	mov x23, #0			/* table index */
1:	cmp x23, x22
	b.hs 3f
	add x24, x19, x23, lsl #3
	ldr x24, [x24, #8]
	mov x8, #TEST_PATTERN_QWORDS
2:	bl seq_value
	str x10, [x24], #8
	add x9, x9, #1
	subs x8, x8, #1
	b.ne 2b
	add x23, x23, #1
	b 1b

3:	mov x23, #0
4:	cmp x23, x22
	b.hs done
	add x24, x19, x23, lsl #3
	ldr x24, [x24, #8]
	mov x8, #TEST_PATTERN_QWORDS
5:	ldr x10, [x24], #8
	str x10, [x20, #TEST_REG_DATA]
	subs x8, x8, #1
	b.ne 5b
	add x23, x23, #1
	b 4b
