/* The counting test device's registers and value sequence (test_device.c),
 * the same on every architecture: each arch's guests/layout.h includes this
 * and says where the device sits. Only #defines: included by the guests'
 * assembly and by C. */
#ifndef KVMKIT_HOST_TEST_REGS_H
#define KVMKIT_HOST_TEST_REGS_H

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

/* guests/ram_pattern.S: TEST_RAM_TABLE (in each arch's layout.h) holds a
 * count of at most TEST_RAM_TABLE_MAX, then guest-physical addresses, 8 bytes
 * each; the guest writes TEST_PATTERN_QWORDS values of the sequence at each. */
#define TEST_RAM_TABLE_MAX 8
#define TEST_PATTERN_QWORDS 8

#endif
