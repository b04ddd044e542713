/* The VM's libuv loop: it owns the terminal (when the console is on stdio),
 * the timeout, the power button and grace timer of a stop, device fd watches
 * and the wake-up from other threads, and ends when the VM has an exit reason.
 * It installs no signal handler: kvmkit(1) turns SIGINT and SIGTERM into
 * vm_kill() and vm_stop() itself. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <uv.h>

#include "arch/arch.h"
#include "vmm/escape.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vm_working_set.h"

/* Long enough for the guest's key debouncing to see a press. */
#define POWER_BUTTON_HOLD_MS 100
/* A press that comes before the guest listens is lost (Linux's evdev keeps
 * no history), so during the grace time the button is pressed again this
 * often: a stop asked for during boot still ends in the guest's own
 * shutdown. Documented in kvmkit(1) under --stop-timeout. */
#define POWER_BUTTON_REPEAT_MS 1000

struct loop_state {
	uv_loop_t loop;
	uv_async_t wake;
	uv_timer_t timeout;
	uv_timer_t button_release;
	uv_timer_t button_repeat;
	uv_timer_t stop_grace;
	uv_timer_t record_working_set;
	bool record_pending; /* --record-working-set: armed, not yet done */
	bool stop_begun;
	uv_poll_t stdin_poll;
	uv_poll_t watches[VM_MAX_FD_WATCHES];
	unsigned nr_watches;
	bool timeout_active;
	bool stdin_active;
	int stdin_fd; /* what stdin_poll watches; see open_stdin() */
	struct escape_state escape;
	bool hooks_opened; /* vm->hooks.loop_opened succeeded */
	struct vm *vm;
};

static struct termios saved_termios;
static bool terminal_raw;
/* fd 0's file status flags, when the loop had to watch fd 0 itself. */
static int saved_stdin_flags = -1;

/* Runs when the loop closes and at exit(); SIGINT and SIGTERM end the VM
 * through that path too (kvmkit(1) takes them on a signalfd). */
static void restore_terminal(void)
{
	if (terminal_raw) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
		terminal_raw = false;
	}
	if (saved_stdin_flags >= 0) {
		fcntl(STDIN_FILENO, F_SETFL, saved_stdin_flags);
		saved_stdin_flags = -1;
	}
}

static void restore_terminal_at_exit(void)
{
	static bool done;

	if (!done) {
		atexit(restore_terminal);
		done = true;
	}
}

/* Raw mode passes every key (Ctrl-C included) to the guest; Ctrl-A x quits. */
static void make_terminal_raw(void)
{
	struct termios raw;

	if (terminal_raw || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) < 0)
		return;
	raw = saved_termios;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST | ONLCR;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
		return;
	terminal_raw = true;
	restore_terminal_at_exit();
}

/* The fd the loop reads stdin from. uv_poll_init() makes the fd it watches
 * non-blocking, and O_NONBLOCK belongs to the open file description, which
 * on a terminal stdin shares with stdout (and with the shell): stdout would
 * turn non-blocking for everyone. So the loop reads a description of its
 * own, /proc/self/fd/0 opened anew (a terminal, a pipe, a FIFO). Where that
 * cannot be (a socket, no /proc) it watches fd 0 itself and
 * restore_terminal() puts fd 0's flags back. -1: stdin cannot be watched. */
static int open_stdin(uv_loop_t *loop, uv_poll_t *poll)
{
	int fd = open("/proc/self/fd/0", O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	int flags;

	/* Regular files and /dev/null cannot be polled: such a stdin is ignored. */
	if (fd >= 0 && uv_poll_init(loop, poll, fd) == 0)
		return fd;
	if (fd >= 0) {
		close(fd);
		return -1;
	}
	flags = fcntl(STDIN_FILENO, F_GETFL);
	if (flags < 0 || uv_poll_init(loop, poll, STDIN_FILENO) < 0)
		return -1;
	if (saved_stdin_flags < 0)
		saved_stdin_flags = flags;
	restore_terminal_at_exit();
	return STDIN_FILENO;
}

/* Any thread may ask for an exit at any time: ctl_lock keeps the loop from
 * closing under a wake-up. */
void vm_loop_wake(struct vm *vm)
{
	pthread_mutex_lock(&vm->ctl_lock);
	if (vm->loop_state)
		uv_async_send(&((struct loop_state *)vm->loop_state)->wake);
	pthread_mutex_unlock(&vm->ctl_lock);
}

static void on_button_release(uv_timer_t *handle)
{
	struct loop_state *ls = handle->data;

	arch_power_button(ls->vm, false);
}

static void on_button_repeat(uv_timer_t *handle)
{
	struct loop_state *ls = handle->data;

	if (arch_power_button(ls->vm, true) == 0)
		uv_timer_start(&ls->button_release, on_button_release, POWER_BUTTON_HOLD_MS, 0);
}

static void on_stop_grace(uv_timer_t *handle)
{
	struct loop_state *ls = handle->data;

	uv_timer_stop(&ls->button_repeat);
	log_warn("the guest did not power off within %u s of the power button, stopping it",
		 ls->vm->cfg.stop_timeout_sec);
	vm_request_exit(ls->vm, VM_EXIT_STOP_TIMEOUT);
}

/* After vm_stop(): press the power button and give the guest its grace time. */
static void begin_stop(struct loop_state *ls)
{
	struct vm *vm = ls->vm;
	unsigned grace = vm->cfg.stop_timeout_sec;
	int ret = grace ? arch_power_button(vm, true) : -ENOTSUP;

	if (ret < 0) {
		log_info("%s: stopping the guest at once",
			 grace ? "this machine has no power button" : "no grace time");
		vm_request_exit(vm, VM_EXIT_KILLED);
		return;
	}
	log_info("pressed the power button; the guest has %u s to power off", grace);
	uv_timer_start(&ls->button_release, on_button_release, POWER_BUTTON_HOLD_MS, 0);
	uv_timer_start(&ls->button_repeat, on_button_repeat, POWER_BUTTON_REPEAT_MS,
		       POWER_BUTTON_REPEAT_MS);
	uv_timer_start(&ls->stop_grace, on_stop_grace, (uint64_t)grace * 1000, 0);
}

static void on_wake(uv_async_t *handle)
{
	struct loop_state *ls = handle->data;

	if (atomic_load(&ls->vm->exit_reason) != VM_EXIT_NONE) {
		uv_stop(&ls->loop);
		return;
	}
	if (atomic_load(&ls->vm->stop_requested) && !ls->stop_begun) {
		ls->stop_begun = true;
		begin_stop(ls);
	}
	vm_pause_settle(ls->vm);
	if (ls->hooks_opened && ls->vm->hooks.loop_woken)
		ls->vm->hooks.loop_woken(ls->vm->hooks.opaque);
}

static void on_timeout(uv_timer_t *handle)
{
	struct loop_state *ls = handle->data;

	log_warn("guest did not finish within %u s, stopping it", ls->vm->cfg.timeout_sec);
	vm_request_exit(ls->vm, VM_EXIT_TIMEOUT);
}

static void on_stdin(uv_poll_t *handle, int status, int events)
{
	struct loop_state *ls = handle->data;
	char in[256], out[2 * sizeof(in)];
	bool quit = false;
	ssize_t n;
	size_t len;

	if (status < 0 || !(events & UV_READABLE))
		return;
	n = read(ls->stdin_fd, in, sizeof(in));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* End of input is not the end of the guest. */
		uv_poll_stop(handle);
		return;
	}
	if (terminal_raw) {
		len = escape_filter(&ls->escape, in, (size_t)n, out, &quit);
	} else {
		memcpy(out, in, (size_t)n);
		len = (size_t)n;
	}
	if (len)
		console_input(&ls->vm->console, out, len);
	if (quit)
		vm_request_exit(ls->vm, VM_EXIT_QUIT);
}

static void loop_close(struct loop_state *ls);

static void on_record_working_set(uv_timer_t *handle)
{
	struct loop_state *ls = handle->data;

	ls->record_pending = false;
	vm_working_set_record(ls->vm);
}

static void on_watch(uv_poll_t *handle, int status, int events)
{
	const struct vm_fd_watch *w = handle->data;

	if (status == 0 && (events & UV_READABLE))
		w->ready(w->opaque);
}

static int loop_open(struct vm *vm, struct loop_state *ls)
{
	int ret;

	ls->vm = vm;
	ret = uv_loop_init(&ls->loop);
	if (ret < 0)
		return vm_error(vm, -EIO, "event loop: %s", uv_strerror(ret));
	uv_async_init(&ls->loop, &ls->wake, on_wake);
	ls->wake.data = ls;
	uv_timer_init(&ls->loop, &ls->button_release);
	uv_timer_init(&ls->loop, &ls->button_repeat);
	uv_timer_init(&ls->loop, &ls->stop_grace);
	uv_timer_init(&ls->loop, &ls->record_working_set);
	ls->button_release.data = ls->button_repeat.data = ls->stop_grace.data = ls;
	ls->record_working_set.data = ls;
	if (vm->cfg.restore && vm->cfg.record_working_set_ms) {
		uv_timer_start(&ls->record_working_set, on_record_working_set,
			       vm->cfg.record_working_set_ms, 0);
		ls->record_pending = true;
	}
	if (vm->cfg.timeout_sec) {
		uv_timer_init(&ls->loop, &ls->timeout);
		ls->timeout.data = ls;
		uv_timer_start(&ls->timeout, on_timeout, (uint64_t)vm->cfg.timeout_sec * 1000, 0);
		ls->timeout_active = true;
	}
	for (unsigned i = 0; i < vm->nr_fd_watches; i++) {
		ret = uv_poll_init(&ls->loop, &ls->watches[i], vm->fd_watches[i].fd);
		if (ret < 0) {
			vm_error(vm, -EIO, "event loop: cannot watch fd %d: %s",
				 vm->fd_watches[i].fd, uv_strerror(ret));
			loop_close(ls);
			return -EIO;
		}
		ls->watches[i].data = &vm->fd_watches[i];
		ls->nr_watches++;
		uv_poll_start(&ls->watches[i], UV_READABLE, on_watch);
	}
	ls->stdin_fd = vm->cfg.console_stdio ? open_stdin(&ls->loop, &ls->stdin_poll) : -1;
	if (ls->stdin_fd >= 0) {
		ls->stdin_poll.data = ls;
		uv_poll_start(&ls->stdin_poll, UV_READABLE, on_stdin);
		ls->stdin_active = true;
	}
	if (vm->hooks.loop_opened) {
		ret = vm->hooks.loop_opened(vm->hooks.opaque, vm, &ls->loop);
		if (ret < 0) {
			loop_close(ls);
			return ret;
		}
		ls->hooks_opened = true;
	}
	/* Last: nothing can fail after the terminal goes raw. */
	if (ls->stdin_active)
		make_terminal_raw();
	return 0;
}

static void loop_close(struct loop_state *ls)
{
	/* A guest that ended sooner than --record-working-set asked has its
	 * working set recorded at its end. */
	if (ls->record_pending) {
		ls->record_pending = false;
		vm_working_set_record(ls->vm);
	}
	uv_close((uv_handle_t *)&ls->record_working_set, NULL);
	uv_close((uv_handle_t *)&ls->wake, NULL);
	uv_close((uv_handle_t *)&ls->button_release, NULL);
	uv_close((uv_handle_t *)&ls->button_repeat, NULL);
	uv_close((uv_handle_t *)&ls->stop_grace, NULL);
	if (ls->timeout_active)
		uv_close((uv_handle_t *)&ls->timeout, NULL);
	if (ls->stdin_active)
		uv_close((uv_handle_t *)&ls->stdin_poll, NULL);
	for (unsigned i = 0; i < ls->nr_watches; i++)
		uv_close((uv_handle_t *)&ls->watches[i], NULL);
	if (ls->hooks_opened && ls->vm->hooks.loop_closing)
		ls->vm->hooks.loop_closing(ls->vm->hooks.opaque);
	uv_run(&ls->loop, UV_RUN_DEFAULT);
	uv_loop_close(&ls->loop);
	if (ls->stdin_active && ls->stdin_fd != STDIN_FILENO)
		close(ls->stdin_fd);
	restore_terminal();
}

int vm_start(struct vm *vm)
{
	struct loop_state *ls = calloc(1, sizeof(*ls));
	bool unquiesce = false;
	int ret;

	if (!ls) {
		vm_request_exit(vm, VM_EXIT_ERROR);
		return vm_error(vm, -ENOMEM, "out of memory");
	}
	ret = loop_open(vm, ls);
	if (ret < 0) {
		free(ls);
		vm_request_exit(vm, VM_EXIT_ERROR);
		return ret;
	}
	pthread_mutex_lock(&vm->ctl_lock);
	vm->loop_state = ls;
	pthread_mutex_unlock(&vm->ctl_lock);
	/* From here on vCPU threads look ranges up without locks. */
	bus_seal(&vm->mmio_bus);
	bus_seal(&vm->pio_bus);
	ret = vcpu_install_kick_handler();
	if (ret < 0) {
		vm_error(vm, ret, "cannot install the handler of the vCPU kick signal %d: %s",
			 vcpu_kick_signal(), strerror(-ret));
		vm_request_exit(vm, VM_EXIT_ERROR);
		return ret;
	}
	ret = console_start(&vm->console, vcpu_kick_signal());
	if (ret < 0) {
		vm_error(vm, ret, "cannot start the console's writer threads: %s", strerror(-ret));
		vm_request_exit(vm, VM_EXIT_ERROR);
		return ret;
	}
	/* Hold one count while starting, so that a vCPU halting at once cannot
	 * look like the last one standing before the others have started. */
	atomic_store(&vm->nr_running_vcpus, 1);
	/* --paused: every vCPU parks before its first KVM_RUN; the loop then
	 * settles the pause as it would any other, and the resume starts the
	 * devices. Otherwise a restored VM's devices, loaded quiesced
	 * (vm_restore_machine()), start now, before the vCPUs. */
	pthread_mutex_lock(&vm->transition_lock);
	pthread_mutex_lock(&vm->ctl_lock);
	if (vm->cfg.start_paused) {
		atomic_store(&vm->paused, true);
		vm->pause_pending = true;
	} else if (!atomic_load(&vm->paused)) {
		/* A pause asked since loop_state was set (no vCPU ran yet, so it
		 * may have completed already) owns the devices' quiescence: the
		 * resume starts them, as it would a paused VM's. */
		unquiesce = vm->devices_quiesced;
		vm->devices_quiesced = false;
	}
	pthread_mutex_unlock(&vm->ctl_lock);
	if (unquiesce)
		vm_unquiesce_devices(vm);
	pthread_mutex_unlock(&vm->transition_lock);
	for (unsigned i = 0; ret == 0 && i < vm->nr_vcpus; i++) {
		ret = vcpu_start(vm->vcpus[i]);
		if (ret < 0)
			vm_request_exit(vm, VM_EXIT_ERROR);
	}
	if (atomic_fetch_sub(&vm->nr_running_vcpus, 1) == 1)
		vm_request_exit(vm, VM_EXIT_POWEROFF);
	if (vm->cfg.start_paused)
		vm_loop_wake(vm);
	return ret;
}

enum vm_exit_reason vm_run_loop(struct vm *vm)
{
	struct loop_state *ls = vm->loop_state;

	if (ls && atomic_load(&vm->exit_reason) == VM_EXIT_NONE)
		uv_run(&ls->loop, UV_RUN_DEFAULT);
	/* Bounded: a vCPU held in a device does not keep the VM from ending. */
	vm_stop_vcpus_within(vm, VM_VCPU_STOP_WAIT_MS);
	/* The output is out (or counted lost) when the VM reports its end. */
	console_flush(&vm->console);
	vm_set_ended(vm);
	if (ls) {
		pthread_mutex_lock(&vm->ctl_lock);
		vm->loop_state = NULL;
		pthread_mutex_unlock(&vm->ctl_lock);
		loop_close(ls);
		free(ls);
	}
	return (enum vm_exit_reason)atomic_load(&vm->exit_reason);
}

enum vm_exit_reason vm_run(struct vm *vm)
{
	vm_start(vm);
	return vm_run_loop(vm);
}
