/* Prints dots on COM1 for ever, as fast as port I/O exits go: a guest whose
 * progress the console shows, for pause and resume. */
#include "common.S"

	.globl _start
_start:	mov $COM1_PORT, %dx
	mov $'.', %al
1:	outb %al, %dx
	jmp 1b
