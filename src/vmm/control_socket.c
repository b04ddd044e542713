#include "vmm/control_socket.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/api.h"
#include "vmm/control_request.h"
#include "vmm/log.h"
#include "vmm/vm.h"
#include "vmm/vm_dirty.h"
#include "vmm/vm_snapshot.h"

#define CTL_MAX_CLIENTS 16
/* A client that sends nothing (not even a blank line) for this long, and
 * has no "wait" or "pause" pending, is closed (man/kvmkit.1). */
#define CTL_IDLE_MS 30000

struct ctl_client {
	struct control_socket *cs;
	uv_poll_t poll;
	uv_timer_t idle;
	int fd;                /* -1: closed */
	unsigned open_handles; /* the slot is free when libuv closed all three */
	bool in_use;
	uint64_t last_read; /* uv_now() of the last bytes received */
	bool waiting;       /* sent "wait": answered when the VM ends */
	struct json_object *wait_id;
	bool pausing; /* sent "pause": answered once paused (never waits on the loop) */
	struct json_object *pause_id;
	bool snapshotting; /* sent "snapshot": written once paused, then answered */
	bool snap_was_paused;
	/* Being written on a thread of its own; answered when it is
	 * (control_socket_poll()), or when the VM ends first (cancelled). */
	struct vm_snapshot_job *snap_job;
	enum vm_snapshot_then snap_then;
	enum vm_snapshot_kind snap_kind;
	char *snap_path;
	struct json_object *snap_id;
	uv_timer_t rate_timer; /* "dirty-rate": the end of the window measured */
	bool measuring;
	bool rate_started; /* the measurement turned tracking on */
	double rate_t0;
	struct json_object *rate_id;
	size_t len;
	char buf[CONTROL_LINE_MAX];
};

struct control_socket {
	struct vm *vm;
	uv_poll_t listen_poll;
	int listen_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev; /* of the socket file, to remove only ours */
	ino_t ino;
	bool handles_open;
	bool measuring; /* one "dirty-rate" at a time */
	struct ctl_client clients[CTL_MAX_CLIENTS];
	/* Snapshots still being written for clients that went away: ended
	 * when written (nobody to answer), cancelled when the VM ends. */
	struct orphan_snapshot {
		struct vm_snapshot_job *job;
		enum vm_snapshot_then then;
		bool was_paused;
	} orphans[CTL_MAX_CLIENTS];
};

static const char *errno_code(int err)
{
	switch (err) {
	case EINVAL: return "EINVAL";
	case ESRCH: return "ESRCH";
	case EBUSY: return "EBUSY";
	case EDEADLK: return "EDEADLK";
	case EAGAIN: return "EAGAIN";
	case EINPROGRESS: return "EINPROGRESS";
	case EMSGSIZE: return "EMSGSIZE";
	case EBADMSG: return "EBADMSG";
	case ENOMEM: return "ENOMEM";
	case EALREADY: return "EALREADY";
	case ENOTCONN: return "ENOTCONN";
	case EOVERFLOW: return "EOVERFLOW";
	case ENOTSUP: return "ENOTSUP";
	}
	return "EIO";
}

static void on_client_closed(uv_handle_t *handle)
{
	struct ctl_client *c = handle->data;

	if (--c->open_handles == 0)
		c->in_use = false;
}

/* Ends orphan @o's snapshot: at once when @cancel, else only once written. */
static void end_orphan(struct orphan_snapshot *o, bool cancel)
{
	char ignored[512];

	if (!o->job || (!cancel && !vm_snapshot_written(o->job)))
		return;
	if (cancel)
		vm_snapshot_cancel(o->job);
	vm_snapshot_end(o->job, o->then, o->was_paused, NULL, ignored, sizeof(ignored));
	o->job = NULL;
}

/* A client gone with its snapshot in flight. There is a slot for each
 * client, and a client holds at most one snapshot. */
static void adopt_orphan(struct control_socket *cs, struct vm_snapshot_job *job,
			 enum vm_snapshot_then then, bool was_paused)
{
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct orphan_snapshot *o = &cs->orphans[i];

		if (!o->job) {
			*o = (struct orphan_snapshot){job, then, was_paused};
			/* The loop closing waits for nothing more. */
			end_orphan(o, !cs->handles_open);
			return;
		}
	}
}

static void client_close(struct ctl_client *c)
{
	if (c->fd < 0)
		return;
	uv_poll_stop(&c->poll);
	uv_close((uv_handle_t *)&c->poll, on_client_closed);
	uv_close((uv_handle_t *)&c->idle, on_client_closed);
	uv_close((uv_handle_t *)&c->rate_timer, on_client_closed);
	if (c->measuring) {
		char ignored[128];

		/* Tracking it turned on for the measurement goes off with it. */
		if (c->rate_started)
			vm_dirty_stop(c->cs->vm, ignored, sizeof(ignored));
		c->cs->measuring = false;
		c->measuring = false;
	}
	json_object_put(c->rate_id);
	c->rate_id = NULL;
	close(c->fd);
	c->fd = -1;
	c->waiting = false;
	json_object_put(c->wait_id);
	c->wait_id = NULL;
	c->pausing = false;
	json_object_put(c->pause_id);
	c->pause_id = NULL;
	c->snapshotting = false;
	if (c->snap_job) {
		/* Nobody hears the answer; the write goes on for the VM's sake
		 * (its lineage, then what was asked after it), off the loop. */
		adopt_orphan(c->cs, c->snap_job, c->snap_then, c->snap_was_paused);
		c->snap_job = NULL;
	}
	free(c->snap_path);
	c->snap_path = NULL;
	json_object_put(c->snap_id);
	c->snap_id = NULL;
}

/* Replies are small and clients read them: one non-blocking send, and a
 * client whose buffer is full is dropped rather than waited for. */
static void reply(struct ctl_client *c, struct json_object *obj)
{
	const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(text);
	char *line = malloc(len + 2);
	ssize_t n = -1;

	if (line) {
		memcpy(line, text, len);
		line[len] = '\n';
		n = send(c->fd, line, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		free(line);
	}
	json_object_put(obj);
	if (n != (ssize_t)len + 1)
		client_close(c);
}

static struct json_object *new_reply(bool ok, struct json_object *id)
{
	struct json_object *obj = json_object_new_object();

	json_object_object_add(obj, "ok", json_object_new_boolean(ok));
	if (id)
		json_object_object_add(obj, "id", json_object_get(id));
	return obj;
}

static void reply_error(struct ctl_client *c, struct json_object *id, int err, const char *msg)
{
	struct json_object *obj = new_reply(false, id);
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "code", json_object_new_string(errno_code(err)));
	json_object_object_add(e, "errno", json_object_new_int(err));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(obj, "error", e);
	reply(c, obj);
}

static void add_state(struct json_object *obj, struct vm *vm)
{
	enum vm_run_state state = vm_run_state(vm);
	enum vm_exit_reason reason = (enum vm_exit_reason)atomic_load(&vm->exit_reason);

	/* Once an exit reason is set the VM is on its way out. */
	if (reason != VM_EXIT_NONE && state != VM_STATE_ENDED)
		state = VM_STATE_STOPPING;
	json_object_object_add(obj, "state",
			       json_object_new_string(kvmkit_state_name(api_public_state(state))));
	json_object_object_add(obj, "exit-reason",
			       reason == VM_EXIT_NONE
				       ? NULL
				       : json_object_new_string(kvmkit_exit_reason_name(
						 api_public_reason(reason))));
}

static void reply_state(struct ctl_client *c, struct json_object *id)
{
	struct json_object *obj = new_reply(true, id);
	struct vm *vm = c->cs->vm;

	add_state(obj, vm);
	reply(c, obj);
}

static void reply_status(struct ctl_client *c, struct json_object *id)
{
	struct json_object *obj = new_reply(true, id);
	struct vm *vm = c->cs->vm;
	uint64_t dropped = 0;
	bool writing = vm_snapshot_is_held(vm);

	for (int i = 0; i < CONSOLE_NR_SINKS; i++)
		dropped += console_dropped(&vm->console, (enum console_sink_index)i);
	add_state(obj, vm);
	/* The state stays "running" until the pause completed. */
	json_object_object_add(obj, "pausing",
			       json_object_new_boolean(vm_pause_poll(vm) == -EINPROGRESS));
	json_object_object_add(obj, "snapshot-writing", json_object_new_boolean(writing));
	json_object_object_add(obj, "vcpus", json_object_new_int((int)vm->nr_vcpus));
	json_object_object_add(obj, "memory-mib",
			       json_object_new_int64((int64_t)(vm->cfg.mem_size >> 20)));
	json_object_object_add(obj, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(obj, "console-dropped-bytes",
			       json_object_new_int64((int64_t)dropped));
	json_object_object_add(obj, "dirty-engine",
			       json_object_new_string(dirty_log_engine_name(vm->dirty)));
	json_object_object_add(obj, "dirty-tracking",
			       json_object_new_boolean(dirty_log_tracking(vm->dirty)));
	reply(c, obj);
}

static const struct {
	const char *name;
	int (*op)(struct vm *vm);
} control_ops[] = {
	{"resume", vm_resume},
	{"stop", vm_stop},
	{"kill", vm_kill},
};

/* A request's optional member @name: absent leaves *@out alone; the wrong
 * type is an error (false, with @msg). */
static bool get_bool(struct json_object *req, const char *name, bool *out, char *msg, size_t msglen)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req, name, &v))
		return true;
	if (!json_object_is_type(v, json_type_boolean)) {
		snprintf(msg, msglen, "\"%s\" must be true or false", name);
		return false;
	}
	*out = json_object_get_boolean(v);
	return true;
}

static bool get_seconds(struct json_object *req, unsigned *out, char *msg, size_t msglen)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(req, "seconds", &v))
		return true;
	n = json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_int) || n < 1 || n > DIRTY_RATE_MAX_SEC) {
		snprintf(msg, msglen, "\"seconds\" must be a whole number from 1 to %d",
			 DIRTY_RATE_MAX_SEC);
		return false;
	}
	*out = (unsigned)n;
	return true;
}

static void reply_dirty(struct ctl_client *c, struct json_object *id)
{
	struct json_object *obj = new_reply(true, id);
	struct vm *vm = c->cs->vm;

	json_object_object_add(obj, "dirty-engine",
			       json_object_new_string(dirty_log_engine_name(vm->dirty)));
	json_object_object_add(obj, "dirty-tracking",
			       json_object_new_boolean(dirty_log_tracking(vm->dirty)));
	reply(c, obj);
}

static void on_rate_window(uv_timer_t *timer)
{
	struct ctl_client *c = timer->data;
	struct json_object *id = c->rate_id, *obj, *vcpus;
	struct vm_dirty_rate rate;
	char why[256];
	int ret;

	ret = vm_dirty_rate_end(c->cs->vm, c->rate_started, c->rate_t0, &rate, why, sizeof(why));
	c->measuring = c->cs->measuring = false;
	c->rate_id = NULL;
	if (ret < 0) {
		reply_error(c, id, -ret, why);
		json_object_put(id);
		return;
	}
	obj = new_reply(true, id);
	json_object_put(id);
	json_object_object_add(obj, "dirty-engine",
			       json_object_new_string(dirty_log_engine_name(c->cs->vm->dirty)));
	json_object_object_add(obj, "seconds", json_object_new_double(rate.seconds));
	json_object_object_add(obj, "guest-pages-per-sec",
			       json_object_new_double(rate.guest_pages_per_sec));
	json_object_object_add(obj, "vmm-pages-per-sec",
			       json_object_new_double(rate.vmm_pages_per_sec));
	if (rate.vcpu_pages_per_sec) {
		vcpus = json_object_new_array();
		for (unsigned i = 0; i < rate.nr_vcpus; i++)
			json_object_array_add(vcpus,
					      json_object_new_double(rate.vcpu_pages_per_sec[i]));
		json_object_object_add(obj, "vcpu-pages-per-sec", vcpus);
		free(rate.vcpu_pages_per_sec);
	}
	reply(c, obj);
}

/* dirty-start, dirty-stop, dirty-rate; false when @command is none of them. */
static bool run_dirty_command(struct ctl_client *c, const char *command, struct json_object *req,
			      struct json_object *id)
{
	struct vm *vm = c->cs->vm;
	char msg[256];
	bool all = false;
	unsigned seconds = 1;
	int ret;

	if (strcmp(command, "dirty-start") == 0) {
		if (!get_bool(req, "all", &all, msg, sizeof(msg)))
			reply_error(c, id, EINVAL, msg);
		else if ((ret = vm_dirty_start(vm, all, msg, sizeof(msg))) < 0)
			reply_error(c, id, -ret, msg);
		else
			reply_dirty(c, id);
		return true;
	}
	if (strcmp(command, "dirty-stop") == 0) {
		if ((ret = vm_dirty_stop(vm, msg, sizeof(msg))) < 0)
			reply_error(c, id, -ret, msg);
		else
			reply_dirty(c, id);
		return true;
	}
	if (strcmp(command, "dirty-rate") != 0)
		return false;
	if (!get_seconds(req, &seconds, msg, sizeof(msg))) {
		reply_error(c, id, EINVAL, msg);
		return true;
	}
	if (c->cs->measuring) {
		reply_error(c, id, EBUSY, "a dirty-rate measurement is running already");
		return true;
	}
	ret = vm_dirty_rate_begin(vm, &c->rate_started, &c->rate_t0, msg, sizeof(msg));
	if (ret < 0) {
		reply_error(c, id, -ret, msg);
		return true;
	}
	/* The answer comes when the window ends; the loop runs on meanwhile. */
	c->measuring = c->cs->measuring = true;
	c->rate_id = id ? json_object_get(id) : NULL;
	/* From now, not from when this loop turn began: the window starts at t0. */
	uv_update_time(c->rate_timer.loop);
	uv_timer_start(&c->rate_timer, on_rate_window, (uint64_t)seconds * 1000, 0);
	return true;
}

static void finish_snapshot(struct ctl_client *c);

/* The write ran on its own thread: wakes the loop, which answers. */
static void on_snapshot_written(void *opaque) { vm_loop_wake(opaque); }

/* The VM is paused for @c's snapshot: takes its records and starts the
 * write on a thread of its own; the loop runs on (status, kill, the
 * console) and control_socket_poll() answers when the files are written. */
static void start_snapshot(struct ctl_client *c)
{
	char err[512];
	int ret;

	c->snapshotting = false;
	ret = vm_snapshot_begin(c->cs->vm, c->snap_path, c->snap_kind, &c->snap_job, err,
				sizeof(err));
	if (ret == 0)
		ret = vm_snapshot_write_async(c->snap_job, on_snapshot_written, c->cs->vm);
	if (ret == 0)
		return;
	if (c->snap_job) {
		/* No thread: written here, as the library does. */
		vm_snapshot_write(c->snap_job);
		finish_snapshot(c);
		return;
	}
	if (ret != -EAGAIN && (c->snap_then == VM_SNAPSHOT_THEN_RESUME || !c->snap_was_paused))
		vm_resume(c->cs->vm);
	reply_error(c, c->snap_id, -ret, err);
	json_object_put(c->snap_id);
	c->snap_id = NULL;
	free(c->snap_path);
	c->snap_path = NULL;
}

/* The write of @c's snapshot ended (or is cancelled and waited for):
 * the VM does what was asked after it, then the answer. */
static void finish_snapshot(struct ctl_client *c)
{
	struct json_object *id = c->snap_id, *obj, *snap;
	struct vm_snapshot_result res;
	char err[512];
	int ret;

	c->snap_id = NULL;
	ret = vm_snapshot_end(c->snap_job, c->snap_then, c->snap_was_paused, &res, err,
			      sizeof(err));
	c->snap_job = NULL;
	if (ret < 0) {
		reply_error(c, id, -ret, err);
	} else {
		obj = new_reply(true, id);
		add_state(obj, c->cs->vm);
		snap = json_object_new_object();
		json_object_object_add(snap, "path", json_object_new_string(c->snap_path));
		json_object_object_add(snap, "memory-bytes",
				       json_object_new_int64((int64_t)res.memory_bytes));
		json_object_object_add(snap, "stored-bytes",
				       json_object_new_int64((int64_t)res.stored_bytes));
		json_object_object_add(snap, "seconds", json_object_new_double(res.seconds));
		if (c->snap_kind == VM_SNAPSHOT_DIFF)
			json_object_object_add(snap, "diff-pages",
					       json_object_new_int64((int64_t)res.diff_pages));
		json_object_object_add(obj, "snapshot", snap);
		reply(c, obj);
	}
	json_object_put(id);
	free(c->snap_path);
	c->snap_path = NULL;
}

/* {"command": "snapshot", "path": DIR, "then": "resume" | "stop", "diff":
 * true}: pauses without blocking the loop, writes once paused
 * (control_socket_poll()). */
static void run_snapshot(struct ctl_client *c, struct json_object *req, struct json_object *id)
{
	struct json_object *v;
	const char *path, *then = "as-was";
	int ret;

	if (c->snapshotting || c->snap_job) {
		reply_error(c, id, EBUSY, "a snapshot of this client's is being written already");
		return;
	}
	if (!json_object_object_get_ex(req, "path", &v) ||
	    !json_object_is_type(v, json_type_string) || !*(path = json_object_get_string(v))) {
		reply_error(c, id, EINVAL, "\"snapshot\" needs a \"path\": the directory to write");
		return;
	}
	if (json_object_object_get_ex(req, "then", &v))
		then = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
	if (vm_snapshot_then_parse(then, &c->snap_then) < 0) {
		reply_error(c, id, EINVAL, "\"then\" must be \"resume\" or \"stop\"");
		return;
	}
	c->snap_kind = VM_SNAPSHOT_FULL;
	if (json_object_object_get_ex(req, "diff", &v)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			reply_error(c, id, EINVAL, "\"diff\" must be true or false");
			return;
		}
		if (json_object_get_boolean(v))
			c->snap_kind = VM_SNAPSHOT_DIFF;
	}
	c->snap_path = strdup(path);
	if (!c->snap_path) {
		reply_error(c, id, ENOMEM, "out of memory");
		return;
	}
	c->snap_was_paused = vm_run_state(c->cs->vm) == VM_STATE_PAUSED;
	ret = vm_pause_begin(c->cs->vm);
	if (ret < 0) {
		free(c->snap_path);
		c->snap_path = NULL;
		reply_error(c, id, -ret, vm_control_strerror(ret));
		return;
	}
	c->snapshotting = true;
	c->snap_id = id ? json_object_get(id) : NULL;
	if (ret == 1)
		start_snapshot(c);
	else
		control_socket_poll(c->cs);
}

static void run_command(struct ctl_client *c, const char *command, struct json_object *req,
			struct json_object *id)
{
	char msg[256];

	if (run_dirty_command(c, command, req, id))
		return;

	if (strcmp(command, "status") == 0) {
		reply_status(c, id);
		return;
	}
	if (strcmp(command, "pause") == 0) {
		int ret = vm_pause_begin(c->cs->vm);

		if (ret < 0) {
			reply_error(c, id, -ret, vm_control_strerror(ret));
		} else if (ret == 1 || c->pausing) {
			reply_state(c, id); /* already paused, or a pause answered below */
		} else {
			c->pausing = true;
			c->pause_id = id ? json_object_get(id) : NULL;
			control_socket_poll(c->cs);
		}
		return;
	}
	if (strcmp(command, "snapshot") == 0) {
		run_snapshot(c, req, id);
		return;
	}
	if (strcmp(command, "wait") == 0) {
		c->waiting = true;
		json_object_put(c->wait_id);
		c->wait_id = id ? json_object_get(id) : NULL;
		return;
	}
	for (unsigned i = 0; i < sizeof(control_ops) / sizeof(control_ops[0]); i++) {
		if (strcmp(command, control_ops[i].name) == 0) {
			int ret = control_ops[i].op(c->cs->vm);

			if (ret < 0)
				reply_error(c, id, -ret, vm_control_strerror(ret));
			else
				reply_state(c, id);
			return;
		}
	}
	snprintf(msg, sizeof(msg),
		 "unknown command '%.64s': expected status, pause, resume, stop, kill, wait, "
		 "snapshot, dirty-start, dirty-stop or dirty-rate",
		 command);
	reply_error(c, id, EINVAL, msg);
}

static void handle_line(struct ctl_client *c, const char *line, size_t len)
{
	struct control_request req;
	char msg[256];
	int err = control_request_parse(line, len, &req, msg, sizeof(msg));

	if (err)
		reply_error(c, req.id, err, msg);
	else
		run_command(c, req.command, req.root, req.id);
	control_request_free(&req);
}

/* Serves every complete line in the client's buffer. */
static void serve_lines(struct ctl_client *c)
{
	size_t done = 0, taken, line_len;
	const char *line;

	while (c->fd >= 0 &&
	       (taken = control_next_line(c->buf + done, c->len - done, &line, &line_len))) {
		/* Blank lines are keep-alives, not requests. */
		if (line_len)
			handle_line(c, line, line_len);
		done += taken;
	}
	if (c->fd < 0)
		return;
	c->len -= done;
	memmove(c->buf, c->buf + done, c->len);
	if (c->len == sizeof(c->buf)) {
		reply_error(c, NULL, EMSGSIZE, "request line longer than 4096 bytes");
		client_close(c);
	}
}

static void on_client(uv_poll_t *handle, int status, int events)
{
	struct ctl_client *c = handle->data;
	ssize_t n;

	if (status < 0 || !(events & UV_READABLE)) {
		client_close(c);
		return;
	}
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->last_read = uv_now(handle->loop);
	uv_timer_again(&c->idle);
	c->len += (size_t)n;
	serve_lines(c);
}

static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == geteuid() || cred.uid == 0;
}

static void on_idle(uv_timer_t *timer)
{
	struct ctl_client *c = timer->data;

	/* A client waiting for its answer is not idle. */
	if (c->waiting || c->pausing || c->snapshotting || c->snap_job || c->measuring)
		return;
	log_debug("--api-socket %s: closed a client idle for %d s", c->cs->path,
		  CTL_IDLE_MS / 1000);
	client_close(c);
}

/* Every slot is taken: the client that received nothing for the longest
 * goes, those without a pending "wait" or "pause" first, so that a new
 * client (a "kill") always gets in. */
static struct ctl_client *eviction_victim(struct control_socket *cs)
{
	struct ctl_client *victim = NULL;

	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *c = &cs->clients[i];
		bool busy = c->waiting || c->pausing || c->snapshotting || c->snap_job ||
			    c->measuring;

		if (c->fd < 0)
			continue;
		bool victim_busy = victim &&
				   (victim->waiting || victim->pausing || victim->snapshotting ||
				    victim->snap_job || victim->measuring);

		if (!victim || (!busy && victim_busy) ||
		    (busy == victim_busy && c->last_read < victim->last_read))
			victim = c;
	}
	return victim;
}

static void on_connect(uv_poll_t *handle, int status, int events)
{
	struct control_socket *cs = handle->data;
	struct ctl_client *c = NULL, *victim;
	bool closing = false;
	int fd;

	if (status < 0 || !(events & UV_READABLE))
		return;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS && !c; i++) {
		if (!cs->clients[i].in_use)
			c = &cs->clients[i];
		else if (cs->clients[i].fd < 0)
			closing = true;
	}
	if (!c) {
		/* The connection waits in the backlog (the listening socket
		 * stays readable) until libuv frees a slot, in this turn of
		 * the loop. */
		victim = closing ? NULL : eviction_victim(cs);
		if (victim) {
			log_warn("--api-socket %s: %d clients connected: closed the one idle "
				 "longest",
				 cs->path, CTL_MAX_CLIENTS);
			client_close(victim);
		}
		return;
	}
	fd = accept4(cs->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (!peer_allowed(fd)) {
		log_warn("--api-socket %s: refused a connection from another user", cs->path);
		close(fd);
		return;
	}
	if (uv_poll_init(handle->loop, &c->poll, fd) < 0) {
		close(fd);
		return;
	}
	uv_timer_init(handle->loop, &c->idle);
	uv_timer_init(handle->loop, &c->rate_timer);
	c->rate_timer.data = c;
	c->fd = fd;
	c->in_use = true;
	c->open_handles = 3;
	c->len = 0;
	c->last_read = uv_now(handle->loop);
	c->poll.data = c;
	c->idle.data = c;
	uv_timer_start(&c->idle, on_idle, CTL_IDLE_MS, CTL_IDLE_MS);
	uv_poll_start(&c->poll, UV_READABLE | UV_DISCONNECT, on_client);
}

/* A socket file left by a VMM that died: nobody listens on it. The probe
 * never blocks: a listener whose backlog is full (one that never accepts)
 * answers EAGAIN at once, and counts as alive. */
static bool stale_socket(const char *path, const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	close(fd);
	return ret < 0 && errno == ECONNREFUSED;
}

static int bind_socket(struct control_socket *cs, struct vm *vm)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct stat st;
	int ret, err;

	memcpy(addr.sun_path, cs->path, strlen(cs->path) + 1);
	/* Owner only from the start: on Linux bind() gives the file the mode of
	 * the socket's inode (less the umask), so there is no moment at which
	 * another user could connect, and nothing is changed by path. */
	if (fchmod(cs->listen_fd, 0600) < 0)
		return vm_error(vm, -errno, "--api-socket %s: fchmod: %s", cs->path,
				strerror(errno));
	ret = bind(cs->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
	err = ret < 0 ? errno : 0;
	if (err == EADDRINUSE && stale_socket(cs->path, &addr)) {
		unlink(cs->path);
		ret = bind(cs->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
		err = ret < 0 ? errno : 0;
	}
	if (ret < 0) {
		return vm_input_error(
			vm, -err, "--api-socket %s: %s", cs->path,
			err == EADDRINUSE ? "in use (another VM serves it, or it is not a socket)"
					  : strerror(err));
	}
	/* Which file is ours, to remove only that one at the end. */
	if (lstat(cs->path, &st) < 0) {
		ret = vm_error(vm, -errno, "--api-socket %s: %s", cs->path, strerror(errno));
		unlink(cs->path);
		return ret;
	}
	if (!S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != 0600) {
		/* A umask that takes the owner's read or write away. */
		if (S_ISSOCK(st.st_mode))
			unlink(cs->path);
		return vm_input_error(vm, -EACCES,
				      "--api-socket %s: created with mode %04o, not 0600: the "
				      "umask takes the owner's read or write away",
				      cs->path, (unsigned)(st.st_mode & 07777));
	}
	cs->dev = st.st_dev;
	cs->ino = st.st_ino;
	if (listen(cs->listen_fd, CTL_MAX_CLIENTS) < 0) {
		ret = vm_error(vm, -errno, "--api-socket %s: listen: %s", cs->path,
			       strerror(errno));
		unlink(cs->path);
		return ret;
	}
	return 0;
}

int control_socket_open(struct vm *vm, uv_loop_t *loop, const char *path,
			struct control_socket **out)
{
	struct control_socket *cs = calloc(1, sizeof(*cs));
	int ret;

	if (!cs)
		return vm_error(vm, -ENOMEM, "--api-socket: out of memory");
	if (strlen(path) >= sizeof(cs->path)) {
		free(cs);
		return vm_input_error(vm, -ENAMETOOLONG, "--api-socket %s: path too long", path);
	}
	strcpy(cs->path, path);
	cs->vm = vm;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		cs->clients[i].fd = -1;
		cs->clients[i].cs = cs;
	}
	cs->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (cs->listen_fd < 0) {
		ret = vm_error(vm, -errno, "--api-socket: socket: %s", strerror(errno));
		free(cs);
		return ret;
	}
	ret = bind_socket(cs, vm);
	if (ret == 0 && uv_poll_init(loop, &cs->listen_poll, cs->listen_fd) < 0) {
		unlink(cs->path);
		ret = vm_error(vm, -EIO, "--api-socket %s: cannot watch the socket", path);
	}
	if (ret < 0) {
		close(cs->listen_fd);
		free(cs);
		return ret;
	}
	cs->handles_open = true;
	cs->listen_poll.data = cs;
	uv_poll_start(&cs->listen_poll, UV_READABLE, on_connect);
	*out = cs;
	return 0;
}

void control_socket_poll(struct control_socket *cs)
{
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		end_orphan(&cs->orphans[i], false);
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *c = &cs->clients[i];
		struct json_object *id;
		int ret;

		if (c->fd >= 0 && c->snap_job && vm_snapshot_written(c->snap_job))
			finish_snapshot(c);
		if (c->fd >= 0 && c->snapshotting) {
			ret = vm_pause_poll(cs->vm);
			if (ret == 0) {
				start_snapshot(c);
			} else if (ret != -EINPROGRESS) {
				id = c->snap_id;
				c->snap_id = NULL;
				c->snapshotting = false;
				reply_error(c, id, -ret, vm_control_strerror(ret));
				json_object_put(id);
			}
		}
		if (c->fd < 0 || !c->pausing)
			continue;
		ret = vm_pause_poll(cs->vm);
		if (ret == -EINPROGRESS)
			continue;
		id = c->pause_id;
		c->pause_id = NULL;
		c->pausing = false;
		if (ret < 0)
			reply_error(c, id, -ret, vm_control_strerror(ret));
		else
			reply_state(c, id);
		json_object_put(id);
	}
}

void control_socket_vm_ended(struct control_socket *cs)
{
	/* A snapshot still being written is of no use now: cancelled (it
	 * leaves nothing), waited for, answered. Guest memory is still mapped. */
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *c = &cs->clients[i];

		if (c->fd >= 0 && c->snap_job) {
			vm_snapshot_cancel(c->snap_job);
			finish_snapshot(c);
		}
		end_orphan(&cs->orphans[i], true);
	}
	control_socket_poll(cs);
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *c = &cs->clients[i];

		if (c->fd >= 0 && c->waiting) {
			struct json_object *id = c->wait_id;

			c->wait_id = NULL;
			c->waiting = false;
			reply_state(c, id);
			json_object_put(id);
		}
	}
}

void control_socket_close(struct control_socket *cs)
{
	if (!cs->handles_open)
		return;
	cs->handles_open = false;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		client_close(&cs->clients[i]);
		end_orphan(&cs->orphans[i], true);
	}
	uv_close((uv_handle_t *)&cs->listen_poll, NULL);
}

void control_socket_free(struct control_socket *cs)
{
	struct stat st;

	if (!cs)
		return;
	close(cs->listen_fd);
	/* Another VMM may have replaced the file meanwhile: leave that one. */
	if (lstat(cs->path, &st) == 0 && st.st_dev == cs->dev && st.st_ino == cs->ino)
		unlink(cs->path);
	free(cs);
}
