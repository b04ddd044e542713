#include "devices/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/device_host.h"

static int tap_error(struct device_host *host, const char *name, int err, const char *what)
{
	return host_error(host, -err, "--net tap=%s: %s: %s", name, what, strerror(err));
}

int tap_check(struct device_host *host, const char *name)
{
	if (name[0] == '\0' || strlen(name) >= IFNAMSIZ)
		return host_input_error(host, -EINVAL, "--net tap=%s: not an interface name", name);
	/* TUNSETIFF would create a missing interface; kvmkit only attaches to
	 * one the user set up (addresses, bridge), so a typo is reported. */
	if (if_nametoindex(name) == 0)
		return host_input_error(host, -ENODEV,
					"--net tap=%s: no network interface %s (create it first: "
					"ip tuntap add dev %s mode tap)",
					name, name, name);
	return 0;
}

int tap_open(struct device_host *host, const char *name)
{
	struct ifreq ifr = {0};
	unsigned features = 0;
	int fd, hdr_len = TAP_VNET_HDR_LEN, err;

	err = tap_check(host, name);
	if (err < 0)
		return err;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return tap_error(host, name, errno, "/dev/net/tun");
	if (ioctl(fd, TUNGETFEATURES, &features) < 0 || !(features & IFF_VNET_HDR)) {
		close(fd);
		return host_error(host, -ENOTSUP,
				  "--net tap=%s: this kernel's tap has no vnet header", name);
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = errno;
		close(fd);
		if (err == EINVAL)
			return host_input_error(host, -EINVAL,
						"--net tap=%s: %s is not a tap interface", name,
						name);
		if (err == EBUSY)
			return host_input_error(host, -EBUSY,
						"--net tap=%s: %s is in use by another program",
						name, name);
		if (err == EPERM)
			return host_input_error(host, -EPERM,
						"--net tap=%s: not allowed to attach to %s (owner, "
						"CAP_NET_ADMIN)",
						name, name);
		return tap_error(host, name, err, "TUNSETIFF");
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0) {
		err = errno;
		close(fd);
		return tap_error(host, name, err, "TUNSETVNETHDRSZ");
	}
	/* Nothing the guest has not accepted: offloads wait for its features. */
	if (ioctl(fd, TUNSETOFFLOAD, 0UL) < 0) {
		err = errno;
		close(fd);
		return tap_error(host, name, err, "TUNSETOFFLOAD");
	}
	return fd;
}

int tap_set_offloads(int fd, const struct tap_offloads *off)
{
	unsigned long flags = 0;

	/* Segmentation offloads are only valid with checksum offload. */
	if (off->csum) {
		flags |= TUN_F_CSUM;
		if (off->tso4)
			flags |= TUN_F_TSO4;
		if (off->tso6)
			flags |= TUN_F_TSO6;
		if ((off->tso4 || off->tso6) && off->ecn)
			flags |= TUN_F_TSO_ECN;
	}
	return ioctl(fd, TUNSETOFFLOAD, flags) < 0 ? -errno : 0;
}
