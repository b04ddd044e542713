#include "vmm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log.h"

static const char *const sink_names[CONSOLE_NR_SINKS] = {
	[CONSOLE_STDOUT] = "stdout",
	[CONSOLE_LOG] = "the console log",
	[CONSOLE_FD] = "the console fd",
};

int console_init(struct console *con, bool use_stdout, size_t buffer_size, console_event_fn event,
		 void *opaque)
{
	int ret;

	*con = (struct console){
		.event = event,
		.event_opaque = opaque,
		.buffer_size = buffer_size,
	};
	pthread_mutex_init(&con->lock, NULL);
	ret = use_stdout
		      ? console_sink_init(&con->sinks[CONSOLE_STDOUT], sink_names[CONSOLE_STDOUT],
					  STDOUT_FILENO, false, buffer_size)
		      : 0;
	if (ret == 0)
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

int console_set_output(struct console *con, console_output_fn fn, void *opaque, int fd)
{
	pthread_mutex_lock(&con->lock);
	con->output = fn;
	con->output_opaque = opaque;
	pthread_mutex_unlock(&con->lock);
	if (fd < 0)
		return 0;
	return console_sink_init(&con->sinks[CONSOLE_FD], sink_names[CONSOLE_FD], fd, false,
				 con->buffer_size);
}

int console_open_log(struct console *con, const char *log_path)
{
	int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret;

	if (fd < 0)
		return -errno;
	ret = console_sink_init(&con->sinks[CONSOLE_LOG], sink_names[CONSOLE_LOG], fd, true,
				con->buffer_size);
	if (ret < 0)
		close(fd);
	return ret;
}

int console_start(struct console *con, int signo)
{
	for (int i = 0; i < CONSOLE_NR_SINKS; i++) {
		int ret = console_sink_start(&con->sinks[i], signo);

		if (ret < 0)
			return ret;
	}
	return 0;
}

void console_flush(struct console *con)
{
	for (int i = 0; i < CONSOLE_NR_SINKS; i++)
		console_sink_flush(&con->sinks[i]);
}

void console_finish(struct console *con)
{
	for (int i = 0; i < CONSOLE_NR_SINKS; i++) {
		uint64_t dropped;
		int error;

		console_sink_finish(&con->sinks[i]);
		dropped = console_sink_dropped(&con->sinks[i], &error);
		if (con->finished || !dropped)
			continue;
		if (error)
			log_warn("console: %llu bytes of guest output were not written to %s: %s",
				 (unsigned long long)dropped, sink_names[i], strerror(error));
		else
			log_warn("console: %llu bytes of guest output were dropped: %s did not "
				 "take them in time",
				 (unsigned long long)dropped, sink_names[i]);
	}
	con->finished = true;
}

uint64_t console_dropped(struct console *con, enum console_sink_index which)
{
	return console_sink_dropped(&con->sinks[which], NULL);
}

void console_destroy(struct console *con)
{
	console_finish(con);
	for (int i = 0; i < CONSOLE_NR_SINKS; i++)
		console_sink_destroy(&con->sinks[i]);
	if (con->has_expect)
		expect_destroy(&con->expect);
	con->has_expect = false;
	expect_destroy(&con->panic_begin);
	expect_destroy(&con->panic_end);
	pthread_mutex_destroy(&con->lock);
}

void console_output(struct console *con, const char *buf, size_t len)
{
	bool seen = false, panicked;

	pthread_mutex_lock(&con->lock);
	/* The matchers first: they see every byte, whatever an fd drops. */
	if (con->has_expect)
		seen = expect_feed(&con->expect, buf, len);
	expect_feed(&con->panic_begin, buf, len);
	panicked = expect_feed(&con->panic_end, buf, len);
	for (int i = 0; i < CONSOLE_NR_SINKS; i++)
		console_sink_append(&con->sinks[i], buf, len);
	if (con->output)
		con->output(con->output_opaque, buf, len);
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
