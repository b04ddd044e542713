/* Benchmark guest (arm64 Image): stores to one MMIO address forever. The 64-byte
 * header is the Linux Image header kvmkit's loader checks. */
	.text
	.globl _head
_head:
	b	start			/* code0 */
	.long	0			/* code1 */
	.quad	0			/* text_offset */
	.quad	0x10000			/* image_size */
	.quad	0			/* flags: little-endian */
	.quad	0, 0, 0			/* reserved */
	.long	0x644d5241		/* "ARM\x64" */
	.long	0
start:
	movz	x2, #0x0c00, lsl #16	/* 0x0c000000: no RAM, no device */
	mov	w1, #0
1:	str	w1, [x2]
	add	w1, w1, #1
	b	1b
