/* Talks to the MMIO test device at TEST_MMIO_BASE:
 *   TEST_WRITES_PER_WIDTH writes of the sequence with 1, 2, 4 and 8 bytes,
 *   TEST_READS_PER_WIDTH reads of each width, each echoed back with its width,
 * then writes TEST_DONE_MAGIC to DONE and powers off. */
#include "common.S"

/* The next TEST_WRITES_PER_WIDTH sequence values; x9 counts writes. */
.macro mmio_writes st, reg
	mov x8, #TEST_WRITES_PER_WIDTH
1:	bl seq_value
	\st \reg, [x20, #TEST_REG_DATA]
	add x9, x9, #1
	subs x8, x8, #1
	b.ne 1b
.endm

.macro mmio_reads ld, st, reg
	mov x8, #TEST_READS_PER_WIDTH
1:	\ld \reg, [x20, #TEST_REG_DATA]
	\st \reg, [x20, #TEST_REG_ECHO]
	subs x8, x8, #1
	b.ne 1b
.endm

	.globl _start
_start:	ldr x20, =TEST_MMIO_BASE
	ldr x21, =TEST_SEQ_MUL
	mov x9, #0
	mmio_writes strb, w10
	mmio_writes strh, w10
	mmio_writes str, w10
	mmio_writes str, x10

	mmio_reads ldrb, strb, w10
	mmio_reads ldrh, strh, w10
	mmio_reads ldr, str, w10
	mmio_reads ldr, str, x10
	b done
