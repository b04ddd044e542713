#include "vmm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "vmm/vm.h"

int console_init(struct console *con, struct vm *vm, bool use_stdout, const char *expect)
{
	int ret;

	*con = (struct console){
		.vm = vm,
		.out_fd = use_stdout ? STDOUT_FILENO : -1,
		.log_fd = -1,
		.extra_fd = -1,
	};
	pthread_mutex_init(&con->lock, NULL);
	ret = expect_init(&con->panic_begin, "Kernel panic - not syncing");
	if (ret == 0)
		ret = expect_init(&con->panic_end, "---[ end Kernel panic - not syncing");
	if (ret < 0)
		return vm_error(vm, ret, "console: %s", strerror(-ret));
	if (expect) {
		ret = expect_init(&con->expect, expect);
		if (ret < 0)
			return vm_error(vm, ret, "--expect: %s", strerror(-ret));
		con->has_expect = true;
	}
	return 0;
}

void console_set_output(struct console *con, console_output_fn fn, void *opaque, int fd)
{
	pthread_mutex_lock(&con->lock);
	con->output = fn;
	con->output_opaque = opaque;
	con->extra_fd = fd;
	pthread_mutex_unlock(&con->lock);
}

int console_open_log(struct console *con, const char *log_path)
{
	con->log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (con->log_fd < 0)
		return vm_input_error(con->vm, -errno, "--console-log %s: %s", log_path,
				      strerror(errno));
	return 0;
}

void console_destroy(struct console *con)
{
	if (con->log_fd >= 0)
		close(con->log_fd);
	con->log_fd = -1;
	if (con->has_expect)
		expect_destroy(&con->expect);
	con->has_expect = false;
	expect_destroy(&con->panic_begin);
	expect_destroy(&con->panic_end);
	pthread_mutex_destroy(&con->lock);
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* a closed terminal must not stop the guest */
		buf += n;
		len -= (size_t)n;
	}
}

void console_output(struct console *con, const char *buf, size_t len)
{
	bool seen = false, panicked;

	pthread_mutex_lock(&con->lock);
	if (con->out_fd >= 0)
		write_all(con->out_fd, buf, len);
	if (con->log_fd >= 0)
		write_all(con->log_fd, buf, len);
	if (con->extra_fd >= 0)
		write_all(con->extra_fd, buf, len);
	if (con->output)
		con->output(con->output_opaque, buf, len);
	if (con->has_expect)
		seen = expect_feed(&con->expect, buf, len);
	expect_feed(&con->panic_begin, buf, len);
	panicked = expect_feed(&con->panic_end, buf, len);
	pthread_mutex_unlock(&con->lock);
	if (seen)
		vm_request_exit(con->vm, VM_EXIT_EXPECT_SEEN);
	if (panicked)
		vm_request_exit(con->vm, VM_EXIT_CRASH);
}

bool console_saw_panic(struct console *con)
{
	bool seen;

	pthread_mutex_lock(&con->lock);
	seen = con->panic_begin.seen;
	pthread_mutex_unlock(&con->lock);
	return seen;
}

void console_set_input(struct console *con, console_input_fn fn, void *opaque)
{
	pthread_mutex_lock(&con->lock);
	con->input = fn;
	con->input_opaque = opaque;
	pthread_mutex_unlock(&con->lock);
}

void console_input(struct console *con, const char *buf, size_t len)
{
	console_input_fn fn;
	void *opaque;

	pthread_mutex_lock(&con->lock);
	fn = con->input;
	opaque = con->input_opaque;
	pthread_mutex_unlock(&con->lock);
	if (fn)
		fn(opaque, buf, len);
}
