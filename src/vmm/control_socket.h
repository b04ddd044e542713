/* The control socket (--api-socket PATH): a Unix stream socket served on the
 * VM's event loop. One JSON request per line, one JSON reply per line:
 *
 *   {"command": "status"}            -> {"ok": true, "state": "running",
 *                                       "pausing": false, ...}
 *   pause | resume | stop | kill     -> {"ok": true, "state": ...}
 *                                       (pause answers once the VM is paused:
 *                                       vCPUs parked, devices quiesced; the
 *                                       loop goes on meanwhile, so replies to
 *                                       later requests may come first)
 *   wait                             -> when the VM ends:
 *                                       {"ok": true, "state": "ended", "exit-reason": ...}
 *   anything wrong                   -> {"ok": false, "error": {"code": "EINVAL",
 *                                        "errno": 22, "message": "..."}}
 *
 * An "id" member of the request, of any JSON type, comes back in the reply.
 * The socket file is created mode 0600 (set on the socket before bind(), so
 * it never has a wider one), and connections from another user than the
 * VMM's (or root) are closed at once. A client that sends nothing for 30 s
 * without a pending "wait" or "pause" is closed; when all 16 slots are
 * taken, the one silent for the longest makes room for a new one. */
#ifndef KVMKIT_CONTROL_SOCKET_H
#define KVMKIT_CONTROL_SOCKET_H

#include <uv.h>

struct vm;
struct control_socket;

/* Creates, binds and listens on @path (a stale socket file left by a dead
 * VMM is replaced; any other file is not), and watches it on @loop. Returns 0
 * or a negative errno with the message in the VM (an input error when the
 * path is the problem). */
int control_socket_open(struct vm *vm, uv_loop_t *loop, const char *path,
			struct control_socket **out);

/* The loop was woken: answers a "pause" once the VM is paused (or the
 * pause was overtaken by a resume, a stop or the end). */
void control_socket_poll(struct control_socket *cs);

/* The VM ended: answers every pending "pause" and "wait". */
void control_socket_vm_ended(struct control_socket *cs);

/* Closes the loop handles (before the loop's last run); then
 * control_socket_free() closes the fds, removes the socket file (if it is
 * still the one created) and frees. */
void control_socket_close(struct control_socket *cs);
void control_socket_free(struct control_socket *cs);

#endif
