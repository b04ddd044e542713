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

/* PSCI 0.2 through HVC (the device tree's psci method), handled by KVM. */
#define PSCI_SYSTEM_OFF 0x84000008

#endif
