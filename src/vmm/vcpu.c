#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "vmm/device.h"
#include "vmm/dirty_log.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/thread.h"
#include "vmm/vm.h"

/* 0 until set: then SIGRTMIN + 1, which glibc's own threads do not use. */
static _Atomic int kick_signal;
static _Atomic bool kick_handler_installed;

int vcpu_kick_signal(void)
{
	int sig = atomic_load(&kick_signal);

	return sig ? sig : SIGRTMIN + 1;
}

int vcpu_set_kick_signal(int sig)
{
	bool realtime = sig >= SIGRTMIN && sig <= SIGRTMAX;

	if (!realtime && sig != SIGUSR1 && sig != SIGUSR2)
		return -EINVAL;
	if (atomic_load(&kick_handler_installed))
		return sig == vcpu_kick_signal() ? 0 : -EBUSY;
	atomic_store(&kick_signal, sig);
	return 0;
}

static void kick_handler(int sig) { (void)sig; }

int vcpu_install_kick_handler(void)
{
	struct sigaction sa = {.sa_handler = kick_handler};

	if (atomic_exchange(&kick_handler_installed, true))
		return 0;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN must return EINTR. */
	if (sigaction(vcpu_kick_signal(), &sa, NULL) < 0) {
		atomic_store(&kick_handler_installed, false);
		return -errno;
	}
	return 0;
}

int vcpu_create(struct vm *vm, unsigned index, struct vcpu **out)
{
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));

	if (!vcpu)
		return vm_error(vm, -ENOMEM, "vcpu%u: out of memory", index);
	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->log_limit = (struct ratelimit)RATELIMIT_GUEST;
	vcpu->fd = kvm_ioctl_checked(vm, vm->vm_fd, KVM_CREATE_VCPU, (void *)(uintptr_t)index,
				     "KVM_CREATE_VCPU", "vcpu%u", index);
	if (vcpu->fd < 0) {
		int err = vcpu->fd;

		free(vcpu);
		return err;
	}
	vcpu->run = mmap(NULL, vm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		int err = -errno;

		close(vcpu->fd);
		free(vcpu);
		return vm_error(vm, err, "vcpu%u: mmap of kvm_run: %s", index, strerror(-err));
	}
	*out = vcpu;
	return 0;
}

static void report_unhandled(struct vcpu *vcpu, const char *why, const char *bus, uint64_t addr,
			     unsigned len, bool is_write)
{
	vcpu->nr_unhandled++;
	log_limited(&vcpu->log_limit, LOG_WARN, "vcpu%u: %u-byte %s %s at 0x%llx: %s", vcpu->index,
		    len, bus, is_write ? "write" : "read", (unsigned long long)addr, why);
}

/* One access of @len bytes to @bus; reads fill @data (all ones when nothing
 * answers). Never fails: a bad access is reported and the guest goes on. */
static void bus_access(struct vcpu *vcpu, struct bus *bus, uint64_t addr, uint8_t *data,
		       unsigned len, bool is_write)
{
	const struct bus_range *range = bus_find(bus, addr, len);
	int ret;

	if (!range) {
		report_unhandled(vcpu, "no device there", bus->name, addr, len, is_write);
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	if (is_write)
		ret = device_write(range->dev, addr - range->base, data, len);
	else
		ret = device_read(range->dev, addr - range->base, data, len);
	if (ret < 0) {
		char why[64];

		snprintf(why, sizeof(why), "%s does not implement it", range->dev->name);
		report_unhandled(vcpu, why, bus->name, addr, len, is_write);
	}
}

static void handle_pio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* KVM bounds count * size by the page it shares with us. */
	for (uint32_t i = 0; i < run->io.count; i++) {
		bus_access(vcpu, &vcpu->vm->pio_bus, run->io.port, data, run->io.size, is_write);
		data += run->io.size;
	}
}

bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;

	atomic_fetch_add_explicit(&vcpu->nr_exits, 1, memory_order_relaxed);
	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		atomic_fetch_add_explicit(&vcpu->nr_mmio_exits, 1, memory_order_relaxed);
		if (run->mmio.len == 0 || run->mmio.len > sizeof(run->mmio.data)) {
			report_unhandled(vcpu, "malformed exit from KVM", "mmio",
					 run->mmio.phys_addr, run->mmio.len, run->mmio.is_write);
			return true;
		}
		bus_access(vcpu, &vm->mmio_bus, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
			   run->mmio.is_write);
		return true;
	case KVM_EXIT_IO:
		atomic_fetch_add_explicit(&vcpu->nr_pio_exits, 1, memory_order_relaxed);
		handle_pio(vcpu);
		return true;
	case KVM_EXIT_INTR: return true;
	case KVM_EXIT_DIRTY_RING_FULL: {
		char why[160];
		int ret = dirty_log_ring_full(vm->dirty, vcpu->index, why, sizeof(why));

		if (ret < 0) {
			vm_error(vm, ret, "vcpu%u: dirty ring full: %s", vcpu->index, why);
			vm_request_exit(vm, VM_EXIT_ERROR);
			return false;
		}
		return true;
	}
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			log_info("vcpu%u: guest powered off", vcpu->index);
			vm_request_exit(vm, VM_EXIT_POWEROFF);
			return false;
		case KVM_SYSTEM_EVENT_RESET:
			if (console_saw_panic(&vm->console)) {
				log_info("vcpu%u: guest reset after a kernel panic", vcpu->index);
				vm_request_exit(vm, VM_EXIT_CRASH);
				return false;
			}
			log_info("vcpu%u: guest asked for a reset", vcpu->index);
			vm_request_exit(vm, VM_EXIT_RESET);
			return false;
		case KVM_SYSTEM_EVENT_CRASH:
			log_info("vcpu%u: guest reported a crash", vcpu->index);
			vm_request_exit(vm, VM_EXIT_CRASH);
			return false;
		default:
			vm_error(vm, -EIO, "vcpu%u: unknown system event %u", vcpu->index,
				 run->system_event.type);
			vm_request_exit(vm, VM_EXIT_ERROR);
			return false;
		}
	case KVM_EXIT_FAIL_ENTRY:
		vm_error(vm, -EIO, "vcpu%u: KVM could not enter the guest (reason 0x%llx)",
			 vcpu->index,
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vm_request_exit(vm, VM_EXIT_ERROR);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vm_error(vm, -EIO, "vcpu%u: KVM internal error, suberror %u", vcpu->index,
			 run->internal.suberror);
		vm_request_exit(vm, VM_EXIT_ERROR);
		return false;
	default: return arch_handle_exit(vcpu) == VCPU_CONTINUE;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	struct timespec now;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", vcpu->index);
	pthread_setname_np(pthread_self(), name);
	/* bench/startup measures the time from exec to here, --stats the time
	 * from a restore's start (bench/snapshot). */
	clock_gettime(CLOCK_MONOTONIC, &now);
	atomic_store(&vcpu->first_run_ns,
		     (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec);
	if (vcpu->index == 0)
		log_debug("vcpu0: first KVM_RUN at %lld.%09ld (CLOCK_MONOTONIC)",
			  (long long)now.tv_sec, now.tv_nsec);
	while (!atomic_load(&vm->stopping)) {
		if (atomic_load(&vm->paused)) {
			vm_park_vcpu(vm);
			continue;
		}
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			int err = errno;

			if (err == EINTR || err == EAGAIN) {
				if (!atomic_load(&vm->stopping))
					vcpu->run->immediate_exit = 0;
				continue;
			}
			/* EFAULT: KVM could not resolve a guest access to memory (a
			 * mapping it cannot use, or a fault kind it does not know). */
			vm_error(vm, -err, "vcpu%u: KVM_RUN: %s%s", vcpu->index, strerror(err),
				 err == EFAULT ? " (the host's KVM could not handle a guest "
						 "memory fault; its kernel log says more)"
					       : "");
			vm_request_exit(vm, VM_EXIT_ERROR);
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	/* The last vCPU to stop on its own (all halted) ends the VM. */
	if (atomic_fetch_sub(&vm->nr_running_vcpus, 1) == 1)
		vm_request_exit(vm, VM_EXIT_POWEROFF);
	vm_vcpu_gone(vm);
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int ret;

	/* Only the kick signal reaches vCPU threads. */
	atomic_fetch_add(&vcpu->vm->nr_running_vcpus, 1);
	ret = vmm_thread_start(&vcpu->thread, vcpu_thread, vcpu, vcpu_kick_signal());
	if (ret != 0) {
		atomic_fetch_sub(&vcpu->vm->nr_running_vcpus, 1);
		return vm_error(vcpu->vm, -ret, "vcpu%u: cannot start thread: %s", vcpu->index,
				strerror(ret));
	}
	vcpu->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	vcpu->run->immediate_exit = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vcpu->thread_started)
		pthread_kill(vcpu->thread, vcpu_kick_signal());
}

void vcpu_join(struct vcpu *vcpu)
{
	if (!vcpu->thread_started)
		return;
	pthread_join(vcpu->thread, NULL);
	vcpu->thread_started = false;
}

int vcpu_join_until(struct vcpu *vcpu, const struct timespec *deadline)
{
	if (!vcpu->thread_started)
		return 0;
	if (pthread_timedjoin_np(vcpu->thread, NULL, deadline) != 0)
		return -ETIMEDOUT;
	vcpu->thread_started = false;
	return 0;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (!vcpu)
		return;
	vcpu_join(vcpu);
	if (vcpu->run && vcpu->run != MAP_FAILED)
		munmap(vcpu->run, vcpu->vm->vcpu_mmap_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	free(vcpu);
}
