#include "vmm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int console_init(struct console *con, bool use_stdout, console_event_fn event, void *opaque)
{
	int ret;

	*con = (struct console){
		.event = event,
		.event_opaque = opaque,
		.out_fd = use_stdout ? STDOUT_FILENO : -1,
		.log_fd = -1,
		.extra_fd = -1,
	};
	pthread_mutex_init(&con->lock, NULL);
	ret = expect_init(&con->panic_begin, "Kernel panic - not syncing");
	if (ret == 0)
		ret = expect_init(&con->panic_end, "---[ end Kernel panic - not syncing");
	return ret;
}

int console_set_expect(struct console *con, const char *expect)
{
	int ret = expect_init(&con->expect, expect);

	con->has_expect = ret == 0;
	return ret;
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
	return con->log_fd < 0 ? -errno : 0;
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
		con->event(con->event_opaque, CONSOLE_EXPECT_SEEN);
	if (panicked)
		con->event(con->event_opaque, CONSOLE_PANIC);
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
