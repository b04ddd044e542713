#include "devices/reset_control.h"

#include <errno.h>
#include <stdlib.h>

#include "vmm/device.h"
#include "vmm/device_host.h"
#include "vmm/log.h"

#define RCR_SYS_RST 0x02
#define RCR_RST_CPU 0x04

struct reset_control {
	struct device dev;
	uint8_t value;
};

static int rcr_read(struct device *dev, uint64_t offset, void *data, unsigned len)
{
	struct reset_control *r = container_of(dev, struct reset_control, dev);

	if (len != 1 || offset != 0)
		return -EINVAL;
	*(uint8_t *)data = r->value;
	return 0;
}

static int rcr_write(struct device *dev, uint64_t offset, const void *data, unsigned len)
{
	struct reset_control *r = container_of(dev, struct reset_control, dev);
	uint8_t value;

	if (len != 1 || offset != 0)
		return -EINVAL;
	value = *(const uint8_t *)data;
	r->value = value & RCR_SYS_RST;
	if (value & RCR_RST_CPU) {
		log_info("guest reset through port 0x%llx", (unsigned long long)dev->base);
		host_request_reset(dev->host);
	}
	return 0;
}

static void rcr_destroy(struct device *dev)
{
	pthread_mutex_destroy(&dev->lock);
	free(container_of(dev, struct reset_control, dev));
}

static const struct device_ops reset_control_ops = {
	.kind = "reset-control",
	.read = rcr_read,
	.write = rcr_write,
	.destroy = rcr_destroy,
};

int reset_control_create(struct device_host *host, uint64_t port)
{
	struct reset_control *r = calloc(1, sizeof(*r));

	if (!r)
		return host_error(host, -ENOMEM, "reset control: out of memory");
	device_init(&r->dev, &reset_control_ops, "reset", BUS_PIO, port, 1, 0);
	return host_add_device(host, &r->dev);
}
