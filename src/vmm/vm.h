/* A virtual machine: KVM handles, guest memory, buses, devices, vCPUs and the
 * main event loop. Lifecycle: vm_create() -> vm_run() -> vm_destroy().
 * Functions return 0 or a negative errno; the message for the first error is
 * kept in the VM (vm_error()). */
#ifndef KVMKIT_VM_H
#define KVMKIT_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/config.h"
#include "vmm/console.h"
#include "vmm/guest_mem.h"

struct vcpu;
struct device;

enum vm_exit_reason {
	VM_EXIT_NONE = 0,
	VM_EXIT_POWEROFF,
	VM_EXIT_EXPECT_SEEN,
	VM_EXIT_RESET,
	VM_EXIT_CRASH,
	VM_EXIT_TIMEOUT,
	VM_EXIT_SIGNAL,
	VM_EXIT_QUIT,  /* Ctrl-A x */
	VM_EXIT_ERROR,
};

#define VM_MAX_DEVICES 32
#define VM_MAX_FD_WATCHES 64

/* Called on the main loop when a watched fd is readable. */
typedef void (*vm_fd_ready_fn)(void *opaque);

struct vm_fd_watch {
	int fd;
	vm_fd_ready_fn ready;
	void *opaque;
};

struct vm {
	struct vm_config cfg;
	int kvm_fd;
	int vm_fd;
	size_t vcpu_mmap_size;
	struct guest_mem mem;
	struct bus mmio_bus;
	struct bus pio_bus;
	struct device *devices[VM_MAX_DEVICES];
	unsigned nr_devices;
	struct vm_fd_watch fd_watches[VM_MAX_FD_WATCHES];
	unsigned nr_fd_watches;
	/* irqfds wait for the interrupt controller to be finalized. */
	struct { unsigned irq; int fd; } irqfds[VM_MAX_DEVICES];
	unsigned nr_irqfds;
	bool irqfds_live;
	struct vcpu **vcpus;
	unsigned nr_vcpus;
	struct console console;
	void *arch; /* owned by src/arch */

	_Atomic int exit_reason; /* enum vm_exit_reason; first one set wins */
	int exit_signal;         /* for VM_EXIT_SIGNAL */
	_Atomic bool stopping;
	_Atomic unsigned nr_running_vcpus;
	void *loop_state;        /* owned by vm_loop.c */

	bool error_is_input;     /* the first error was bad input, not a failure */
	char error[512];
};

/* Builds the whole VM from @cfg: checks /dev/kvm, maps RAM, creates devices and
 * vCPUs and loads the guest. On failure returns a negative errno, frees
 * everything and leaves the message in @err. */
int vm_create(const struct vm_config *cfg, struct vm **out, char *err, size_t errlen,
	      bool *input_error);

/* Runs the guest until it powers off, resets, crashes, times out, is stopped or
 * fails. Returns the reason. Call once. */
enum vm_exit_reason vm_run(struct vm *vm);

/* Asks the VM to end with @reason (the first request wins); safe from any
 * thread, including vCPU threads. */
void vm_request_exit(struct vm *vm, enum vm_exit_reason reason);

/* Stops every vCPU, frees every resource. Safe on a partially built VM. */
void vm_destroy(struct vm *vm);

/* Registers a device on its bus and takes ownership of it (destroyed with the
 * VM), also on failure. Devices are added before vm_run(), which seals the buses. */
int vm_add_device(struct vm *vm, struct device *dev);

/* Asks the main loop to call @ready whenever @fd is readable, from vm_run()
 * on. Devices use it for timers (timerfd) and event fds, so that their work
 * runs on the loop and never on a vCPU thread. The caller keeps owning @fd.
 * Call before vm_run(); -ENOSPC when the table is full. */
int vm_watch_fd(struct vm *vm, int fd, vm_fd_ready_fn ready, void *opaque);

/* Records an error message (the first one wins) and returns @err. */
int vm_error(struct vm *vm, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same, for errors caused by the user's input (files, sizes). */
int vm_input_error(struct vm *vm, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

const char *vm_exit_reason_name(enum vm_exit_reason reason);

/* Internal to src/vmm: wakes the main loop (vm_loop.c); sets vm->stopping,
 * kicks and joins every vCPU thread. */
void vm_loop_wake(struct vm *vm);
void vm_stop_vcpus(struct vm *vm);

/* Writes counters, peak memory and the VMM's own overhead to @fd. */
void vm_print_stats(struct vm *vm, int fd);

#endif
