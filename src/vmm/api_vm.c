/* The VM handle of the public API: a state machine over the core VM (vm.h).
 * The core is built at start; it runs its event loop on a thread of its own
 * and reports state changes through hooks, which become events here. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/api.h"
#include "vmm/control_socket.h"
#include "vmm/log.h"
#include "vmm/thread.h"
#include "vmm/vcpu.h"
#include "vmm/vm_snapshot.h"

struct kvmkit_vm {
	pthread_mutex_t lock; /* everything below but the fields set before start */
	pthread_cond_t ended_cond;
	struct kvmkit_config *cfg;
	struct vm *vm; /* set once started, until destroy */
	bool start_called;
	bool running; /* vm_start() succeeded: control calls reach the core */
	bool ended;
	bool end_announced; /* the EXIT event's callback returned: wait() may */
	enum kvmkit_exit_reason reason;
	struct control_socket *control; /* --api-socket, on the loop thread */
	pthread_t loop_thread;
	bool loop_thread_started;
	kvmkit_console_fn console_fn;
	void *console_opaque;
	int console_fd;
	kvmkit_event_fn event_fn;
	void *event_opaque;
	struct api_events events;
	char *machine_settings;     /* JSON, what a snapshot keeps (api_snapshot.c) */
	struct vm_restore *restore; /* the snapshot restored, if any */
	enum kvmkit_error_kind error_kind;
	char error[512];
};

int api_vm_fail(struct kvmkit_vm *h, enum kvmkit_error_kind kind, int err, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&h->lock);
	va_start(ap, fmt);
	vsnprintf(h->error, sizeof(h->error), fmt, ap);
	va_end(ap);
	h->error_kind = kind;
	pthread_mutex_unlock(&h->lock);
	return err;
}

const char *kvmkit_state_name(enum kvmkit_state state)
{
	switch (state) {
	case KVMKIT_STATE_CREATED: return "created";
	case KVMKIT_STATE_RUNNING: return "running";
	case KVMKIT_STATE_PAUSED: return "paused";
	case KVMKIT_STATE_STOPPING: return "stopping";
	case KVMKIT_STATE_ENDED: return "ended";
	}
	return "unknown";
}

enum kvmkit_exit_reason api_public_reason(enum vm_exit_reason reason)
{
	switch (reason) {
	case VM_EXIT_NONE: return KVMKIT_EXIT_NONE;
	case VM_EXIT_POWEROFF: return KVMKIT_EXIT_POWEROFF;
	case VM_EXIT_EXPECT_SEEN: return KVMKIT_EXIT_EXPECT_SEEN;
	case VM_EXIT_RESET: return KVMKIT_EXIT_RESET;
	case VM_EXIT_CRASH: return KVMKIT_EXIT_CRASH;
	case VM_EXIT_TIMEOUT: return KVMKIT_EXIT_TIMEOUT;
	case VM_EXIT_KILLED: return KVMKIT_EXIT_KILLED;
	case VM_EXIT_STOP_TIMEOUT: return KVMKIT_EXIT_STOP_TIMEOUT;
	case VM_EXIT_QUIT: return KVMKIT_EXIT_QUIT;
	case VM_EXIT_ERROR: return KVMKIT_EXIT_ERROR;
	case VM_EXIT_SNAPSHOT: return KVMKIT_EXIT_SNAPSHOT;
	}
	return KVMKIT_EXIT_ERROR;
}

const char *kvmkit_exit_reason_name(enum kvmkit_exit_reason reason)
{
	switch (reason) {
	case KVMKIT_EXIT_NONE: return "none";
	case KVMKIT_EXIT_POWEROFF: return "poweroff";
	case KVMKIT_EXIT_RESET: return "reset";
	case KVMKIT_EXIT_CRASH: return "crash";
	case KVMKIT_EXIT_TIMEOUT: return "timeout";
	case KVMKIT_EXIT_EXPECT_SEEN: return "expect-seen";
	case KVMKIT_EXIT_QUIT: return "quit";
	case KVMKIT_EXIT_KILLED: return "killed";
	case KVMKIT_EXIT_STOP_TIMEOUT: return "stop-timeout";
	case KVMKIT_EXIT_ERROR: return "error";
	case KVMKIT_EXIT_SNAPSHOT: return "snapshot";
	}
	return "unknown";
}

enum kvmkit_state api_public_state(enum vm_run_state state)
{
	switch (state) {
	case VM_STATE_RUNNING: return KVMKIT_STATE_RUNNING;
	case VM_STATE_PAUSED: return KVMKIT_STATE_PAUSED;
	case VM_STATE_STOPPING: return KVMKIT_STATE_STOPPING;
	case VM_STATE_ENDED: return KVMKIT_STATE_ENDED;
	}
	return KVMKIT_STATE_ENDED;
}

int kvmkit_vm_create(const struct kvmkit_config *cfg, struct kvmkit_vm **out)
{
	struct kvmkit_vm *h;
	int ret;

	api_log_init();
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!cfg)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->console_fd = -1;
	ret = api_events_init(&h->events);
	if (ret < 0) {
		free(h);
		return ret;
	}
	ret = api_config_clone(cfg, &h->cfg);
	if (ret < 0) {
		api_events_destroy(&h->events);
		free(h);
		return ret;
	}
	pthread_mutex_init(&h->lock, NULL);
	{
		pthread_condattr_t attr;

		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&h->ended_cond, &attr);
		pthread_condattr_destroy(&attr);
	}
	*out = h;
	return 0;
}

/* Setters allowed only before start. */
static int check_created(struct kvmkit_vm *h, const char *what)
{
	bool started;

	pthread_mutex_lock(&h->lock);
	started = h->start_called;
	pthread_mutex_unlock(&h->lock);
	if (started)
		return api_vm_fail(h, KVMKIT_ERROR_USAGE, -EBUSY, "%s: only before the VM starts",
				   what);
	return 0;
}

int kvmkit_vm_set_console_fd(struct kvmkit_vm *h, int fd)
{
	int ret;

	if (!h)
		return -EINVAL;
	if (fd < -1)
		return api_vm_fail(h, KVMKIT_ERROR_USAGE, -EINVAL, "console fd %d: not an fd", fd);
	ret = check_created(h, "set_console_fd");
	if (ret == 0)
		h->console_fd = fd;
	return ret;
}

int kvmkit_vm_set_console_callback(struct kvmkit_vm *h, kvmkit_console_fn fn, void *opaque)
{
	int ret;

	if (!h)
		return -EINVAL;
	ret = check_created(h, "set_console_callback");
	if (ret == 0) {
		h->console_fn = fn;
		h->console_opaque = opaque;
	}
	return ret;
}

int kvmkit_vm_set_event_callback(struct kvmkit_vm *h, kvmkit_event_fn fn, void *opaque)
{
	int ret;

	if (!h)
		return -EINVAL;
	ret = check_created(h, "set_event_callback");
	if (ret == 0) {
		h->event_fn = fn;
		h->event_opaque = opaque;
	}
	return ret;
}

int kvmkit_vm_event_fd(struct kvmkit_vm *h) { return h ? h->events.fd : -EINVAL; }

int kvmkit_vm_next_event(struct kvmkit_vm *h, struct kvmkit_event *event)
{
	if (!h || !event)
		return -EINVAL;
	return api_events_pop(&h->events, event);
}

/* Queues the event under the handle's lock (so the queue keeps the order of
 * transitions), then calls the embedder's callback without it. */
static void emit_locked(struct kvmkit_vm *h, const struct kvmkit_event *ev)
{
	api_events_push(&h->events, ev);
}

static void call_event_fn(struct kvmkit_vm *h, const struct kvmkit_event *ev)
{
	if (h->event_fn)
		h->event_fn(h, ev, h->event_opaque);
}

static void console_hook(void *opaque, const char *buf, size_t len)
{
	struct kvmkit_vm *h = opaque;

	h->console_fn(h, buf, len, h->console_opaque);
}

static void mark_ended(struct kvmkit_vm *h, enum kvmkit_exit_reason reason,
		       enum kvmkit_error_kind kind, const char *error)
{
	struct kvmkit_event ev = {
		.type = KVMKIT_EVENT_EXIT,
		.state = KVMKIT_STATE_ENDED,
		.reason = reason,
	};

	pthread_mutex_lock(&h->lock);
	if (h->ended) {
		pthread_mutex_unlock(&h->lock);
		return;
	}
	h->ended = true;
	h->reason = reason;
	if (reason == KVMKIT_EXIT_ERROR && error && error[0]) {
		snprintf(h->error, sizeof(h->error), "%s", error);
		h->error_kind = kind;
	}
	emit_locked(h, &ev);
	pthread_mutex_unlock(&h->lock);
	/* Whoever waits sees the end after the embedder's callback did. */
	call_event_fn(h, &ev);
	pthread_mutex_lock(&h->lock);
	h->end_announced = true;
	pthread_cond_broadcast(&h->ended_cond);
	pthread_mutex_unlock(&h->lock);
}

static void state_hook(void *opaque, enum vm_run_state state, enum vm_exit_reason reason)
{
	struct kvmkit_vm *h = opaque;
	struct kvmkit_event ev = {.type = KVMKIT_EVENT_STATE, .state = api_public_state(state)};

	if (state == VM_STATE_ENDED) {
		/* On the loop thread, vCPUs stopped: the numbers are final. */
		if (h->cfg->opts.vm.print_stats)
			vm_print_stats(h->vm, STDERR_FILENO);
		mark_ended(h, api_public_reason(reason),
			   h->vm->error_is_input ? KVMKIT_ERROR_INPUT : KVMKIT_ERROR_HOST,
			   h->vm->error);
		if (h->control)
			control_socket_vm_ended(h->control);
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (h->ended) {
		pthread_mutex_unlock(&h->lock);
		return;
	}
	emit_locked(h, &ev);
	pthread_mutex_unlock(&h->lock);
	call_event_fn(h, &ev);
}

/* The control socket lives on the VM's loop, but above the core. */
static int loop_opened_hook(void *opaque, struct vm *vm, struct uv_loop_s *loop)
{
	struct kvmkit_vm *h = opaque;

	if (!vm->cfg.api_socket_path)
		return 0;
	return control_socket_open(vm, loop, vm->cfg.api_socket_path, &h->control);
}

static void loop_woken_hook(void *opaque)
{
	struct kvmkit_vm *h = opaque;

	if (h->control)
		control_socket_poll(h->control);
}

static void loop_closing_hook(void *opaque)
{
	struct kvmkit_vm *h = opaque;

	if (h->control)
		control_socket_close(h->control);
}

/* Runs the loop to the end; then the socket's handles are closed. */
static void run_loop(struct kvmkit_vm *h)
{
	vm_run_loop(h->vm);
	control_socket_free(h->control);
	h->control = NULL;
}

static void *loop_thread(void *arg)
{
	struct kvmkit_vm *h = arg;

	pthread_setname_np(pthread_self(), "kvmkit-loop");
	run_loop(h);
	return NULL;
}

/* Like a vCPU thread, the loop thread takes no asynchronous signal: those
 * belong to the embedder. */
static int start_loop_thread(struct kvmkit_vm *h)
{
	int ret = vmm_thread_start(&h->loop_thread, loop_thread, h, 0);

	if (ret != 0)
		return -ret;
	h->loop_thread_started = true;
	return 0;
}

int kvmkit_vm_start(struct kvmkit_vm *h)
{
	struct vm_hooks hooks;
	struct kvmkit_event running = {.type = KVMKIT_EVENT_STATE, .state = KVMKIT_STATE_RUNNING};
	char err[512] = "";
	bool input_error = false;
	struct vm *vm;
	int ret;

	if (!h)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	if (h->start_called) {
		pthread_mutex_unlock(&h->lock);
		return api_vm_fail(h, KVMKIT_ERROR_USAGE, -EBUSY,
				   "start: the VM was already started");
	}
	h->start_called = true;
	pthread_mutex_unlock(&h->lock);

	if (h->cfg->opts.vm.restore_path) {
		ret = api_restore_prepare(&h->cfg, &h->restore, err, sizeof(err));
		if (ret < 0) {
			mark_ended(h, KVMKIT_EXIT_ERROR,
				   ret == -ENOMEM ? KVMKIT_ERROR_HOST : KVMKIT_ERROR_INPUT, err);
			return ret;
		}
	} else if (kvmkit_config_is_set(h->cfg, "restore-clock") == 1) {
		mark_ended(h, KVMKIT_EXIT_ERROR, KVMKIT_ERROR_INPUT,
			   "--restore-clock without --restore: it says what a restore does with "
			   "the guest's clocks");
		return -EINVAL;
	}
	ret = api_machine_settings(h->cfg, &h->machine_settings);
	if (ret < 0) {
		mark_ended(h, KVMKIT_EXIT_ERROR, KVMKIT_ERROR_HOST, "out of memory");
		return ret;
	}
	log_set_level(h->cfg->opts.log_level);
	hooks = (struct vm_hooks){
		.opaque = h,
		.console_output = h->console_fn ? console_hook : NULL,
		.console_fd = h->console_fd,
		.state_changed = state_hook,
		.loop_opened = loop_opened_hook,
		.loop_closing = loop_closing_hook,
		.loop_woken = loop_woken_hook,
	};
	ret = vm_create_hooked(&h->cfg->opts.vm, &hooks, &vm, err, sizeof(err), &input_error);
	if (ret < 0) {
		mark_ended(h, KVMKIT_EXIT_ERROR,
			   input_error ? KVMKIT_ERROR_INPUT : KVMKIT_ERROR_HOST, err);
		return ret;
	}
	h->vm = vm;
	vm->machine_settings = h->machine_settings;
	ret = vm_start(vm);
	if (ret == 0)
		ret = start_loop_thread(h);
	if (ret < 0) {
		/* The loop closes what vm_start() opened; the hook marks the end. */
		if (atomic_load(&vm->exit_reason) == VM_EXIT_NONE)
			vm_error(vm, ret, "cannot start the VM's event loop thread: %s",
				 strerror(-ret));
		vm_request_exit(vm, VM_EXIT_ERROR);
		run_loop(h);
		return ret;
	}
	pthread_mutex_lock(&h->lock);
	h->running = true;
	/* RUNNING goes before anything the loop thread may report. */
	if (!h->ended)
		emit_locked(h, &running);
	pthread_mutex_unlock(&h->lock);
	call_event_fn(h, &running);
	return 0;
}

/* The core VM when control calls may reach it, or NULL with -ESRCH recorded. */
struct vm *api_running_vm(struct kvmkit_vm *h, const char *what, int *ret)
{
	struct vm *vm = NULL;

	pthread_mutex_lock(&h->lock);
	if (h->running && !h->ended)
		vm = h->vm;
	pthread_mutex_unlock(&h->lock);
	if (!vm)
		*ret = api_vm_fail(h, KVMKIT_ERROR_USAGE, -ESRCH, "%s: the VM is not running",
				   what);
	return vm;
}

static int control(struct kvmkit_vm *h, const char *what, int (*op)(struct vm *vm))
{
	struct vm *vm;
	int ret = 0;

	if (!h)
		return -EINVAL;
	vm = api_running_vm(h, what, &ret);
	if (!vm)
		return ret;
	ret = op(vm);
	if (ret < 0)
		return api_vm_fail(h, KVMKIT_ERROR_USAGE, ret, "%s: %s", what,
				   vm_control_strerror(ret));
	return 0;
}

int kvmkit_vm_pause(struct kvmkit_vm *h) { return control(h, "pause", vm_pause); }

int kvmkit_vm_resume(struct kvmkit_vm *h) { return control(h, "resume", vm_resume); }

int kvmkit_vm_stop(struct kvmkit_vm *h) { return control(h, "stop", vm_stop); }

int kvmkit_vm_kill(struct kvmkit_vm *h) { return control(h, "kill", vm_kill); }

int kvmkit_vm_console_input(struct kvmkit_vm *h, const char *buf, size_t len)
{
	struct vm *vm;
	int ret = 0;

	if (!h || (!buf && len))
		return -EINVAL;
	vm = api_running_vm(h, "console_input", &ret);
	if (!vm)
		return ret;
	if (len)
		console_input(&vm->console, buf, len);
	return 0;
}

int kvmkit_vm_wait(struct kvmkit_vm *h, int timeout_ms, enum kvmkit_exit_reason *reason)
{
	struct timespec deadline;
	int ret = 0;

	if (!h)
		return -EINVAL;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout_ms > 0) {
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&h->lock);
	if (!h->start_called) {
		pthread_mutex_unlock(&h->lock);
		return api_vm_fail(h, KVMKIT_ERROR_USAGE, -ESRCH, "wait: the VM was never started");
	}
	while (!h->end_announced && ret == 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&h->ended_cond, &h->lock);
		else if (timeout_ms == 0)
			ret = -ETIMEDOUT;
		else
			ret = -pthread_cond_timedwait(&h->ended_cond, &h->lock, &deadline);
	}
	if (h->end_announced) {
		ret = 0;
		if (reason)
			*reason = h->reason;
	}
	pthread_mutex_unlock(&h->lock);
	if (ret == -ETIMEDOUT)
		return api_vm_fail(h, KVMKIT_ERROR_USAGE, ret,
				   "wait: the VM is still running after %d ms", timeout_ms);
	return ret;
}

enum kvmkit_state kvmkit_vm_state(struct kvmkit_vm *h)
{
	enum kvmkit_state state = KVMKIT_STATE_CREATED;
	struct vm *vm = NULL;

	if (!h)
		return state;
	pthread_mutex_lock(&h->lock);
	if (h->ended)
		state = KVMKIT_STATE_ENDED;
	else if (h->running)
		vm = h->vm;
	pthread_mutex_unlock(&h->lock);
	if (vm) {
		state = api_public_state(vm_run_state(vm));
		/* The core ends a moment before the handle hears of it. */
		if (state == KVMKIT_STATE_ENDED)
			state = KVMKIT_STATE_STOPPING;
	}
	return state;
}

enum kvmkit_exit_reason kvmkit_vm_exit_reason(struct kvmkit_vm *h)
{
	enum kvmkit_exit_reason reason;

	if (!h)
		return KVMKIT_EXIT_NONE;
	pthread_mutex_lock(&h->lock);
	reason = h->ended ? h->reason : KVMKIT_EXIT_NONE;
	pthread_mutex_unlock(&h->lock);
	return reason;
}

const char *kvmkit_vm_last_error(struct kvmkit_vm *h) { return h ? h->error : "no VM given"; }

enum kvmkit_error_kind kvmkit_vm_last_error_kind(struct kvmkit_vm *h)
{
	enum kvmkit_error_kind kind;

	if (!h)
		return KVMKIT_ERROR_USAGE;
	pthread_mutex_lock(&h->lock);
	kind = h->error_kind;
	pthread_mutex_unlock(&h->lock);
	return kind;
}

int kvmkit_vm_write_stats(struct kvmkit_vm *h, int fd)
{
	struct vm *vm;

	if (!h || fd < 0)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	vm = h->vm;
	pthread_mutex_unlock(&h->lock);
	if (!vm)
		return api_vm_fail(h, KVMKIT_ERROR_USAGE, -ESRCH,
				   "write_stats: the VM was never built");
	vm_print_stats(vm, fd);
	return 0;
}

int kvmkit_vm_destroy(struct kvmkit_vm *h)
{
	if (!h)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	if (h->start_called && !h->end_announced) {
		pthread_mutex_unlock(&h->lock);
		return api_vm_fail(h, KVMKIT_ERROR_USAGE, -EBUSY,
				   "destroy: the VM is still running (kill it and wait first)");
	}
	pthread_mutex_unlock(&h->lock);
	/* Ended: the loop thread is closing the loop, or done. */
	if (h->loop_thread_started)
		pthread_join(h->loop_thread, NULL);
	vm_destroy(h->vm);
	vm_restore_free(h->restore);
	free(h->machine_settings);
	api_events_destroy(&h->events);
	kvmkit_config_free(h->cfg);
	pthread_cond_destroy(&h->ended_cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return 0;
}
