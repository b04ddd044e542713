/* The devices' state lifecycle across the VM: quiesce for a pause, save
 * and load of every device's record, reset to power-on state. */
#include <errno.h>
#include <string.h>

#include "vmm/device.h"
#include "vmm/state.h"
#include "vmm/vm.h"

void vm_quiesce_devices(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_devices; i++) {
		if (vm->devices[i]->ops->quiesce)
			vm->devices[i]->ops->quiesce(vm->devices[i]);
	}
}

void vm_unquiesce_devices(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_devices; i++) {
		if (vm->devices[i]->ops->unquiesce)
			vm->devices[i]->ops->unquiesce(vm->devices[i]);
	}
}

void vm_reset_devices(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_devices; i++) {
		if (vm->devices[i]->ops->reset)
			vm->devices[i]->ops->reset(vm->devices[i]);
	}
}

/* Each device's record follows a "device" record naming it. */
#define DEVICE_HEADER_VERSION 1

int vm_save_devices(struct vm *vm, struct state_buf *out)
{
	for (unsigned i = 0; i < vm->nr_devices; i++) {
		struct device *dev = vm->devices[i];
		unsigned depth = out->depth;
		int ret;

		if (!dev->ops->save)
			continue;
		state_begin(out, "device", DEVICE_HEADER_VERSION);
		state_put_u8(out, (uint8_t)strlen(dev->name));
		state_put_bytes(out, dev->name, strlen(dev->name));
		state_end(out);
		ret = dev->ops->save(dev, out);
		/* A record left open would swallow the next device's. */
		if (ret == 0 && !out->err && out->depth != depth)
			ret = -EINVAL;
		if (ret < 0)
			return vm_error(vm, ret, "%s: cannot save its state: %s", dev->name,
					strerror(-ret));
	}
	if (out->err)
		return vm_error(vm, out->err, "saving device state: %s", strerror(-out->err));
	return 0;
}

static int load_one(struct vm *vm, struct device *dev, struct state_reader *in)
{
	struct state_reader hdr;
	char name[256];
	uint32_t version;
	uint8_t len;

	if (state_expect(in, "device", &version, &hdr) < 0 || version != DEVICE_HEADER_VERSION)
		return vm_input_error(vm, -EINVAL, "device state: no record for %s", dev->name);
	len = state_get_u8(&hdr);
	state_get_bytes(&hdr, name, len);
	name[len] = '\0';
	if (state_finish(&hdr) < 0 || strcmp(name, dev->name) != 0)
		return vm_input_error(vm, -EINVAL,
				      "device state: record of '%s' where %s's was due", name,
				      dev->name);
	if (dev->ops->load(dev, in) < 0)
		return vm_input_error(vm, -EINVAL, "device state: %s refused its record",
				      dev->name);
	return 0;
}

int vm_load_devices(struct vm *vm, struct state_reader *in)
{
	int ret = 0;

	for (unsigned i = 0; ret == 0 && i < vm->nr_devices; i++) {
		if (vm->devices[i]->ops->save && vm->devices[i]->ops->load)
			ret = load_one(vm, vm->devices[i], in);
	}
	if (ret == 0 && !state_reader_done(in))
		ret = vm_input_error(vm, -EINVAL, "device state: records left over");
	/* Half-loaded devices would run a mix of two machines. */
	if (ret < 0)
		vm_reset_devices(vm);
	return ret;
}
