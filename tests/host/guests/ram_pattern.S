/* Writes guest RAM at addresses the test chose and reads it back:
 *   for each address of the table at TEST_RAM_TABLE, TEST_PATTERN_QWORDS
 *   8-byte writes of the sequence, one address after the other;
 *   then reads all of them back in the same order, each into DATA of the MMIO
 *   test device, which checks it against the sequence;
 * then writes TEST_DONE_MAGIC to DONE and halts. The boot page tables
 * identity-map all RAM, so an address is its own pointer. */
#include "common.S"

	.globl _start
_start:	mov $TEST_RAM_TABLE, %r9
	mov (%r9), %r10			/* number of addresses */
	mov $TEST_MMIO_BASE, %esi
	xor %ecx, %ecx			/* sequence index */

	xor %r11d, %r11d		/* table index */
1:	cmp %r10, %r11
	jae 3f
	mov 8(%r9,%r11,8), %rdi
	mov $TEST_PATTERN_QWORDS, %r8d
2:	call seq_value
	mov %rax, (%rdi)
	add $8, %rdi
	inc %ecx
	dec %r8d
	jnz 2b
	inc %r11
	jmp 1b

3:	xor %r11d, %r11d
4:	cmp %r10, %r11
	jae 6f
	mov 8(%r9,%r11,8), %rdi
	mov $TEST_PATTERN_QWORDS, %r8d
5:	mov (%rdi), %rax
	mov %rax, TEST_REG_DATA(%rsi)
	add $8, %rdi
	dec %r8d
	jnz 5b
	inc %r11
	jmp 4b

6:	movl $TEST_DONE_MAGIC, TEST_REG_DONE(%rsi)
	jmp halt
