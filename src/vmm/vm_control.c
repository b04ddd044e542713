/* Pause, resume, stop and kill of a started VM. Pausing sets a flag and kicks
 * every vCPU out of KVM_RUN; each parks on a condition variable until resumed,
 * so a paused guest costs no CPU and nothing polls. Once every vCPU is parked
 * the devices are quiesced (vm_pause_settle(), on the loop or in vm_pause())
 * and only then is the VM paused: its memory no longer changes. */
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
	case -EINPROGRESS: return "a snapshot is being written; the VM stays paused until it is";
	}
	return "the request failed";
}

/* Under ctl_lock: every running vCPU waits outside KVM_RUN. */
static bool all_parked(struct vm *vm)
{
	return vm->nr_parked >= atomic_load(&vm->nr_running_vcpus);
}

int vm_pause_begin(struct vm *vm)
{
	int ret = 0;

	if (on_vcpu_thread(vm))
		return -EDEADLK;
	pthread_mutex_lock(&vm->ctl_lock);
	if (ending(vm))
		ret = -ESRCH;
	else if (vm->run_state == VM_STATE_STOPPING)
		ret = -EBUSY;
	else if (vm->run_state == VM_STATE_PAUSED) {
		ret = 1;
		if (vm->snapshot_held)
			vm->pause_after_snapshot = true;
	} else if (!atomic_load(&vm->paused)) {
		atomic_store(&vm->paused, true);
		vm->pause_pending = true;
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			vcpu_kick(vm->vcpus[i]);
	}
	pthread_mutex_unlock(&vm->ctl_lock);
	/* The loop settles the pause (and a caller waiting there hears of it)
	 * even when no vCPU is left to park. */
	if (ret == 0)
		vm_loop_wake(vm);
	return ret;
}

void vm_pause_settle(struct vm *vm)
{
	bool go, changed = false;

	pthread_mutex_lock(&vm->transition_lock);
	pthread_mutex_lock(&vm->ctl_lock);
	go = vm->pause_pending && atomic_load(&vm->paused) && all_parked(vm) && !ending(vm) &&
	     !atomic_load(&vm->stopping);
	if (go)
		vm->pause_pending = false;
	pthread_mutex_unlock(&vm->ctl_lock);
	if (go) {
		/* vCPUs are parked; now the devices' own threads and timers. */
		vm_quiesce_devices(vm);
		pthread_mutex_lock(&vm->ctl_lock);
		vm->devices_quiesced = true;
		if (!ending(vm) && vm->run_state == VM_STATE_RUNNING) {
			vm->run_state = VM_STATE_PAUSED;
			changed = true;
		}
		pthread_cond_broadcast(&vm->parked_cond);
		pthread_mutex_unlock(&vm->ctl_lock);
	}
	pthread_mutex_unlock(&vm->transition_lock);
	if (changed)
		notify(vm, VM_STATE_PAUSED, VM_EXIT_NONE);
}

/* Under ctl_lock. */
static int pause_result(struct vm *vm)
{
	if (vm->run_state == VM_STATE_PAUSED && !ending(vm))
		return 0;
	if (ending(vm) || atomic_load(&vm->stopping))
		return -ESRCH;
	if (vm->run_state == VM_STATE_STOPPING)
		return -EBUSY;
	if (!atomic_load(&vm->paused))
		return -EAGAIN;
	return -EINPROGRESS;
}

int vm_pause_poll(struct vm *vm)
{
	int ret;

	pthread_mutex_lock(&vm->ctl_lock);
	ret = pause_result(vm);
	pthread_mutex_unlock(&vm->ctl_lock);
	return ret;
}

int vm_pause(struct vm *vm)
{
	int ret = vm_pause_begin(vm);

	if (ret == 1)
		return 0;
	if (ret < 0)
		return ret;
	/* A second caller waits too: pause means "returned once quiesced".
	 * Whoever sees every vCPU parked first settles it, this thread or the
	 * loop, so this works on the loop thread as well. */
	for (;;) {
		vm_pause_settle(vm);
		pthread_mutex_lock(&vm->ctl_lock);
		ret = pause_result(vm);
		if (ret == -EINPROGRESS && !(vm->pause_pending && all_parked(vm)))
			pthread_cond_wait(&vm->parked_cond, &vm->ctl_lock);
		pthread_mutex_unlock(&vm->ctl_lock);
		if (ret != -EINPROGRESS)
			return ret;
	}
}

/* Under transition_lock and ctl_lock: the guest may run again. Returns
 * whether the devices must be unquiesced (without ctl_lock, before the
 * vCPUs are released). */
static bool unpause_locked(struct vm *vm)
{
	bool unquiesce = vm->devices_quiesced;

	atomic_store(&vm->paused, false);
	vm->pause_pending = false;
	vm->devices_quiesced = false;
	return unquiesce;
}

static void release_vcpus(struct vm *vm, bool unquiesce)
{
	if (unquiesce)
		vm_unquiesce_devices(vm);
	pthread_mutex_lock(&vm->ctl_lock);
	pthread_cond_broadcast(&vm->resume_cond);
	/* A vm_pause() still waiting learns it was overtaken. */
	pthread_cond_broadcast(&vm->parked_cond);
	pthread_mutex_unlock(&vm->ctl_lock);
}

int vm_resume(struct vm *vm)
{
	bool changed = false, was_paused = false, unquiesce = false;
	int ret = 0;

	pthread_mutex_lock(&vm->transition_lock);
	pthread_mutex_lock(&vm->ctl_lock);
	if (ending(vm)) {
		ret = -ESRCH;
	} else if (vm->snapshot_held) {
		ret = -EINPROGRESS;
	} else if (atomic_load(&vm->paused)) {
		was_paused = true;
		unquiesce = unpause_locked(vm);
		if (vm->run_state == VM_STATE_PAUSED) {
			vm->run_state = VM_STATE_RUNNING;
			changed = true;
		}
	}
	pthread_mutex_unlock(&vm->ctl_lock);
	if (was_paused)
		release_vcpus(vm, unquiesce);
	pthread_mutex_unlock(&vm->transition_lock);
	if (changed)
		notify(vm, VM_STATE_RUNNING, VM_EXIT_NONE);
	if (was_paused)
		vm_loop_wake(vm);
	return ret;
}

int vm_stop(struct vm *vm)
{
	bool unquiesce;

	pthread_mutex_lock(&vm->transition_lock);
	pthread_mutex_lock(&vm->ctl_lock);
	/* A second stop is a no-op until the VM has ended, also while the first
	 * one is already ending it (a hard stop where there is no power button). */
	if (vm->run_state != VM_STATE_ENDED && atomic_load(&vm->stop_requested)) {
		pthread_mutex_unlock(&vm->ctl_lock);
		pthread_mutex_unlock(&vm->transition_lock);
		return 0;
	}
	if (ending(vm)) {
		pthread_mutex_unlock(&vm->ctl_lock);
		pthread_mutex_unlock(&vm->transition_lock);
		return -ESRCH;
	}
	/* The guest must not run while its memory is written: the release
	 * carries the stop out. */
	if (vm->snapshot_held) {
		vm->stop_after_snapshot = true;
		pthread_mutex_unlock(&vm->ctl_lock);
		pthread_mutex_unlock(&vm->transition_lock);
		return 0;
	}
	atomic_store(&vm->stop_requested, true);
	/* The guest can only shut down if it runs. */
	unquiesce = unpause_locked(vm);
	vm->run_state = VM_STATE_STOPPING;
	pthread_mutex_unlock(&vm->ctl_lock);
	release_vcpus(vm, unquiesce);
	pthread_mutex_unlock(&vm->transition_lock);
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
	bool last;

	pthread_mutex_lock(&vm->ctl_lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->parked_cond);
	last = vm->pause_pending && all_parked(vm);
	pthread_mutex_unlock(&vm->ctl_lock);
	/* The loop quiesces the devices and completes the pause. */
	if (last)
		vm_loop_wake(vm);
	pthread_mutex_lock(&vm->ctl_lock);
	while (atomic_load(&vm->paused) && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->resume_cond, &vm->ctl_lock);
	vm->nr_parked--;
	pthread_mutex_unlock(&vm->ctl_lock);
}

void vm_vcpu_gone(struct vm *vm)
{
	bool pending;

	pthread_mutex_lock(&vm->ctl_lock);
	pthread_cond_broadcast(&vm->parked_cond);
	pending = vm->pause_pending;
	pthread_mutex_unlock(&vm->ctl_lock);
	if (pending)
		vm_loop_wake(vm);
}

int vm_snapshot_hold(struct vm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->ctl_lock);
	if (vm->snapshot_held)
		ret = -EBUSY;
	else if (vm->loop_state && vm->run_state != VM_STATE_PAUSED &&
		 vm->run_state != VM_STATE_ENDED)
		ret = -EAGAIN;
	else
		vm->snapshot_held = true;
	pthread_mutex_unlock(&vm->ctl_lock);
	return ret;
}

unsigned vm_snapshot_release(struct vm *vm)
{
	unsigned asked = 0;

	pthread_mutex_lock(&vm->ctl_lock);
	if (vm->stop_after_snapshot)
		asked |= VM_HELD_STOP;
	if (vm->pause_after_snapshot)
		asked |= VM_HELD_PAUSE;
	vm->snapshot_held = vm->stop_after_snapshot = vm->pause_after_snapshot = false;
	pthread_mutex_unlock(&vm->ctl_lock);
	return asked;
}

bool vm_snapshot_is_held(struct vm *vm)
{
	bool held;

	pthread_mutex_lock(&vm->ctl_lock);
	held = vm->snapshot_held;
	pthread_mutex_unlock(&vm->ctl_lock);
	return held;
}

void vm_set_ended(struct vm *vm)
{
	enum vm_exit_reason reason = (enum vm_exit_reason)atomic_load(&vm->exit_reason);

	pthread_mutex_lock(&vm->ctl_lock);
	vm->run_state = VM_STATE_ENDED;
	atomic_store(&vm->paused, false);
	vm->pause_pending = false;
	pthread_mutex_unlock(&vm->ctl_lock);
	notify(vm, VM_STATE_ENDED, reason);
}
