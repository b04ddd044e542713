/* Arms the virtual timer (CNTV_*, INTID 27), then the EL1 physical timer
 * (CNTP_*, INTID 30), the number of times the test asked for, on every vCPU
 * it asked for (vCPU 1 started with PSCI CPU_ON, both at once), and counts
 * what happens in guests/layout.h's result blocks. Arm number i is of the
 * kind its bits say: bit 0 programs TVAL (else CVAL), bit 1 a deadline 1 to
 * 32 us ahead (else as far in the past), bit 2 arms it with IMASK set first,
 * bit 4 waits for the interrupt in WFI (else spinning); bits 3-7 the
 * distance. A masked arm must raise ISTATUS and no interrupt; unmasking it
 * must then deliver it. The IRQ handler takes each interrupt from the GICv3
 * CPU interface (ICC_IAR1_EL1), checks the counter reached CVAL and ISTATUS
 * is set, turns the timer off and ends it (ICC_EOIR1_EL1); one with no
 * deadline armed is counted as extra. vCPU 0 powers off once all are done. */
#include "common.S"

#define CTL_ENABLE 1
#define CTL_IMASK 2
#define CTL_ISTATUS_BIT 2
#define GICD_CTLR 0x0
#define GICD_CTLR_RWP_BIT 31
#define GICD_CTLR_G1_ARE 0x12 /* EnableGrp1 | ARE (one security state) */
#define GICR_WAKER 0x14
#define GICR_WAKER_ASLEEP_BIT 2
#define GICR_SGI 0x10000
#define GICR_IGROUPR0 0x80
#define GICR_ISENABLER0 0x100
#define GICR_IPRIORITYR 0x400
#define IRQ_PRIORITY 0x80
#define SECONDARY_STACK (TEST_STACK_TOP - 0x10000)

/* *(base + off) += 1, through tmp. */
.macro bump base, off, tmp
	ldr \tmp, [\base, #\off]
	add \tmp, \tmp, #1
	str \tmp, [\base, #\off]
.endm

/* x0 = the virtual counter, read in order. */
.macro now_v
	isb
	mrs x0, cntvct_el0
.endm

	.globl _start
_start:	ldr x20, =TEST_MMIO_BASE
	bl cpu_init
	/* The distributor, once, before any vCPU enables its interrupts. */
	ldr x2, =GICD_BASE
	mov w4, #GICD_CTLR_G1_ARE
	str w4, [x2, #GICD_CTLR]
1:	ldr w4, [x2, #GICD_CTLR]
	tbnz w4, #GICD_CTLR_RWP_BIT, 1b
	ldr x26, =TEST_TIMER_PARAMS
	ldr x26, [x26]			/* x26 = vCPUs */
	cmp x26, #2
	b.lo 2f
	ldr x0, =PSCI_CPU_ON_64
	mov x1, #1			/* MPIDR of vCPU 1 */
	adr x2, secondary
	mov x3, #0
	hvc #0
	str x0, [x23, #M_CPU_ON]
	cbnz x0, 4f			/* it will never be done: the test says why */
2:	bl run_timers
	/* Wait for every vCPU's DONE, then power off. */
	mov x1, #0
	ldr x2, =TEST_TIMER_RESULTS
	ldr x3, =TIMER_DONE_MAGIC
3:	ldr x0, [x2, #M_DONE]
	cmp x0, x3
	b.ne 3b
	add x2, x2, #TIMER_CPU_STRIDE
	add x1, x1, #1
	cmp x1, x26
	b.lo 3b
4:	b done

secondary:
	ldr x1, =SECONDARY_STACK
	mov sp, x1
	ldr x20, =TEST_MMIO_BASE
	bl cpu_init
	bl run_timers
	ldr x0, =PSCI_CPU_OFF
	hvc #0
5:	wfi
	b 5b

/* This vCPU's result block in x23 and TPIDR_EL1, its vectors, its
 * redistributor (the two timer PPIs: group 1, enabled) and its CPU
 * interface (system registers, priority mask open, group 1 on). Interrupts
 * stay masked in PSTATE. Clobbers x0-x5. */
cpu_init:
	mrs x0, mpidr_el1
	and x1, x0, #0xff
	ldr x2, =TEST_TIMER_RESULTS
	mov x3, #TIMER_CPU_STRIDE
	madd x23, x1, x3, x2
	msr tpidr_el1, x23
	str x0, [x23, #M_MPIDR]
	adr x4, vectors
	msr vbar_el1, x4
	isb
	ldr x2, =GICR_BASE
	lsl x3, x1, #GICR_STRIDE_SHIFT
	add x2, x2, x3
	ldr w4, [x2, #GICR_WAKER]
	bic w4, w4, #2			/* ProcessorSleep */
	str w4, [x2, #GICR_WAKER]
1:	ldr w4, [x2, #GICR_WAKER]
	tbnz w4, #GICR_WAKER_ASLEEP_BIT, 1b
	add x2, x2, #GICR_SGI
	mov w5, #IRQ_PRIORITY
	strb w5, [x2, #(GICR_IPRIORITYR + VTIMER_INTID)]
	strb w5, [x2, #(GICR_IPRIORITYR + PTIMER_INTID)]
	ldr w5, =((1 << VTIMER_INTID) | (1 << PTIMER_INTID))
	ldr w4, [x2, #GICR_IGROUPR0]
	orr w4, w4, w5
	str w4, [x2, #GICR_IGROUPR0]
	str w5, [x2, #GICR_ISENABLER0]
	mrs x4, icc_sre_el1
	orr x4, x4, #1
	msr icc_sre_el1, x4
	isb
	mov x4, #0xf0
	msr icc_pmr_el1, x4
	msr icc_bpr1_el1, xzr
	mov x4, #1
	msr icc_igrpen1_el1, x4
	isb
	ret

/* x21 arms of timer \t (v or p), counted in block x23 + \blk. */
.macro timer_round t, blk
	add x22, x23, #\blk
	mov x19, #0
10:	msr cnt\t\()_ctl_el0, xzr	/* off, and nothing armed */
	isb
	str xzr, [x22, #T_ARMED]
	bump x22, T_ARMS, x10
	ubfx x9, x19, #3, #5
	add x9, x9, #1
	mul x9, x9, x24			/* x9 = 1 to 32 us */
	tbnz x19, #1, 11f
	neg x9, x9			/* already expired */
	bump x22, T_EXPIRED_ARMS, x10
11:	tbnz x19, #0, 12f
	isb
	mrs x10, cnt\t\()ct_el0
	add x10, x10, x9
	msr cnt\t\()_cval_el0, x10
	b 13f
12:	msr cnt\t\()_tval_el0, x9
	bump x22, T_TVAL_ARMS, x10
13:	tbnz x19, #2, 14f
	mov x10, #1
	str x10, [x22, #T_ARMED]
	mov x10, #CTL_ENABLE
	msr cnt\t\()_ctl_el0, x10
	isb
	bl wait_delivery
	b 19f
14:	mov x10, #(CTL_ENABLE | CTL_IMASK)
	msr cnt\t\()_ctl_el0, x10
	isb
	bump x22, T_MASKED_ARMS, x10
	ldr x11, [x22, #T_EXTRA]
	now_v
	add x13, x0, x25
15:	mrs x10, cnt\t\()_ctl_el0	/* ISTATUS first, then the counter */
	isb
	mrs x12, cnt\t\()ct_el0
	tbnz x10, #CTL_ISTATUS_BIT, 16f
	now_v
	cmp x0, x13
	b.lo 15b
	mrs x10, cnt\t\()_ctl_el0	/* once more: this vCPU may not have run */
	isb
	mrs x12, cnt\t\()ct_el0
	tbnz x10, #CTL_ISTATUS_BIT, 16f
	b 18f				/* never came up: counted by the test */
16:	mrs x10, cnt\t\()_cval_el0
	cmp x12, x10
	b.hs 17f
	bump x22, T_ISTATUS_EARLY, x10
17:	bump x22, T_MASKED_ISTATUS, x10
	/* Pending but masked for 20 us more, interrupts open: none may come. */
	mov x10, #20
	madd x13, x24, x10, x12
	isb
71:	mrs x12, cnt\t\()ct_el0
	isb
	cmp x12, x13
	b.lo 71b
18:	ldr x10, [x22, #T_EXTRA]
	cmp x10, x11
	b.eq 72f
	bump x22, T_MASKED_LEAKS, x10
72:	mov x10, #1			/* unmasked: now it must come */
	str x10, [x22, #T_ARMED]
	mov x10, #CTL_ENABLE
	msr cnt\t\()_ctl_el0, x10
	isb
	bl wait_delivery
19:	add x19, x19, #1
	cmp x19, x21
	b.lo 10b
	msr cnt\t\()_ctl_el0, xzr
	isb
.endm

/* Stores in block x23 + \off the fewest counter ticks 64 reads of
 * system register \reg took in 16 tries. Clobbers x0, x9-x13. */
.macro time_reads reg, off
	mov x13, #-1
	mov x12, #16
1:	now_v
	mov x9, x0
	mov x10, #64
2:	mrs x11, \reg
	subs x10, x10, #1
	b.ne 2b
	now_v
	sub x0, x0, x9
	cmp x0, x13
	csel x13, x0, x13, lo
	subs x12, x12, #1
	b.ne 1b
	str x13, [x23, #\off]
.endm

/* Both timers' arms on this vCPU (block x23) with interrupts open, then its
 * DONE. Uses x19, x21, x22, x24, x25, x28, x9-x14. */
run_timers:
	mov x28, x30
	ldr x21, =TEST_TIMER_PARAMS
	ldr x21, [x21, #8]		/* x21 = arms per timer */
	mrs x25, cntfrq_el0		/* x25 = a second of counter */
	mov x0, #1000
	mul x0, x0, x0
	udiv x24, x25, x0		/* x24 = a microsecond of counter */
	cmp x24, #0
	csinc x24, x24, xzr, ne
	/* How long 64 reads of each timer's CVAL take, the fewest ticks of 16
	 * tries (a try this vCPU was not run for is long): whether this KVM
	 * traps the guest's physical timer (an exit each) or lets it at the
	 * hardware, as the virtual one. Reported, not judged. */
	time_reads cntv_cval_el0, M_CNTV_READ_TICKS
	time_reads cntp_cval_el0, M_CNTP_READ_TICKS
	now_v
	str x0, [x23, #M_STARTED]
	msr daifclr, #2
	timer_round v, TIMER_V
	timer_round p, TIMER_P
	msr daifset, #2
	now_v
	str x0, [x23, #M_FINISHED]
	ldr x0, =TIMER_DONE_MAGIC
	str x0, [x23, #M_DONE]
	mov x30, x28
	ret


/* Waits until the handler took the interrupt armed in block x22 (T_ARMED
 * back to 0), for at most a second of counter (then counts it missed); arm
 * x19 waits in WFI when its bit 4 is set. Clobbers x0, x10, x13. */
wait_delivery:
	now_v
	add x13, x0, x25
	tbnz x19, #4, 2f
1:	ldr x10, [x22, #T_ARMED]
	cbz x10, 4f
	now_v
	cmp x0, x13
	b.lo 1b
	b 23f
2:	bump x22, T_WFI_WAITS, x10
21:	msr daifset, #2			/* no window between the check and WFI */
	ldr x10, [x22, #T_ARMED]
	cbz x10, 22f
	wfi
	msr daifclr, #2			/* the interrupt is taken here */
	now_v
	cmp x0, x13
	b.lo 21b
	b 23f
22:	msr daifclr, #2
	b 4f
	/* Once more past the limit, interrupts open: the second may have gone
	 * by while this vCPU did not run, and an interrupt pending meanwhile
	 * is taken on its return. */
23:	ldr x10, [x22, #T_ARMED]
	cbz x10, 4f
3:	bump x22, T_MISSED, x10
	str xzr, [x22, #T_ARMED]
4:	ret

/* The IRQ handler: x0-x7 saved on this vCPU's stack. */
irq:	sub sp, sp, #64
	stp x0, x1, [sp]
	stp x2, x3, [sp, #16]
	stp x4, x5, [sp, #32]
	stp x6, x7, [sp, #48]
	mrs x5, tpidr_el1
	mrs x0, icc_iar1_el1
	cmp x0, #1020
	b.hs 7f
	cmp x0, #VTIMER_INTID
	b.ne 1f
	isb
	mrs x1, cntvct_el0
	mrs x2, cntv_cval_el0
	mrs x3, cntv_ctl_el0
	msr cntv_ctl_el0, xzr
	add x4, x5, #TIMER_V
	b 2f
1:	cmp x0, #PTIMER_INTID
	b.ne 8f
	isb
	mrs x1, cntpct_el0
	mrs x2, cntp_cval_el0
	mrs x3, cntp_ctl_el0
	msr cntp_ctl_el0, xzr
	add x4, x5, #TIMER_P
2:	isb
	ldr x6, [x4, #T_ARMED]
	cbnz x6, 3f
	bump x4, T_EXTRA, x7
	b 6f
3:	str xzr, [x4, #T_ARMED]
	bump x4, T_DELIVERED, x7
	cmp x1, x2
	b.hs 4f
	bump x4, T_EARLY, x7
	b 5f
4:	sub x6, x1, x2
	ldr x7, [x4, #T_MAX_LATENCY]
	cmp x6, x7
	b.ls 5f
	str x6, [x4, #T_MAX_LATENCY]
5:	tbnz x3, #CTL_ISTATUS_BIT, 6f
	bump x4, T_NO_ISTATUS, x7
6:	msr icc_eoir1_el1, x0
	isb
	b 9f
7:	bump x5, M_SPURIOUS, x7
	b 9f
8:	bump x5, M_OTHER, x7
	str x0, [x5, #M_OTHER_INTID]
	b 6b
9:	ldp x6, x7, [sp, #48]
	ldp x4, x5, [sp, #32]
	ldp x2, x3, [sp, #16]
	ldp x0, x1, [sp]
	add sp, sp, #64
	eret

/* Any other exception: its syndrome and address in the block, then DONE
 * and power off, so the test reports it rather than timing out. */
unexpected:
	mrs x23, tpidr_el1
	mrs x0, esr_el1
	str x0, [x23, #M_BAD_ESR]
	mrs x0, elr_el1
	str x0, [x23, #M_BAD_ELR]
	ldr x20, =TEST_MMIO_BASE
	b done

	.ltorg
/* VBAR_EL1: 16 entries of 128 bytes; the guest runs at EL1h, so its IRQs
 * take entry 5 (current EL with SP_ELx, IRQ). */
	.balign 2048
vectors:
	.rept 5
	.balign 128
	b unexpected
	.endr
	.balign 128
	b irq
	.rept 10
	.balign 128
	b unexpected
	.endr
