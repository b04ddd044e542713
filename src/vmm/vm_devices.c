#include "vmm/vm_devices.h"

#include "devices/virtio_rng.h"
#include "vmm/vm.h"

int vm_create_config_devices(struct vm *vm)
{
	int ret = 0;

	if (vm->cfg.rng)
		ret = virtio_rng_create(vm);
	return ret;
}
