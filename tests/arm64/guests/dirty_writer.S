/* The dirty writer of ../host/guests/dirty_layout.h: forever, one page of
 * the area chosen by xorshift64 gets the mailbox's generation in its first
 * and last qword, the mailbox the count of writes, and every
 * DIRTY_UCALL_EVERY writes the test device a ucall (the count to ECHO).
 * Never halts. Registers only: x19 mailbox, x20 area, x21 ucall address,
 * x22 the xorshift state, x23 the count. */
#include "common.S"

.if TEST_DIRTY_PAGE_SIZE != 4096 || (DIRTY_AREA_PAGES & (DIRTY_AREA_PAGES - 1))
.error "dirty_writer.S shifts by 12 and masks by the page count"
.endif

	.globl _start
_start:	ldr x19, =TEST_DIRTY_MAILBOX
	ldr x20, =TEST_DIRTY_AREA
	ldr x21, =TEST_DIRTY_UCALL
	ldr x22, =DIRTY_SEED
	mov x23, #0
1:	ldr x1, [x19]			/* the generation */
	eor x22, x22, x22, lsl #13	/* x ^= x << 13; x ^= x >> 7; x ^= x << 17 */
	eor x22, x22, x22, lsr #7
	eor x22, x22, x22, lsl #17
	and x2, x22, #(DIRTY_AREA_PAGES - 1)
	add x3, x20, x2, lsl #12
	str x1, [x3]
	str x1, [x3, #(TEST_DIRTY_PAGE_SIZE - 8)]
	add x23, x23, #1
	str x23, [x19, #8]		/* the count */
	tst x23, #(DIRTY_UCALL_EVERY - 1)
	b.ne 1b
	str x23, [x21]
	b 1b
