#include "test_device.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "guests/test_regs.h"

static _Atomic unsigned nr_destroyed;

uint64_t test_seq_value(uint64_t n, unsigned len)
{
	uint64_t value = (n + 1) * (uint64_t)TEST_SEQ_MUL;

	return len >= 8 ? value : value & ((1ULL << (8 * len)) - 1);
}

static struct test_device *to_test_device(struct device *dev)
{
	return container_of(dev, struct test_device, dev);
}

static uint64_t load_le(const void *data, unsigned len)
{
	uint64_t value = 0;

	memcpy(&value, data, len); /* x86_64 and arm64 hosts are little-endian */
	return value;
}

static void log_access(struct test_access *log, unsigned *nr, uint64_t value, unsigned len)
{
	if (*nr < TEST_DEVICE_LOG_SIZE)
		log[*nr] = (struct test_access){.value = value, .len = len};
	(*nr)++;
}

static int test_device_read(struct device *dev, uint64_t offset, void *data, unsigned len)
{
	struct test_device *t = to_test_device(dev);
	uint64_t value;

	if (offset != TEST_REG_DATA)
		return -EINVAL;
	value = test_seq_value(TEST_READ_SEED + t->nr_data_reads, len);
	memcpy(data, &value, len);
	t->nr_data_reads_by_len[len]++;
	log_access(t->reads, &t->nr_data_reads, value, len);
	return 0;
}

static int test_device_write(struct device *dev, uint64_t offset, const void *data, unsigned len)
{
	struct test_device *t = to_test_device(dev);
	uint64_t value = load_le(data, len);

	switch (offset) {
	case TEST_REG_DATA:
		if (value == test_seq_value(t->nr_data_writes, len)) {
			t->nr_good_writes++;
		} else if (t->nr_bad_writes++ == 0) {
			t->first_bad_write = (struct test_access){.value = value, .len = len};
		}
		t->nr_data_writes_by_len[len]++;
		t->nr_data_writes++;
		return 0;
	case TEST_REG_ECHO: log_access(t->echoes, &t->nr_echoes, value, len); return 0;
	case TEST_REG_DONE: t->done = value; return 0;
	default: return -EINVAL;
	}
}

static void test_device_destroy(struct device *dev)
{
	pthread_mutex_destroy(&dev->lock);
	free(to_test_device(dev));
	atomic_fetch_add(&nr_destroyed, 1);
}

static const struct device_ops test_device_ops = {
	.kind = "test-counter",
	.read = test_device_read,
	.write = test_device_write,
	.destroy = test_device_destroy,
};

struct test_device *test_device_new(const char *name, enum bus_space space, uint64_t base,
				    uint64_t size)
{
	struct test_device *t = calloc(1, sizeof(*t));

	if (t)
		device_init(&t->dev, &test_device_ops, name, space, base, size, 0);
	return t;
}

unsigned test_device_nr_destroyed(void) { return atomic_load(&nr_destroyed); }
