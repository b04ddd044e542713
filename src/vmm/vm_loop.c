/* The main thread's libuv loop: it owns the terminal, signals, the timeout and
 * the wake-up from vCPU threads, and ends when the VM has an exit reason. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <uv.h>

#include "vmm/escape.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

struct loop_state {
	uv_loop_t loop;
	uv_async_t wake;
	uv_signal_t sigint;
	uv_signal_t sigterm;
	uv_timer_t timeout;
	uv_poll_t stdin_poll;
	uv_poll_t watches[VM_MAX_FD_WATCHES];
	unsigned nr_watches;
	bool timeout_active;
	bool stdin_active;
	struct escape_state escape;
	struct vm *vm;
};

static struct termios saved_termios;
static bool terminal_raw;

static void restore_terminal(void)
{
	if (terminal_raw) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
		terminal_raw = false;
	}
}

/* Raw mode passes every key (Ctrl-C included) to the guest; Ctrl-A x quits. */
static void make_terminal_raw(void)
{
	struct termios raw;
	static bool atexit_done;

	if (terminal_raw || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) < 0)
		return;
	raw = saved_termios;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST | ONLCR;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
		return;
	terminal_raw = true;
	if (!atexit_done) {
		atexit(restore_terminal);
		atexit_done = true;
	}
}

void vm_loop_wake(struct vm *vm)
{
	struct loop_state *ls = vm->loop_state;

	if (ls)
		uv_async_send(&ls->wake);
}

static void on_wake(uv_async_t *handle)
{
	struct loop_state *ls = handle->data;

	if (atomic_load(&ls->vm->exit_reason) != VM_EXIT_NONE)
		uv_stop(&ls->loop);
}

static void on_signal(uv_signal_t *handle, int signum)
{
	struct loop_state *ls = handle->data;

	log_info("received signal %d, stopping the guest", signum);
	ls->vm->exit_signal = signum;
	vm_request_exit(ls->vm, VM_EXIT_SIGNAL);
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
	n = read(STDIN_FILENO, in, sizeof(in));
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
	uv_signal_init(&ls->loop, &ls->sigint);
	uv_signal_init(&ls->loop, &ls->sigterm);
	ls->sigint.data = ls->sigterm.data = ls;
	uv_signal_start(&ls->sigint, on_signal, SIGINT);
	uv_signal_start(&ls->sigterm, on_signal, SIGTERM);
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
	/* Regular files and /dev/null cannot be polled: such a stdin is ignored. */
	if (vm->cfg.console_stdio && uv_poll_init(&ls->loop, &ls->stdin_poll, STDIN_FILENO) == 0) {
		ls->stdin_poll.data = ls;
		uv_poll_start(&ls->stdin_poll, UV_READABLE, on_stdin);
		ls->stdin_active = true;
		make_terminal_raw();
	}
	return 0;
}

static void loop_close(struct loop_state *ls)
{
	uv_close((uv_handle_t *)&ls->wake, NULL);
	uv_close((uv_handle_t *)&ls->sigint, NULL);
	uv_close((uv_handle_t *)&ls->sigterm, NULL);
	if (ls->timeout_active)
		uv_close((uv_handle_t *)&ls->timeout, NULL);
	if (ls->stdin_active)
		uv_close((uv_handle_t *)&ls->stdin_poll, NULL);
	for (unsigned i = 0; i < ls->nr_watches; i++)
		uv_close((uv_handle_t *)&ls->watches[i], NULL);
	uv_run(&ls->loop, UV_RUN_DEFAULT);
	uv_loop_close(&ls->loop);
	restore_terminal();
}

enum vm_exit_reason vm_run(struct vm *vm)
{
	struct loop_state *ls = calloc(1, sizeof(*ls));
	int ret;

	if (!ls) {
		vm_error(vm, -ENOMEM, "out of memory");
		return VM_EXIT_ERROR;
	}
	ret = loop_open(vm, ls);
	if (ret < 0) {
		free(ls);
		return VM_EXIT_ERROR;
	}
	vm->loop_state = ls;
	/* From here on vCPU threads look ranges up without locks. */
	bus_seal(&vm->mmio_bus);
	bus_seal(&vm->pio_bus);
	ret = vcpu_install_kick_handler();
	if (ret < 0) {
		vm_error(vm, ret, "cannot install the vCPU kick signal handler: %s", strerror(-ret));
		vm_request_exit(vm, VM_EXIT_ERROR);
	}
	/* Hold one count while starting, so that a vCPU halting at once cannot
	 * look like the last one standing before the others have started. */
	atomic_store(&vm->nr_running_vcpus, 1);
	for (unsigned i = 0; ret == 0 && i < vm->nr_vcpus; i++) {
		ret = vcpu_start(vm->vcpus[i]);
		if (ret < 0)
			vm_request_exit(vm, VM_EXIT_ERROR);
	}
	if (atomic_fetch_sub(&vm->nr_running_vcpus, 1) == 1)
		vm_request_exit(vm, VM_EXIT_POWEROFF);
	if (atomic_load(&vm->exit_reason) == VM_EXIT_NONE)
		uv_run(&ls->loop, UV_RUN_DEFAULT);
	vm_stop_vcpus(vm);
	vm->loop_state = NULL;
	loop_close(ls);
	free(ls);
	return (enum vm_exit_reason)atomic_load(&vm->exit_reason);
}
