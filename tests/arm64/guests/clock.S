/* Reports its virtual counter for ever, one line per reading on the UART:
 * "v=<CNTVCT_EL0> f=<CNTFRQ_EL0>\n", each as 16 hex digits. The
 * restore_clock case compares the counter a snapshot saved with the one
 * its restores go on from. */
#include "common.S"

	.globl _start
_start:	isb
	mrs x4, cntvct_el0
	mrs x5, cntfrq_el0
	mov w6, #'v'
	bl putc
	mov w6, #'='
	bl putc
	mov x7, x4
	bl puthex
	mov w6, #' '
	bl putc
	mov w6, #'f'
	bl putc
	mov w6, #'='
	bl putc
	mov x7, x5
	bl puthex
	mov w6, #'\n'
	bl putc
	b _start

/* Prints the byte in w6 once the UART can take it. Clobbers x1, x3. */
putc:	ldr x1, =UART_BASE
1:	ldrb w3, [x1, #UART_LSR]
	tbz w3, #UART_LSR_THRE_BIT, 1b
	strb w6, [x1, #UART_THR]
	ret

/* Prints x7 as 16 hex digits. Clobbers x1, x3, x6, x8-x10. */
puthex:	mov x10, x30
	mov x8, #60
2:	lsr x9, x7, x8
	and x9, x9, #15
	add x6, x9, #'0'
	cmp x9, #10
	b.lo 3f
	add x6, x9, #('a' - 10)
3:	bl putc
	subs x8, x8, #4
	b.ge 2b
	mov x30, x10
	ret
