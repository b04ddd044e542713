/* Prints what Linux's panic() prints and then spins: kvmkit recognises the
 * report on the console and ends the VM as a crash. */
#include "common.S"

	.globl _start
_start:	lea report(%rip), %rsi
	call puts
	jmp spin

report:
	.ascii "Kernel panic - not syncing: host test guest\n"
	.asciz "---[ end Kernel panic - not syncing: host test guest ]---\n"
