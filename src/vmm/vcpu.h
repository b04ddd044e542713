/* A virtual CPU: its KVM fd, its shared kvm_run page and the thread that runs
 * it. The thread dispatches MMIO and port I/O exits to devices through the
 * buses and hands everything else to the architecture. */
#ifndef KVMKIT_VCPU_H
#define KVMKIT_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "vmm/ratelimit.h"

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	_Atomic uint64_t nr_exits;
	_Atomic uint64_t nr_mmio_exits;
	_Atomic uint64_t nr_pio_exits;
	uint64_t nr_unhandled;
	/* CLOCK_MONOTONIC ns at which the thread was about to enter KVM_RUN
	 * for the first time (0: not yet); --stats reports it. */
	_Atomic uint64_t first_run_ns;
	/* Accesses the guest got wrong are reported through this (vCPU thread
	 * only): a guest that repeats one in a loop cannot flood the log. */
	struct ratelimit log_limit;
};

/* Creates vCPU @index of @vm (KVM_CREATE_VCPU, mmap of kvm_run). */
int vcpu_create(struct vm *vm, unsigned index, struct vcpu **out);

/* Starts the vCPU's thread. The kick signal handler must be installed. */
int vcpu_start(struct vcpu *vcpu);

/* Makes KVM_RUN return to userspace soon: immediate_exit plus a signal. */
void vcpu_kick(struct vcpu *vcpu);

/* Waits for the thread to end (after vm->stopping was set and the vCPU kicked). */
void vcpu_join(struct vcpu *vcpu);
/* The same until @deadline (CLOCK_REALTIME): 0 once joined (or never
 * started), -ETIMEDOUT while the thread is still running. */
int vcpu_join_until(struct vcpu *vcpu, const struct timespec *deadline);

void vcpu_destroy(struct vcpu *vcpu);

/* The signal used to kick vCPU threads out of KVM_RUN (SIGRTMIN + 1 unless
 * vcpu_set_kick_signal() chose another). vcpu_install_kick_handler() installs
 * an empty handler without SA_RESTART once per process. */
int vcpu_kick_signal(void);
/* A real-time signal, SIGUSR1 or SIGUSR2 (-EINVAL otherwise); -EBUSY once the
 * handler of another signal is installed. */
int vcpu_set_kick_signal(int sig);
int vcpu_install_kick_handler(void);

/* Handles one exit; exposed for the benchmark's bare loop comparison. */
bool vcpu_handle_exit(struct vcpu *vcpu);

#endif
