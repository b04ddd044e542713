/* The guest's view of its PMU (kvmkit --pmu), through ECHO writes to the
 * test device: first ID_AA64DFR0_EL1.PMUVer (0: no PMU, which is what KVM
 * shows a vCPU without KVM_ARM_VCPU_PMU_V3); with a PMU then PMCR_EL0.N (the
 * event counters) and the cycle counter's advance over a 10000-iteration
 * loop at EL1 (PMCCFILTR_EL0 = 0 counts EL1, PMCR_EL0.E and PMCNTENSET_EL0
 * bit 31 start it). Then DONE and power off. The PMU registers are touched
 * only when PMUVer says they exist: without a PMU they are UNDEFINED. */
#include "common.S"

#define LOOPS 10000

	.globl _start
_start:	ldr x20, =TEST_MMIO_BASE
	mrs x1, id_aa64dfr0_el1
	ubfx x1, x1, #8, #4
	str x1, [x20, #TEST_REG_ECHO]
	cbz x1, 2f
	mrs x2, pmcr_el0
	ubfx x3, x2, #11, #5
	str x3, [x20, #TEST_REG_ECHO]
	msr pmccfiltr_el0, xzr
	orr x2, x2, #1			/* E */
	msr pmcr_el0, x2
	mov x3, #(1 << 31)		/* the cycle counter */
	msr pmcntenset_el0, x3
	isb
	mrs x4, pmccntr_el0
	ldr x6, =LOOPS
1:	add x7, x7, x6
	subs x6, x6, #1
	b.ne 1b
	isb
	mrs x5, pmccntr_el0
	sub x5, x5, x4
	str x5, [x20, #TEST_REG_ECHO]
2:	b done
