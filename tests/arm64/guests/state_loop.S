/* Writes STATE_LOOP_WRITES values of the test sequence, 8 bytes each, to the
 * MMIO test device, then TEST_DONE_MAGIC to DONE, and powers off. The
 * running value lives in x1, the step in x2 and the count in x3 only: a vCPU
 * state round trip that loses or changes a register shows as a DATA write
 * off the sequence or a wrong count. */
#include "common.S"

	.globl _start
_start:	ldr x20, =TEST_MMIO_BASE
	ldr x2, =TEST_SEQ_MUL
	mov x1, #0
	ldr x3, =STATE_LOOP_WRITES
1:	add x1, x1, x2
	str x1, [x20, #TEST_REG_DATA]
	subs x3, x3, #1
	b.ne 1b
	b done
