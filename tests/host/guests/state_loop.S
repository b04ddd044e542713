/* Writes STATE_LOOP_WRITES values of the test sequence, 8 bytes each, to the
 * MMIO test device, then TEST_DONE_MAGIC to DONE, and halts. The running
 * value lives in %rax, the step in %rdx and the count in %ecx only: a vCPU
 * state round trip that loses or changes a register shows as a DATA write
 * off the sequence or a wrong count. */
#include "common.S"

	.globl _start
_start:	mov $TEST_MMIO_BASE, %esi
	movabs $TEST_SEQ_MUL, %rdx
	xor %eax, %eax
	mov $STATE_LOOP_WRITES, %ecx
1:	add %rdx, %rax
	mov %rax, TEST_REG_DATA(%rsi)
	dec %ecx
	jnz 1b
	movl $TEST_DONE_MAGIC, TEST_REG_DONE(%rsi)
	jmp halt
