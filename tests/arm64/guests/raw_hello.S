/* A raw binary, no Image header (TEST_RAW_GUEST): kvmkit loads it at the
 * start of RAM with --kernel-format raw and enters it at its first byte. It
 * prints a greeting and powers off through PSCI SYSTEM_OFF. */
#define TEST_RAW_GUEST
#include "common.S"

	.globl _start
_start:	adr x0, greeting
	bl puts
	b system_off

greeting:
	.asciz "hello from the raw arm64 guest\n"
	.balign 4
