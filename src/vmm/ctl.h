/* `kvmkit ctl`: the client of the control socket (control_socket.c). */
#ifndef KVMKIT_CTL_H
#define KVMKIT_CTL_H

/* Sends @command as {"command": ...} (or @raw as it is) to the VM serving
 * @socket_path, prints the one-line JSON reply on stdout and returns a
 * kvmkit_ctl_exit_code. @seconds (not 0) goes into the request as "seconds".
 * @timeout_ms < 0 waits for the reply for ever. */
int ctl_main(const char *socket_path, const char *command, const char *raw, unsigned seconds,
	     int timeout_ms);

#endif
