#include "vmm/vm_devices.h"

#include <errno.h>

#include "arch/arch.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_console.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "vmm/vm.h"

/* Puts a virtio device behind the transport at the platform's next
 * virtio-mmio slot; the VM owns it from here on, also on failure. */
/* @created is the constructor's result; *@vdevp is read after it ran. */
static int place_virtio(struct vm *vm, unsigned *slot, int created, struct virtio_dev **vdevp)
{
	struct virtio_dev *vdev = *vdevp;
	uint64_t base;
	unsigned irq;
	int ret;

	if (created < 0)
		return created;
	ret = arch_virtio_mmio_slot(vm, (*slot)++, &base, &irq);
	if (ret < 0) {
		vm_input_error(vm, ret, "%s: no virtio-mmio slot left", virtio_dev_name(vdev));
		virtio_dev_destroy(vdev);
		return ret;
	}
	return virtio_mmio_create(&vm->host, vdev, base, irq);
}

int vm_create_config_devices(struct vm *vm)
{
	struct device_host *host = &vm->host;
	struct virtio_dev *vdev = NULL;
	unsigned slot = 0;
	int ret = 0;

	if (vm->cfg.rng)
		ret = place_virtio(vm, &slot, virtio_rng_create(host, &vdev), &vdev);
	if (ret == 0 && vm->cfg.nr_disks > VM_MAX_DISKS)
		ret = vm_input_error(vm, -EINVAL, "at most %d disks", VM_MAX_DISKS);
	for (unsigned i = 0; ret == 0 && i < vm->cfg.nr_disks; i++)
		ret = place_virtio(vm, &slot, virtio_blk_create(host, i, &vm->cfg.disks[i], &vdev),
				   &vdev);
	if (ret == 0 && vm->cfg.console_virtio)
		ret = place_virtio(vm, &slot, virtio_console_create(host, &vdev), &vdev);
	if (ret == 0 && vm->cfg.nr_nets > VM_MAX_NETS)
		ret = vm_input_error(vm, -EINVAL, "at most %d network devices", VM_MAX_NETS);
	for (unsigned i = 0; ret == 0 && i < vm->cfg.nr_nets; i++)
		ret = place_virtio(vm, &slot, virtio_net_create(host, &vm->cfg.nets[i], &vdev),
				   &vdev);
	return ret;
}
