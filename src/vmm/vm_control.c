/* Pause, resume, stop and kill of a started VM. Pausing sets a flag and kicks
 * every vCPU out of KVM_RUN; each parks on a condition variable until resumed,
 * so a paused guest costs no CPU and nothing polls. */
#include <errno.h>
#include <pthread.h>

#include "vmm/vcpu.h"
#include "vmm/vm.h"

static void notify(struct vm *vm, enum vm_run_state state, enum vm_exit_reason reason)
{
	if (vm->hooks.state_changed)
		vm->hooks.state_changed(vm->hooks.opaque, state, reason);
}

static bool ending(struct vm *vm)
{
	return vm->run_state == VM_STATE_ENDED || atomic_load(&vm->exit_reason) != VM_EXIT_NONE;
}

/* A vCPU thread waiting for all vCPUs to park would wait for itself. */
static bool on_vcpu_thread(struct vm *vm)
{
	pthread_t self = pthread_self();

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i]->thread_started && pthread_equal(self, vm->vcpus[i]->thread))
			return true;
	}
	return false;
}

const char *vm_control_strerror(int err)
{
	switch (err) {
	case -ESRCH: return "the VM is not running";
	case -EBUSY: return "the VM is stopping";
	case -EDEADLK: return "called from one of the VM's own vCPU threads";
	case -EAGAIN: return "the VM was resumed before every vCPU had stopped";
	}
	return "the request failed";
}

int vm_pause(struct vm *vm)
{
	bool changed = false;
	int ret = 0;

	if (on_vcpu_thread(vm))
		return -EDEADLK;
	pthread_mutex_lock(&vm->ctl_lock);
	if (ending(vm))
		ret = -ESRCH;
	else if (vm->run_state == VM_STATE_STOPPING)
		ret = -EBUSY;
	if (ret == 0 && !atomic_load(&vm->paused)) {
		atomic_store(&vm->paused, true);
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			vcpu_kick(vm->vcpus[i]);
	}
	/* A second caller waits too: pause means "returned once parked". */
	while (ret == 0 && vm->nr_parked < atomic_load(&vm->nr_running_vcpus)) {
		if (!atomic_load(&vm->paused))
			ret = vm->run_state == VM_STATE_STOPPING ? -EBUSY : -EAGAIN;
		else if (atomic_load(&vm->stopping) || ending(vm))
			ret = -ESRCH;
		else
			pthread_cond_wait(&vm->parked_cond, &vm->ctl_lock);
	}
	if (ret == 0 && ending(vm))
		ret = -ESRCH;
	if (ret == 0 && vm->run_state != VM_STATE_PAUSED) {
		vm->run_state = VM_STATE_PAUSED;
		changed = true;
	}
	pthread_mutex_unlock(&vm->ctl_lock);
	if (changed)
		notify(vm, VM_STATE_PAUSED, VM_EXIT_NONE);
	return ret;
}

int vm_resume(struct vm *vm)
{
	bool changed = false;
	int ret = 0;

	pthread_mutex_lock(&vm->ctl_lock);
	if (ending(vm)) {
		ret = -ESRCH;
	} else if (atomic_load(&vm->paused)) {
		atomic_store(&vm->paused, false);
		pthread_cond_broadcast(&vm->resume_cond);
		if (vm->run_state == VM_STATE_PAUSED) {
			vm->run_state = VM_STATE_RUNNING;
			changed = true;
		}
	}
	pthread_mutex_unlock(&vm->ctl_lock);
	if (changed)
		notify(vm, VM_STATE_RUNNING, VM_EXIT_NONE);
	return ret;
}

int vm_stop(struct vm *vm)
{
	pthread_mutex_lock(&vm->ctl_lock);
	/* A second stop is a no-op until the VM has ended, also while the first
	 * one is already ending it (a hard stop where there is no power button). */
	if (vm->run_state != VM_STATE_ENDED && atomic_load(&vm->stop_requested)) {
		pthread_mutex_unlock(&vm->ctl_lock);
		return 0;
	}
	if (ending(vm)) {
		pthread_mutex_unlock(&vm->ctl_lock);
		return -ESRCH;
	}
	atomic_store(&vm->stop_requested, true);
	/* The guest can only shut down if it runs. */
	atomic_store(&vm->paused, false);
	pthread_cond_broadcast(&vm->resume_cond);
	vm->run_state = VM_STATE_STOPPING;
	pthread_mutex_unlock(&vm->ctl_lock);
	notify(vm, VM_STATE_STOPPING, VM_EXIT_NONE);
	/* The loop presses the button and owns the timers. */
	vm_loop_wake(vm);
	return 0;
}

int vm_kill(struct vm *vm)
{
	bool ended;

	pthread_mutex_lock(&vm->ctl_lock);
	ended = vm->run_state == VM_STATE_ENDED;
	pthread_mutex_unlock(&vm->ctl_lock);
	if (ended)
		return -ESRCH;
	vm_request_exit(vm, VM_EXIT_KILLED);
	return 0;
}

enum vm_run_state vm_run_state(struct vm *vm)
{
	enum vm_run_state state;

	pthread_mutex_lock(&vm->ctl_lock);
	state = vm->run_state;
	pthread_mutex_unlock(&vm->ctl_lock);
	return state;
}

const char *vm_run_state_name(enum vm_run_state state)
{
	switch (state) {
	case VM_STATE_RUNNING: return "running";
	case VM_STATE_PAUSED: return "paused";
	case VM_STATE_STOPPING: return "stopping";
	case VM_STATE_ENDED: return "ended";
	}
	return "unknown";
}

void vm_park_vcpu(struct vm *vm)
{
	pthread_mutex_lock(&vm->ctl_lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->parked_cond);
	while (atomic_load(&vm->paused) && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->resume_cond, &vm->ctl_lock);
	vm->nr_parked--;
	pthread_mutex_unlock(&vm->ctl_lock);
}

void vm_vcpu_gone(struct vm *vm)
{
	pthread_mutex_lock(&vm->ctl_lock);
	pthread_cond_broadcast(&vm->parked_cond);
	pthread_mutex_unlock(&vm->ctl_lock);
}

void vm_set_ended(struct vm *vm)
{
	enum vm_exit_reason reason = (enum vm_exit_reason)atomic_load(&vm->exit_reason);

	pthread_mutex_lock(&vm->ctl_lock);
	vm->run_state = VM_STATE_ENDED;
	atomic_store(&vm->paused, false);
	pthread_mutex_unlock(&vm->ctl_lock);
	notify(vm, VM_STATE_ENDED, reason);
}
