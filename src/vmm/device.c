#include "vmm/device.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

void device_init(struct device *dev, const struct device_ops *ops, const char *name,
		 enum bus_space space, uint64_t base, uint64_t size, unsigned irq)
{
	dev->ops = ops;
	dev->host = NULL;
	dev->name = name;
	dev->space = space;
	dev->base = base;
	dev->size = size;
	dev->irq = irq;
	pthread_mutex_init(&dev->lock, NULL);
	atomic_init(&dev->nr_reads, 0);
	atomic_init(&dev->nr_writes, 0);
	atomic_init(&dev->nr_rejected, 0);
}

int device_read(struct device *dev, uint64_t offset, void *data, unsigned len)
{
	int ret = -EINVAL;

	atomic_fetch_add_explicit(&dev->nr_reads, 1, memory_order_relaxed);
	if (dev->ops->read) {
		pthread_mutex_lock(&dev->lock);
		ret = dev->ops->read(dev, offset, data, len);
		pthread_mutex_unlock(&dev->lock);
	}
	if (ret < 0) {
		atomic_fetch_add_explicit(&dev->nr_rejected, 1, memory_order_relaxed);
		memset(data, 0xff, len);
	}
	return ret;
}

int device_write(struct device *dev, uint64_t offset, const void *data, unsigned len)
{
	int ret = -EINVAL;

	atomic_fetch_add_explicit(&dev->nr_writes, 1, memory_order_relaxed);
	if (dev->ops->write) {
		pthread_mutex_lock(&dev->lock);
		ret = dev->ops->write(dev, offset, data, len);
		pthread_mutex_unlock(&dev->lock);
	}
	if (ret < 0)
		atomic_fetch_add_explicit(&dev->nr_rejected, 1, memory_order_relaxed);
	return ret;
}
