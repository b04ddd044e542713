/* The one door between the architecture-neutral core (src/vmm) and an
 * architecture (src/arch/<arch>). Exactly one implementation is linked in. */
#ifndef KVMKIT_ARCH_H
#define KVMKIT_ARCH_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vcpu;
struct state_buf;
struct state_reader;

struct kvm_cap_req {
	long cap;
	const char *name;
};

enum vcpu_action {
	VCPU_CONTINUE, /* run the vCPU again */
	VCPU_STOP,     /* this vCPU is done; the VM's exit reason has been set */
};

const char *arch_name(void);

/* A spin-wait hint for a thread polling memory (PAUSE, YIELD). */
void arch_cpu_relax(void);

/* Whether this architecture can give its vCPUs a PMU (--pmu) and boot a raw
 * kernel binary (--kernel-format raw): settings are refused up front where
 * it cannot. */
bool arch_has_guest_pmu(void);
bool arch_has_raw_kernel(void);

/* The largest RAM the guest layout allows, in bytes. */
uint64_t arch_max_ram(void);

/* One range of guest-physical RAM: page aligned, non-empty. */
struct arch_ram_region {
	uint64_t gpa;
	uint64_t size;
};

/* Where @ram_size bytes of RAM (a whole number of 4 KiB pages, at most
 * arch_max_ram()) live in the guest: fills @out with up to @max regions in
 * ascending address order, holes between them left to MMIO, and returns how
 * many. -EINVAL for a size the layout cannot hold, -ENOSPC if @max is too
 * small. */
int arch_ram_regions(uint64_t ram_size, struct arch_ram_region *out, unsigned max);

/* Settings of @vm's config this architecture cannot do at all (--nested on
 * x86_64), refused before the host is looked at: 0, or an input error
 * (vm_input_error()) naming the setting. */
int arch_check_config(struct vm *vm);

/* Capabilities the architecture cannot work without; the core checks each and
 * names the first one missing. */
const struct kvm_cap_req *arch_required_caps(unsigned *count);

/* The machine type argument of KVM_CREATE_VM. */
int arch_vm_type(int kvm_fd, unsigned long *type);

/* After the VM and its RAM exist, before vCPUs: irqchip choice, platform
 * devices (UART, RTC), VM-wide capabilities. */
int arch_vm_setup(struct vm *vm);

/* After KVM_CREATE_VCPU of @vcpu: initial register state for its role (boot or
 * secondary, powered off). */
int arch_vcpu_setup(struct vm *vm, struct vcpu *vcpu);

/* After every vCPU exists: finish the interrupt controller. */
int arch_vm_finalize(struct vm *vm);

/* Loads kernel, initrd and firmware tables into RAM and points the boot vCPU
 * at the entry. Input problems are reported with vm_input_error(). */
int arch_load_guest(struct vm *vm);

/* Sets platform interrupt @irq to @level. */
int arch_irq_line(struct vm *vm, unsigned irq, bool level);

/* The KVM GSI that injects platform interrupt @irq through an irqfd, or
 * -ENOTSUP where the VM has no in-kernel interrupt controller. */
int arch_irq_gsi(struct vm *vm, unsigned irq, unsigned *gsi);

/* Where the @index-th virtio-mmio device lives: base address and platform
 * interrupt (0 when interrupts cannot be delivered). -ENOSPC past the last slot. */
int arch_virtio_mmio_slot(struct vm *vm, unsigned index, uint64_t *base, unsigned *irq);

/* Sets the guest's power button to @pressed (a key the guest's own shutdown
 * listens to). -ENOTSUP where the machine has none. */
int arch_power_button(struct vm *vm, bool pressed);

/* An exit the core does not handle itself. */
enum vcpu_action arch_handle_exit(struct vcpu *vcpu);

/* The guest's counters (the arm64 virtual counter, the x86_64 TSC) across
 * one save or one load of every vCPU: vm_cpu_state.h makes one per call
 * and hands it to each vCPU in index order.
 *
 * A record holds the vCPU's counter as the guest saw it at the save. A load
 * sets it to that value plus @advance_ns of time in the vCPU's counter units
 * (its counter frequency as KVM reports it): 0 continues the guest's time
 * from the save, the time since the save makes it read as if the guest had
 * run on. @ready and @ref are the architecture's: what the first vCPU of a
 * save or load works out for the others (the advance in counter units, a
 * reference point of the host's counter), so that every vCPU moves by the
 * same amount and the counters stay in step. */
struct arch_clock {
	uint64_t advance_ns; /* load only */
	bool ready;
	uint64_t ref;
};

/* vCPU and interrupt-controller state, as records of src/vmm/state.h (one
 * record each; the kinds are the architecture's own, e.g. "arm64-vcpu").
 * Every call needs the vCPUs parked outside KVM_RUN (a paused VM, or one not
 * started) and a finalized interrupt controller; vm_cpu_state.h saves and
 * loads a whole VM in the right order.
 *
 * arch_vcpu_save() first completes the vCPU's last exit (vcpu_finish_exit()),
 * so that no half-done MMIO or port access is lost, then appends one record
 * with every register KVM lists for the vCPU, its MP state and pending
 * events. arch_vcpu_load() reads one record from @in, checks all of it
 * (kind, version, vCPU index, counts, register ids and sizes) against this
 * vCPU before it touches KVM, and returns -EINVAL for a bad record with the
 * VM untouched; a KVM failure while setting is reported and returned.
 * arch_irqchip_save()/arch_irqchip_load() do the same for the in-kernel
 * interrupt controller (an x86 VM without one writes an empty record). A
 * controller kvmkit cannot save yet returns -ENOTSUP. Failures are reported
 * once with vm_error(); after a failed save @out holds a partial record and
 * is only fit for state_buf_free(). */
int arch_vcpu_save(struct vcpu *vcpu, struct state_buf *out, struct arch_clock *clock);
int arch_vcpu_load(struct vcpu *vcpu, struct state_reader *in, struct arch_clock *clock);
int arch_irqchip_save(struct vm *vm, struct state_buf *out);
int arch_irqchip_load(struct vm *vm, struct state_reader *in);

/* Frees what arch_vm_setup() allocated. */
void arch_vm_teardown(struct vm *vm);

#endif
