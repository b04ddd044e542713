/* Accesses that no device answers, each read echoed to the MMIO test device
 * so the test sees what the guest got (all ones), in this order:
 *   1. MMIO  write+read 4 bytes at TEST_UNMAPPED_MMIO     echo 4 bytes
 *   2. MMIO  read 8 bytes at TEST_UNMAPPED_MMIO            echo 8 bytes
 *   3. PIO   write+read 4 bytes at TEST_UNMAPPED_PORT      echo 4 bytes
 *   4. PIO   read 1 byte at TEST_UNMAPPED_PORT             echo 1 byte
 *   5. MMIO  read 4 bytes straddling the test device's end echo 4 bytes
 *            (the device ends inside a page: KVM splits an access that
 *            crosses a page into two exits, each of which would be valid)
 *   6. MMIO  read 4 bytes of a register the device rejects echo 4 bytes
 * and then reports that it reached the end. */
#include "common.S"

	.globl _start
_start:	mov $TEST_MMIO_BASE, %edi
	mov $TEST_UNMAPPED_MMIO, %esi

	movl $0xdeadbeef, (%rsi)
	movl (%rsi), %eax
	movl %eax, TEST_REG_ECHO(%rdi)

	movq (%rsi), %rax
	movq %rax, TEST_REG_ECHO(%rdi)

	mov $TEST_UNMAPPED_PORT, %dx
	mov $0xcafef00d, %eax
	outl %eax, %dx
	xor %eax, %eax
	inl %dx, %eax
	movl %eax, TEST_REG_ECHO(%rdi)

	xor %eax, %eax
	inb %dx, %al
	movb %al, TEST_REG_ECHO(%rdi)

	movl TEST_MMIO_SIZE - 2(%rdi), %eax
	movl %eax, TEST_REG_ECHO(%rdi)

	movl TEST_REG_NONE(%rdi), %eax
	movl %eax, TEST_REG_ECHO(%rdi)

	movl $TEST_DONE_MAGIC, TEST_REG_DONE(%rdi)
	jmp halt
