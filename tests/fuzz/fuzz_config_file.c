/* libFuzzer target: a hostile JSON config file through the public API
 * (kvmkit_config_load_file(): src/vmm/config_file.c, then every setting's
 * parser in the option table and the device types). The input is the file.
 * Besides the sanitizers it checks that a failure says why, and that a config
 * never holds more devices than its types allow, whatever the file did. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "kvmkit/kvmkit.h"
#include "vmm/api.h"
#include "vmm/device_type.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct kvmkit_config *cfg;
	const struct vm_config *vm;
	const struct device_type *type;
	char path[64];
	int ret;

	if (fd < 0) {
		fd = memfd_create("fuzz-config", MFD_CLOEXEC);
		CHECK(fd >= 0);
	}
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

	CHECK(kvmkit_config_new(&cfg) == 0);
	ret = kvmkit_config_load_file(cfg, path);
	CHECK(ret == 0 || ret == -EINVAL || ret == -EFBIG || ret == -ENOMEM);
	if (ret < 0)
		CHECK(kvmkit_config_last_error(cfg)[0] != '\0');
	vm = &api_config_options(cfg)->vm;
	CHECK(vm->nr_devices <= VM_MAX_CONFIG_DEVICES);
	for (unsigned t = 0; (type = device_type_at(t)); t++)
		CHECK(vm_config_device_count(vm, type) <= type->max);
	kvmkit_config_free(cfg);
	return 0;
}
