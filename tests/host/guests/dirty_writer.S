/* The dirty writer (dirty_layout.h): random pages of the area get the
 * mailbox's generation at their first and last qword, forever. Registers
 * only, no stack: %r9 mailbox, %r10 the xorshift state, %r11 the count. */
#include "common.S"
#include "dirty_layout.h"

	.globl _start
_start:	mov $DIRTY_MAILBOX_OFFSET, %r9
	movabs $DIRTY_SEED, %r10
	mov $TEST_MMIO_BASE, %esi
	xor %r11d, %r11d
1:	mov %r10, %rax			/* x ^= x << 13; x ^= x >> 7; x ^= x << 17 */
	shl $13, %rax
	xor %rax, %r10
	mov %r10, %rax
	shr $7, %rax
	xor %rax, %r10
	mov %r10, %rax
	shl $17, %rax
	xor %rax, %r10
	mov %r10, %rdx
	and $(DIRTY_AREA_PAGES - 1), %rdx
	shl $12, %rdx
	add $DIRTY_AREA_OFFSET, %rdx
	mov (%r9), %rax			/* the generation */
	mov %rax, (%rdx)
	mov %rax, 4088(%rdx)
	inc %r11
	mov %r11, 8(%r9)
	test $(DIRTY_UCALL_EVERY - 1), %r11
	jnz 1b
	mov %r11, TEST_REG_ECHO(%rsi)
	jmp 1b
