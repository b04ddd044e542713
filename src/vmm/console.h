/* The guest console: where the console device's output goes (stdout, a log
 * file, the --expect matcher) and where input typed by the user comes from.
 * Output may be written from any vCPU thread; input arrives on the main loop. */
#ifndef KVMKIT_CONSOLE_H
#define KVMKIT_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "vmm/expect.h"

struct vm;

typedef void (*console_input_fn)(void *opaque, const char *buf, size_t len);
typedef void (*console_output_fn)(void *opaque, const char *buf, size_t len);

struct console {
	pthread_mutex_t lock;
	struct vm *vm;
	int out_fd;   /* -1: not shown */
	int log_fd;   /* -1: no log */
	int extra_fd; /* an embedder's fd, not owned; -1: none */
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

/* Prepares the output and the matchers. */
int console_init(struct console *con, struct vm *vm, bool use_stdout, const char *expect);

/* Where an embedder wants the output too: a callback (called on vCPU threads,
 * in order) and/or an fd it keeps owning. NULL / -1 for none. */
void console_set_output(struct console *con, console_output_fn fn, void *opaque, int fd);

/* Opens (truncates) the console log. The VM calls it last, once every input
 * was accepted, so that a rejected run leaves no file behind. */
int console_open_log(struct console *con, const char *log_path);
void console_destroy(struct console *con);

/* Output from the guest's console device. Seeing --expect's text ends the VM
 * with VM_EXIT_EXPECT_SEEN; the end of a Linux panic report ends it with
 * VM_EXIT_CRASH. */
void console_output(struct console *con, const char *buf, size_t len);

/* True once the guest printed the start of a Linux panic: a reset that
 * follows is the panic's reboot (panic=N), not a clean one. */
bool console_saw_panic(struct console *con);

/* Which device receives keyboard input. */
void console_set_input(struct console *con, console_input_fn fn, void *opaque);

/* Input for the guest; dropped when no device takes it. */
void console_input(struct console *con, const char *buf, size_t len);

#endif
