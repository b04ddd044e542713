/* The public calls that describe guest RAM (include/kvmkit/kvmkit.h): its
 * regions and, where it is memfd-backed, the fds another process maps. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "vmm/api.h"

int kvmkit_vm_memory_regions(struct kvmkit_vm *h, struct kvmkit_memory_region *out, unsigned max)
{
	struct vm *vm;
	int ret = 0;

	if (!h || (!out && max))
		return -EINVAL;
	vm = api_running_vm(h, "memory_regions", &ret);
	if (!vm)
		return ret;
	for (unsigned i = 0; i < vm->mem.nr_regions && i < max; i++)
		out[i] = (struct kvmkit_memory_region){
			.guest_phys_addr = vm->mem.regions[i].gpa,
			.size = vm->mem.regions[i].size,
			.host = vm->mem.regions[i].host,
		};
	return (int)vm->mem.nr_regions;
}

int kvmkit_vm_memory_fd(struct kvmkit_vm *h, unsigned index)
{
	struct vm *vm;
	int ret = 0, fd;

	if (!h)
		return -EINVAL;
	vm = api_running_vm(h, "memory_fd", &ret);
	if (!vm)
		return ret;
	if (index >= vm->mem.nr_regions)
		return api_vm_fail(h, KVMKIT_ERROR_USAGE, -ERANGE,
				   "memory_fd: region %u, but the VM has %u", index,
				   vm->mem.nr_regions);
	if (vm->mem.regions[index].fd < 0)
		return api_vm_fail(h, KVMKIT_ERROR_USAGE, -ENOTSUP,
				   "memory_fd: guest RAM is not memfd-backed "
				   "(setting \"memory-backend\" memfd)");
	fd = fcntl(vm->mem.regions[index].fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		return api_vm_fail(h, KVMKIT_ERROR_HOST, ret, "memory_fd: dup: %s", strerror(-ret));
	}
	return fd;
}
