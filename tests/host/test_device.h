/* The counting test device: a struct device the host tests put on the port
 * I/O or MMIO bus with the registers of guests/test_regs.h. It checks every
 * DATA write against the agreed sequence and records what the guest did, so a
 * test can assert exact counts and values after vm_run() (and before
 * vm_destroy(), which frees it). */
#ifndef KVMKIT_TEST_DEVICE_H
#define KVMKIT_TEST_DEVICE_H

#include <stdint.h>

#include "vmm/device.h"

#define TEST_DEVICE_LOG_SIZE 64

struct test_access {
	uint64_t value;
	unsigned len;
};

struct test_device {
	struct device dev;
	/* DATA writes, by width (index 1, 2, 4, 8), and their check. */
	unsigned nr_data_writes;
	unsigned nr_data_writes_by_len[9];
	unsigned nr_good_writes;
	unsigned nr_bad_writes;
	struct test_access first_bad_write;
	/* DATA reads: what was returned, in order. */
	unsigned nr_data_reads;
	unsigned nr_data_reads_by_len[9];
	struct test_access reads[TEST_DEVICE_LOG_SIZE];
	/* ECHO writes, in order. */
	unsigned nr_echoes;
	struct test_access echoes[TEST_DEVICE_LOG_SIZE];
	uint64_t done; /* last value written to DONE */
};

/* The value of write number @n (from 0), cut to @len bytes. */
uint64_t test_seq_value(uint64_t n, unsigned len);

/* Allocates a device named @name on @space at [@base, @base + @size); the
 * caller hands it to vm_add_device(). NULL when out of memory. */
struct test_device *test_device_new(const char *name, enum bus_space space, uint64_t base,
				    uint64_t size);

/* How many test devices were destroyed in this process: the VM owns them. */
unsigned test_device_nr_destroyed(void);

#endif
