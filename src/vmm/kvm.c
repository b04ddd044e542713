#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/vm.h"

int kvm_open(char *err, size_t errlen)
{
	/* KVMKIT_DEV_KVM names another device (kvmkit(1), ENVIRONMENT): the
	 * tests point it at a missing path to play a host without KVM. */
	const char *path = secure_getenv("KVMKIT_DEV_KVM");
	int fd, version;

	if (!path || !path[0])
		path = "/dev/kvm";
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			snprintf(err, errlen, "%s does not exist: is KVM enabled on this host?",
				 path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		snprintf(err, errlen, "%s: API version %d, kvmkit needs %d", path, version,
			 KVM_API_VERSION);
		close(fd);
		return -ENOTSUP;
	}
	return fd;
}

int kvm_cap(int fd, long cap)
{
	int ret = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return ret < 0 ? 0 : ret;
}

const struct kvm_cap_req *kvm_missing_cap(int fd, const struct kvm_cap_req *caps, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (kvm_cap(fd, caps[i].cap) <= 0)
			return &caps[i];
	}
	return NULL;
}

int kvm_ioctl(int fd, unsigned long request, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, request, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

int kvm_ioctl_checked(struct vm *vm, int fd, unsigned long request, void *arg, const char *name,
		      const char *fmt, ...)
{
	char context[160] = "";
	int ret = kvm_ioctl(fd, request, arg);
	va_list ap;

	if (ret >= 0)
		return ret;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(context, sizeof(context) - 2, fmt, ap);
		va_end(ap);
		strcat(context, ": ");
	}
	return vm_error(vm, ret, "%s%s: %s", context, name, strerror(-ret));
}
