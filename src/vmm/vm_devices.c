#include "vmm/vm_devices.h"

#include <errno.h>

#include "devices/virtio_blk.h"
#include "devices/virtio_console.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "vmm/vm.h"

int vm_create_config_devices(struct vm *vm)
{
	int ret = 0;

	if (vm->cfg.rng)
		ret = virtio_rng_create(vm);
	if (ret == 0 && vm->cfg.nr_disks > VM_MAX_DISKS)
		ret = vm_input_error(vm, -EINVAL, "at most %d disks", VM_MAX_DISKS);
	for (unsigned i = 0; ret == 0 && i < vm->cfg.nr_disks; i++)
		ret = virtio_blk_create(vm, i, &vm->cfg.disks[i]);
	if (ret == 0 && vm->cfg.console_virtio)
		ret = virtio_console_create(vm);
	if (ret == 0 && vm->cfg.nr_nets > VM_MAX_NETS)
		ret = vm_input_error(vm, -EINVAL, "at most %d network devices", VM_MAX_NETS);
	for (unsigned i = 0; ret == 0 && i < vm->cfg.nr_nets; i++)
		ret = virtio_net_create(vm, &vm->cfg.nets[i]);
	return ret;
}
