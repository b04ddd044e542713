/* Talks to the port I/O test device at TEST_PIO_BASE:
 *   TEST_WRITES_PER_WIDTH writes of the sequence with outb, outw, outl,
 *   one rep outsb of TEST_STRING_LEN more sequence bytes,
 *   TEST_READS_PER_WIDTH reads with inb, inw, inl, each echoed back,
 *   one rep insb of TEST_STRING_LEN bytes, echoed back with rep outsb,
 * then writes TEST_DONE_MAGIC to DONE and halts. With START_DELAY_LOOPS
 * defined (smp_pio.S) it first idles, so that the other vCPUs surely started. */
#include "common.S"

#define DATA_PORT (TEST_PIO_BASE + TEST_REG_DATA)
#define ECHO_PORT (TEST_PIO_BASE + TEST_REG_ECHO)
#define DONE_PORT (TEST_PIO_BASE + TEST_REG_DONE)

/* Writes the next TEST_WRITES_PER_WIDTH sequence values; %rcx counts writes. */
.macro pio_writes sfx, reg
	mov $TEST_WRITES_PER_WIDTH, %r8d
	mov $DATA_PORT, %dx
1:	call seq_value
	out\sfx \reg, %dx
	inc %ecx
	dec %r8d
	jnz 1b
.endm

.macro pio_reads sfx, reg
	mov $TEST_READS_PER_WIDTH, %r8d
1:	mov $DATA_PORT, %dx
	in\sfx %dx, \reg
	mov $ECHO_PORT, %dx
	out\sfx \reg, %dx
	dec %r8d
	jnz 1b
.endm

	.globl _start
_start:
#ifdef START_DELAY_LOOPS
	mov $START_DELAY_LOOPS, %ecx
0:	pause
	dec %ecx
	jnz 0b
#endif
	xor %ecx, %ecx
	pio_writes b, %al
	pio_writes w, %ax
	pio_writes l, %eax

	lea buffer(%rip), %rdi
	mov $TEST_STRING_LEN, %r8d
1:	call seq_value
	stosb
	inc %ecx
	dec %r8d
	jnz 1b
	lea buffer(%rip), %rsi
	mov $TEST_STRING_LEN, %ecx
	mov $DATA_PORT, %dx
	rep outsb

	pio_reads b, %al
	pio_reads w, %ax
	pio_reads l, %eax

	lea buffer(%rip), %rdi
	mov $TEST_STRING_LEN, %ecx
	mov $DATA_PORT, %dx
	rep insb
	lea buffer(%rip), %rsi
	mov $TEST_STRING_LEN, %ecx
	mov $ECHO_PORT, %dx
	rep outsb

	mov $DONE_PORT, %dx
	mov $TEST_DONE_MAGIC, %eax
	outl %eax, %dx
	jmp halt

	.bss
buffer:	.skip TEST_STRING_LEN
