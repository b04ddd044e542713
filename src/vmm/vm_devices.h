/* The devices a VM's configuration asks for (virtio), as opposed to the
 * platform devices its architecture always provides. */
#ifndef KVMKIT_VM_DEVICES_H
#define KVMKIT_VM_DEVICES_H

struct vm;

/* Creates them in a fixed order, so their addresses do not depend on the
 * order of the options. */
int vm_create_config_devices(struct vm *vm);

#endif
