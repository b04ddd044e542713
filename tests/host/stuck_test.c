/* A vCPU held in a device handler, for real: the guest (guests/poke.S)
 * resets a virtio-blk whose worker waits in a read from an image whose FUSE
 * server does not answer (fuse_file_hold_reads()), so the reset, on the
 * vCPU thread, waits for the request in flight. While it is held, the VM
 * must go on answering its control socket: a "pause" is taken without
 * blocking the loop (and answered only when it completes or is overtaken),
 * "status" says the VM is running with a pause pending, "resume" answers,
 * and "kill" ends the VM: its loop returns in bounded time although the
 * vCPU thread is still held. Destroying the VM then waits for that thread,
 * so the test lets the read go first.
 *
 *     host-stuck-test [CASE] */
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_blk.h"
#include "fuse_file.h"
#include "guests/layout.h"
#include "host_util.h"
#include "virtio_driver.h"
#include "vm_util.h"
#include "vmm/control_socket.h"
#include "vmm/device.h"
#include "vmm/device_type.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define BLK_ID 2
#define SECTOR 512
#define DISK_SIZE (64 * SECTOR)
#define T_IN 0

/* A VM with a control socket on its loop, as the API layer opens it, and
 * its loop on a thread. */
struct socket_vm {
	struct vm *vm;
	struct control_socket *cs;
	pthread_t loop;
	char path[108];
};

static int loop_opened(void *opaque, struct vm *vm, struct uv_loop_s *loop)
{
	struct socket_vm *s = opaque;

	return control_socket_open(vm, loop, s->path, &s->cs);
}

static void loop_closing(void *opaque)
{
	struct socket_vm *s = opaque;

	control_socket_close(s->cs);
}

static void loop_woken(void *opaque)
{
	struct socket_vm *s = opaque;

	control_socket_poll(s->cs);
}

static void state_changed(void *opaque, enum vm_run_state state, enum vm_exit_reason reason)
{
	struct socket_vm *s = opaque;

	(void)reason;
	if (state == VM_STATE_ENDED && s->cs)
		control_socket_vm_ended(s->cs);
}

static void *run_loop(void *arg)
{
	struct socket_vm *s = arg;

	vm_run(s->vm);
	control_socket_free(s->cs);
	s->cs = NULL;
	return NULL;
}

static void start_socket_vm(struct socket_vm *s, struct vm_config *cfg)
{
	struct vm_hooks hooks = {
		.opaque = s,
		.console_fd = -1,
		.state_changed = state_changed,
		.loop_opened = loop_opened,
		.loop_closing = loop_closing,
		.loop_woken = loop_woken,
	};
	char err[512] = "";
	bool input_error;

	snprintf(s->path, sizeof(s->path), "/tmp/kvmkit-stuck-%d.sock", (int)getpid());
	unlink(s->path);
	cfg->api_socket_path = s->path;
	ck_assert_msg(vm_create_hooked(cfg, &hooks, &s->vm, err, sizeof(err), &input_error) == 0,
		      "vm_create: %s", err);
	ck_assert_int_eq(pthread_create(&s->loop, NULL, run_loop, s), 0);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Every wait of this test, scaled for slow tiers. */
static int wait_ms(void) { return (int)(5000 * host_time_factor()); }

/* Connects once the loop listens. */
static int ctl_connect(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	long end = now_ms() + wait_ms();

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		ck_assert_int_ge(fd, 0);
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return fd;
		close(fd);
		ck_assert_msg(now_ms() < end, "%s: nobody listens after %d ms", path, wait_ms());
		host_sleep_ms(10);
	}
}

static void ctl_send(int fd, const char *command, int id)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "{\"command\":\"%s\",\"id\":%d}\n", command, id);

	ck_assert_int_eq(write(fd, line, (size_t)n), n);
}

/* The next reply line, within the test's wait; fails the test without one. */
static struct json_object *ctl_reply(int fd, const char *waiting_for)
{
	static char buf[4096];
	static size_t len;
	long end = now_ms() + wait_ms();

	for (;;) {
		char *nl = memchr(buf, '\n', len);

		if (nl) {
			struct json_object *obj;

			*nl = '\0';
			obj = json_tokener_parse(buf);
			ck_assert_msg(obj, "not JSON: %s", buf);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
			return obj;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long left = end - now_ms();
		ssize_t n;

		ck_assert_msg(left > 0 && poll(&p, 1, (int)left) == 1,
			      "no reply within %d ms while waiting for %s", wait_ms(), waiting_for);
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		ck_assert_msg(n > 0, "the control socket closed while waiting for %s", waiting_for);
		len += (size_t)n;
	}
}

static int get_int(struct json_object *obj, const char *key)
{
	struct json_object *v;

	ck_assert_msg(json_object_object_get_ex(obj, key, &v), "no %s in %s", key,
		      json_object_to_json_string(obj));
	return json_object_get_int(v);
}

static const char *get_str(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

static bool get_bool(struct json_object *obj, const char *key)
{
	struct json_object *v;

	ck_assert_msg(json_object_object_get_ex(obj, key, &v) &&
			      json_object_is_type(v, json_type_boolean),
		      "no boolean %s in %s", key, json_object_to_json_string(obj));
	return json_object_get_boolean(v);
}

/* The error code name of a failed reply, "" for a good one. */
static const char *error_code(struct json_object *obj)
{
	struct json_object *e;

	if (get_bool(obj, "ok"))
		return "";
	ck_assert(json_object_object_get_ex(obj, "error", &e));
	return get_str(e, "code");
}

/* Waits up to the test's wait for @cond. */
#define WAIT_FOR(cond, what)                                                                \
	do {                                                                                \
		long end_ = now_ms() + wait_ms();                                           \
		while (!(cond)) {                                                           \
			ck_assert_msg(now_ms() < end_, "%s within %d ms", what, wait_ms()); \
			host_sleep_ms(1);                                                   \
		}                                                                           \
	} while (0)

START_TEST(vcpu_held_in_device)
{
	static uint8_t init[DISK_SIZE];
	struct fuse_file f;
	struct socket_vm s = {0};
	struct vm_config cfg;
	struct vm_disk_config *disk;
	struct vdrv d;
	struct device *blk;
	struct json_object *r;
	uint64_t writes;
	volatile uint64_t *mailbox;
	int c, id;

	memset(init, 0xa5, sizeof(init));
	fuse_file_start(&f, init, sizeof(init));
	vdrv_config_init(&cfg);
	cfg.kernel_path = host_guest_path("poke");
	disk = vm_config_add_device(&cfg, device_type_find("disk"));
	ck_assert_ptr_nonnull(disk);
	snprintf(disk->path, sizeof(disk->path), "%s", f.path);
	start_socket_vm(&s, &cfg);
	fuse_file_detach(&f);
	vdrv_init(&d, s.vm, "virtio-blk0", BLK_ID, 1, 0);
	blk = d.dev;

	/* One read, held by the server: the worker waits in preadv. */
	fuse_file_hold_reads(&f, true);
	{
		uint8_t *h = vdrv_gpa(&d, VDRV_BUF_GPA, 17);
		struct vdrv_buf bufs[3] = {{VDRV_BUF_GPA, 16, false},
					   {VDRV_BUF_GPA + 0x1000, SECTOR, true},
					   {VDRV_BUF_GPA + 16, 1, true}};

		memset(h, 0, 17);
		vdrv_post(&d, 0, bufs, 3);
		vdrv_kick(&d, 0);
	}
	WAIT_FOR(fuse_file_reads_held(&f) == 1, "the read reached the FUSE server");

	/* The guest resets the device: its vCPU waits in the reset for the
	 * worker, which waits for the server. */
	writes = atomic_load(&blk->nr_writes);
	mailbox = vdrv_gpa(&d, POKE_MAILBOX, 16);
	mailbox[1] = 0; /* the value: status 0, a reset */
	__atomic_store_n(&mailbox[0], blk->base + VDRV_REG_STATUS, __ATOMIC_RELEASE);
	WAIT_FOR(atomic_load(&blk->nr_writes) > writes, "the guest wrote the status register");

	c = ctl_connect(s.path);
	/* The pause is taken; the status after it is answered first, while
	 * the pause waits for the held vCPU. */
	ctl_send(c, "pause", 1);
	ctl_send(c, "status", 2);
	r = ctl_reply(c, "status while a vCPU is held");
	ck_assert_int_eq(get_int(r, "id"), 2);
	ck_assert_str_eq(error_code(r), "");
	ck_assert_str_eq(get_str(r, "state"), "running");
	ck_assert_msg(get_bool(r, "pausing"), "status: %s", json_object_to_json_string(r));
	json_object_put(r);

	/* A resume answers, and overtakes the pause (EAGAIN). */
	ctl_send(c, "resume", 3);
	for (int i = 0; i < 2; i++) {
		r = ctl_reply(c, "resume and the overtaken pause");
		id = get_int(r, "id");
		if (id == 3) {
			ck_assert_str_eq(error_code(r), "");
			ck_assert_str_eq(get_str(r, "state"), "running");
		} else {
			ck_assert_int_eq(id, 1);
			ck_assert_str_eq(error_code(r), "EAGAIN");
		}
		json_object_put(r);
	}
	ctl_send(c, "status", 4);
	r = ctl_reply(c, "status after the resume");
	ck_assert_int_eq(get_int(r, "id"), 4);
	ck_assert(!get_bool(r, "pausing"));
	json_object_put(r);

	/* Pause again, then kill: the VM ends with the vCPU still held, and
	 * the pending pause learns that it ended. */
	ctl_send(c, "pause", 5);
	ctl_send(c, "kill", 6);
	for (int i = 0; i < 2; i++) {
		r = ctl_reply(c, "kill and the pending pause");
		id = get_int(r, "id");
		if (id == 6) {
			ck_assert_str_eq(error_code(r), "");
		} else {
			ck_assert_int_eq(id, 5);
			ck_assert_str_eq(error_code(r), "ESRCH");
		}
		json_object_put(r);
	}
	{
		/* The loop waits VM_VCPU_STOP_WAIT_MS for the vCPU, then ends. */
		struct timespec deadline;
		int ret;

		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec +=
			(time_t)((VM_VCPU_STOP_WAIT_MS + 5000) * host_time_factor() / 1000);
		ret = pthread_timedjoin_np(s.loop, NULL, &deadline);
		ck_assert_msg(ret == 0, "the killed VM's loop did not return: %s", strerror(ret));
	}
	ck_assert_int_eq(vm_run_state(s.vm), VM_STATE_ENDED);
	ck_assert_int_eq(atomic_load(&s.vm->exit_reason), VM_EXIT_KILLED);
	/* Still held: the VM ended without it, and said so. */
	ck_assert(s.vm->vcpus[0]->thread_started);
	ck_assert_uint_eq(fuse_file_reads_held(&f), 1);
	ck_assert_msg(strstr(host_captured(), "vcpu0 did not stop"), "log: %s", host_captured());
	close(c);

	/* The server answers: the read, the reset and the vCPU complete, and
	 * the VM is destroyed (which joins the vCPU thread). */
	fuse_file_hold_reads(&f, false);
	vm_destroy(s.vm);
	fuse_file_stop(&f);
}
END_TEST

int main(int argc, char **argv)
{
	const struct host_case cases[] = {
		{"vcpu_held_in_device", vcpu_held_in_device, 60},
	};
	const struct host_suite suite = {
		.name = "stuck",
		.cases = cases,
		.nr_cases = sizeof(cases) / sizeof(cases[0]),
		.setup = host_capture_start,
		.teardown = host_capture_stop,
	};

	return host_run_suite(argc, argv, &suite);
}
