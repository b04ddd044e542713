/* `kvmkit ctl`: the client of the control socket (control_socket.c). */
#ifndef KVMKIT_CTL_H
#define KVMKIT_CTL_H

#include <stdbool.h>

/* What to ask: @command, with "seconds" (dirty-rate; not 0), "path" (a
 * snapshot's directory, sent as an absolute path: the VM has its own
 * working directory), "then" and "diff" where given; or @raw as it is. */
struct ctl_request {
	const char *command;
	const char *raw;
	unsigned seconds;
	const char *path;
	const char *then;
	bool diff; /* a snapshot's "diff": true */
};

/* Sends @req to the VM serving @socket_path, prints the one-line JSON
 * reply on stdout and returns a kvmkit_ctl_exit_code. @timeout_ms < 0
 * waits for the reply for ever. */
int ctl_main(const char *socket_path, const struct ctl_request *req, int timeout_ms);

#endif
