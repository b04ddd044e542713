/* Everything the user named (kernel, initrd, disks, taps, the console log,
 * the device-tree dump, the control socket's directory) is checked before
 * the host is: a typo is reported as the bad input it is (exit code 2), not
 * hidden behind a host without /dev/kvm. Nothing is created. */
#ifndef KVMKIT_VM_INPUTS_H
#define KVMKIT_VM_INPUTS_H

struct vm;

/* Returns 0, or a negative errno with an input error naming the value in
 * the VM. */
int vm_check_inputs(struct vm *vm);

#endif
