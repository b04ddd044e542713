/* What the host test guests and the tests that boot them agree on. Only
 * #defines: this header is included by the guests' assembly and by C. */
#ifndef KVMKIT_HOST_TEST_LAYOUT_H
#define KVMKIT_HOST_TEST_LAYOUT_H

/* The counting test device, once on port I/O and once on MMIO. Both have the
 * same registers at the same offsets. */
#define TEST_PIO_BASE 0x500
#define TEST_PIO_SIZE 0x20
#define TEST_MMIO_BASE 0xd0001000
#define TEST_MMIO_SIZE 0x800 /* ends inside a page: see guests/unmapped.S */

#define TEST_REG_DATA 0x00 /* writes are checked against the sequence, reads return it */
#define TEST_REG_ECHO 0x08 /* the guest writes back a value it read */
#define TEST_REG_DONE 0x10 /* the guest writes TEST_DONE_MAGIC when its script ran */
#define TEST_REG_NONE 0x18 /* implemented by no one: the device rejects it */

#define TEST_DONE_MAGIC 0x600d

/* The n-th write to DATA (n from 0) carries (n + 1) * TEST_SEQ_MUL, cut to the
 * access width; the n-th read of DATA returns the value for TEST_READ_SEED + n. */
#define TEST_SEQ_MUL 0x9e3779b97f4a7c15
#define TEST_READ_SEED 0x100

/* Per access width (1, 2, 4 and, on MMIO, 8 bytes). */
#define TEST_WRITES_PER_WIDTH 4
#define TEST_READS_PER_WIDTH 2
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

/* Addresses no device claims. */
#define TEST_UNMAPPED_MMIO 0xd0000000
#define TEST_UNMAPPED_PORT 0x600

/* guests/ram_pattern.S: the test puts a table at TEST_RAM_TABLE (a count of
 * at most TEST_RAM_TABLE_MAX, then guest-physical addresses, 8 bytes each) and
 * the guest writes TEST_PATTERN_QWORDS values of the sequence at each address. */
#define TEST_RAM_TABLE 0x200000 /* above the guest's image, inside kvmkit's minimum RAM */
#define TEST_RAM_TABLE_MAX 8
#define TEST_PATTERN_QWORDS 8

/* x86_64 platform devices, as src/arch/x86_64/layout.h places them. */
#define COM1_PORT 0x3f8
#define COM1_LSR (COM1_PORT + 5)
#define LSR_THRE 0x20
#define RESET_PORT 0xcf9

#endif
