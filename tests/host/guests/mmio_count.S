/* Talks to the MMIO test device at TEST_MMIO_BASE:
 *   TEST_WRITES_PER_WIDTH writes of the sequence with 1, 2, 4 and 8 bytes,
 *   TEST_READS_PER_WIDTH reads of each width, each echoed back,
 * then writes TEST_DONE_MAGIC to DONE and halts. */
#include "common.S"

/* Writes the next TEST_WRITES_PER_WIDTH sequence values; %rcx counts writes. */
.macro mmio_writes sfx, reg
	mov $TEST_WRITES_PER_WIDTH, %r8d
1:	call seq_value
	mov\sfx \reg, TEST_REG_DATA(%rsi)
	inc %ecx
	dec %r8d
	jnz 1b
.endm

.macro mmio_reads sfx, reg
	mov $TEST_READS_PER_WIDTH, %r8d
1:	mov\sfx TEST_REG_DATA(%rsi), \reg
	mov\sfx \reg, TEST_REG_ECHO(%rsi)
	dec %r8d
	jnz 1b
.endm

	.globl _start
_start:	mov $TEST_MMIO_BASE, %esi
	xor %ecx, %ecx
	mmio_writes b, %al
	mmio_writes w, %ax
	mmio_writes l, %eax
	mmio_writes q, %rax

	mmio_reads b, %al
	mmio_reads w, %ax
	mmio_reads l, %eax
	mmio_reads q, %rax

	movl $TEST_DONE_MAGIC, TEST_REG_DONE(%rsi)
	jmp halt
