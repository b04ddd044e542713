/* arm64 vCPU state as one record: every register KVM_GET_REG_LIST names for
 * the vCPU (each at the size its id states, in KVM's byte order), the
 * virtual counter, the MP state and pending SError/abort events.
 *
 * The virtual counter (KVM_REG_ARM_TIMER_CNT) has a field of its own, ahead
 * of the list: KVM turns a write of it into the vCPU's counter offset, so it
 * is set before anything else (CNTV_CVAL is then compared against the
 * restored count), and it is the one value that differs between two saves
 * of a paused VM, as the counter goes on counting. Loading it stops the
 * guest's virtual time for as long as it was paused, unless the load asks
 * for an advance (struct arch_clock), which is added to the value saved.
 * KVM keeps one counter offset for the whole VM (each write of the counter
 * sets it for every vCPU), so the vCPUs cannot fall out of step; the
 * advance in ticks is worked out once, by the first vCPU. The physical counter
 * (KVM_REG_ARM_PTIMER_CNT, listed by newer kernels) is the host's and is not
 * saved. Invariant and ID registers are written back with the value read,
 * which KVM accepts. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "arch/arm64/arm64.h"
#include "vmm/kvm.h"
#include "vmm/state.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vm_cpu_state.h"

#ifndef KVM_REG_ARM_PTIMER_CNT
#define KVM_REG_ARM_PTIMER_CNT ARM64_SYS_REG(3, 3, 14, 0, 1)
#endif
#define REG_CNTFRQ_EL0 ARM64_SYS_REG(3, 3, 14, 0, 0)

#define VCPU_KIND "arm64-vcpu"
#define VCPU_VERSION 1
#define MAX_REGS 4096
#define MAX_REG_BYTES 256 /* KVM_REG_SIZE_U2048, an SVE Z register */

static size_t reg_size(uint64_t id)
{
	return (size_t)1 << ((id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT);
}

static bool reg_in_list(uint64_t id)
{
	return id != KVM_REG_ARM_TIMER_CNT && id != KVM_REG_ARM_PTIMER_CNT &&
	       reg_size(id) <= MAX_REG_BYTES;
}

/* The registers the record lists, in KVM's order: the vCPU's list without
 * the counters. Returns the count or a negative errno (reported). */
static int list_regs(struct vcpu *vcpu, uint64_t **out)
{
	struct kvm_reg_list probe = {.n = 0}, *list;
	unsigned n = 0;
	int ret;

	ret = kvm_ioctl(vcpu->fd, KVM_GET_REG_LIST, &probe);
	if (ret != -E2BIG)
		return vm_error(vcpu->vm, ret < 0 ? ret : -EIO, "vcpu%u: KVM_GET_REG_LIST: %s",
				vcpu->index, ret < 0 ? strerror(-ret) : "no registers");
	if (probe.n > MAX_REGS)
		return vm_error(vcpu->vm, -E2BIG, "vcpu%u: KVM lists %llu registers", vcpu->index,
				(unsigned long long)probe.n);
	list = calloc(1, sizeof(*list) + probe.n * sizeof(list->reg[0]));
	if (!list)
		return vm_error(vcpu->vm, -ENOMEM, "vcpu%u: out of memory", vcpu->index);
	list->n = probe.n;
	ret = vcpu_ioctl(vcpu, KVM_GET_REG_LIST, list);
	*out = ret < 0 ? NULL : calloc(list->n ? list->n : 1, sizeof(**out));
	if (ret >= 0 && !*out)
		ret = vm_error(vcpu->vm, -ENOMEM, "vcpu%u: out of memory", vcpu->index);
	for (uint64_t i = 0; ret >= 0 && i < list->n; i++)
		if (reg_in_list(list->reg[i]))
			(*out)[n++] = list->reg[i];
	free(list);
	if (ret < 0)
		return ret;
	return (int)n;
}

static int one_reg(struct vcpu *vcpu, unsigned long request, const char *name, uint64_t id,
		   void *value)
{
	struct kvm_one_reg reg = {.id = id, .addr = (uintptr_t)value};
	int ret = kvm_ioctl_checked(vcpu->vm, vcpu->fd, request, &reg, name,
				    "vcpu%u: register 0x%llx", vcpu->index, (unsigned long long)id);

	return ret < 0 ? ret : 0;
}

static bool has_events(struct vcpu *vcpu)
{
	return kvm_cap(vcpu->vm->vm_fd, KVM_CAP_VCPU_EVENTS) > 0;
}

/* The counter's frequency as the vCPU sees it: CNTFRQ_EL0 as KVM reports
 * it where KVM has it as a register, else the host's own, which a guest
 * reads untrapped. */
static uint64_t counter_hz(struct vcpu *vcpu)
{
	uint64_t hz = 0;
	struct kvm_one_reg reg = {.id = REG_CNTFRQ_EL0, .addr = (uintptr_t)&hz};

	if (kvm_ioctl(vcpu->fd, KVM_GET_ONE_REG, &reg) < 0)
		__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(hz));
	return hz & 0xffffffffu; /* the frequency field is 32 bits */
}

/* The load's advance in counter ticks, worked out once for every vCPU. */
static int advance_ticks(struct vcpu *vcpu, struct arch_clock *clock)
{
	uint64_t hz;

	if (clock->ready)
		return 0;
	clock->ref = 0;
	if (clock->advance_ns) {
		hz = counter_hz(vcpu);
		if (!hz)
			return vm_error(vcpu->vm, -EIO,
					"vcpu%u: cannot advance the virtual counter: its "
					"frequency (CNTFRQ_EL0) reads 0",
					vcpu->index);
		clock->ref = clock_ns_to_ticks(clock->advance_ns, hz);
	}
	clock->ready = true;
	return 0;
}

int arch_vcpu_save(struct vcpu *vcpu, struct state_buf *out, struct arch_clock *clock)
{
	struct kvm_mp_state mp;
	struct kvm_vcpu_events events = {0};
	uint8_t value[MAX_REG_BYTES];
	uint64_t counter, *ids = NULL;
	bool events_saved = has_events(vcpu);
	int n, ret;

	(void)clock; /* one offset for the whole VM: each vCPU's reading is the VM's */
	ret = vcpu_finish_exit(vcpu);
	if (ret < 0)
		return ret;
	n = list_regs(vcpu, &ids);
	if (n < 0)
		return n;
	ret = vcpu_ioctl(vcpu, KVM_GET_MP_STATE, &mp);
	if (ret == 0)
		ret = one_reg(vcpu, KVM_GET_ONE_REG, "KVM_GET_ONE_REG", KVM_REG_ARM_TIMER_CNT,
			      &counter);
	if (ret == 0 && events_saved)
		ret = vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, &events);
	if (ret < 0)
		goto out;
	state_begin(out, VCPU_KIND, VCPU_VERSION);
	state_put_u32(out, vcpu->index);
	state_put_u64(out, counter);
	state_put_u32(out, mp.mp_state);
	state_put_bool(out, events_saved);
	state_put_bool(out, events.exception.serror_pending);
	state_put_bool(out, events.exception.serror_has_esr);
	state_put_bool(out, events.exception.ext_dabt_pending);
	state_put_u64(out, events.exception.serror_esr);
	state_put_u32(out, (uint32_t)n);
	for (int i = 0; ret == 0 && i < n; i++) {
		ret = one_reg(vcpu, KVM_GET_ONE_REG, "KVM_GET_ONE_REG", ids[i], value);
		state_put_u64(out, ids[i]);
		state_put_bytes(out, value, reg_size(ids[i]));
	}
	if (ret == 0) {
		ret = state_end(out);
		if (ret < 0)
			vm_error(vcpu->vm, ret, "vcpu%u: saving state: %s", vcpu->index,
				 strerror(-ret));
	}
out:
	free(ids);
	return ret;
}

static bool valid_mp_state(uint32_t s)
{
	return s == KVM_MP_STATE_RUNNABLE || s == KVM_MP_STATE_STOPPED ||
	       s == KVM_MP_STATE_SUSPENDED;
}

int arch_vcpu_load(struct vcpu *vcpu, struct state_reader *in, struct arch_clock *clock)
{
	struct state_reader rec;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events events = {0};
	uint64_t counter, *ids = NULL;
	uint8_t *values = NULL;
	size_t *offsets = NULL, total = 0;
	uint32_t version, index, nr;
	bool events_saved;
	const char *why = NULL;
	int n, ret;

	if (state_expect(in, VCPU_KIND, &version, &rec) < 0)
		return vm_error(vcpu->vm, -EINVAL, "vcpu%u: load: not an %s record", vcpu->index,
				VCPU_KIND);
	if (version != VCPU_VERSION)
		return vm_error(vcpu->vm, -EINVAL, "vcpu%u: load: %s record version %u (want %u)",
				vcpu->index, VCPU_KIND, version, VCPU_VERSION);
	n = list_regs(vcpu, &ids);
	if (n < 0)
		return n;
	index = state_get_u32(&rec);
	counter = state_get_u64(&rec);
	mp.mp_state = state_get_u32(&rec);
	events_saved = state_get_bool(&rec);
	events.exception.serror_pending = state_get_bool(&rec);
	events.exception.serror_has_esr = state_get_bool(&rec);
	events.exception.ext_dabt_pending = state_get_bool(&rec);
	events.exception.serror_esr = state_get_u64(&rec);
	nr = state_get_u32(&rec);
	if (index != vcpu->index)
		why = "saved from another vCPU";
	else if (!valid_mp_state(mp.mp_state))
		why = "bad MP state";
	else if (events_saved != has_events(vcpu))
		why = "pending events saved on a host that differs here";
	else if (nr != (uint32_t)n)
		why = "register count differs from this vCPU's";
	if (!why) {
		offsets = calloc(n ? (size_t)n : 1, sizeof(*offsets));
		values = malloc((size_t)n * MAX_REG_BYTES + 1);
		if (!offsets || !values) {
			ret = vm_error(vcpu->vm, -ENOMEM, "vcpu%u: out of memory", vcpu->index);
			goto out;
		}
	}
	for (int i = 0; !why && i < n; i++) {
		if (state_get_u64(&rec) != ids[i]) {
			why = "register list differs from this vCPU's";
			break;
		}
		offsets[i] = total;
		state_get_bytes(&rec, values + total, reg_size(ids[i]));
		total += reg_size(ids[i]);
	}
	if (!why && state_finish(&rec) < 0)
		why = "cut short or too long";
	if (why) {
		ret = vm_error(vcpu->vm, -EINVAL, "vcpu%u: load: bad %s record: %s", vcpu->index,
			       VCPU_KIND, why);
		goto out;
	}
	ret = advance_ticks(vcpu, clock);
	if (ret == 0) {
		counter += clock->ref;
		ret = vcpu_finish_exit(vcpu);
	}
	if (ret == 0)
		ret = one_reg(vcpu, KVM_SET_ONE_REG, "KVM_SET_ONE_REG", KVM_REG_ARM_TIMER_CNT,
			      &counter);
	for (int i = 0; ret == 0 && i < n; i++)
		ret = one_reg(vcpu, KVM_SET_ONE_REG, "KVM_SET_ONE_REG", ids[i],
			      values + offsets[i]);
	if (ret == 0)
		ret = vcpu_ioctl(vcpu, KVM_SET_MP_STATE, &mp);
	if (ret == 0 && events_saved)
		ret = vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &events);
	if (ret > 0)
		ret = 0;
out:
	free(values);
	free(offsets);
	free(ids);
	return ret;
}
