/* Host tests of the public API (include/kvmkit/kvmkit.h), and nothing else:
 * each boots small x86_64 test guests from tests/host/guests on this host's
 * /dev/kvm.
 *
 *     host-api-test [CASE]
 * runs one tcase (each is a meson test of its own) or, without CASE, all. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "guests/dirty_layout.h"
#include "host_util.h"
#include "kvmkit/kvmkit.h"

#define HELLO "hello from guest\n"
#define LIFECYCLE_CYCLES 1000
#define THREADS_SETTLE_MS 1000
/* ASan's quarantine keeps freed memory resident for a while; LeakSanitizer
 * does the precise check there. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_SLACK_KIB (32 * 1024)
#else
#define RSS_SLACK_KIB (4 * 1024)
#endif

static struct kvmkit_config *guest_config(const char *guest)
{
	struct kvmkit_config *cfg;

	ck_assert_int_eq(kvmkit_config_new(&cfg), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "kernel", host_guest_path(guest)), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "memory", "16M"), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "timeout", "20"), 0);
	return cfg;
}

static struct kvmkit_vm *create_vm(const char *guest)
{
	struct kvmkit_config *cfg = guest_config(guest);
	struct kvmkit_vm *vm;

	ck_assert_int_eq(kvmkit_vm_create(cfg, &vm), 0);
	kvmkit_config_free(cfg);
	return vm;
}

static void start_vm(struct kvmkit_vm *vm)
{
	int ret = kvmkit_vm_start(vm);

	ck_assert_msg(ret == 0, "start: %d: %s", ret, kvmkit_vm_last_error(vm));
}

static enum kvmkit_exit_reason wait_vm(struct kvmkit_vm *vm)
{
	enum kvmkit_exit_reason reason = KVMKIT_EXIT_NONE;
	int ret = kvmkit_vm_wait(vm, (int)(10000 * host_time_factor()), &reason);

	ck_assert_msg(ret == 0, "wait: %d: %s", ret, kvmkit_vm_last_error(vm));
	return reason;
}

/* Console output collected by the callback. */
struct console_buf {
	pthread_mutex_t lock;
	char text[4096];
	size_t len;
	_Atomic size_t total;
};

static void collect_console(struct kvmkit_vm *vm, const char *buf, size_t len, void *opaque)
{
	struct console_buf *c = opaque;

	(void)vm;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < len && c->len < sizeof(c->text) - 1; i++)
		c->text[c->len++] = buf[i];
	c->text[c->len] = '\0';
	pthread_mutex_unlock(&c->lock);
	atomic_fetch_add(&c->total, len);
}

/* create -> start -> stop -> wait -> destroy of a spinning guest. On x86_64
 * there is no power button, so the stop is a hard one. */
static void lifecycle_cycle(void)
{
	struct kvmkit_vm *vm = create_vm("spin");

	start_vm(vm);
	ck_assert_int_eq(kvmkit_vm_stop(vm), 0);
	ck_assert_int_eq(wait_vm(vm), KVMKIT_EXIT_KILLED);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
}

START_TEST(lifecycle_leaves_nothing)
{
	unsigned fds, threads;
	unsigned long rss;

	/* The first cycles set up what a process keeps for good: the kick
	 * handler, libuv's signal pipe, malloc arenas. */
	for (int i = 0; i < 10; i++)
		lifecycle_cycle();
	fds = host_count_dir_entries("/proc/self/fd");
	threads = host_count_threads_settled(1, THREADS_SETTLE_MS);
	rss = host_rss_kib();
	for (int i = 0; i < LIFECYCLE_CYCLES; i++)
		lifecycle_cycle();
	ck_assert_uint_eq(host_count_dir_entries("/proc/self/fd"), fds);
	ck_assert_uint_eq(host_count_threads_settled(threads, THREADS_SETTLE_MS), threads);
	ck_assert_msg(host_rss_kib() <= rss + RSS_SLACK_KIB,
		      "VmRSS grew from %lu to %lu KiB over %d cycles", rss, host_rss_kib(),
		      LIFECYCLE_CYCLES);
}
END_TEST

START_TEST(two_vms_at_once)
{
	struct console_buf out[2] = {{.lock = PTHREAD_MUTEX_INITIALIZER},
				     {.lock = PTHREAD_MUTEX_INITIALIZER}};
	struct kvmkit_vm *vm[2];

	vm[0] = create_vm("spin");
	vm[1] = create_vm("hello");
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(kvmkit_vm_set_console_callback(vm[i], collect_console, &out[i]),
				 0);
		start_vm(vm[i]);
	}
	/* hello powers off by itself while spin keeps running. */
	ck_assert_int_eq(wait_vm(vm[1]), KVMKIT_EXIT_POWEROFF);
	ck_assert_int_eq(kvmkit_vm_state(vm[0]), KVMKIT_STATE_RUNNING);
	while (atomic_load(&out[0].total) < strlen("guest is spinning\n"))
		host_sleep_ms(1);
	ck_assert_int_eq(kvmkit_vm_kill(vm[0]), 0);
	ck_assert_int_eq(wait_vm(vm[0]), KVMKIT_EXIT_KILLED);
	ck_assert_str_eq(out[0].text, "guest is spinning\n");
	ck_assert_str_eq(out[1].text, HELLO);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(kvmkit_vm_destroy(vm[i]), 0);
}
END_TEST

struct event_log {
	pthread_mutex_t lock;
	struct kvmkit_event events[16];
	unsigned n;
};

static void record_event(struct kvmkit_vm *vm, const struct kvmkit_event *ev, void *opaque)
{
	struct event_log *log = opaque;

	(void)vm;
	pthread_mutex_lock(&log->lock);
	if (log->n < 16)
		log->events[log->n++] = *ev;
	pthread_mutex_unlock(&log->lock);
}

static void expect_queued(struct kvmkit_vm *vm, enum kvmkit_event_type type,
			  enum kvmkit_state state)
{
	struct pollfd pfd = {.fd = kvmkit_vm_event_fd(vm), .events = POLLIN};
	struct kvmkit_event ev;

	ck_assert_int_eq(poll(&pfd, 1, (int)(5000 * host_time_factor())), 1);
	ck_assert_int_eq(kvmkit_vm_next_event(vm, &ev), 0);
	ck_assert_int_eq(ev.type, type);
	ck_assert_int_eq(ev.state, state);
}

START_TEST(pause_resume_and_events)
{
	struct console_buf out = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct event_log log = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct kvmkit_vm *vm = create_vm("ticker");
	struct pollfd pfd;
	struct kvmkit_event ev;
	size_t before;

	ck_assert_int_ge(kvmkit_vm_event_fd(vm), 0);
	ck_assert_int_eq(kvmkit_vm_set_console_callback(vm, collect_console, &out), 0);
	ck_assert_int_eq(kvmkit_vm_set_event_callback(vm, record_event, &log), 0);
	start_vm(vm);
	expect_queued(vm, KVMKIT_EVENT_STATE, KVMKIT_STATE_RUNNING);
	while (atomic_load(&out.total) == 0)
		host_sleep_ms(1);

	ck_assert_int_eq(kvmkit_vm_pause(vm), 0);
	ck_assert_int_eq(kvmkit_vm_state(vm), KVMKIT_STATE_PAUSED);
	expect_queued(vm, KVMKIT_EVENT_STATE, KVMKIT_STATE_PAUSED);
	/* Paused means parked: not one more byte. */
	before = atomic_load(&out.total);
	host_sleep_ms(100);
	ck_assert_uint_eq(atomic_load(&out.total), before);
	ck_assert_int_eq(kvmkit_vm_pause(vm), 0);

	ck_assert_int_eq(kvmkit_vm_resume(vm), 0);
	ck_assert_int_eq(kvmkit_vm_state(vm), KVMKIT_STATE_RUNNING);
	expect_queued(vm, KVMKIT_EVENT_STATE, KVMKIT_STATE_RUNNING);
	/* Running again: more output, within a (scaled) second. */
	for (int ms = 0; atomic_load(&out.total) == before && ms < 1000 * host_time_factor(); ms++)
		host_sleep_ms(1);
	ck_assert_uint_gt(atomic_load(&out.total), before);
	ck_assert_int_eq(kvmkit_vm_resume(vm), 0);

	/* Kill from the paused state. */
	ck_assert_int_eq(kvmkit_vm_pause(vm), 0);
	expect_queued(vm, KVMKIT_EVENT_STATE, KVMKIT_STATE_PAUSED);
	ck_assert_int_eq(kvmkit_vm_kill(vm), 0);
	ck_assert_int_eq(wait_vm(vm), KVMKIT_EXIT_KILLED);
	expect_queued(vm, KVMKIT_EVENT_EXIT, KVMKIT_STATE_ENDED);
	ck_assert_int_eq(kvmkit_vm_next_event(vm, &ev), -EAGAIN);
	pfd = (struct pollfd){.fd = kvmkit_vm_event_fd(vm), .events = POLLIN};
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);

	/* The callback saw the same sequence. */
	ck_assert_uint_eq(log.n, 5);
	ck_assert_int_eq(log.events[0].state, KVMKIT_STATE_RUNNING);
	ck_assert_int_eq(log.events[1].state, KVMKIT_STATE_PAUSED);
	ck_assert_int_eq(log.events[2].state, KVMKIT_STATE_RUNNING);
	ck_assert_int_eq(log.events[3].state, KVMKIT_STATE_PAUSED);
	ck_assert_int_eq(log.events[4].type, KVMKIT_EVENT_EXIT);
	ck_assert_int_eq(log.events[4].reason, KVMKIT_EXIT_KILLED);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
}
END_TEST

START_TEST(console_to_fd_and_exit_reasons)
{
	static const struct {
		const char *guest;
		enum kvmkit_exit_reason reason;
		const char *output;
	} cases[] = {
		{"hello", KVMKIT_EXIT_POWEROFF, HELLO},
		{"reset", KVMKIT_EXIT_RESET, "resetting\n"},
		{"panic", KVMKIT_EXIT_CRASH, NULL},
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kvmkit_vm *vm = create_vm(cases[i].guest);
		char buf[4096];
		int fds[2];
		ssize_t n;

		ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
		ck_assert_int_eq(kvmkit_vm_set_console_fd(vm, fds[1]), 0);
		start_vm(vm);
		ck_assert_int_eq(wait_vm(vm), cases[i].reason);
		ck_assert_int_eq(kvmkit_vm_exit_reason(vm), cases[i].reason);
		ck_assert_int_eq(kvmkit_vm_state(vm), KVMKIT_STATE_ENDED);
		ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
		close(fds[1]);
		n = read(fds[0], buf, sizeof(buf) - 1);
		close(fds[0]);
		ck_assert_int_gt(n, 0);
		buf[n] = '\0';
		if (cases[i].output)
			ck_assert_str_eq(buf, cases[i].output);
	}
}
END_TEST

START_TEST(timeout_and_expect)
{
	struct kvmkit_config *cfg = guest_config("spin");
	struct kvmkit_vm *vm;

	ck_assert_int_eq(kvmkit_config_set(cfg, "expect", "is spinning"), 0);
	ck_assert_int_eq(kvmkit_vm_create(cfg, &vm), 0);
	start_vm(vm);
	ck_assert_int_eq(wait_vm(vm), KVMKIT_EXIT_EXPECT_SEEN);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);

	ck_assert_int_eq(kvmkit_config_set(cfg, "timeout", "1"), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "expect", "never printed"), 0);
	ck_assert_int_eq(kvmkit_vm_create(cfg, &vm), 0);
	kvmkit_config_free(cfg);
	start_vm(vm);
	ck_assert_int_eq(kvmkit_vm_wait(vm, 0, NULL), -ETIMEDOUT);
	ck_assert_int_eq(wait_vm(vm), KVMKIT_EXIT_TIMEOUT);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
}
END_TEST

START_TEST(misuse_returns_errors)
{
	struct kvmkit_vm *vm = create_vm("spin");
	enum kvmkit_exit_reason reason;

	/* Before start. */
	ck_assert_int_eq(kvmkit_vm_pause(vm), -ESRCH);
	ck_assert_str_eq(kvmkit_vm_last_error(vm), "pause: the VM is not running");
	ck_assert_int_eq(kvmkit_vm_last_error_kind(vm), KVMKIT_ERROR_USAGE);
	ck_assert_int_eq(kvmkit_vm_resume(vm), -ESRCH);
	ck_assert_int_eq(kvmkit_vm_stop(vm), -ESRCH);
	ck_assert_int_eq(kvmkit_vm_kill(vm), -ESRCH);
	ck_assert_int_eq(kvmkit_vm_wait(vm, 0, &reason), -ESRCH);
	ck_assert_int_eq(kvmkit_vm_console_input(vm, "x", 1), -ESRCH);
	ck_assert_int_eq(kvmkit_vm_write_stats(vm, 2), -ESRCH);
	ck_assert_int_eq(kvmkit_vm_state(vm), KVMKIT_STATE_CREATED);
	ck_assert_int_eq(kvmkit_vm_exit_reason(vm), KVMKIT_EXIT_NONE);

	start_vm(vm);
	/* Start twice, configure after start, destroy while running. */
	ck_assert_int_eq(kvmkit_vm_start(vm), -EBUSY);
	ck_assert_ptr_nonnull(strstr(kvmkit_vm_last_error(vm), "already started"));
	ck_assert_int_eq(kvmkit_vm_set_console_fd(vm, 1), -EBUSY);
	ck_assert_int_eq(kvmkit_vm_set_console_callback(vm, NULL, NULL), -EBUSY);
	ck_assert_int_eq(kvmkit_vm_set_event_callback(vm, NULL, NULL), -EBUSY);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), -EBUSY);
	ck_assert_ptr_nonnull(strstr(kvmkit_vm_last_error(vm), "still running"));
	ck_assert_int_eq(kvmkit_vm_wait(vm, 0, &reason), -ETIMEDOUT);
	ck_assert_int_eq(kvmkit_vm_wait(vm, 30, &reason), -ETIMEDOUT);
	/* The VM is unharmed by all that. */
	ck_assert_int_eq(kvmkit_vm_state(vm), KVMKIT_STATE_RUNNING);
	ck_assert_int_eq(kvmkit_vm_console_input(vm, "abc", 3), 0);
	ck_assert_int_eq(kvmkit_vm_pause(vm), 0);
	ck_assert_int_eq(kvmkit_vm_stop(vm), 0);
	ck_assert_int_eq(kvmkit_vm_stop(vm), 0);
	ck_assert_int_eq(wait_vm(vm), KVMKIT_EXIT_KILLED);

	/* After the end. */
	ck_assert_int_eq(kvmkit_vm_pause(vm), -ESRCH);
	ck_assert_int_eq(kvmkit_vm_stop(vm), -ESRCH);
	ck_assert_int_eq(kvmkit_vm_kill(vm), -ESRCH);
	ck_assert_int_eq(kvmkit_vm_start(vm), -EBUSY);
	ck_assert_int_eq(kvmkit_vm_write_stats(vm, -1), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
}
END_TEST

START_TEST(null_arguments)
{
	struct kvmkit_config *cfg;
	struct kvmkit_vm *vm;
	struct kvmkit_event ev;
	struct kvmkit_option_info info;

	ck_assert_int_eq(kvmkit_config_new(NULL), -EINVAL);
	kvmkit_config_free(NULL);
	ck_assert_int_eq(kvmkit_config_set(NULL, "cpus", "1"), -EINVAL);
	ck_assert_int_eq(kvmkit_config_load_file(NULL, "x.json"), -EINVAL);
	ck_assert_int_eq(kvmkit_config_set_console_stdio(NULL, true), -EINVAL);
	ck_assert_int_eq(kvmkit_config_is_set(NULL, "cpus"), -EINVAL);
	ck_assert_str_eq(kvmkit_config_last_error(NULL), "no config given");
	ck_assert_int_eq(kvmkit_option_get(0, NULL), -EINVAL);
	ck_assert_int_eq(kvmkit_option_get(kvmkit_option_count(), &info), -ENOENT);
	ck_assert_int_eq(kvmkit_vm_create(NULL, &vm), -EINVAL);
	ck_assert_int_eq(kvmkit_config_new(&cfg), 0);
	ck_assert_int_eq(kvmkit_vm_create(cfg, NULL), -EINVAL);
	ck_assert_int_eq(kvmkit_config_set(cfg, NULL, "1"), -EINVAL);
	ck_assert_int_eq(kvmkit_config_load_file(cfg, NULL), -EINVAL);
	ck_assert_int_eq(kvmkit_config_is_set(cfg, NULL), -EINVAL);
	kvmkit_config_free(cfg);

	ck_assert_int_eq(kvmkit_vm_start(NULL), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_pause(NULL), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_resume(NULL), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_stop(NULL), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_kill(NULL), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_wait(NULL, 0, NULL), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_destroy(NULL), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_event_fd(NULL), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_next_event(NULL, &ev), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_set_console_fd(NULL, 1), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_set_console_callback(NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_set_event_callback(NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_console_input(NULL, "x", 1), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_write_stats(NULL, 2), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_state(NULL), KVMKIT_STATE_CREATED);
	ck_assert_int_eq(kvmkit_vm_exit_reason(NULL), KVMKIT_EXIT_NONE);
	ck_assert_ptr_nonnull(kvmkit_vm_last_error(NULL));

	vm = create_vm("halt");
	ck_assert_int_eq(kvmkit_vm_next_event(vm, NULL), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_console_input(vm, NULL, 1), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_set_console_fd(vm, -5), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
}
END_TEST

START_TEST(bad_settings_name_the_value)
{
	struct kvmkit_config *cfg;
	struct kvmkit_vm *vm;
	enum kvmkit_exit_reason reason;

	ck_assert_int_eq(kvmkit_config_new(&cfg), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "bogus", "1"), -EINVAL);
	ck_assert_str_eq(kvmkit_config_last_error(cfg), "unknown setting 'bogus'");
	ck_assert_int_eq(kvmkit_config_set(cfg, "cpus", "65"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(kvmkit_config_last_error(cfg), "'65'"));
	ck_assert_int_eq(kvmkit_config_set(cfg, "memory", NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(kvmkit_config_last_error(cfg), "--memory"));
	ck_assert_int_eq(kvmkit_config_set(cfg, "stats", "yes"), -EINVAL);
	ck_assert_int_eq(kvmkit_config_set(cfg, "stats", "false"), 0);
	ck_assert_int_eq(kvmkit_config_is_set(cfg, "stats"), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "stats", NULL), 0);
	ck_assert_int_eq(kvmkit_config_is_set(cfg, "stats"), 1);
	ck_assert_int_eq(kvmkit_config_is_set(cfg, "kernel"), 0);
	ck_assert_int_eq(kvmkit_config_is_set(cfg, "bogus"), -EINVAL);
	ck_assert_int_eq(kvmkit_config_set(cfg, "kernel", "/nonexistent/kernel"), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "stats", "false"), 0);

	/* A missing kernel is found at start: an input error that ends the VM. */
	ck_assert_int_eq(kvmkit_vm_create(cfg, &vm), 0);
	kvmkit_config_free(cfg);
	ck_assert_int_eq(kvmkit_vm_start(vm), -ENOENT);
	ck_assert_ptr_nonnull(strstr(kvmkit_vm_last_error(vm), "/nonexistent/kernel"));
	ck_assert_int_eq(kvmkit_vm_last_error_kind(vm), KVMKIT_ERROR_INPUT);
	ck_assert_int_eq(kvmkit_vm_state(vm), KVMKIT_STATE_ENDED);
	ck_assert_int_eq(kvmkit_vm_wait(vm, 0, &reason), 0);
	ck_assert_int_eq(reason, KVMKIT_EXIT_ERROR);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
}
END_TEST

/* On a host without KVM (KVMKIT_DEV_KVM names a missing device) a missing
 * kernel is still reported as the kernel, an input error; with a good kernel
 * the host is to blame. */
static int start_without_kvm(const char *kernel, char *msg, size_t len,
			     enum kvmkit_error_kind *kind)
{
	struct kvmkit_config *cfg;
	struct kvmkit_vm *vm;
	int ret;

	ck_assert_int_eq(kvmkit_config_new(&cfg), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "kernel", kernel), 0);
	ck_assert_int_eq(kvmkit_vm_create(cfg, &vm), 0);
	kvmkit_config_free(cfg);
	ret = kvmkit_vm_start(vm);
	snprintf(msg, len, "%s", kvmkit_vm_last_error(vm));
	*kind = kvmkit_vm_last_error_kind(vm);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
	return ret;
}

START_TEST(input_before_host)
{
	enum kvmkit_error_kind kind;
	char msg[512];

	ck_assert_int_eq(setenv("KVMKIT_DEV_KVM", "/nonexistent/kvmkit-test/kvm", 1), 0);
	ck_assert_int_eq(start_without_kvm("/nonexistent/kernel", msg, sizeof(msg), &kind),
			 -ENOENT);
	ck_assert_msg(strstr(msg, "/nonexistent/kernel") && !strstr(msg, "kvmkit-test/kvm"),
		      "message: %s", msg);
	ck_assert_int_eq(kind, KVMKIT_ERROR_INPUT);
	ck_assert_int_eq(start_without_kvm(host_guest_path("hello"), msg, sizeof(msg), &kind),
			 -ENOENT);
	ck_assert_msg(strstr(msg, "/nonexistent/kvmkit-test/kvm does not exist"), "message: %s",
		      msg);
	ck_assert_int_eq(kind, KVMKIT_ERROR_HOST);
	ck_assert_int_eq(unsetenv("KVMKIT_DEV_KVM"), 0);
}
END_TEST

static void pause_from_console(struct kvmkit_vm *vm, const char *buf, size_t len, void *opaque)
{
	_Atomic int *result = opaque;

	(void)buf;
	(void)len;
	if (atomic_load(result) == 1)
		atomic_store(result, kvmkit_vm_pause(vm));
}

START_TEST(pause_from_a_vcpu_thread_is_refused)
{
	_Atomic int result = 0;
	struct kvmkit_vm *vm = create_vm("ticker");

	ck_assert_int_eq(kvmkit_vm_set_console_callback(vm, pause_from_console, &result), 0);
	start_vm(vm);
	/* Only now: the guest prints before start returns. */
	atomic_store(&result, 1);
	while (atomic_load(&result) == 1)
		host_sleep_ms(1);
	ck_assert_int_eq(atomic_load(&result), -EDEADLK);
	ck_assert_int_eq(kvmkit_vm_kill(vm), 0);
	ck_assert_int_eq(wait_vm(vm), KVMKIT_EXIT_KILLED);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
}
END_TEST

/* Runs in its own forked process (Check's default): the kick signal is
 * process-wide. */
START_TEST(kick_signal_is_configurable)
{
	struct kvmkit_vm *vm;

	ck_assert_int_eq(kvmkit_kick_signal(), SIGRTMIN + 1);
	ck_assert_int_eq(kvmkit_set_kick_signal(SIGKILL), -EINVAL);
	ck_assert_int_eq(kvmkit_set_kick_signal(SIGINT), -EINVAL);
	ck_assert_int_eq(kvmkit_set_kick_signal(SIGUSR2), 0);
	ck_assert_int_eq(kvmkit_kick_signal(), SIGUSR2);
	vm = create_vm("spin");
	start_vm(vm);
	ck_assert_int_eq(kvmkit_set_kick_signal(SIGRTMIN + 3), -EBUSY);
	ck_assert_int_eq(kvmkit_set_kick_signal(SIGUSR2), 0);
	/* Pause needs the kick to reach a vCPU inside KVM_RUN. */
	ck_assert_int_eq(kvmkit_vm_pause(vm), 0);
	ck_assert_int_eq(kvmkit_vm_kill(vm), 0);
	ck_assert_int_eq(wait_vm(vm), KVMKIT_EXIT_KILLED);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
}
END_TEST

static char logged[4096];
static pthread_mutex_t logged_lock = PTHREAD_MUTEX_INITIALIZER;

static void capture_log(enum kvmkit_log_level level, const char *msg, void *opaque)
{
	(void)level;
	(void)opaque;
	pthread_mutex_lock(&logged_lock);
	snprintf(logged + strlen(logged), sizeof(logged) - strlen(logged), "%s\n", msg);
	pthread_mutex_unlock(&logged_lock);
}

/* The library prints nothing by itself; a log callback hears its warnings. */
START_TEST(log_goes_where_asked)
{
	struct kvmkit_vm *vm = create_vm("hello");
	int fds[2], saved_stderr = dup(STDERR_FILENO);
	char buf[256];

	/* Nothing reaches stderr without a log callback. */
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
	ck_assert_int_ge(saved_stderr, 0);
	dup2(fds[1], STDERR_FILENO);
	start_vm(vm);
	ck_assert_int_eq(wait_vm(vm), KVMKIT_EXIT_POWEROFF);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], buf, sizeof(buf)), 0);
	close(fds[0]);
	ck_assert_int_eq(kvmkit_set_log(capture_log, NULL), 0);
	vm = create_vm("hello");
	start_vm(vm);
	ck_assert_int_eq(wait_vm(vm), KVMKIT_EXIT_POWEROFF);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
	ck_assert_str_eq(logged, "vcpu0: 4-byte mmio write at 0xd0000000: no device there\n");
	ck_assert_int_eq(kvmkit_set_log(NULL, NULL), 0);
}
END_TEST

/* Dirty tracking through the public API only: guests/dirty_writer.S keeps
 * writing random pages of its area and counting in its mailbox. */
START_TEST(dirty_tracking)
{
	struct kvmkit_config *cfg = guest_config("dirty_writer");
	struct kvmkit_memory_region regions[8];
	struct kvmkit_dirty_rate rate;
	double per_vcpu[4] = {0};
	struct kvmkit_vm *vm;
	uint64_t *bits, *mailbox = NULL;
	size_t words, expect_words = 0;
	uint64_t pages = 0, from;
	int n;

	ck_assert_int_eq(kvmkit_config_set(cfg, "memory", "64M"), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "dirty-engine", "bitmap"), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "dirty-engine", "paging"), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_create(cfg, &vm), 0);
	kvmkit_config_free(cfg);
	ck_assert_int_eq(kvmkit_vm_dirty_start(vm, 0), -ESRCH);
	start_vm(vm);
	ck_assert_str_eq(kvmkit_vm_dirty_engine(vm), "bitmap");
	n = kvmkit_vm_memory_regions(vm, regions, 8);
	ck_assert_int_ge(n, 1);
	for (int i = 0; i < n; i++) {
		expect_words += (regions[i].size / 4096 + 63) / 64;
		pages += regions[i].size / 4096;
		if (regions[i].guest_phys_addr <= DIRTY_MAILBOX_OFFSET &&
		    DIRTY_MAILBOX_OFFSET < regions[i].guest_phys_addr + regions[i].size)
			mailbox = (uint64_t *)((char *)regions[i].host + DIRTY_MAILBOX_OFFSET -
					       regions[i].guest_phys_addr);
	}
	ck_assert_ptr_nonnull(mailbox);
	words = kvmkit_vm_dirty_bitmap_words(vm);
	ck_assert_uint_eq(words, expect_words);
	bits = calloc(words, sizeof(*bits));
	ck_assert_ptr_nonnull(bits);

	ck_assert_int_eq(kvmkit_vm_dirty_harvest(vm, bits, words), -ENOTCONN);
	ck_assert_int_eq(kvmkit_vm_dirty_start(vm, 2), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_dirty_start(vm, KVMKIT_DIRTY_START_ALL), 0);
	ck_assert_int_eq(kvmkit_vm_dirty_start(vm, 0), -EALREADY);
	ck_assert_int_eq(kvmkit_vm_last_error_kind(vm), KVMKIT_ERROR_USAGE);
	ck_assert_int_eq(kvmkit_vm_dirty_harvest(vm, bits, words - 1), -ENOSPC);
	/* START_ALL: the first harvest holds every page. */
	ck_assert_int_eq(kvmkit_vm_dirty_harvest(vm, bits, words), (int64_t)pages);
	ck_assert_int_eq(kvmkit_vm_dirty_harvest(vm, bits, words), -EBUSY);
	ck_assert_int_eq(kvmkit_vm_dirty_finish(vm, 1), 0);
	ck_assert_int_eq(kvmkit_vm_dirty_finish(vm, 1), -ENOENT);
	/* The guest goes on writing: the next harvest has its pages. */
	from = __atomic_load_n(&mailbox[1], __ATOMIC_ACQUIRE);
	for (int ms = 0; ms < 10000 * host_time_factor(); ms++) {
		if (__atomic_load_n(&mailbox[1], __ATOMIC_ACQUIRE) >= from + 1000)
			break;
		host_sleep_ms(1);
	}
	ck_assert_uint_ge(__atomic_load_n(&mailbox[1], __ATOMIC_ACQUIRE), from + 1000);
	ck_assert_int_gt(kvmkit_vm_dirty_harvest(vm, bits, words), 0);
	ck_assert_int_eq(kvmkit_vm_dirty_finish(vm, 0), 0);
	ck_assert_int_eq(kvmkit_vm_dirty_rate(vm, 0, &rate, NULL, 0), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_dirty_rate(vm, 200, &rate, per_vcpu, 4), 0);
	ck_assert(rate.guest_pages_per_sec > 0);
	ck_assert(rate.seconds > 0.19);
	ck_assert_uint_eq(rate.nr_vcpus, 0); /* bitmap: no per-vCPU counts */
	ck_assert_int_eq(kvmkit_vm_dirty_stop(vm), 0);
	ck_assert_int_eq(kvmkit_vm_dirty_stop(vm), -ENOTCONN);
	ck_assert_int_eq(kvmkit_vm_kill(vm), 0);
	wait_vm(vm);
	ck_assert_int_eq(kvmkit_vm_dirty_start(vm, 0), -ESRCH);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
	free(bits);
}
END_TEST

/* Setting "memory-backend" memfd: the region's fd, mapped here, is the
 * guest's RAM itself: the dirty writer's count moves in this mapping, and a
 * generation written into it reaches the pages the guest writes. */
START_TEST(memfd_ram)
{
	struct kvmkit_config *cfg = guest_config("dirty_writer");
	struct kvmkit_memory_region regions[8];
	struct kvmkit_vm *vm;
	volatile uint64_t *mailbox = NULL, *area = NULL;
	uint8_t *shared = NULL;
	uint64_t from, generation = 0x6d656d6664ULL;
	size_t size = 0;
	bool seen = false;
	int n, fd = -1;

	ck_assert_int_eq(kvmkit_config_set(cfg, "memory", "64M"), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "memory-backend", "hugetlb"), -EINVAL);
	ck_assert_int_eq(kvmkit_config_set(cfg, "memory-backend", "memfd"), 0);
	ck_assert_int_eq(kvmkit_vm_create(cfg, &vm), 0);
	kvmkit_config_free(cfg);
	ck_assert_int_eq(kvmkit_vm_memory_fd(vm, 0), -ESRCH);
	start_vm(vm);
	n = kvmkit_vm_memory_regions(vm, regions, 8);
	ck_assert_int_ge(n, 1);
	ck_assert_int_eq(kvmkit_vm_memory_fd(vm, (unsigned)n), -ERANGE);
	for (int i = 0; i < n; i++) {
		if (regions[i].guest_phys_addr <= DIRTY_MAILBOX_OFFSET &&
		    DIRTY_AREA_OFFSET + DIRTY_AREA_PAGES * 4096ULL <=
			    regions[i].guest_phys_addr + regions[i].size) {
			fd = kvmkit_vm_memory_fd(vm, (unsigned)i);
			ck_assert_msg(fd >= 0, "memory_fd: %d: %s", fd, kvmkit_vm_last_error(vm));
			ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
			size = regions[i].size;
			shared = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			ck_assert(shared != MAP_FAILED);
			/* Not kvmkit's mapping: a second view of the same pages. */
			ck_assert_ptr_ne(shared, regions[i].host);
			mailbox = (volatile uint64_t *)(shared + DIRTY_MAILBOX_OFFSET -
							regions[i].guest_phys_addr);
			area = (volatile uint64_t *)(shared + DIRTY_AREA_OFFSET -
						     regions[i].guest_phys_addr);
		}
	}
	ck_assert_msg(mailbox != NULL, "no region holds the dirty writer's pages");
	from = mailbox[1];
	mailbox[0] = generation;
	for (int ms = 0; ms < 10000 * host_time_factor() && !seen; ms++) {
		for (unsigned p = 0; p < DIRTY_AREA_PAGES && !seen; p++)
			seen = area[p * 512] == generation;
		if (!seen)
			host_sleep_ms(1);
	}
	ck_assert_msg(seen, "the generation written through the memfd never reached a page");
	ck_assert_uint_gt(mailbox[1], from);
	ck_assert_int_eq(kvmkit_vm_kill(vm), 0);
	wait_vm(vm);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
	/* Ours outlives the VM: the memfd goes when its last user does. */
	ck_assert_uint_gt(mailbox[1], from);
	ck_assert_int_eq(munmap(shared, size), 0);
	ck_assert_int_eq(close(fd), 0);

	/* Anonymous RAM (the default) has no fd to give. */
	cfg = guest_config("dirty_writer");
	ck_assert_int_eq(kvmkit_vm_create(cfg, &vm), 0);
	kvmkit_config_free(cfg);
	start_vm(vm);
	ck_assert_int_eq(kvmkit_vm_memory_fd(vm, 0), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(kvmkit_vm_last_error(vm), "memory-backend"));
	ck_assert_int_eq(kvmkit_vm_kill(vm), 0);
	wait_vm(vm);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
}
END_TEST

/* The whole console of a run, for the snapshot test. */
struct console_log {
	pthread_mutex_t lock;
	char *text;
	size_t len, cap;
};

static void log_console(struct kvmkit_vm *vm, const char *buf, size_t len, void *opaque)
{
	struct console_log *c = opaque;

	(void)vm;
	pthread_mutex_lock(&c->lock);
	if (c->len + len + 1 > c->cap) {
		c->cap = 2 * (c->len + len + 1);
		c->text = realloc(c->text, c->cap);
	}
	if (c->text) {
		memcpy(c->text + c->len, buf, len);
		c->len += len;
		c->text[c->len] = '\0';
	}
	pthread_mutex_unlock(&c->lock);
}

static size_t console_lines(struct console_log *c)
{
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->len; i++)
		n += c->text[i] == '\n';
	pthread_mutex_unlock(&c->lock);
	return n;
}

static void wait_lines(struct console_log *c, size_t lines)
{
	for (long ms = 0; ms < 20000 * host_time_factor(); ms++) {
		if (console_lines(c) >= lines)
			return;
		host_sleep_ms(1);
	}
	ck_abort_msg("the guest printed fewer than %zu lines in time", lines);
}

/* @text is guests/counter.S's console: "c=<count>" lines counting from 1,
 * the last one maybe cut short. Returns the last complete count. */
static unsigned long long check_counts(const char *text)
{
	unsigned long long expected = 1;
	const char *line = text, *nl;

	while ((nl = strchr(line, '\n'))) {
		unsigned long long got;
		int used = 0;

		ck_assert_msg(sscanf(line, "c=%16llx%n", &got, &used) == 1 && used == 18 &&
				      line + used == nl,
			      "line %llu is not a count: %.40s", expected, line);
		ck_assert_msg(got == expected, "line %llu counts %llu", expected, got);
		expected++;
		line = nl + 1;
	}
	return expected - 1;
}

/* A running guest saved with kvmkit_vm_snapshot() and brought back in a
 * second VM with the "restore" setting: the two consoles, end to end, are
 * one unbroken count. Misuse is refused with the VM untouched. */
START_TEST(snapshot_and_restore)
{
	struct console_log a = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct console_log b = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct kvmkit_snapshot_info info;
	struct kvmkit_config *cfg;
	struct kvmkit_vm *vm;
	char dir[] = "/tmp/kvmkit-api-snapshot-XXXXXX", snap[64], file[128], *both;
	unsigned long long last;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(snap, sizeof(snap), "%s/snap", dir);
	snprintf(file, sizeof(file), "%s/file", dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);

	cfg = guest_config("counter");
	ck_assert_int_eq(kvmkit_config_set(cfg, "memory", "128M"), 0);
	ck_assert_int_eq(kvmkit_vm_create(cfg, &vm), 0);
	kvmkit_config_free(cfg);
	ck_assert_int_eq(kvmkit_vm_set_console_callback(vm, log_console, &a), 0);
	ck_assert_int_eq(kvmkit_vm_snapshot(vm, snap, 0, NULL), -ESRCH);
	start_vm(vm);
	wait_lines(&a, 200);
	ck_assert_int_eq(kvmkit_vm_snapshot(vm, NULL, 0, NULL), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_snapshot(vm, snap, KVMKIT_SNAPSHOT_STOP | KVMKIT_SNAPSHOT_RESUME,
					    NULL),
			 -EINVAL);
	/* A file that is not a snapshot is the caller's: refused, and the VM
	 * runs on. */
	ck_assert_int_eq(kvmkit_vm_snapshot(vm, file, 0, NULL), -EEXIST);
	ck_assert_int_eq(kvmkit_vm_last_error_kind(vm), KVMKIT_ERROR_USAGE);
	ck_assert_int_eq(kvmkit_vm_state(vm), KVMKIT_STATE_RUNNING);
	wait_lines(&a, console_lines(&a) + 100);
	ck_assert_int_eq(kvmkit_vm_snapshot(vm, snap, KVMKIT_SNAPSHOT_STOP, &info), 0);
	ck_assert_uint_eq(info.memory_bytes, 128u << 20);
	ck_assert_uint_ge(info.stored_bytes, 64u << 20);  /* the pages it stamped */
	ck_assert_uint_lt(info.stored_bytes, 100u << 20); /* zero pages are holes */
	ck_assert(info.seconds > 0);
	ck_assert_int_eq(wait_vm(vm), KVMKIT_EXIT_SNAPSHOT);
	ck_assert_str_eq(kvmkit_exit_reason_name(KVMKIT_EXIT_SNAPSHOT), "snapshot");
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
	check_counts(a.text);

	/* The machine is the snapshot's: a second opinion fails the start. */
	ck_assert_int_eq(kvmkit_config_new(&cfg), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "restore", snap), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "memory", "256M"), 0);
	ck_assert_int_eq(kvmkit_vm_create(cfg, &vm), 0);
	kvmkit_config_free(cfg);
	ck_assert_int_lt(kvmkit_vm_start(vm), 0);
	ck_assert_int_eq(kvmkit_vm_last_error_kind(vm), KVMKIT_ERROR_INPUT);
	ck_assert_msg(strstr(kvmkit_vm_last_error(vm), "--memory"), "%s", kvmkit_vm_last_error(vm));
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);

	ck_assert_int_eq(kvmkit_config_new(&cfg), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "restore", snap), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "timeout", "20"), 0);
	ck_assert_int_eq(kvmkit_vm_create(cfg, &vm), 0);
	kvmkit_config_free(cfg);
	ck_assert_int_eq(kvmkit_vm_set_console_callback(vm, log_console, &b), 0);
	start_vm(vm);
	wait_lines(&b, 100);
	ck_assert_int_eq(kvmkit_vm_kill(vm), 0);
	ck_assert_int_eq(wait_vm(vm), KVMKIT_EXIT_KILLED);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
	both = malloc(a.len + b.len + 1);
	ck_assert_ptr_nonnull(both);
	memcpy(both, a.text, a.len);
	memcpy(both + a.len, b.text, b.len + 1);
	last = check_counts(both);
	ck_assert_uint_ge(last, check_counts(a.text) + 99);
	free(both);
	free(a.text);
	free(b.text);
	ck_assert_int_eq(unlink(file), 0);
	snprintf(file, sizeof(file), "%s/state", snap);
	ck_assert_int_eq(unlink(file), 0);
	snprintf(file, sizeof(file), "%s/memory", snap);
	ck_assert_int_eq(unlink(file), 0);
	ck_assert_int_eq(rmdir(snap), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* Diff snapshots through the library: the setting "diff-snapshots", a
 * full snapshot, then diffs over it; a restore of the last diff continues
 * the count. Misuse is refused and the dirty API is the snapshots'. */
START_TEST(snapshot_diffs)
{
	struct console_log a = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct console_log b = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct kvmkit_snapshot_info info;
	struct kvmkit_config *cfg;
	struct kvmkit_vm *vm;
	char dir[] = "/tmp/kvmkit-api-diff-XXXXXX", base[64], d1[64], d2[64], cmd[128], *both;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(base, sizeof(base), "%s/base", dir);
	snprintf(d1, sizeof(d1), "%s/d1", dir);
	snprintf(d2, sizeof(d2), "%s/d2", dir);
	cfg = guest_config("counter");
	ck_assert_int_eq(kvmkit_config_set(cfg, "memory", "128M"), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "diff-snapshots", NULL), 0);
	ck_assert_int_eq(kvmkit_vm_create(cfg, &vm), 0);
	kvmkit_config_free(cfg);
	ck_assert_int_eq(kvmkit_vm_set_console_callback(vm, log_console, &a), 0);
	start_vm(vm);
	wait_lines(&a, 100);
	ck_assert_int_eq(kvmkit_vm_dirty_start(vm, 0), -EBUSY);
	ck_assert_int_eq(kvmkit_vm_snapshot(vm, d1, KVMKIT_SNAPSHOT_DIFF, NULL), -EINVAL);
	ck_assert_msg(strstr(kvmkit_vm_last_error(vm), "no earlier snapshot"), "%s",
		      kvmkit_vm_last_error(vm));
	ck_assert_int_eq(kvmkit_vm_snapshot(vm, base, 0, &info), 0);
	ck_assert_uint_eq(info.diff_pages, 0);
	wait_lines(&a, console_lines(&a) + 100);
	ck_assert_int_eq(kvmkit_vm_snapshot(vm, d1, KVMKIT_SNAPSHOT_DIFF, &info), 0);
	/* A page a count, and a few of the guest's own. */
	ck_assert_uint_ge(info.diff_pages, 100);
	ck_assert_uint_lt(info.diff_pages, 4096);
	ck_assert_uint_lt(info.stored_bytes, 4u << 20);
	ck_assert_int_eq(kvmkit_vm_snapshot(vm, base, KVMKIT_SNAPSHOT_DIFF, NULL), -EINVAL);
	ck_assert_int_eq(kvmkit_vm_last_error_kind(vm), KVMKIT_ERROR_USAGE);
	wait_lines(&a, console_lines(&a) + 100);
	ck_assert_int_eq(
		kvmkit_vm_snapshot(vm, d2, KVMKIT_SNAPSHOT_DIFF | KVMKIT_SNAPSHOT_STOP, &info), 0);
	ck_assert_uint_ge(info.diff_pages, 100);
	ck_assert_int_eq(wait_vm(vm), KVMKIT_EXIT_SNAPSHOT);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);

	ck_assert_int_eq(kvmkit_config_new(&cfg), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "restore", d2), 0);
	ck_assert_int_eq(kvmkit_config_set(cfg, "timeout", "20"), 0);
	ck_assert_int_eq(kvmkit_vm_create(cfg, &vm), 0);
	kvmkit_config_free(cfg);
	ck_assert_int_eq(kvmkit_vm_set_console_callback(vm, log_console, &b), 0);
	start_vm(vm);
	wait_lines(&b, 100);
	ck_assert_int_eq(kvmkit_vm_kill(vm), 0);
	ck_assert_int_eq(wait_vm(vm), KVMKIT_EXIT_KILLED);
	ck_assert_int_eq(kvmkit_vm_destroy(vm), 0);
	both = malloc(a.len + b.len + 1);
	ck_assert_ptr_nonnull(both);
	memcpy(both, a.text, a.len);
	memcpy(both + a.len, b.text, b.len + 1);
	ck_assert_uint_ge(check_counts(both), check_counts(a.text) + 99);
	free(both);
	free(a.text);
	free(b.text);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(int argc, char **argv)
{
	const struct host_case cases[] = {
		{"lifecycle", lifecycle_leaves_nothing, 240},
		{"two_vms", two_vms_at_once, 20},
		{"pause_resume", pause_resume_and_events, 20},
		{"exit_reasons", console_to_fd_and_exit_reasons, 20},
		{"timeout_expect", timeout_and_expect, 20},
		{"misuse", misuse_returns_errors, 20},
		{"null_args", null_arguments, 20},
		{"bad_settings", bad_settings_name_the_value, 20},
		{"input_before_host", input_before_host, 20},
		{"pause_deadlock", pause_from_a_vcpu_thread_is_refused, 20},
		{"kick_signal", kick_signal_is_configurable, 20},
		{"dirty", dirty_tracking, 30},
		{"log", log_goes_where_asked, 20},
		{"snapshot", snapshot_and_restore, 60},
		{"snapshot_diffs", snapshot_diffs, 60},
		{"memfd", memfd_ram, 30},
	};
	const struct host_suite suite = {
		.name = "api",
		.cases = cases,
		.nr_cases = sizeof(cases) / sizeof(cases[0]),
	};

	return host_run_suite(argc, argv, &suite);
}
