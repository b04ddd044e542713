/* The snapshot tests' guest: counts for ever and prints each count on COM1
 * as "c=<16 hex digits>\n", so the console of a restored VM must continue
 * the one that was saved line for line. The count lives in RAM
 * (COUNTER_ADDR); at start the guest also stamps the first quadword of
 * COUNTER_FILL_PAGES pages from COUNTER_FILL_BASE with the page's index
 * times COUNTER_STAMP_MUL, and checks one page per count (and writes the
 * count into its second quadword): a page the restore got wrong prints
 * "BAD" and halts. */
#include "common.S"

	.globl _start
_start:
	/* Stamp the pages (or, if COUNTER_ADDR already counts, e.g. after a
	 * restore, this never runs again: restores resume in the loop). */
	xor %rcx, %rcx
	mov $COUNTER_FILL_BASE, %rdi
	mov $COUNTER_STAMP_MUL, %rbx
1:	mov %rcx, %rax
	imul %rbx, %rax
	mov %rax, (%rdi)
	add $4096, %rdi
	inc %rcx
	cmp $COUNTER_FILL_PAGES, %rcx
	jb 1b
	movq $0, COUNTER_ADDR

count:	mov COUNTER_ADDR, %rax
	inc %rax
	mov %rax, COUNTER_ADDR
	/* Check page (count mod pages). */
	xor %rdx, %rdx
	mov $COUNTER_FILL_PAGES, %rcx
	div %rcx
	mov %rdx, %rax
	mov %rdx, %rdi
	shl $12, %rdi
	add $COUNTER_FILL_BASE, %rdi
	mov $COUNTER_STAMP_MUL, %rbx
	imul %rbx, %rax
	cmp %rax, (%rdi)
	jne bad
	/* Leave the count in the page's second quadword: a new page is
	 * written every count, which diff snapshots must all carry. */
	mov COUNTER_ADDR, %rax
	mov %rax, 8(%rdi)
	/* Print "c=" and the count. */
	mov $'c', %al
	call putc
	mov $'=', %al
	call putc
	mov COUNTER_ADDR, %r8
	mov $60, %cl
2:	mov %r8, %rax
	shr %cl, %rax
	and $15, %rax
	mov hexdigits(%rax), %al
	call putc
	sub $4, %cl
	jns 2b
	mov $'\n', %al
	call putc
	jmp count

bad:	lea bad_msg(%rip), %rsi
	call puts
	jmp halt

/* Prints %al on COM1 once the transmitter is empty. Clobbers %rdx, %r9. */
putc:	mov %al, %r9b
	mov $COM1_LSR, %dx
3:	inb %dx, %al
	test $LSR_THRE, %al
	jz 3b
	mov %r9b, %al
	mov $COM1_PORT, %dx
	outb %al, %dx
	ret

	.section .rodata
hexdigits:
	.ascii "0123456789abcdef"
bad_msg:
	.asciz "BAD\n"
