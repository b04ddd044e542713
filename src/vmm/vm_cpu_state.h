/* The CPU side of a paused VM's state: every vCPU and the in-kernel interrupt
 * controller, as records of state.h written by the architecture
 * (arch_vcpu_save() and friends in arch.h). Devices and guest memory are not
 * part of it. */
#ifndef KVMKIT_VM_CPU_STATE_H
#define KVMKIT_VM_CPU_STATE_H

#include <stdint.h>

struct vm;
struct vcpu;
struct state_buf;
struct state_reader;

/* Completes the last exit of a vCPU parked outside KVM_RUN: KVM finishes an
 * MMIO or port read (and moves the PC past the access) only on the next
 * KVM_RUN, so a save before that would lose it and a load would have it
 * applied on top of the loaded registers. Runs KVM_RUN once with
 * immediate_exit set, which finishes the access and returns at once without
 * running the guest. Harmless when nothing is pending. */
int vcpu_finish_exit(struct vcpu *vcpu);

/* Appends one record per vCPU (in index order), then the interrupt
 * controller's. The VM must be paused (vm_pause()), ended, or not started;
 * -EBUSY otherwise. */
int vm_cpu_state_save(struct vm *vm, struct state_buf *out);

/* Loads what vm_cpu_state_save() wrote, into the same VM or another built
 * from the same configuration, paused or not started. It first checks that
 * @in holds exactly one well-formed record per vCPU and one more, then each
 * record as it is loaded: a bad record returns -EINVAL, but the records
 * before it have been loaded by then. Every vCPU's counter is set to the
 * value saved plus @advance_ns of time, the same for all (struct
 * arch_clock in arch.h): 0 continues the guest's clocks from the save. */
int vm_cpu_state_load(struct vm *vm, struct state_reader *in, uint64_t advance_ns);

/* @ns of time in ticks of a counter running at @hz, rounded down; a time
 * too long for 64 bits of ticks gives UINT64_MAX. */
uint64_t clock_ns_to_ticks(uint64_t ns, uint64_t hz);

#endif
