#include "vmm/vm_cpu_state.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/arch.h"
#include "vmm/state.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

int vcpu_finish_exit(struct vcpu *vcpu)
{
	uint8_t was = vcpu->run->immediate_exit;
	int err = 0;

	vcpu->run->immediate_exit = 1;
	if (ioctl(vcpu->fd, KVM_RUN, 0) == 0)
		err = EIO; /* with immediate_exit set it must not enter the guest */
	else if (errno != EINTR)
		err = errno;
	vcpu->run->immediate_exit = was;
	if (err)
		return vm_error(vcpu->vm, -err, "vcpu%u: KVM_RUN to complete the last exit: %s",
				vcpu->index, strerror(err));
	return 0;
}

/* Whether the vCPUs are parked outside KVM_RUN (or have no thread). */
static int check_parked(struct vm *vm, const char *what)
{
	enum vm_run_state state = vm_run_state(vm);
	bool started = vm->nr_vcpus > 0 && vm->vcpus[0]->thread_started;

	if (!started || state == VM_STATE_PAUSED || state == VM_STATE_ENDED)
		return 0;
	return vm_error(vm, -EBUSY, "%s of CPU state: the VM is %s, not paused", what,
			vm_run_state_name(state));
}

int vm_cpu_state_save(struct vm *vm, struct state_buf *out)
{
	struct arch_clock clock = {0};
	int ret = check_parked(vm, "save");

	for (unsigned i = 0; ret == 0 && i < vm->nr_vcpus; i++)
		ret = arch_vcpu_save(vm->vcpus[i], out, &clock);
	if (ret == 0)
		ret = arch_irqchip_save(vm, out);
	return ret;
}

int vm_cpu_state_load(struct vm *vm, struct state_reader *in, uint64_t advance_ns)
{
	struct arch_clock clock = {.advance_ns = advance_ns};
	struct state_reader scan = *in, rec;
	char kind[STATE_KIND_MAX];
	uint32_t version;
	int ret = check_parked(vm, "load");

	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < vm->nr_vcpus + 1; i++)
		if (state_next(&scan, kind, &version, &rec) < 0)
			return vm_error(
				vm, -EINVAL,
				"load of CPU state: record %u of %u is missing or cut short", i + 1,
				vm->nr_vcpus + 1);
	if (!state_reader_done(&scan))
		return vm_error(vm, -EINVAL, "load of CPU state: data left after %u records",
				vm->nr_vcpus + 1);
	for (unsigned i = 0; ret == 0 && i < vm->nr_vcpus; i++)
		ret = arch_vcpu_load(vm->vcpus[i], in, &clock);
	if (ret == 0)
		ret = arch_irqchip_load(vm, in);
	return ret;
}

uint64_t clock_ns_to_ticks(uint64_t ns, uint64_t hz)
{
	const uint64_t ns_per_sec = 1000000000u;
	uint64_t sec = ns / ns_per_sec, rest = ns % ns_per_sec;

	/* rest * hz fits in 64 bits for any counter below 18 GHz. */
	if (hz >= UINT64_MAX / ns_per_sec || (hz && sec > (UINT64_MAX - hz) / hz))
		return UINT64_MAX;
	return sec * hz + rest * hz / ns_per_sec;
}
