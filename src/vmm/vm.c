#include "vmm/vm.h"
#include "vmm/vm_snapshot.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arch.h"
#include "vmm/device.h"
#include "vmm/dirty_log.h"
#include "vmm/kvm.h"
#include "vmm/kvm_eventfd.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm_devices.h"
#include "vmm/vm_host.h"
#include "vmm/vm_inputs.h"
#include "vmm/vm_working_set.h"

static int record_error(struct vm *vm, bool input, int err, const char *fmt, va_list ap)
{
	/* The first error is the cause; later ones are consequences. */
	if (vm->error[0] == '\0') {
		vsnprintf(vm->error, sizeof(vm->error), fmt, ap);
		vm->error_is_input = input;
	}
	return err;
}

int vm_error(struct vm *vm, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record_error(vm, false, err, fmt, ap);
	va_end(ap);
	return err;
}

int vm_input_error(struct vm *vm, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record_error(vm, true, err, fmt, ap);
	va_end(ap);
	return err;
}

const char *vm_exit_reason_name(enum vm_exit_reason reason)
{
	switch (reason) {
	case VM_EXIT_NONE: return "running";
	case VM_EXIT_POWEROFF: return "poweroff";
	case VM_EXIT_EXPECT_SEEN: return "expected text seen";
	case VM_EXIT_RESET: return "reset";
	case VM_EXIT_CRASH: return "crash";
	case VM_EXIT_TIMEOUT: return "timeout";
	case VM_EXIT_KILLED: return "killed";
	case VM_EXIT_STOP_TIMEOUT: return "stop-timeout";
	case VM_EXIT_QUIT: return "quit";
	case VM_EXIT_ERROR: return "error";
	case VM_EXIT_SNAPSHOT: return "snapshot";
	}
	return "unknown";
}

int vm_add_device(struct vm *vm, struct device *dev)
{
	struct bus *bus = dev->space == BUS_PIO ? &vm->pio_bus : &vm->mmio_bus;
	int ret;

	if (vm->nr_devices == VM_MAX_DEVICES) {
		dev->ops->destroy(dev);
		return vm_error(vm, -ENOSPC, "%s: too many devices", dev->name);
	}
	ret = bus_register(bus, dev->base, dev->size, dev);
	if (ret < 0) {
		vm_error(vm, ret, "%s: cannot place at %s 0x%llx+0x%llx: %s", dev->name, bus->name,
			 (unsigned long long)dev->base, (unsigned long long)dev->size,
			 ret == -EEXIST ? "overlaps another device" : strerror(-ret));
		dev->ops->destroy(dev);
		return ret;
	}
	dev->host = &vm->host;
	vm->devices[vm->nr_devices++] = dev;
	return 0;
}

/* At most this many, after RAM's slots: one device uses one today. */
#define VM_MAX_DEVICE_MEMSLOTS 8

int vm_map_device_memory(struct vm *vm, uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region region = {
		.slot = GUEST_MEM_MAX_REGIONS + vm->nr_device_memslots,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};
	int ret;

	if (vm->nr_device_memslots == VM_MAX_DEVICE_MEMSLOTS)
		return -ENOSPC;
	if (size == 0 || ((gpa | size) & 0xfffULL) || ((uintptr_t)host & 0xfffULL))
		return -EINVAL;
	if (guest_mem_region_of(&vm->mem, gpa) || guest_mem_region_of(&vm->mem, gpa + size - 1))
		return -EEXIST;
	ret = kvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
	if (ret < 0)
		return ret;
	vm->nr_device_memslots++;
	return 0;
}

int vm_watch_fd(struct vm *vm, int fd, vm_fd_ready_fn ready, void *opaque)
{
	if (vm->nr_fd_watches == VM_MAX_FD_WATCHES)
		return vm_error(vm, -ENOSPC, "too many event sources");
	vm->fd_watches[vm->nr_fd_watches++] = (struct vm_fd_watch){
		.fd = fd,
		.ready = ready,
		.opaque = opaque,
	};
	return 0;
}

static int check_config(struct vm *vm, const struct vm_config *cfg)
{
	if (!cfg->kernel_path && !cfg->restore)
		return vm_input_error(vm, -EINVAL, "no kernel given");
	if (cfg->record_working_set_ms && !cfg->restore)
		return vm_input_error(vm, -EINVAL,
				      "--record-working-set: only with --restore (it records "
				      "what a restored guest touches, for its snapshot)");
	if (cfg->nr_cpus == 0 || cfg->nr_cpus > VM_MAX_CPUS)
		return vm_input_error(vm, -EINVAL, "--cpus %u: must be from 1 to %d", cfg->nr_cpus,
				      VM_MAX_CPUS);
	if (cfg->mem_size < VM_MIN_MEM)
		return vm_input_error(vm, -EINVAL, "--memory %lluK: kvmkit needs at least 16 MiB",
				      (unsigned long long)(cfg->mem_size >> 10));
	if (cfg->mem_size > arch_max_ram())
		return vm_input_error(vm, -EINVAL,
				      "--memory %lluM: above the %lluM this %s layout allows",
				      (unsigned long long)(cfg->mem_size >> 20),
				      (unsigned long long)(arch_max_ram() >> 20), arch_name());
	if (cfg->mem_size & 0xfff)
		return vm_input_error(vm, -EINVAL,
				      "--memory: %llu bytes is not a whole number of 4 KiB pages",
				      (unsigned long long)cfg->mem_size);
	return 0;
}

static int check_vcpu_limit(struct vm *vm)
{
	int max = kvm_cap(vm->kvm_fd, KVM_CAP_MAX_VCPUS);

	if (max <= 0)
		max = kvm_cap(vm->kvm_fd, KVM_CAP_NR_VCPUS);
	if (max > 0 && vm->cfg.nr_cpus > (unsigned)max)
		return vm_input_error(vm, -EINVAL, "--cpus %u: this host's KVM allows at most %d",
				      vm->cfg.nr_cpus, max);
	return 0;
}

static int create_kvm_vm(struct vm *vm)
{
	const struct kvm_cap_req *caps, *missing;
	unsigned long type = 0;
	char why[256];
	unsigned nr_caps;
	int ret;

	caps = arch_required_caps(&nr_caps);
	missing = kvm_missing_cap(vm->kvm_fd, caps, nr_caps);
	if (missing)
		return vm_error(vm, -ENOTSUP, "/dev/kvm lacks %s, which kvmkit needs on %s",
				missing->name, arch_name());
	ret = check_vcpu_limit(vm);
	if (ret < 0)
		return ret;
	ret = kvm_sys_ioctl(vm, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (ret < 0)
		return ret;
	if (ret < (int)sizeof(struct kvm_run))
		return vm_error(vm, -EIO, "KVM_GET_VCPU_MMAP_SIZE: %d bytes, too small", ret);
	vm->vcpu_mmap_size = (size_t)ret;
	ret = arch_vm_type(vm->kvm_fd, &type);
	if (ret < 0)
		return ret;
	ret = kvm_sys_ioctl(vm, KVM_CREATE_VM, (void *)(uintptr_t)type);
	if (ret < 0)
		return ret;
	vm->vm_fd = ret;
	/* The engine is chosen now: the dirty ring must be enabled before any
	 * memslot or vCPU exists. */
	ret = dirty_log_create(vm->kvm_fd, vm->vm_fd, vm->cfg.dirty_engine,
			       vm->cfg.dirty_ring_entries, vm->cfg.nr_cpus, &vm->dirty, why,
			       sizeof(why));
	if (ret < 0)
		return vm_error(vm, ret, "%s", why);
	return 0;
}

/* Maps each RAM region the architecture's layout asks for and registers it
 * with KVM, one memslot per region (slot i for region i). */
static int setup_ram(struct vm *vm)
{
	struct arch_ram_region ram[GUEST_MEM_MAX_REGIONS];
	char why[256];
	int nr, ret;

	if (vm->cfg.restore) {
		ret = vm_restore_ram(vm);
		if (ret < 0)
			return ret;
		nr = 0;
	} else {
		nr = arch_ram_regions(vm->cfg.mem_size, ram, GUEST_MEM_MAX_REGIONS);
	}
	if (nr < 0)
		return vm_error(vm, nr, "%llu MiB of guest RAM: no %s layout for it: %s",
				(unsigned long long)(vm->cfg.mem_size >> 20), arch_name(),
				strerror(-nr));
	for (int i = 0; i < nr; i++) {
		bool memfd = vm->cfg.memory_backend == MEMORY_BACKEND_MEMFD;

		ret = memfd ? guest_mem_alloc_memfd(&vm->mem, ram[i].gpa, ram[i].size)
			    : guest_mem_alloc(&vm->mem, ram[i].gpa, ram[i].size);
		if (ret < 0)
			return vm_error(vm, ret, "cannot map %llu MiB of guest RAM at 0x%llx%s: %s",
					(unsigned long long)(ram[i].size >> 20),
					(unsigned long long)ram[i].gpa, memfd ? " (memfd)" : "",
					strerror(-ret));
	}
	for (unsigned slot = 0; slot < vm->mem.nr_regions; slot++) {
		const struct guest_mem_region *r = &vm->mem.regions[slot];
		struct kvm_userspace_memory_region region = {
			.slot = slot,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};

		ret = vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);
		if (ret < 0)
			return ret;
	}
	ret = dirty_log_attach_mem(vm->dirty, &vm->mem, why, sizeof(why));
	return ret < 0 ? vm_error(vm, ret, "%s", why) : 0;
}

static int create_vcpus(struct vm *vm)
{
	char why[256];
	int ret;

	vm->vcpus = calloc(vm->cfg.nr_cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return vm_error(vm, -ENOMEM, "out of memory for vCPUs");
	for (unsigned i = 0; i < vm->cfg.nr_cpus; i++) {
		ret = vcpu_create(vm, i, &vm->vcpus[i]);
		if (ret < 0)
			return ret;
		vm->nr_vcpus++;
		ret = dirty_log_attach_vcpu(vm->dirty, i, vm->vcpus[i]->fd, why, sizeof(why));
		if (ret < 0)
			return vm_error(vm, ret, "%s", why);
		ret = arch_vcpu_setup(vm, vm->vcpus[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int vm_create(const struct vm_config *cfg, struct vm **out, char *err, size_t errlen,
	      bool *input_error)
{
	return vm_create_hooked(cfg, NULL, out, err, errlen, input_error);
}

/* The console saw --expect's text or a Linux panic: the run ends. */
static void on_console_event(void *opaque, enum console_event event)
{
	vm_request_exit(opaque, event == CONSOLE_EXPECT_SEEN ? VM_EXIT_EXPECT_SEEN : VM_EXIT_CRASH);
}

int vm_create_hooked(const struct vm_config *cfg, const struct vm_hooks *hooks, struct vm **out,
		     char *err, size_t errlen, bool *input_error)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	int ret;

	*out = NULL;
	*input_error = false;
	if (!vm) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	vm->cfg = *cfg;
	vm->hooks = hooks ? *hooks : (struct vm_hooks){.console_fd = -1};
	pthread_mutex_init(&vm->ctl_lock, NULL);
	pthread_cond_init(&vm->resume_cond, NULL);
	pthread_cond_init(&vm->parked_cond, NULL);
	pthread_mutex_init(&vm->transition_lock, NULL);
	vm->kvm_fd = -1;
	vm->vm_fd = -1;
	bus_init(&vm->mmio_bus, "mmio");
	bus_init(&vm->pio_bus, "pio");
	vm_host_init(vm);

	ret = check_config(vm, cfg);
	if (ret < 0)
		goto fail;
	/* The user's files before the host: a typo is not hidden behind a
	 * missing /dev/kvm. */
	ret = vm_check_inputs(vm);
	if (ret < 0)
		goto fail;
	ret = console_init(&vm->console, cfg->console_stdio, (size_t)cfg->console_buffer,
			   on_console_event, vm);
	if (ret < 0) {
		vm_error(vm, ret, "console: %s", strerror(-ret));
		goto fail;
	}
	if (cfg->expect) {
		ret = console_set_expect(&vm->console, cfg->expect);
		if (ret < 0) {
			vm_error(vm, ret, "--expect: %s", strerror(-ret));
			goto fail;
		}
	}
	ret = console_set_output(&vm->console, vm->hooks.console_output, vm->hooks.opaque,
				 vm->hooks.console_fd);
	if (ret < 0) {
		vm_error(vm, ret, "console: %s", strerror(-ret));
		goto fail;
	}
	ret = kvm_open(vm->error, sizeof(vm->error));
	if (ret < 0)
		goto fail;
	vm->kvm_fd = ret;
	ret = create_kvm_vm(vm);
	if (ret < 0)
		goto fail;
	ret = setup_ram(vm);
	if (ret < 0)
		goto fail;
	ret = arch_vm_setup(vm);
	if (ret < 0)
		goto fail;
	ret = vm_create_config_devices(vm);
	if (ret < 0)
		goto fail;
	ret = create_vcpus(vm);
	if (ret < 0)
		goto fail;
	ret = arch_vm_finalize(vm);
	if (ret < 0)
		goto fail;
	ret = vm_irqfds_activate(vm);
	if (ret < 0)
		goto fail;
	/* A restored guest is where its snapshot left it: nothing to load. */
	ret = cfg->restore ? vm_restore_machine(vm) : arch_load_guest(vm);
	if (ret < 0)
		goto fail;
	vm_working_set_prefetch(vm);
	ret = vm_lineage_init(vm);
	if (ret < 0)
		goto fail;
	if (cfg->console_log_path) {
		ret = console_open_log(&vm->console, cfg->console_log_path);
		if (ret < 0) {
			vm_input_error(vm, ret, "--console-log %s: %s", cfg->console_log_path,
				       strerror(-ret));
			goto fail;
		}
	}
	*out = vm;
	return 0;

fail:
	snprintf(err, errlen, "%s", vm->error[0] ? vm->error : strerror(-ret));
	*input_error = vm->error_is_input;
	vm_destroy(vm);
	return ret;
}

void vm_request_exit(struct vm *vm, enum vm_exit_reason reason)
{
	int none = VM_EXIT_NONE;

	if (atomic_compare_exchange_strong(&vm->exit_reason, &none, (int)reason))
		vm_loop_wake(vm);
}

static void stop_vcpus_begin(struct vm *vm)
{
	atomic_store(&vm->stopping, true);
	/* Parked vCPUs and a waiting vm_pause() see "stopping" and return. */
	pthread_mutex_lock(&vm->ctl_lock);
	pthread_cond_broadcast(&vm->resume_cond);
	pthread_cond_broadcast(&vm->parked_cond);
	pthread_mutex_unlock(&vm->ctl_lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(vm->vcpus[i]);
}

void vm_stop_vcpus(struct vm *vm)
{
	stop_vcpus_begin(vm);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(vm->vcpus[i]);
}

unsigned vm_stop_vcpus_within(struct vm *vm, unsigned ms)
{
	struct timespec deadline;
	unsigned left = 0;

	stop_vcpus_begin(vm);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vcpu_join_until(vm->vcpus[i], &deadline) < 0) {
			log_warn("vcpu%u did not stop within %u ms (held in a device, waiting on "
				 "host I/O?): the VM ends without it",
				 i, ms);
			left++;
		}
	}
	return left;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	if (vm->vcpus) {
		vm_stop_vcpus(vm);
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			vcpu_destroy(vm->vcpus[i]);
		free(vm->vcpus);
	}
	vm_lineage_free(vm);
	dirty_log_destroy(vm->dirty);
	for (unsigned i = 0; i < vm->nr_devices; i++)
		vm->devices[i]->ops->destroy(vm->devices[i]);
	arch_vm_teardown(vm);
	bus_destroy(&vm->mmio_bus);
	bus_destroy(&vm->pio_bus);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	guest_mem_release(&vm->mem);
	console_destroy(&vm->console);
	pthread_cond_destroy(&vm->parked_cond);
	pthread_mutex_destroy(&vm->transition_lock);
	pthread_cond_destroy(&vm->resume_cond);
	pthread_mutex_destroy(&vm->ctl_lock);
	free(vm);
}
