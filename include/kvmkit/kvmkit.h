/* libkvmkit: run Linux guests on /dev/kvm from a C program.
 *
 * Lifecycle of a VM:
 *
 *   kvmkit_config_new() + kvmkit_config_set()...    describe the machine
 *   kvmkit_vm_create()                              a handle, state CREATED
 *   kvmkit_vm_set_console_*(), _set_event_*()       configure what comes out
 *   kvmkit_vm_start()                               build and boot: RUNNING
 *   kvmkit_vm_pause() / kvmkit_vm_resume()          PAUSED <-> RUNNING
 *   kvmkit_vm_stop()  (graceful) / kvmkit_vm_kill() (hard)
 *   kvmkit_vm_wait()                                ENDED, and why
 *   kvmkit_vm_destroy()
 *
 * Conventions, for every function below unless its comment says otherwise:
 * - It returns 0 on success or a negative errno value. -EINVAL means a NULL
 *   or malformed argument; -EBUSY or -ESRCH a call the VM's state does not
 *   allow (see each function). A human-readable message for the last failed
 *   call on a VM is kvmkit_vm_last_error(); on a config, kvmkit_config_last_error().
 * - It never calls exit() or abort(), and never prints. Output happens only
 *   where asked: a log callback (kvmkit_set_log()), a console fd or callback,
 *   the "stats" setting (statistics on stderr when the VM ends) and the
 *   console on the process's stdin/stdout (kvmkit_config_set_console_stdio()).
 * - Signals: the library installs exactly one signal handler, an empty one
 *   without SA_RESTART for the vCPU kick signal (SIGRTMIN + 1 unless
 *   kvmkit_set_kick_signal() picks another), the first time a VM starts. It
 *   uses that signal to interrupt its own vCPU threads. It never touches any
 *   other signal's disposition and never changes the mask of the caller's
 *   threads; the threads it creates block every signal except the kick
 *   signal and the synchronous ones (SIGSEGV, SIGBUS, SIGFPE, SIGILL). The
 *   embedder decides what SIGINT, SIGTERM and SIGPIPE do.
 * - Threads: a started VM runs one thread per vCPU and one event-loop thread.
 *   Several VMs may live in one process at once. Calls on different VMs are
 *   independent; calls on one VM may come from any threads concurrently,
 *   except kvmkit_vm_destroy(), which must be the last call on that VM.
 *   Process-wide settings (kvmkit_set_log(), kvmkit_set_kick_signal()) are
 *   meant to be made once, before the first VM starts.
 */
#ifndef KVMKIT_KVMKIT_H
#define KVMKIT_KVMKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library exports these functions and nothing else. */
#if defined(__GNUC__)
#define KVMKIT_API __attribute__((visibility("default")))
#else
#define KVMKIT_API
#endif

/* "0.1.0": the library's version, which may differ from the header's. */
#define KVMKIT_VERSION_STRING "0.1.0"
KVMKIT_API const char *kvmkit_version(void);

/* ------------------------------------------------------------------------ */
/* Process-wide settings                                                     */

enum kvmkit_log_level {
	KVMKIT_LOG_ERROR = 0,
	KVMKIT_LOG_WARN = 1,
	KVMKIT_LOG_INFO = 2,
	KVMKIT_LOG_DEBUG = 3,
};

/* Receives one message (no trailing newline). Called on any library thread,
 * possibly concurrently; it must not call back into the library. */
typedef void (*kvmkit_log_fn)(enum kvmkit_log_level level, const char *msg, void *opaque);

/* Where the library's diagnostics go (guest accesses to unmapped addresses,
 * timeouts...): @fn, or nowhere when @fn is NULL, which is the default. The
 * level of detail is the "log-level" setting of the VM started last (warn by
 * default). Not thread-safe against running VMs: call it before starting any. */
KVMKIT_API int kvmkit_set_log(kvmkit_log_fn fn, void *opaque);

/* A ready-made kvmkit_log_fn: writes "kvmkit: MSG\n" to stderr in one write. */
KVMKIT_API void kvmkit_log_stderr(enum kvmkit_log_level level, const char *msg, void *opaque);

/* Chooses the signal that interrupts vCPU threads: a real-time signal
 * (SIGRTMIN..SIGRTMAX), SIGUSR1 or SIGUSR2, which the embedder must not use
 * otherwise. -EINVAL for any other signal; -EBUSY once a VM has started with a
 * different one (the handler is installed for good at the first start). */
KVMKIT_API int kvmkit_set_kick_signal(int signo);

/* The kick signal in use, or to be used at the next first start. Never fails. */
KVMKIT_API int kvmkit_kick_signal(void);

/* ------------------------------------------------------------------------ */
/* Settings and the config builder                                           */

/* One setting: the same table serves kvmkit(1)'s long options ("--NAME"),
 * the keys of its JSON config file and kvmkit_config_set(). */
struct kvmkit_option_info {
	const char *name;       /* e.g. "memory" */
	char short_name;        /* e.g. 'm'; 0 when none */
	bool takes_value;       /* false: a flag, set or not */
	const char *value_name; /* e.g. "SIZE"; NULL for flags */
	const char *help;       /* one line */
};

/* The number of settings; indexes 0 .. count-1 are valid for kvmkit_option_get(). */
KVMKIT_API unsigned kvmkit_option_count(void);

/* Describes setting @index. -ENOENT past the last; -EINVAL when @info is NULL.
 * The strings are static. Thread-safe. */
KVMKIT_API int kvmkit_option_get(unsigned index, struct kvmkit_option_info *info);

/* 1 when setting @index takes a value that may also be left out (on the
 * command line only as --name=VALUE, e.g. "nested": --nested or
 * --nested=nvhe; kvmkit_config_set() takes NULL or a value), 0 when it
 * does not, -ENOENT past the last. Thread-safe. */
KVMKIT_API int kvmkit_option_value_optional(unsigned index);

/* An opaque description of a machine. Not thread-safe: one thread at a time. */
struct kvmkit_config;

/* A config with the defaults: 1 vCPU, 256 MiB, no kernel, console connected
 * nowhere. -EINVAL when @out is NULL, -ENOMEM. */
KVMKIT_API int kvmkit_config_new(struct kvmkit_config **out);

/* Frees @cfg (NULL is fine). VMs created from it keep their own copy. */
KVMKIT_API void kvmkit_config_free(struct kvmkit_config *cfg);

/* Applies setting @name (a long option name without dashes, e.g. "cpus")
 * with @value, a string as on the command line ("2", "512M"); flags take NULL
 * (or "true"; "false" leaves them as they are), as do settings whose value
 * may be left out (kvmkit_option_value_optional()). The value is copied. A later
 * call for the same name wins, as a later flag on the command line does.
 * Errors: -EINVAL for NULL @cfg or @name, an unknown name, a missing value or
 * a value out of range; the message names the setting and the value. A
 * setting the architecture cannot honour is refused the same way: "pmu" (a
 * PMU in every vCPU, arm64 PMUv3; the start fails with an input error if
 * the host's KVM has none to give) and "kernel-format" "raw" (a flat arm64
 * binary at the start of RAM, entered at its first byte) on x86_64. */
KVMKIT_API int kvmkit_config_set(struct kvmkit_config *cfg, const char *name, const char *value);

/* Applies the settings of the JSON file @path: one object whose keys are
 * setting names and whose values are strings, numbers (whole, for settings
 * that take numbers or sizes; a plain number is MiB for "memory") or, for
 * flags, booleans. Settings apply in file order, after those already made;
 * later kvmkit_config_set() calls override them.
 * Errors: -ENOENT/-EACCES... when the file cannot be read; -EINVAL for
 * malformed JSON, an unknown key or a value of the wrong type, with a message
 * naming the file and the key. On error some settings may have been applied. */
KVMKIT_API int kvmkit_config_load_file(struct kvmkit_config *cfg, const char *path);

/* Whether the console uses the process's stdin and stdout (default false).
 * When it does, a terminal on stdin is put in raw mode while the VM runs
 * (restored when it ends and at exit), keys go to the guest, and Ctrl-A x ends
 * the VM (KVMKIT_EXIT_QUIT). Only one running VM per process should use it.
 * The "no-stdio" setting turns it off again. */
KVMKIT_API int kvmkit_config_set_console_stdio(struct kvmkit_config *cfg, bool on);

/* 1 when setting @name was applied (by kvmkit_config_set() or a file), 0
 * when it keeps its default, -EINVAL for NULL or an unknown name. */
KVMKIT_API int kvmkit_config_is_set(const struct kvmkit_config *cfg, const char *name);

/* The message of the last failed call on @cfg, or "" (never NULL; valid
 * until the next call on @cfg). */
KVMKIT_API const char *kvmkit_config_last_error(const struct kvmkit_config *cfg);

/* ------------------------------------------------------------------------ */
/* VMs                                                                       */

struct kvmkit_vm;

enum kvmkit_state {
	KVMKIT_STATE_CREATED = 0, /* kvmkit_vm_create() done, not started */
	KVMKIT_STATE_RUNNING,
	KVMKIT_STATE_PAUSED,   /* every vCPU parked outside the guest */
	KVMKIT_STATE_STOPPING, /* power button pressed, grace time running */
	KVMKIT_STATE_ENDED,    /* for good; kvmkit_vm_exit_reason() says why */
};

enum kvmkit_exit_reason {
	KVMKIT_EXIT_NONE = 0,     /* not ended */
	KVMKIT_EXIT_POWEROFF,     /* the guest powered off (or every vCPU halted) */
	KVMKIT_EXIT_RESET,        /* the guest asked for a reset or reboot */
	KVMKIT_EXIT_CRASH,        /* the guest crashed (a Linux panic) */
	KVMKIT_EXIT_TIMEOUT,      /* the "timeout" setting expired */
	KVMKIT_EXIT_EXPECT_SEEN,  /* the console showed the "expect" text */
	KVMKIT_EXIT_QUIT,         /* Ctrl-A x on the stdio console */
	KVMKIT_EXIT_KILLED,       /* kvmkit_vm_kill(), or a stop with no power button */
	KVMKIT_EXIT_STOP_TIMEOUT, /* stop: the guest ignored the power button for the
				     "stop-timeout" grace time and was stopped hard */
	KVMKIT_EXIT_ERROR,        /* kvmkit or KVM failed; see kvmkit_vm_last_error() */
	KVMKIT_EXIT_SNAPSHOT,     /* kvmkit_vm_snapshot() with KVMKIT_SNAPSHOT_STOP wrote
				     the snapshot and ended the VM */
};

/* Static lower-case names ("running", "poweroff", "stop-timeout"...), as the
 * control socket reports them; "unknown" for values out of range. */
KVMKIT_API const char *kvmkit_state_name(enum kvmkit_state state);
KVMKIT_API const char *kvmkit_exit_reason_name(enum kvmkit_exit_reason reason);

/* The class of the last error on a VM, e.g. for a command's exit code. */
enum kvmkit_error_kind {
	KVMKIT_ERROR_NONE = 0,
	KVMKIT_ERROR_INPUT, /* the configuration or an input file is wrong */
	KVMKIT_ERROR_HOST,  /* KVM or the host failed */
	KVMKIT_ERROR_USAGE, /* the call was not allowed: wrong state or argument */
};

/* A new VM from @cfg (copied: @cfg may be changed or freed afterwards). Only
 * checks arguments and allocates; the VM is built by kvmkit_vm_start().
 * Errors: -EINVAL (NULL argument), -ENOMEM. Thread-safe. */
KVMKIT_API int kvmkit_vm_create(const struct kvmkit_config *cfg, struct kvmkit_vm **out);

/* Console output, besides the "console-log" setting and stdio: @fd (kept
 * open by the caller; -1 for none; written by a thread of the library's
 * through a "console-buffer" sized buffer, output it does not take in time
 * dropped and counted, see kvmkit(1) CONSOLE) and/or @fn, called on vCPU
 * threads with the bytes in order, unbuffered. @fn must not block for long (it holds up that vCPU) and may
 * call only kvmkit_vm_stop(), kvmkit_vm_kill() and the read-only queries.
 * CREATED state only: -EBUSY afterwards. */
typedef void (*kvmkit_console_fn)(struct kvmkit_vm *vm, const char *buf, size_t len, void *opaque);
KVMKIT_API int kvmkit_vm_set_console_fd(struct kvmkit_vm *vm, int fd);
KVMKIT_API int kvmkit_vm_set_console_callback(struct kvmkit_vm *vm, kvmkit_console_fn fn,
					      void *opaque);

/* Input for the guest's console (keys, a pasted line). -ESRCH unless the VM
 * runs or is paused (input then waits in the UART's buffer). */
KVMKIT_API int kvmkit_vm_console_input(struct kvmkit_vm *vm, const char *buf, size_t len);

enum kvmkit_event_type {
	KVMKIT_EVENT_STATE = 1, /* entered @state: RUNNING, PAUSED or STOPPING */
	KVMKIT_EVENT_EXIT,      /* the VM ended (state ENDED) for @reason */
};

struct kvmkit_event {
	enum kvmkit_event_type type;
	enum kvmkit_state state;
	enum kvmkit_exit_reason reason; /* KVMKIT_EVENT_EXIT; KVMKIT_EXIT_NONE otherwise */
};

/* Called for every event, on the thread that caused it (the caller of
 * kvmkit_vm_start() or _pause(), the VM's loop thread...), with no library
 * lock held. It may call any function on this VM except kvmkit_vm_wait()
 * and kvmkit_vm_destroy(). CREATED state only. */
typedef void (*kvmkit_event_fn)(struct kvmkit_vm *vm, const struct kvmkit_event *event,
				void *opaque);
KVMKIT_API int kvmkit_vm_set_event_callback(struct kvmkit_vm *vm, kvmkit_event_fn fn, void *opaque);

/* An fd (eventfd, non-blocking) that polls readable while events are queued,
 * for an embedder's own event loop; kvmkit_vm_next_event() takes them. The
 * queue keeps the last 64 events. The fd belongs to the VM: do not close it.
 * Never fails on a valid VM; -EINVAL for NULL. */
KVMKIT_API int kvmkit_vm_event_fd(struct kvmkit_vm *vm);
/* Takes the oldest queued event: 0, or -EAGAIN when there is none. */
KVMKIT_API int kvmkit_vm_next_event(struct kvmkit_vm *vm, struct kvmkit_event *event);

/* Builds the VM (opens /dev/kvm, maps RAM, creates devices and vCPUs, loads
 * kernel, initrd and device tree) and starts it: returns once every vCPU
 * thread runs, in state RUNNING. The control socket (the "api-socket"
 * setting) is listening by then.
 * Every input the configuration names (kernel, initrd, disks, taps, the
 * directories of output files) is checked before /dev/kvm is opened, so a bad
 * input is reported as one on a host without KVM too.
 * Errors: -EBUSY when not CREATED; for a bad configuration or input file
 * (kind KVMKIT_ERROR_INPUT) or a host failure (KVMKIT_ERROR_HOST) the errno of
 * the cause, with the VM then ENDED (KVMKIT_EXIT_ERROR): only
 * kvmkit_vm_destroy() is useful after that. */
KVMKIT_API int kvmkit_vm_start(struct kvmkit_vm *vm);

/* Pause returns once every vCPU has left the guest and waits parked (no CPU
 * used); the guest's clock keeps running. Resume lets them run on. Each is a
 * no-op in the state it leads to. Errors: -ESRCH when not RUNNING or PAUSED
 * (also when the VM ends meanwhile), -EBUSY while STOPPING, -EDEADLK when
 * pause is called from a console callback (a vCPU thread). */
KVMKIT_API int kvmkit_vm_pause(struct kvmkit_vm *vm);
KVMKIT_API int kvmkit_vm_resume(struct kvmkit_vm *vm);

/* Graceful stop: resumes a paused VM, presses the guest's power button
 * (arm64: a gpio-keys KEY_POWER on a PL061 GPIO line, which a Linux guest's
 * power-key handler turns into its own shutdown) and returns at once, in
 * state STOPPING. If the guest has not powered off after the "stop-timeout"
 * grace time (10 s by default) it is stopped hard (KVMKIT_EXIT_STOP_TIMEOUT).
 * Where the machine has no power button (the x86_64 test machine) or the
 * grace time is 0 it is a hard stop at once (KVMKIT_EXIT_KILLED).
 * A second stop is a no-op (0) until the VM has ENDED, also while the first
 * one is still ending it. Errors: -ESRCH when not started or ENDED. */
KVMKIT_API int kvmkit_vm_stop(struct kvmkit_vm *vm);

/* Hard stop: the vCPUs are stopped without the guest's knowledge; the VM
 * ends with KVMKIT_EXIT_KILLED unless it was already ending for another
 * reason. Returns at once. Errors: -ESRCH when not started or ENDED. */
KVMKIT_API int kvmkit_vm_kill(struct kvmkit_vm *vm);

/* Waits until the VM has ENDED and stores why in @reason (may be NULL).
 * @timeout_ms < 0 waits for ever, 0 only looks. Several threads may wait.
 * Errors: -ETIMEDOUT when it is still running after @timeout_ms, -ESRCH when
 * it was never started. */
KVMKIT_API int kvmkit_vm_wait(struct kvmkit_vm *vm, int timeout_ms,
			      enum kvmkit_exit_reason *reason);

/* The current state and, once ENDED, the exit reason (KVMKIT_EXIT_NONE before).
 * Never fail; NULL gives CREATED and KVMKIT_EXIT_NONE. */
KVMKIT_API enum kvmkit_state kvmkit_vm_state(struct kvmkit_vm *vm);
KVMKIT_API enum kvmkit_exit_reason kvmkit_vm_exit_reason(struct kvmkit_vm *vm);

/* The message of the last failed call on @vm, or of the failure that ended it
 * (KVMKIT_EXIT_ERROR); "" when none. Never NULL. The text stays valid until the
 * next call on @vm; with concurrent calls it may belong to either. */
KVMKIT_API const char *kvmkit_vm_last_error(struct kvmkit_vm *vm);
KVMKIT_API enum kvmkit_error_kind kvmkit_vm_last_error_kind(struct kvmkit_vm *vm);

/* Writes counters (exits per vCPU, accesses per device), peak RSS and the
 * VMM's own memory to @fd, as kvmkit run --stats does. -ESRCH before start. */
KVMKIT_API int kvmkit_vm_write_stats(struct kvmkit_vm *vm, int fd);

/* Dirty-page tracking: which guest pages changed since the last harvest,
 * from the guest's own writes (KVM's dirty log) and from kvmkit's devices
 * (disk reads, network and console input, random numbers, used rings)
 * alike. The engine is chosen when the VM is built (setting "dirty-engine":
 * auto, bitmap, bitmap+clear or ring) and named by kvmkit_vm_dirty_engine().
 * All calls need a started VM (-ESRCH otherwise). */

/* One region of guest RAM: the bitmaps of a harvest follow this order. */
struct kvmkit_memory_region {
	uint64_t guest_phys_addr;
	uint64_t size; /* bytes, a multiple of 4096 */
	void *host;    /* where kvmkit maps it; valid until kvmkit_vm_destroy() */
};

/* Fills up to @max regions; returns how many the VM has (may be more). */
KVMKIT_API int kvmkit_vm_memory_regions(struct kvmkit_vm *vm, struct kvmkit_memory_region *out,
					unsigned max);

/* With setting "memory-backend" memfd, each RAM region is a memfd of its own,
 * mapped shared from offset 0: returns a new descriptor of region @index's
 * (close-on-exec; the caller closes it), which another process can map to
 * see and write the guest's RAM (vhost-user back ends, a live upgrade).
 * -ENOTSUP for RAM that is not memfd-backed (the default; a restore without
 * the setting maps the snapshot's memory file private), -ERANGE past the
 * last region,
 * -ESRCH unless running. */
KVMKIT_API int kvmkit_vm_memory_fd(struct kvmkit_vm *vm, unsigned index);

/* "bitmap", "bitmap+clear" or "ring"; "" for NULL. */
KVMKIT_API const char *kvmkit_vm_dirty_engine(struct kvmkit_vm *vm);

/* Starts tracking. With KVMKIT_DIRTY_START_ALL the first harvest holds
 * every page (for a consumer that has copied nothing yet); without it only
 * pages written from now on (the caller copies what it needs after this
 * returns). -EALREADY when tracking is on. */
#define KVMKIT_DIRTY_START_ALL 1u
KVMKIT_API int kvmkit_vm_dirty_start(struct kvmkit_vm *vm, unsigned flags);
/* Stops tracking and forgets what was not harvested. -ENOTCONN when off. */
KVMKIT_API int kvmkit_vm_dirty_stop(struct kvmkit_vm *vm);

/* The size of a harvest's bitmap in 64-bit words: one bit per 4 KiB page,
 * each memory region's bits starting on a new word, regions in order. */
KVMKIT_API size_t kvmkit_vm_dirty_bitmap_words(struct kvmkit_vm *vm);

/* Harvests: fills @bitmap (@words words) with the pages written since the
 * last successful harvest and returns how many. Write protection is re-armed
 * before this returns, so a page written while the caller copies it is in
 * the next harvest. On a paused VM the harvest is complete. The harvest is a
 * transaction: kvmkit_vm_dirty_finish(@ok = 1) forgets those pages,
 * @ok = 0 (the copy failed) puts them back for the next harvest; until
 * then another harvest is -EBUSY. -ENOSPC when @words is too small,
 * -ENOTCONN when not tracking. */
KVMKIT_API int64_t kvmkit_vm_dirty_harvest(struct kvmkit_vm *vm, uint64_t *bitmap, size_t words);
KVMKIT_API int kvmkit_vm_dirty_finish(struct kvmkit_vm *vm, int ok);

/* How fast the guest dirties memory, measured over @ms milliseconds on the
 * calling thread (tracking runs for the measurement and stops after if it
 * was off; pages a consumer has not harvested stay pending). Per vCPU only
 * with the ring engine: @vcpu_pages_per_sec[i] for i < @max_vcpus, else
 * left alone (may be NULL). */
struct kvmkit_dirty_rate {
	double guest_pages_per_sec; /* pages the vCPUs wrote */
	double vmm_pages_per_sec;   /* pages kvmkit's devices wrote */
	double seconds;             /* the window measured */
	unsigned nr_vcpus;          /* how many per-vCPU rates there are (0 but for the ring) */
};
KVMKIT_API int kvmkit_vm_dirty_rate(struct kvmkit_vm *vm, unsigned ms,
				    struct kvmkit_dirty_rate *out, double *vcpu_pages_per_sec,
				    unsigned max_vcpus);

/* Snapshots. A snapshot is a directory with two files: "state" (the
 * machine's settings, every vCPU, the interrupt controller and timers,
 * every device; versioned and checksummed) and "memory" (guest RAM, zero
 * pages left as holes). It is written to a temporary directory, fsynced
 * and then put in @path's place, so a crash leaves the previous snapshot
 * whole.
 *
 * kvmkit_vm_snapshot() pauses the VM (vCPUs parked, devices quiesced),
 * writes, and then: by default leaves the VM as it was (running, or paused
 * if it was paused); with KVMKIT_SNAPSHOT_RESUME runs it; with
 * KVMKIT_SNAPSHOT_STOP ends it (exit reason KVMKIT_EXIT_SNAPSHOT) once the
 * snapshot is safely written. A failed write leaves the VM running or
 * paused, never ended. -EEXIST when @path exists and is not a snapshot;
 * -ESRCH when the VM is not started. @info may be NULL.
 *
 * A restore is the setting "restore" (kvmkit run --restore DIR): the VM is
 * built from the snapshot's settings (its machine: vCPUs, memory, devices)
 * and the caller's run settings (console, socket, timeouts: machine and
 * boot settings are refused), its memory file mapped private (pages come in
 * on first touch, the file is never written), and started where the
 * snapshot left it. A snapshot of another kvmkit version or architecture,
 * a corrupt or truncated one, is refused at kvmkit_vm_start() with a
 * message naming the problem (KVMKIT_ERROR_INPUT). The run setting
 * "restore-clock" is "continue" (default: the guest's counters go on from
 * the values saved, its wall clock is behind until it reads the PL031) or
 * "advance" (they move on by the host's wall-clock time since the save);
 * given without "restore" it fails the start (KVMKIT_ERROR_INPUT). */
#define KVMKIT_SNAPSHOT_STOP 1u
#define KVMKIT_SNAPSHOT_RESUME 2u
/* A diff snapshot: only the pages written since the VM's previous snapshot
 * (or the one it was restored from), as a layer over that one, which a
 * restore of the diff reads too (by the absolute path it had, checked to
 * be the same snapshot still). Needs the setting "diff-snapshots", which
 * makes the VM track dirty pages for its snapshots (the dirty-page
 * functions above then return -EBUSY). -EINVAL without it or with no
 * previous snapshot, or when @path is a snapshot the diff lies over;
 * -ELOOP when 32 would lie under one another. A failed diff forgets no
 * page: the next one still holds them. */
#define KVMKIT_SNAPSHOT_DIFF 4u
struct kvmkit_snapshot_info {
	uint64_t memory_bytes; /* guest RAM */
	uint64_t stored_bytes; /* what the memory file takes on disk */
	double seconds;        /* the write, fsyncs included (the pause not) */
	uint64_t diff_pages;   /* KVMKIT_SNAPSHOT_DIFF: the 4 KiB pages it holds */
};
KVMKIT_API int kvmkit_vm_snapshot(struct kvmkit_vm *vm, const char *path, unsigned flags,
				  struct kvmkit_snapshot_info *info);

/* Frees everything the VM holds (threads, fds, memory, the control socket).
 * -EBUSY while it runs, is paused or is stopping (kill and wait first): the VM
 * is then left untouched. NULL is -EINVAL. Must be the last call on @vm. */
KVMKIT_API int kvmkit_vm_destroy(struct kvmkit_vm *vm);

#ifdef __cplusplus
}
#endif

#endif
