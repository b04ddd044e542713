/* A restored VM and its snapshot's working set (vmm/working_set.h): the
 * prefetch before the guest first runs, and the recording a while after.
 * Both are best effort: neither changes what the guest sees, and a failure
 * is a warning, never the VM's end. */
#ifndef KVMKIT_VM_WORKING_SET_H
#define KVMKIT_VM_WORKING_SET_H

struct vm;

/* With --restore (and without --no-working-set): when the top snapshot's
 * directory holds a working set of this snapshot, brings its pages in: the
 * written ones as private copies (MADV_POPULATE_WRITE), the others mapped
 * from the memory file (MADV_POPULATE_READ), then, where KVM can
 * (KVM_CAP_PRE_FAULT_MEMORY), every one into the guest's stage-2 tables.
 * After the vCPUs exist, before they first run. */
void vm_working_set_prefetch(struct vm *vm);

/* With --record-working-set: reads which RAM pages are mapped now
 * (/proc/self/pagemap: the guest's touches, and kvmkit's for its devices)
 * and which of them are private copies (written), and writes that as the
 * top snapshot's working set. On the loop thread. Returns 0 or a negative
 * errno, having logged what happened either way. */
int vm_working_set_record(struct vm *vm);

#endif
