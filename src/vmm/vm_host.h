/* The device_host a VM hands its devices (vm_host.c). */
#ifndef KVMKIT_VM_HOST_H
#define KVMKIT_VM_HOST_H

#include "vmm/device_host.h"

struct vm;

/* Fills vm->host; called once when the VM is allocated. */
void vm_host_init(struct vm *vm);

#endif
