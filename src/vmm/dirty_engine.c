#include "vmm/dirty_engine.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

int dirty_error(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

int dirty_ioctl(int fd, unsigned long request, void *arg)
{
	int ret;

	do
		ret = ioctl(fd, request, arg);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

int dirty_cap(int fd, long cap) { return ioctl(fd, KVM_CHECK_EXTENSION, cap); }

int dirty_get_log(struct dirty_log *dl, unsigned slot, uint64_t *bits, char *err, size_t errlen)
{
	struct kvm_dirty_log log = {.slot = slot, .dirty_bitmap = bits};
	int ret = dirty_ioctl(dl->vm_fd, KVM_GET_DIRTY_LOG, &log);

	if (ret < 0)
		return dirty_error(err, errlen, ret, "KVM_GET_DIRTY_LOG of memslot %u: %s", slot,
				   strerror(-ret));
	return 0;
}
