/* PL031: a 32-bit seconds counter that follows the host's clock from the
 * value the guest loads, and a match register that raises the interrupt when
 * the counter reaches it (a timerfd the main loop watches fires it). */
#include "devices/pl031.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/device.h"
#include "vmm/device_desc.h"
#include "vmm/device_host.h"
#include "vmm/state.h"

enum {
	RTC_DR = 0x00,   /* data: current count */
	RTC_MR = 0x04,   /* match */
	RTC_LR = 0x08,   /* load */
	RTC_CR = 0x0c,   /* control: bit 0 starts the counter (always on) */
	RTC_IMSC = 0x10, /* interrupt mask set/clear */
	RTC_RIS = 0x14,  /* raw interrupt status */
	RTC_MIS = 0x18,  /* masked interrupt status */
	RTC_ICR = 0x1c,  /* interrupt clear */
	RTC_ID_BASE = 0xfe0,
};

/* PeriphID0-3 then PCellID0-3, as the AMBA bus probes them. */
static const uint8_t pl031_id[8] = {0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

struct pl031 {
	struct device dev;
	int64_t offset; /* guest count minus host seconds */
	uint32_t match;
	uint32_t imsc;
	uint32_t ris;
	int timer_fd;
	bool quiesced;       /* paused: an alarm waits for unquiesce */
	bool alarm_deferred; /* it fired while quiesced */
};

static struct pl031 *to_rtc(struct device *dev) { return container_of(dev, struct pl031, dev); }

/* The host's seconds from the same clock the alarm timerfd follows: time()
 * reads the tick-updated coarse clock, which lags it by up to a tick, so a
 * guest reading the count just after the alarm fired would see the second
 * before the match, take the alarm as not yet due and arm it again. */
static int64_t host_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec;
}

static uint32_t rtc_now(const struct pl031 *rtc)
{
	return (uint32_t)(host_seconds() + rtc->offset);
}

static void rtc_update_irq(struct pl031 *rtc)
{
	device_set_irq(&rtc->dev, (rtc->ris & rtc->imsc) != 0);
}

/* Arms the host timer for the moment the count reaches the match value. */
static void rtc_arm(struct pl031 *rtc)
{
	int64_t host_now = host_seconds();
	uint32_t delta = rtc->match - (uint32_t)(host_now + rtc->offset);
	struct itimerspec its = {.it_value = {.tv_sec = host_now + delta}};

	/* The chip matches when the counter steps onto the value: a match value
	 * equal to the count now is next reached after the counter wraps, in
	 * 136 years, so the timer is simply disarmed. */
	if (delta == 0)
		its.it_value.tv_sec = 0;
	timerfd_settime(rtc->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* On the main loop: the match time has come. */
static void rtc_alarm(void *opaque)
{
	struct pl031 *rtc = opaque;
	uint64_t expirations;

	if (read(rtc->timer_fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	pthread_mutex_lock(&rtc->dev.lock);
	if (rtc->quiesced) {
		rtc->alarm_deferred = true;
	} else {
		rtc->ris |= 1;
		rtc_update_irq(rtc);
	}
	pthread_mutex_unlock(&rtc->dev.lock);
}

static void rtc_quiesce(struct device *dev)
{
	struct pl031 *rtc = to_rtc(dev);

	pthread_mutex_lock(&dev->lock);
	rtc->quiesced = true;
	pthread_mutex_unlock(&dev->lock);
}

static void rtc_unquiesce(struct device *dev)
{
	struct pl031 *rtc = to_rtc(dev);

	pthread_mutex_lock(&dev->lock);
	rtc->quiesced = false;
	if (rtc->alarm_deferred) {
		rtc->alarm_deferred = false;
		rtc->ris |= 1;
		rtc_update_irq(rtc);
	}
	pthread_mutex_unlock(&dev->lock);
}

#define RTC_STATE_VERSION 1

/* The offset to the host's clock is kept, so the guest's time of day goes
 * on with the wall clock across a save and load, as a battery-backed RTC
 * would. */
static int rtc_save(struct device *dev, struct state_buf *out)
{
	struct pl031 *rtc = to_rtc(dev);

	state_begin(out, "pl031", RTC_STATE_VERSION);
	state_put_u64(out, (uint64_t)rtc->offset);
	state_put_u32(out, rtc->match);
	state_put_u32(out, rtc->imsc);
	state_put_u32(out, rtc->ris | (rtc->alarm_deferred ? 1 : 0));
	return state_end(out);
}

static int rtc_load(struct device *dev, struct state_reader *in)
{
	struct pl031 *rtc = to_rtc(dev);
	struct state_reader rec;
	uint32_t version, match, imsc, ris;
	int64_t offset;

	if (state_expect(in, "pl031", &version, &rec) < 0 || version != RTC_STATE_VERSION)
		return -EINVAL;
	offset = (int64_t)state_get_u64(&rec);
	match = state_get_u32(&rec);
	imsc = state_get_u32(&rec);
	ris = state_get_u32(&rec);
	if (state_finish(&rec) < 0 || imsc > 1 || ris > 1)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	rtc->offset = offset;
	rtc->match = match;
	rtc->imsc = imsc;
	rtc->ris = ris;
	rtc->alarm_deferred = false;
	rtc_arm(rtc);
	rtc_update_irq(rtc);
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

static int rtc_read(struct device *dev, uint64_t offset, void *data, unsigned len)
{
	struct pl031 *rtc = to_rtc(dev);
	uint32_t value;

	if (len != 4 || (offset & 3))
		return -EINVAL;
	if (offset >= RTC_ID_BASE) {
		value = pl031_id[(offset - RTC_ID_BASE) / 4];
	} else {
		switch (offset) {
		case RTC_DR: value = rtc_now(rtc); break;
		case RTC_MR: value = rtc->match; break;
		case RTC_LR: value = rtc_now(rtc); break;
		case RTC_CR: value = 1; break;
		case RTC_IMSC: value = rtc->imsc; break;
		case RTC_RIS: value = rtc->ris; break;
		case RTC_MIS: value = rtc->ris & rtc->imsc; break;
		default: return -EINVAL;
		}
	}
	memcpy(data, &value, 4);
	return 0;
}

static int rtc_write(struct device *dev, uint64_t offset, const void *data, unsigned len)
{
	struct pl031 *rtc = to_rtc(dev);
	uint32_t value;

	if (len != 4 || (offset & 3))
		return -EINVAL;
	memcpy(&value, data, 4);
	switch (offset) {
	case RTC_MR:
		rtc->match = value;
		rtc_arm(rtc);
		break;
	case RTC_LR:
		rtc->offset = (int64_t)value - host_seconds();
		rtc_arm(rtc);
		break;
	case RTC_CR: break; /* the counter cannot be stopped */
	case RTC_IMSC: rtc->imsc = value & 1; break;
	case RTC_ICR: rtc->ris &= ~value; break;
	default: return -EINVAL;
	}
	rtc_update_irq(rtc);
	return 0;
}

static const char *const rtc_compatible[] = {"arm,pl031", "arm,primecell", NULL};

static const struct device_desc rtc_desc = {
	.class_name = "rtc",
	.compatible = rtc_compatible,
	.irq_trigger = DEVICE_IRQ_LEVEL,
	.flags = DEVICE_BUS_CLOCK,
};

static void rtc_destroy(struct device *dev)
{
	struct pl031 *rtc = to_rtc(dev);

	close(rtc->timer_fd);
	pthread_mutex_destroy(&dev->lock);
	free(rtc);
}

static const struct device_ops pl031_ops = {
	.kind = "pl031-rtc",
	.read = rtc_read,
	.write = rtc_write,
	.quiesce = rtc_quiesce,
	.unquiesce = rtc_unquiesce,
	.save = rtc_save,
	.load = rtc_load,
	.desc = &rtc_desc,
	.destroy = rtc_destroy,
};

int pl031_create(struct device_host *host, uint64_t base, unsigned irq)
{
	struct pl031 *rtc = calloc(1, sizeof(*rtc));
	int ret;

	if (!rtc)
		return host_error(host, -ENOMEM, "rtc: out of memory");
	rtc->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (rtc->timer_fd < 0) {
		ret = -errno;
		free(rtc);
		return host_error(host, ret, "rtc: timerfd_create: %s", strerror(-ret));
	}
	device_init(&rtc->dev, &pl031_ops, "rtc", BUS_MMIO, base, PL031_SIZE, irq);
	ret = host_add_device(host, &rtc->dev);
	if (ret < 0)
		return ret;
	return host_watch_fd(host, rtc->timer_fd, rtc_alarm, rtc);
}
