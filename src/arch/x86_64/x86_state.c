/* x86_64 vCPU and irqchip state as records of state.h.
 *
 * A vCPU record holds, in KVM's own structure layouts (x86 is little-endian):
 * the general registers, the special registers, the XSAVE area (or the
 * legacy FPU state where KVM has no XSAVE), XCR0, the debug registers, the
 * pending events, the MP state, the local APIC where it is in the kernel,
 * and every MSR of KVM_GET_MSR_INDEX_LIST that this vCPU can read but the
 * TSC, which has a field of its own: the guest's TSC at the save. A load
 * sets it to that value plus the load's advance (struct arch_clock), so a
 * restored guest's time goes on from the save whatever the host's TSC does
 * meanwhile (a new process, a reboot, another host).
 *
 * Where KVM has the vCPU's TSC offset (KVM_VCPU_TSC_OFFSET, guest TSC =
 * host TSC + offset), the TSCs of all vCPUs are taken at one instant and
 * set from one: the first vCPU reads its TSC and offset, which give the
 * host's TSC at that point, and every record is that plus its own offset; a
 * load does the same the other way round. The differences between the
 * vCPUs' TSCs are kept exactly. Without it (Linux before 5.16) each TSC is
 * read and written through MSR_IA32_TSC, and KVM matches TSCs written
 * within a second of each other.
 *
 * The irqchip record holds the in-kernel PIC and IOAPIC and the PIT where
 * the VM has them (kvmkit's x86 machine has neither today: the record then
 * says so and is empty). Which of these exist is probed, not assumed, and a
 * record is loaded only into a VM where the same ones exist. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "vmm/kvm.h"
#include "vmm/state.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vm_cpu_state.h"

#define VCPU_KIND "x86-vcpu"
#define VCPU_VERSION 2
#define IRQCHIP_KIND "x86-irqchip"
#define IRQCHIP_VERSION 1
#define MAX_MSRS 1024
#define MAX_XSAVE (1u << 20)
#define MSR_IA32_TSC 0x10
/* Hyper-V's synthetic MSRs. kvmkit offers no Hyper-V enlightenments (no
 * Hyper-V CPUID leaves), so they hold no guest state; some always move (the
 * reference counter 0x40000020, VP runtime 0x40000010), which the L1 tier's
 * kvm-amd lists and kvm_pvm does not. */
#define HV_MSR_FIRST 0x40000000u
#define HV_MSR_LAST 0x400000ffu

enum {
	HAS_LAPIC = 1u << 0,
	HAS_TSC_OFFSET = 1u << 1,
	HAS_XSAVE = 1u << 2,
	HAS_XCRS = 1u << 3,
};
/* The parts a record holds: the TSC offset decides only how the TSC is
 * read and set. */
#define RECORD_FLAGS (HAS_LAPIC | HAS_XSAVE | HAS_XCRS)

/* What this vCPU's state consists of on this host. */
struct x86_layout {
	uint32_t flags;
	uint32_t xsave_size; /* bytes of the XSAVE area, or of struct kvm_fpu */
	uint32_t nr_msrs;
	uint32_t msrs[MAX_MSRS];
};

struct x86_vcpu_image {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint8_t *xsave;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs debugregs;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	struct kvm_lapic_state lapic;
	uint64_t tsc; /* the guest's, at the save */
	struct kvm_msrs *msrs;
};

static bool msr_readable(struct vcpu *vcpu, uint32_t index)
{
	struct {
		struct kvm_msrs head;
		struct kvm_msr_entry entry;
	} one = {.head.nmsrs = 1, .entry.index = index};

	return kvm_ioctl(vcpu->fd, KVM_GET_MSRS, &one) == 1;
}

static int probe_layout(struct vcpu *vcpu, struct x86_layout *lay)
{
	struct vm *vm = vcpu->vm;
	struct kvm_msr_list probe = {.nmsrs = 0}, *list;
	struct kvm_device_attr tsc = {.group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET};
	struct kvm_lapic_state lapic;
	int xsave2, ret;

	*lay = (struct x86_layout){0};
	if (kvm_ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) == 0)
		lay->flags |= HAS_LAPIC;
	if (kvm_ioctl(vcpu->fd, KVM_HAS_DEVICE_ATTR, &tsc) == 0)
		lay->flags |= HAS_TSC_OFFSET;
	if (kvm_cap(vm->vm_fd, KVM_CAP_XCRS) > 0)
		lay->flags |= HAS_XCRS;
	lay->xsave_size = sizeof(struct kvm_fpu);
	if (kvm_cap(vm->vm_fd, KVM_CAP_XSAVE) > 0) {
		lay->flags |= HAS_XSAVE;
		xsave2 = kvm_cap(vm->vm_fd, KVM_CAP_XSAVE2);
		lay->xsave_size = xsave2 > (int)sizeof(struct kvm_xsave) ? (uint32_t)xsave2
									 : sizeof(struct kvm_xsave);
		if (lay->xsave_size > MAX_XSAVE)
			return vm_error(vm, -E2BIG, "vcpu%u: XSAVE area of %u bytes", vcpu->index,
					lay->xsave_size);
	}
	ret = kvm_ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe);
	if (ret != -E2BIG && ret < 0)
		return vm_error(vm, ret, "KVM_GET_MSR_INDEX_LIST: %s", strerror(-ret));
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(list->indices[0]));
	if (!list)
		return vm_error(vm, -ENOMEM, "vcpu%u: out of memory", vcpu->index);
	list->nmsrs = probe.nmsrs;
	ret = kvm_sys_ioctl(vm, KVM_GET_MSR_INDEX_LIST, list);
	for (uint32_t i = 0; ret >= 0 && i < list->nmsrs; i++) {
		uint32_t index = list->indices[i];

		if (index == MSR_IA32_TSC || (index >= HV_MSR_FIRST && index <= HV_MSR_LAST) ||
		    !msr_readable(vcpu, index))
			continue;
		if (lay->nr_msrs == MAX_MSRS) {
			ret = vm_error(vm, -E2BIG, "vcpu%u: more than %u readable MSRs",
				       vcpu->index, MAX_MSRS);
			break;
		}
		lay->msrs[lay->nr_msrs++] = index;
	}
	free(list);
	return ret < 0 ? ret : 0;
}

static void free_image(struct x86_vcpu_image *img)
{
	free(img->xsave);
	free(img->msrs);
}

static int alloc_image(struct vcpu *vcpu, const struct x86_layout *lay, struct x86_vcpu_image *img)
{
	*img = (struct x86_vcpu_image){0};
	img->xsave = calloc(1, lay->xsave_size);
	img->msrs = calloc(1, sizeof(*img->msrs) + lay->nr_msrs * sizeof(img->msrs->entries[0]));
	if (!img->xsave || !img->msrs) {
		free_image(img);
		return vm_error(vcpu->vm, -ENOMEM, "vcpu%u: out of memory", vcpu->index);
	}
	img->msrs->nmsrs = lay->nr_msrs;
	for (uint32_t i = 0; i < lay->nr_msrs; i++)
		img->msrs->entries[i].index = lay->msrs[i];
	return 0;
}

/* Reads (@set false) or writes the vCPU's MSR_IA32_TSC. */
static int tsc_msr(struct vcpu *vcpu, bool set, uint64_t *value)
{
	struct {
		struct kvm_msrs head;
		struct kvm_msr_entry entry;
	} one = {.head.nmsrs = 1, .entry = {.index = MSR_IA32_TSC, .data = set ? *value : 0}};
	int ret = set ? vcpu_ioctl(vcpu, KVM_SET_MSRS, &one) : vcpu_ioctl(vcpu, KVM_GET_MSRS, &one);

	if (ret == 0)
		ret = vm_error(vcpu->vm, -EIO, "vcpu%u: %s: MSR_IA32_TSC refused", vcpu->index,
			       set ? "KVM_SET_MSRS" : "KVM_GET_MSRS");
	if (ret > 0 && !set)
		*value = one.entry.data;
	return ret < 0 ? ret : 0;
}

/* Reads or writes the vCPU's TSC offset (KVM_VCPU_TSC_OFFSET). */
static int tsc_offset(struct vcpu *vcpu, bool set, uint64_t *offset)
{
	struct kvm_device_attr attr = {
		.group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET, .addr = (uintptr_t)offset};
	int ret = set ? vcpu_ioctl(vcpu, KVM_SET_DEVICE_ATTR, &attr)
		      : vcpu_ioctl(vcpu, KVM_GET_DEVICE_ATTR, &attr);

	return ret < 0 ? ret : 0;
}

/* The host's TSC (as this vCPU's TSC counts it, scaled) now: the guest's
 * TSC less its offset. */
static int host_tsc(struct vcpu *vcpu, uint64_t *out)
{
	uint64_t guest = 0, offset = 0;
	int ret = tsc_msr(vcpu, false, &guest);

	if (ret == 0)
		ret = tsc_offset(vcpu, false, &offset);
	*out = guest - offset;
	return ret;
}

/* The guest's TSC at the save: with the offset, at the instant the first
 * vCPU took (clock->ref, the host's TSC then). */
static int save_tsc(struct vcpu *vcpu, const struct x86_layout *lay, struct arch_clock *clock,
		    uint64_t *tsc)
{
	uint64_t offset = 0;
	int ret;

	if (!(lay->flags & HAS_TSC_OFFSET))
		return tsc_msr(vcpu, false, tsc);
	if (!clock->ready) {
		ret = host_tsc(vcpu, &clock->ref);
		if (ret < 0)
			return ret;
		clock->ready = true;
	}
	ret = tsc_offset(vcpu, false, &offset);
	*tsc = clock->ref + offset;
	return ret;
}

/* Sets the guest's TSC to @tsc plus the load's advance. The first vCPU
 * works out, for all, the advance in TSC cycles (at the frequency
 * KVM_GET_TSC_KHZ reports) less the host's TSC now: the offset that
 * makes a saved TSC read as it was, advanced, at this instant. */
static int load_tsc(struct vcpu *vcpu, const struct x86_layout *lay, struct arch_clock *clock,
		    uint64_t tsc)
{
	uint64_t advance = 0, host = 0;
	int khz, ret;

	if (!clock->ready) {
		if (clock->advance_ns) {
			khz = vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, NULL);
			if (khz < 0)
				return khz;
			if (khz == 0)
				return vm_error(vcpu->vm, -EIO,
						"vcpu%u: cannot advance the TSC: KVM_GET_TSC_KHZ "
						"reports 0",
						vcpu->index);
			advance = clock_ns_to_ticks(clock->advance_ns, (uint64_t)khz * 1000u);
		}
		if (lay->flags & HAS_TSC_OFFSET) {
			ret = host_tsc(vcpu, &host);
			if (ret < 0)
				return ret;
		}
		clock->ref = advance - host;
		clock->ready = true;
	}
	tsc += clock->ref;
	if (lay->flags & HAS_TSC_OFFSET)
		return tsc_offset(vcpu, true, &tsc);
	return tsc_msr(vcpu, true, &tsc);
}

static int get_image(struct vcpu *vcpu, const struct x86_layout *lay, struct arch_clock *clock,
		     struct x86_vcpu_image *img)
{
	int ret = vcpu_ioctl(vcpu, KVM_GET_REGS, &img->regs);

	if (ret >= 0)
		ret = vcpu_ioctl(vcpu, KVM_GET_SREGS, &img->sregs);
	if (ret >= 0 && !(lay->flags & HAS_XSAVE))
		ret = vcpu_ioctl(vcpu, KVM_GET_FPU, img->xsave);
	else if (ret >= 0 && lay->xsave_size > sizeof(struct kvm_xsave))
		ret = vcpu_ioctl(vcpu, KVM_GET_XSAVE2, img->xsave);
	else if (ret >= 0)
		ret = vcpu_ioctl(vcpu, KVM_GET_XSAVE, img->xsave);
	if (ret >= 0 && (lay->flags & HAS_XCRS))
		ret = vcpu_ioctl(vcpu, KVM_GET_XCRS, &img->xcrs);
	if (ret >= 0)
		ret = vcpu_ioctl(vcpu, KVM_GET_DEBUGREGS, &img->debugregs);
	if (ret >= 0)
		ret = vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, &img->events);
	if (ret >= 0)
		ret = vcpu_ioctl(vcpu, KVM_GET_MP_STATE, &img->mp);
	if (ret >= 0 && (lay->flags & HAS_LAPIC))
		ret = vcpu_ioctl(vcpu, KVM_GET_LAPIC, &img->lapic);
	if (ret >= 0)
		ret = save_tsc(vcpu, lay, clock, &img->tsc);
	if (ret >= 0 && lay->nr_msrs) {
		ret = vcpu_ioctl(vcpu, KVM_GET_MSRS, img->msrs);
		if (ret >= 0 && (uint32_t)ret != lay->nr_msrs)
			ret = vm_error(vcpu->vm, -EIO, "vcpu%u: KVM_GET_MSRS: MSR 0x%x unreadable",
				       vcpu->index, lay->msrs[ret]);
	}
	/* Also restore the NMI and SIPI fields, which KVM sets only when asked. */
	img->events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	return ret < 0 ? ret : 0;
}

/* KVM reads some MSRs it does not let the host write back (one whose guest
 * feature is off, say): one that already holds the saved value is left as
 * it is; any other refusal is an error. */
static int set_msrs(struct vcpu *vcpu, const struct kvm_msrs *msrs)
{
	uint32_t n = msrs->nmsrs, done = 0;
	struct kvm_msrs *rest = calloc(1, sizeof(*rest) + n * sizeof(rest->entries[0]));
	int ret = 0;

	if (!rest)
		return vm_error(vcpu->vm, -ENOMEM, "vcpu%u: out of memory", vcpu->index);
	while (done < n) {
		struct {
			struct kvm_msrs head;
			struct kvm_msr_entry entry;
		} now = {.head.nmsrs = 1};

		rest->nmsrs = n - done;
		memcpy(rest->entries, msrs->entries + done, rest->nmsrs * sizeof(rest->entries[0]));
		ret = vcpu_ioctl(vcpu, KVM_SET_MSRS, rest);
		if (ret < 0)
			break;
		done += (uint32_t)ret;
		if (done == n)
			break;
		now.entry.index = msrs->entries[done].index;
		if (kvm_ioctl(vcpu->fd, KVM_GET_MSRS, &now) != 1 ||
		    now.entry.data != msrs->entries[done].data) {
			ret = vm_error(vcpu->vm, -EIO, "vcpu%u: KVM_SET_MSRS: MSR 0x%x refused",
				       vcpu->index, msrs->entries[done].index);
			break;
		}
		done++;
	}
	free(rest);
	return ret < 0 ? ret : 0;
}

static int set_image(struct vcpu *vcpu, const struct x86_layout *lay, struct arch_clock *clock,
		     struct x86_vcpu_image *img)
{
	int ret = vcpu_ioctl(vcpu, KVM_SET_REGS, &img->regs);

	if (ret >= 0 && (lay->flags & HAS_XSAVE))
		ret = vcpu_ioctl(vcpu, KVM_SET_XSAVE, img->xsave);
	else if (ret >= 0)
		ret = vcpu_ioctl(vcpu, KVM_SET_FPU, img->xsave);
	if (ret >= 0 && (lay->flags & HAS_XCRS))
		ret = vcpu_ioctl(vcpu, KVM_SET_XCRS, &img->xcrs);
	if (ret >= 0)
		ret = vcpu_ioctl(vcpu, KVM_SET_SREGS, &img->sregs);
	/* The TSC before the MSRs that count from it (TSC_DEADLINE). */
	if (ret >= 0)
		ret = load_tsc(vcpu, lay, clock, img->tsc);
	if (ret >= 0)
		ret = set_msrs(vcpu, img->msrs);
	if (ret >= 0)
		ret = vcpu_ioctl(vcpu, KVM_SET_MP_STATE, &img->mp);
	if (ret >= 0 && (lay->flags & HAS_LAPIC))
		ret = vcpu_ioctl(vcpu, KVM_SET_LAPIC, &img->lapic);
	if (ret >= 0)
		ret = vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &img->events);
	if (ret >= 0)
		ret = vcpu_ioctl(vcpu, KVM_SET_DEBUGREGS, &img->debugregs);
	return ret < 0 ? ret : 0;
}

/* Fields in the order the record has them: a save writes, a load reads. */
static void put_image(struct state_buf *out, const struct x86_layout *lay,
		      const struct x86_vcpu_image *img)
{
	state_put_bytes(out, &img->regs, sizeof(img->regs));
	state_put_bytes(out, &img->sregs, sizeof(img->sregs));
	state_put_bytes(out, img->xsave, lay->xsave_size);
	if (lay->flags & HAS_XCRS)
		state_put_bytes(out, &img->xcrs, sizeof(img->xcrs));
	state_put_bytes(out, &img->debugregs, sizeof(img->debugregs));
	state_put_bytes(out, &img->events, sizeof(img->events));
	state_put_u32(out, img->mp.mp_state);
	if (lay->flags & HAS_LAPIC)
		state_put_bytes(out, &img->lapic, sizeof(img->lapic));
	for (uint32_t i = 0; i < lay->nr_msrs; i++) {
		state_put_u32(out, img->msrs->entries[i].index);
		state_put_u64(out, img->msrs->entries[i].data);
	}
}

static const char *get_fields(struct state_reader *rec, const struct x86_layout *lay,
			      struct x86_vcpu_image *img)
{
	state_get_bytes(rec, &img->regs, sizeof(img->regs));
	state_get_bytes(rec, &img->sregs, sizeof(img->sregs));
	state_get_bytes(rec, img->xsave, lay->xsave_size);
	if (lay->flags & HAS_XCRS)
		state_get_bytes(rec, &img->xcrs, sizeof(img->xcrs));
	state_get_bytes(rec, &img->debugregs, sizeof(img->debugregs));
	state_get_bytes(rec, &img->events, sizeof(img->events));
	img->mp.mp_state = state_get_u32(rec);
	if (lay->flags & HAS_LAPIC)
		state_get_bytes(rec, &img->lapic, sizeof(img->lapic));
	for (uint32_t i = 0; i < lay->nr_msrs; i++) {
		if (state_get_u32(rec) != lay->msrs[i] && !rec->err)
			return "MSR list differs from this vCPU's";
		img->msrs->entries[i].data = state_get_u64(rec);
	}
	if (state_finish(rec) < 0)
		return "cut short or too long";
	if (img->mp.mp_state > KVM_MP_STATE_SUSPENDED)
		return "bad MP state";
	if (img->xcrs.nr_xcrs > KVM_MAX_XCRS)
		return "bad XCR count";
	return NULL;
}

int arch_vcpu_save(struct vcpu *vcpu, struct state_buf *out, struct arch_clock *clock)
{
	struct x86_layout *lay = malloc(sizeof(*lay));
	struct x86_vcpu_image img;
	int ret;

	if (!lay)
		return vm_error(vcpu->vm, -ENOMEM, "vcpu%u: out of memory", vcpu->index);
	ret = vcpu_finish_exit(vcpu);
	if (ret == 0)
		ret = probe_layout(vcpu, lay);
	if (ret == 0)
		ret = alloc_image(vcpu, lay, &img);
	if (ret < 0)
		goto out;
	ret = get_image(vcpu, lay, clock, &img);
	if (ret == 0) {
		state_begin(out, VCPU_KIND, VCPU_VERSION);
		state_put_u32(out, vcpu->index);
		state_put_u32(out, lay->flags & RECORD_FLAGS);
		state_put_u32(out, lay->xsave_size);
		state_put_u32(out, lay->nr_msrs);
		state_put_u64(out, img.tsc);
		put_image(out, lay, &img);
		ret = state_end(out);
		if (ret < 0)
			vm_error(vcpu->vm, ret, "vcpu%u: saving state: %s", vcpu->index,
				 strerror(-ret));
	}
	free_image(&img);
out:
	free(lay);
	return ret;
}

int arch_vcpu_load(struct vcpu *vcpu, struct state_reader *in, struct arch_clock *clock)
{
	struct x86_layout *lay = malloc(sizeof(*lay));
	struct x86_vcpu_image img = {0};
	struct state_reader rec;
	uint32_t version;
	const char *why = NULL;
	int ret;

	if (!lay)
		return vm_error(vcpu->vm, -ENOMEM, "vcpu%u: out of memory", vcpu->index);
	if (state_expect(in, VCPU_KIND, &version, &rec) < 0) {
		ret = vm_error(vcpu->vm, -EINVAL, "vcpu%u: load: not an %s record", vcpu->index,
			       VCPU_KIND);
		goto out;
	}
	ret = probe_layout(vcpu, lay);
	if (ret == 0)
		ret = alloc_image(vcpu, lay, &img);
	if (ret < 0)
		goto out;
	if (version != VCPU_VERSION)
		why = "unknown version";
	else if (state_get_u32(&rec) != vcpu->index)
		why = "saved from another vCPU";
	else if (state_get_u32(&rec) != (lay->flags & RECORD_FLAGS))
		why = "saved with other state parts (LAPIC, XSAVE, XCRs) than here";
	else if (state_get_u32(&rec) != lay->xsave_size)
		why = "XSAVE area size differs";
	else if (state_get_u32(&rec) != lay->nr_msrs)
		why = "MSR count differs from this vCPU's";
	else {
		img.tsc = state_get_u64(&rec);
		why = get_fields(&rec, lay, &img);
	}
	if (!why && rec.err)
		why = "cut short";
	if (why) {
		ret = vm_error(vcpu->vm, -EINVAL, "vcpu%u: load: bad %s record: %s", vcpu->index,
			       VCPU_KIND, why);
		goto out_image;
	}
	ret = vcpu_finish_exit(vcpu);
	if (ret == 0)
		ret = set_image(vcpu, lay, clock, &img);
out_image:
	free_image(&img);
out:
	free(lay);
	return ret;
}

struct x86_irqchip {
	bool has_chips;
	bool has_pit;
	struct kvm_irqchip chips[3]; /* PIC master, PIC slave, IOAPIC */
	struct kvm_pit_state2 pit;
};

/* Reads what exists: KVM answers ENXIO for a VM without that part. */
static int get_irqchip(struct vm *vm, struct x86_irqchip *c)
{
	int ret;

	*c = (struct x86_irqchip){0};
	c->chips[0].chip_id = KVM_IRQCHIP_PIC_MASTER;
	ret = kvm_ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &c->chips[0]);
	if (ret < 0 && ret != -ENXIO)
		return vm_error(vm, ret, "KVM_GET_IRQCHIP: %s", strerror(-ret));
	c->has_chips = ret == 0;
	for (unsigned i = 1; c->has_chips && i < 3; i++) {
		c->chips[i].chip_id = i == 1 ? KVM_IRQCHIP_PIC_SLAVE : KVM_IRQCHIP_IOAPIC;
		ret = vm_ioctl(vm, KVM_GET_IRQCHIP, &c->chips[i]);
		if (ret < 0)
			return ret;
	}
	ret = kvm_ioctl(vm->vm_fd, KVM_GET_PIT2, &c->pit);
	if (ret < 0 && ret != -ENXIO)
		return vm_error(vm, ret, "KVM_GET_PIT2: %s", strerror(-ret));
	c->has_pit = ret == 0;
	return 0;
}

int arch_irqchip_save(struct vm *vm, struct state_buf *out)
{
	struct x86_irqchip c;
	int ret = get_irqchip(vm, &c);

	if (ret < 0)
		return ret;
	state_begin(out, IRQCHIP_KIND, IRQCHIP_VERSION);
	state_put_bool(out, c.has_chips);
	if (c.has_chips)
		state_put_bytes(out, c.chips, sizeof(c.chips));
	state_put_bool(out, c.has_pit);
	if (c.has_pit)
		state_put_bytes(out, &c.pit, sizeof(c.pit));
	ret = state_end(out);
	if (ret < 0)
		vm_error(vm, ret, "irqchip: saving state: %s", strerror(-ret));
	return ret;
}

int arch_irqchip_load(struct vm *vm, struct state_reader *in)
{
	struct x86_irqchip here, c = {0};
	struct state_reader rec;
	uint32_t version;
	const char *why = NULL;
	int ret;

	if (state_expect(in, IRQCHIP_KIND, &version, &rec) < 0)
		return vm_error(vm, -EINVAL, "irqchip: load: not an %s record", IRQCHIP_KIND);
	ret = get_irqchip(vm, &here);
	if (ret < 0)
		return ret;
	c.has_chips = state_get_bool(&rec);
	if (c.has_chips)
		state_get_bytes(&rec, c.chips, sizeof(c.chips));
	c.has_pit = state_get_bool(&rec);
	if (c.has_pit)
		state_get_bytes(&rec, &c.pit, sizeof(c.pit));
	if (version != IRQCHIP_VERSION)
		why = "unknown version";
	else if (state_finish(&rec) < 0)
		why = "cut short or too long";
	else if (c.has_chips != here.has_chips || c.has_pit != here.has_pit)
		why = "saved from a VM with another interrupt controller";
	for (unsigned i = 0; !why && c.has_chips && i < 3; i++)
		if (c.chips[i].chip_id != here.chips[i].chip_id)
			why = "chips out of order";
	if (why)
		return vm_error(vm, -EINVAL, "irqchip: load: bad %s record: %s", IRQCHIP_KIND, why);
	for (unsigned i = 0; ret >= 0 && c.has_chips && i < 3; i++)
		ret = vm_ioctl(vm, KVM_SET_IRQCHIP, &c.chips[i]);
	if (ret >= 0 && c.has_pit)
		ret = vm_ioctl(vm, KVM_SET_PIT2, &c.pit);
	return ret < 0 ? ret : 0;
}
