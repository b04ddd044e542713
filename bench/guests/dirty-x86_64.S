/* Benchmark guest for bench/dirty (x86_64 ELF test kernel, no stack). Every
 * vCPU starts here with its index in %rdi (bench/dirty.c sets it) and waits
 * for the host to bump the generation in the mailbox (layout in dirty.c):
 *
 *   mode 0 ("once"): dirty every stride-th page of RAM, vCPU i taking pages
 *           i*stride, (i+n)*stride, ...; then one MMIO write to the sink;
 *           then wait for the next generation. Stride 0 dirties nothing.
 *   mode 1 ("flood"): dirty this vCPU's share of RAM page after page, round
 *           and round forever, counting pages in its mailbox counter.
 *
 * A page is dirtied by writing back the qword it starts with, so the page
 * tables, this code and the mailbox can be among the pages. */
#define MAILBOX 0x200000
#define MB_GEN 0
#define MB_STRIDE 8
#define MB_NR_VCPUS 16
#define MB_NR_PAGES 24
#define MB_MODE 32
#define MB_COUNTERS 64
#define SINK 0xd0000000

	.section .note.GNU-stack, "", @progbits
	.text
	.code64
	.globl _start
_start:	mov $MAILBOX, %r9
	xor %r8d, %r8d			/* the generation done last */
wait:	mov MB_GEN(%r9), %rax
	cmp %rax, %r8
	jne go
	pause
	jmp wait
go:	mov %rax, %r8
	cmpq $1, MB_MODE(%r9)
	je flood
	mov MB_STRIDE(%r9), %rcx
	test %rcx, %rcx
	jz done
	mov MB_NR_VCPUS(%r9), %rbx
	imul %rcx, %rbx			/* step between this vCPU's pages */
	mov MB_NR_PAGES(%r9), %r10
	mov %rdi, %rdx
	imul %rcx, %rdx			/* first page */
1:	cmp %r10, %rdx
	jae done
	mov %rdx, %rax
	shl $12, %rax
	mov (%rax), %r11
	mov %r11, (%rax)
	add %rbx, %rdx
	jmp 1b
done:	mov $SINK, %rax
	mov %r8d, (%rax)
	jmp wait

flood:	mov MB_NR_VCPUS(%r9), %rbx
	mov MB_NR_PAGES(%r9), %r10
	lea MB_COUNTERS(%r9,%rdi,8), %rsi
	xor %ecx, %ecx
2:	mov %rdi, %rdx
3:	mov %rdx, %rax
	shl $12, %rax
	mov (%rax), %r11
	mov %r11, (%rax)
	inc %rcx
	mov %rcx, (%rsi)
	add %rbx, %rdx
	cmp %r10, %rdx
	jb 3b
	jmp 2b
