/* What the arm64 test guests and the tests that boot them agree on (the
 * counterpart of tests/host/guests/layout.h). Only #defines: included by the
 * guests' assembly and by C. */
#ifndef KVMKIT_ARM64_TEST_LAYOUT_H
#define KVMKIT_ARM64_TEST_LAYOUT_H

#include "dirty_layout.h"
#include "test_regs.h"

/* Guest RAM starts at 1 GiB (src/arch/arm64/layout.h); kvmkit loads a guest
 * Image with text_offset 0 there, and the guests are linked at that address. */
#define TEST_RAM_BASE 0x40000000
#define TEST_STACK_TOP (TEST_RAM_BASE + 0x100000) /* 1 MiB: above any guest image */

/* The counting test device (registers in test_regs.h), on MMIO in the
 * platform's device space below RAM, where kvmkit places nothing. */
#define TEST_MMIO_BASE 0x0c000000
#define TEST_MMIO_SIZE 0x800

/* guests/state_loop.S: how many DATA writes it makes (8 bytes each). Each
 * is an exit to userspace, about 0.3 ms in the nested L1 under TCG. */
#define STATE_LOOP_WRITES 5000

/* guests/ram_pattern.S: where the test puts its table (test_regs.h). */
#define TEST_RAM_TABLE (TEST_RAM_BASE + 0x200000)

/* The 16550 UART kvmkit places for the console (src/arch/arm64/layout.h),
 * byte registers (reg-shift 0). */
#define UART_BASE 0x09000000
#define UART_THR 0
#define UART_LSR 5
#define UART_LSR_THRE_BIT 5

/* guests/dirty_writer.S: the protocol of ../host/guests/dirty_layout.h
 * (offsets from the start of RAM) placed in arm64's RAM. The mailbox holds
 * the generation in its first qword, the count of writes in its second. */
#define TEST_DIRTY_MAILBOX (TEST_RAM_BASE + DIRTY_MAILBOX_OFFSET)
#define TEST_DIRTY_AREA (TEST_RAM_BASE + DIRTY_AREA_OFFSET)
#define TEST_DIRTY_UCALL (TEST_MMIO_BASE + TEST_REG_ECHO)
#define TEST_DIRTY_PAGE_SIZE 0x1000
/* 64 MiB of RAM: the area ends at 32 MiB, the device tree takes the last 2. */
#define TEST_DIRTY_MEM_SIZE 0x4000000

/* guests/timer.S: the test puts the number of vCPUs and the arms per timer
 * (a multiple of TIMER_ITER_STEP) at TEST_TIMER_PARAMS; each vCPU keeps its
 * counts in a block of TIMER_CPU_STRIDE bytes at TEST_TIMER_RESULTS, by
 * MPIDR.Aff0: one per timer (virtual at TIMER_V, physical at TIMER_P,
 * qwords at the T_* offsets), then the vCPU's own (M_*). */
#define TEST_TIMER_PARAMS TEST_RAM_TABLE
#define TEST_TIMER_RESULTS (TEST_RAM_BASE + 0x210000)
#define TIMER_MAX_CPUS 2
#define TIMER_ITER_STEP 32 /* the arms cycle through every kind each 32 */
#define TIMER_CPU_STRIDE 0x200
#define TIMER_V 0x000
#define TIMER_P 0x080
#define T_ARMS 0x00           /* deadlines programmed */
#define T_DELIVERED 0x08      /* interrupts taken with a deadline armed */
#define T_EARLY 0x10          /* ... of which with the counter below CVAL */
#define T_EXTRA 0x18          /* interrupts taken with nothing armed */
#define T_MASKED_ARMS 0x20    /* deadlines armed with IMASK set first */
#define T_MASKED_ISTATUS 0x28 /* ... whose ISTATUS came up while masked */
#define T_MASKED_LEAKS 0x30   /* ... during which an interrupt came anyway */
#define T_MISSED 0x38         /* no interrupt within a second of the counter */
#define T_ISTATUS_EARLY 0x40  /* ISTATUS seen with the counter below CVAL */
#define T_EXPIRED_ARMS 0x48   /* deadlines already past when armed */
#define T_TVAL_ARMS 0x50      /* programmed through TVAL (the rest: CVAL) */
#define T_NO_ISTATUS 0x58     /* interrupts taken with ISTATUS clear */
#define T_MAX_LATENCY 0x60    /* most counter ticks from CVAL to the handler */
#define T_ARMED 0x68          /* 1 from arming until the handler took it */
#define T_WFI_WAITS 0x70      /* waits for the interrupt in WFI (the rest spin) */
#define M_STARTED 0x100       /* virtual counter when the arms began */
#define M_FINISHED 0x108      /* ... and when they ended */
#define M_SPURIOUS 0x110      /* IAR reads of 1020-1023 */
#define M_OTHER 0x118         /* interrupts other than the two timers' */
#define M_OTHER_INTID 0x120   /* the last of them */
#define M_BAD_ESR 0x128       /* an exception other than IRQ: its ESR_EL1 */
#define M_BAD_ELR 0x130       /* ... and ELR_EL1 */
#define M_CPU_ON 0x138        /* vCPU 0: what PSCI CPU_ON of vCPU 1 returned */
#define M_MPIDR 0x140
#define M_DONE 0x148            /* TIMER_DONE_MAGIC once this vCPU finished */
#define M_CNTV_READ_TICKS 0x150 /* fewest ticks 64 reads of CNTV_CVAL took */
#define M_CNTP_READ_TICKS 0x158 /* ... and of CNTP_CVAL */
#define TIMER_DONE_MAGIC 0x7131e5

/* The GICv3 kvmkit places (src/arch/arm64/layout.h): the distributor, then
 * one 128 KiB redistributor per vCPU in vCPU order. Timer PPIs as in the
 * device tree's timer node. */
#define GICD_BASE 0x08000000
#define GICR_BASE 0x080a0000
#define GICR_STRIDE_SHIFT 17
#define VTIMER_INTID 27
#define PTIMER_INTID 30

/* PSCI 0.2 through HVC (the device tree's psci method), handled by KVM. */
#define PSCI_SYSTEM_OFF 0x84000008
#define PSCI_CPU_OFF 0x84000002
#define PSCI_CPU_ON_64 0xc4000003

#endif
