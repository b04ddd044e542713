/* A virtual machine: KVM handles, guest memory, buses, devices, vCPUs and the
 * main event loop. Lifecycle: vm_create() -> vm_run() -> vm_destroy(), or
 * vm_start() and vm_run_loop() (on another thread) in place of vm_run().
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
#include "vmm/device_host.h"
#include "vmm/guest_mem.h"

struct vm;
struct vcpu;
struct device;
struct uv_loop_s;

enum vm_exit_reason {
	VM_EXIT_NONE = 0,
	VM_EXIT_POWEROFF,
	VM_EXIT_EXPECT_SEEN,
	VM_EXIT_RESET,
	VM_EXIT_CRASH,
	VM_EXIT_TIMEOUT,
	VM_EXIT_KILLED,       /* vm_kill(), or vm_stop() with no power button */
	VM_EXIT_STOP_TIMEOUT, /* the guest ignored the power button for the grace time */
	VM_EXIT_QUIT,         /* Ctrl-A x */
	VM_EXIT_ERROR,
	VM_EXIT_SNAPSHOT, /* a snapshot was written and the VM asked to end after it */
};

/* Where a started VM is (vm_control.c). */
enum vm_run_state { VM_STATE_RUNNING, VM_STATE_PAUSED, VM_STATE_STOPPING, VM_STATE_ENDED };

/* What an embedder (src/vmm/api_*.c) hears from a VM. Every member is optional. */
struct vm_hooks {
	void *opaque;
	/* Guest console output, on a vCPU thread, in order. */
	void (*console_output)(void *opaque, const char *buf, size_t len);
	int console_fd; /* also written there; -1 when none (not owned) */
	/* The run state changed; for VM_STATE_ENDED @reason says why. Called on
	 * the thread that changed it, with no VM lock held. */
	void (*state_changed)(void *opaque, enum vm_run_state state, enum vm_exit_reason reason);
	/* The embedder's own services on the VM's event loop (the API layer's
	 * control socket): loop_opened once the loop exists, in vm_start() (a
	 * negative errno fails the start; the message goes into the VM);
	 * loop_closing before the loop's last run, to close its handles. */
	int (*loop_opened)(void *opaque, struct vm *vm, struct uv_loop_s *loop);
	void (*loop_closing)(void *opaque);
	/* The loop was woken (a pause settled, the VM resumed, ...), on it. */
	void (*loop_woken)(void *opaque);
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

struct vm_lineage;

/* What a restore's prefetch of its working set did (vm_working_set.c), for
 * --stats. */
struct vm_working_set_stats {
	uint64_t touched;    /* pages the working set names */
	uint64_t written;    /* of which written: copied now, as the guest's writes would */
	uint64_t prefaulted; /* mapped into the guest's stage 2 (KVM_PRE_FAULT_MEMORY) */
	uint64_t us;         /* the prefetch's time */
	bool used;
};

struct vm {
	struct vm_config cfg;
	int kvm_fd;
	int vm_fd;
	size_t vcpu_mmap_size;
	struct guest_mem mem;
	/* Devices' own memory shown to the guest (vm_map_device_memory()):
	 * memslots after those of RAM, not RAM (no dirty log, no snapshot). */
	unsigned nr_device_memslots;
	struct dirty_log *dirty;                 /* dirty-page tracking (vm_dirty.c) */
	struct vm_working_set_stats working_set; /* a restore's prefetch (vm_working_set.c) */
	/* With --diff-snapshots: what the next diff lies over (vm_snapshot.c). */
	struct vm_lineage *lineage;
	struct bus mmio_bus;
	struct bus pio_bus;
	struct device *devices[VM_MAX_DEVICES];
	unsigned nr_devices;
	struct vm_fd_watch fd_watches[VM_MAX_FD_WATCHES];
	unsigned nr_fd_watches;
	/* irqfds wait for the interrupt controller to be finalized. */
	struct {
		unsigned irq;
		int fd;
	} irqfds[VM_MAX_DEVICES];
	unsigned nr_irqfds;
	bool irqfds_live;
	struct vcpu **vcpus;
	unsigned nr_vcpus;
	struct console console;
	struct device_host host; /* what the devices see of this VM (vm_host.c) */
	void *arch;              /* owned by src/arch */

	_Atomic int exit_reason; /* enum vm_exit_reason; first one set wins */
	_Atomic bool stopping;
	_Atomic unsigned nr_running_vcpus;
	void *loop_state; /* owned by vm_loop.c */

	struct vm_hooks hooks;
	/* The settings that build this machine, as JSON (the API layer's,
	 * borrowed): what a snapshot records to build it again. */
	const char *machine_settings;
	/* Pause, resume and stop (vm_control.c): ctl_lock guards run_state and
	 * nr_parked; parked vCPUs wait on resume_cond, vm_pause() on parked_cond. */
	pthread_mutex_t ctl_lock;
	pthread_cond_t resume_cond;
	pthread_cond_t parked_cond;
	enum vm_run_state run_state;
	unsigned nr_parked;
	bool pause_pending;    /* paused set, devices not yet quiesced */
	bool devices_quiesced; /* by the pause that completed, or loaded so by a restore */
	/* Serialises quiescing and unquiescing the devices (pause completion
	 * against resume and stop); taken before ctl_lock. */
	pthread_mutex_t transition_lock;
	_Atomic bool paused;
	_Atomic bool stop_requested;
	/* A snapshot is being written (vm_snapshot_hold()): the VM stays
	 * paused until it is; what was asked meanwhile waits for the end. */
	bool snapshot_held;
	bool stop_after_snapshot;  /* a stop came: carried out after the write */
	bool pause_after_snapshot; /* a pause came: the VM stays paused after it */

	bool error_is_input; /* the first error was bad input, not a failure */
	char error[512];
};

/* Builds the whole VM from @cfg: checks /dev/kvm, maps RAM, creates devices and
 * vCPUs and loads the guest. On failure returns a negative errno, frees
 * everything and leaves the message in @err. */
int vm_create(const struct vm_config *cfg, struct vm **out, char *err, size_t errlen,
	      bool *input_error);
/* The same, with an embedder's hooks (copied; NULL for none). */
int vm_create_hooked(const struct vm_config *cfg, const struct vm_hooks *hooks, struct vm **out,
		     char *err, size_t errlen, bool *input_error);

/* Runs the guest until it powers off, resets, crashes, times out, is stopped or
 * fails. Returns the reason. Call once. Equivalent to vm_start() followed by
 * vm_run_loop() on the same thread. */
enum vm_exit_reason vm_run(struct vm *vm);

/* Opens the event loop (and the control socket), seals the buses and starts
 * every vCPU thread (a restored VM's devices first, unless it starts
 * paused). On failure the VM has an exit reason and vm_run_loop()
 * still has to be called to close what was opened. */
int vm_start(struct vm *vm);
/* Runs the event loop until the VM has an exit reason, stops the vCPUs, moves
 * to VM_STATE_ENDED, closes the loop. Returns the reason. Any one thread may
 * run it, once, after vm_start(). */
enum vm_exit_reason vm_run_loop(struct vm *vm);

/* Control of a started VM, from any thread (vm_control.c). All return 0 or a
 * negative errno with a message in the VM:
 * vm_pause() returns once every vCPU is parked outside KVM_RUN and every
 * device is quiesced, so the guest's memory no longer changes (-ESRCH when
 * the VM is ending, -EBUSY while it stops, -EDEADLK from a vCPU thread);
 * vm_resume() lets them run again; both are no-ops when already there.
 * vm_stop() presses the power button (resuming a paused guest) and arms the
 * grace timer (cfg.stop_timeout_sec) after which the VM ends with
 * VM_EXIT_STOP_TIMEOUT; where there is no power button (or the grace time is
 * 0) it ends the VM at once with VM_EXIT_KILLED. vm_kill() ends it at once. */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
/* Pausing without waiting, for the loop thread (the control socket):
 * vm_pause_begin() returns 0 once the request is made, 1 when already
 * paused, or vm_pause()'s errors; the pause completes on the loop (after
 * every vCPU parked, vm_pause_settle() quiesces the devices), which then
 * runs hooks.loop_woken; vm_pause_poll() says 0 (paused), -EINPROGRESS, or
 * the error vm_pause() would have returned. */
int vm_pause_begin(struct vm *vm);
int vm_pause_poll(struct vm *vm);
void vm_pause_settle(struct vm *vm);
int vm_stop(struct vm *vm);
int vm_kill(struct vm *vm);
enum vm_run_state vm_run_state(struct vm *vm);
const char *vm_run_state_name(enum vm_run_state state);

/* Asks the VM to end with @reason (the first request wins); safe from any
 * thread, including vCPU threads. */
void vm_request_exit(struct vm *vm, enum vm_exit_reason reason);

/* Stops every vCPU, frees every resource. Safe on a partially built VM. */
void vm_destroy(struct vm *vm);

/* Registers a device on its bus and takes ownership of it (destroyed with the
 * VM), also on failure. Devices are added before vm_run(), which seals the buses. */
int vm_add_device(struct vm *vm, struct device *dev);

/* Registers @host, @size bytes, as guest memory at @gpa in a memslot of its
 * own, numbered after RAM's (host_map_memory() for devices, which report
 * the error): -EINVAL unaligned, -EEXIST over RAM, -ENOSPC, or KVM's errno. */
int vm_map_device_memory(struct vm *vm, uint64_t gpa, uint64_t size, void *host);

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
/* How long the loop waits for the vCPUs once the VM has an exit reason. A
 * vCPU is outside KVM_RUN within microseconds of its kick, unless a device
 * holds it (a virtio-blk reset waits for the request in flight, which may
 * wait on an image that does not answer): then the VM ends without it, so
 * a kill always ends the VM; vm_destroy() still waits for the thread. */
#define VM_VCPU_STOP_WAIT_MS 2000
/* vm_stop_vcpus() with the joins bounded by @ms in all: returns how many
 * vCPU threads still run (each reported), which vm_destroy() joins. */
unsigned vm_stop_vcpus_within(struct vm *vm, unsigned ms);
/* vm_control.c, for the vCPU threads: wait while the VM is paused; a vCPU
 * thread is ending. */
void vm_park_vcpu(struct vm *vm);
void vm_vcpu_gone(struct vm *vm);
/* vm_control.c, for the loop: the VM ended (vCPUs stopped). */
void vm_set_ended(struct vm *vm);
/* vm_control.c: a message for an errno vm_pause() and friends returned. */
const char *vm_control_strerror(int err);
/* vm_control.c, for a snapshot write (vm_snapshot.c): holds a paused (or
 * not started, or ended) VM as it is until vm_snapshot_release().
 * Meanwhile vm_resume() is refused with -EINPROGRESS, vm_stop() is
 * accepted and left to the release, vm_pause() succeeds and keeps the VM
 * paused after it. -EBUSY: another snapshot holds it; -EAGAIN: the VM runs
 * (it was resumed before the hold). The release returns what was asked
 * meanwhile (VM_HELD_*). */
#define VM_HELD_STOP 1u
#define VM_HELD_PAUSE 2u
int vm_snapshot_hold(struct vm *vm);
unsigned vm_snapshot_release(struct vm *vm);
bool vm_snapshot_is_held(struct vm *vm);

/* Device state (vm_state.c). Quiesce and unquiesce every device (pausing
 * does it; see vm_pause()); save appends every device's record to @out and
 * load takes them back, in device order, into a VM built from the same
 * configuration that is paused or has not started. A bad or foreign record
 * fails load with -EINVAL and a message; every device is then reset. Reset
 * puts every device back to power-on state. */
struct state_buf;
struct state_reader;
void vm_quiesce_devices(struct vm *vm);
void vm_unquiesce_devices(struct vm *vm);
int vm_save_devices(struct vm *vm, struct state_buf *out);
int vm_load_devices(struct vm *vm, struct state_reader *in);
void vm_reset_devices(struct vm *vm);

/* Writes counters, peak memory and the VMM's own overhead to @fd. */
void vm_print_stats(struct vm *vm, int fd);

#endif
