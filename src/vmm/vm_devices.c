#include "vmm/vm_devices.h"

#include <errno.h>

#include "arch/arch.h"
#include "devices/virtio_mmio.h"
#include "vmm/device_type.h"
#include "vmm/vm.h"

/* Puts a virtio device behind the transport at the platform's next
 * virtio-mmio slot; the VM owns it from here on, also on failure. */
static int place_virtio(struct vm *vm, unsigned *slot, struct virtio_dev *vdev)
{
	uint64_t base;
	unsigned irq;
	int ret;

	ret = arch_virtio_mmio_slot(vm, (*slot)++, &base, &irq);
	if (ret < 0) {
		vm_input_error(vm, ret, "%s: no virtio-mmio slot left", virtio_dev_name(vdev));
		virtio_dev_destroy(vdev);
		return ret;
	}
	return virtio_mmio_create(&vm->host, vdev, base, irq);
}

/* Every device type in its order, and its instances in the order they were
 * asked for, so the guest sees the same machine for the same settings. */
int vm_create_config_devices(struct vm *vm)
{
	const struct device_type *type;
	unsigned slot = 0, placed = 0;
	int ret;

	if (vm->cfg.nr_devices > VM_MAX_CONFIG_DEVICES)
		return vm_input_error(vm, -EINVAL, "at most %d devices", VM_MAX_CONFIG_DEVICES);
	for (unsigned t = 0; (type = device_type_at(t)); t++) {
		unsigned count = vm_config_device_count(&vm->cfg, type);

		if (count > type->max)
			return vm_input_error(vm, -EINVAL, "--%s: at most %u", type->option.name,
					      type->max);
		for (unsigned i = 0; i < count; i++) {
			struct virtio_dev *vdev = NULL;

			ret = type->create_virtio(&vm->host, i, vm_config_device(&vm->cfg, type, i),
						  &vdev);
			if (ret == 0)
				ret = place_virtio(vm, &slot, vdev);
			if (ret < 0)
				return ret;
		}
		placed += count;
	}
	if (placed != vm->cfg.nr_devices)
		return vm_input_error(vm, -EINVAL, "%u devices of a type kvmkit does not know",
				      vm->cfg.nr_devices - placed);
	return 0;
}
