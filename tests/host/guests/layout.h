/* What the host test guests and the tests that boot them agree on. Only
 * #defines: this header is included by the guests' assembly and by C. */
#ifndef KVMKIT_HOST_TEST_LAYOUT_H
#define KVMKIT_HOST_TEST_LAYOUT_H

#include "test_regs.h"

/* Guest RAM starts at 0 (src/arch/x86_64/layout.h). */
#define TEST_RAM_BASE 0x0

/* The counting test device (registers in test_regs.h), once on port I/O and
 * once on MMIO. Both have the same registers at the same offsets. */
#define TEST_PIO_BASE 0x500
#define TEST_PIO_SIZE 0x20
#define TEST_MMIO_BASE 0xd0001000
#define TEST_MMIO_SIZE 0x800 /* ends inside a page: see guests/unmapped.S */

/* The port I/O guest adds one string write (rep outsb) and one string read (rep insb). */
#define TEST_STRING_LEN 8

/* guests/state_loop.S: how many DATA writes it makes (8 bytes each). */
#define STATE_LOOP_WRITES 100000

/* guests/flood.S: how many bytes it writes to COM1 before its marker, and
 * where in RAM it keeps them. */
#define FLOOD_BYTES (64 * 1024)
#define FLOOD_BUFFER 0x400000

/* guests/poke.S: the test writes a dword value at POKE_MAILBOX + 8, then
 * the guest-physical address to write it to at POKE_MAILBOX (8 bytes). */
#define POKE_MAILBOX 0x300000

/* guests/counter.S: where it keeps its count, and the pages it stamps
 * (64 MiB from 4 MiB: run it with at least 72 MiB of RAM). */
#define COUNTER_ADDR 0x300000
#define COUNTER_FILL_BASE 0x400000
#define COUNTER_FILL_PAGES 16384
#define COUNTER_STAMP_MUL 0x9e3779b97f4a7c15

/* Addresses no device claims. */
#define TEST_UNMAPPED_MMIO 0xd0000000
#define TEST_UNMAPPED_PORT 0x600

/* guests/ram_pattern.S: where the test puts its table (test_regs.h). */
#define TEST_RAM_TABLE 0x200000 /* above the guest's image, inside kvmkit's minimum RAM */

/* x86_64 platform devices, as src/arch/x86_64/layout.h places them. */
#define COM1_PORT 0x3f8
#define COM1_LSR (COM1_PORT + 5)
#define LSR_THRE 0x20
#define RESET_PORT 0xcf9

#endif
