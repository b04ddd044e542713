#include "vmm/device_host.h"

#include <stdarg.h>
#include <stdio.h>

int device_set_irq(struct device *dev, bool level)
{
	if (!dev->irq || !dev->host)
		return 0;
	return dev->host->ops->set_irq(dev->host->ctx, dev->irq, level);
}

static int report(struct device_host *h, bool input, int err, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	h->ops->report(h->ctx, input, msg);
	return err;
}

int host_error(struct device_host *h, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = report(h, false, err, fmt, ap);
	va_end(ap);
	return err;
}

int host_input_error(struct device_host *h, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = report(h, true, err, fmt, ap);
	va_end(ap);
	return err;
}
