/* The guest console: where the console device's output goes (stdout, a log
 * file, the --expect matcher) and where input typed by the user comes from.
 * Output may be written from any vCPU thread; input arrives on the main loop.
 * The matchers see every byte the guest wrote; the fds get it through a
 * console_sink each, which drops and counts what an fd does not take in time
 * (console_sink.h), so that a terminal nobody reads or a stalled pipe never
 * holds up a vCPU or the loop. */
#ifndef KVMKIT_CONSOLE_H
#define KVMKIT_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "vmm/console_sink.h"
#include "vmm/expect.h"

/* What the console saw: the --expect text, the end of a Linux panic report. */
enum console_event { CONSOLE_EXPECT_SEEN, CONSOLE_PANIC };

/* The fds output goes to. */
enum console_sink_index { CONSOLE_STDOUT, CONSOLE_LOG, CONSOLE_FD, CONSOLE_NR_SINKS };

typedef void (*console_event_fn)(void *opaque, enum console_event event);
typedef void (*console_input_fn)(void *opaque, const char *buf, size_t len);
typedef void (*console_output_fn)(void *opaque, const char *buf, size_t len);

struct console {
	pthread_mutex_t lock;
	console_event_fn event; /* on the vCPU thread that printed it */
	void *event_opaque;
	/* stdout, the log, an embedder's fd (not owned); all zero when unused */
	struct console_sink sinks[CONSOLE_NR_SINKS];
	bool finished; /* console_finish() reported the losses */
	size_t buffer_size;
	console_output_fn output;
	void *output_opaque;
	bool has_expect;
	struct expect_matcher expect;
	/* The Debian kernels have no pvpanic driver, so a Linux panic is recognised
	 * by the lines panic() always prints. */
	struct expect_matcher panic_begin;
	struct expect_matcher panic_end;
	console_input_fn input;
	void *input_opaque;
};

/* Prepares the output and the panic matchers; @event hears what was seen;
 * each output fd may have @buffer_size bytes waiting before it drops.
 * Returns 0 or a negative errno. A console all zero may be destroyed. */
int console_init(struct console *con, bool use_stdout, size_t buffer_size, console_event_fn event,
		 void *opaque);
/* Watches the output for @expect. */
int console_set_expect(struct console *con, const char *expect);

/* Where an embedder wants the output too: a callback (called on vCPU threads,
 * in order, unbuffered) and/or an fd it keeps owning. NULL / -1 for none.
 * Returns 0 or -ENOMEM. Before console_start(). */
int console_set_output(struct console *con, console_output_fn fn, void *opaque, int fd);

/* Opens (truncates) the console log; -errno on failure. The VM calls it
 * last, once every input was accepted, so that a rejected run leaves no
 * file behind. */
int console_open_log(struct console *con, const char *log_path);
/* Starts the writers of the fds; @signo interrupts a writer stalled at the
 * end (console_sink_start()). 0 or a negative errno. */
int console_start(struct console *con, int signo);
/* When the VM ends: writes out what is buffered while the fds take it
 * (console_sink_flush()). Output a device still held back may follow. */
void console_flush(struct console *con);
/* Once no more output comes: the same, stops the writers and reports, as a
 * warning, the bytes each fd lost. Idempotent. */
void console_finish(struct console *con);
/* Bytes of output the fd @which lost so far. */
uint64_t console_dropped(struct console *con, enum console_sink_index which);
void console_destroy(struct console *con);

/* Output from the guest's console device; reports --expect's text and the
 * end of a Linux panic report as events. */
void console_output(struct console *con, const char *buf, size_t len);

/* True once the guest printed the start of a Linux panic: a reset that
 * follows is the panic's reboot (panic=N), not a clean one. */
bool console_saw_panic(struct console *con);

/* Which device receives keyboard input. */
void console_set_input(struct console *con, console_input_fn fn, void *opaque);

/* Input for the guest; dropped when no device takes it. */
void console_input(struct console *con, const char *buf, size_t len);

#endif
