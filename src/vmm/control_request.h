/* The control protocol's requests, without a socket: splitting the bytes a
 * client sent into lines, and parsing one line into a request. Pure, so the
 * fuzzer (tests/fuzz/fuzz_control_request.c) reaches it without a VM. */
#ifndef KVMKIT_CONTROL_REQUEST_H
#define KVMKIT_CONTROL_REQUEST_H

#include <stddef.h>

struct json_object;

/* The longest request line, newline included. */
#define CONTROL_LINE_MAX 4096

/* The next line in @buf[0, len): returns how many bytes it takes (the line
 * and its newline), 0 when no complete line is there yet. *@line and
 * *@line_len give the line without the newline and a CR before it. */
size_t control_next_line(const char *buf, size_t len, const char **line, size_t *line_len);

struct control_request {
	struct json_object *root; /* owns id and command; NULL after a failed parse */
	struct json_object *id;   /* the request's "id", any JSON value, or NULL */
	const char *command;      /* its "command" string */
};

/* Parses one line: a JSON object with a "command" string and an optional
 * "id". Returns 0, or an errno for the reply's code (EBADMSG: not one JSON
 * value; EINVAL: not a request; ENOMEM) with the reason in @msg; req->id is
 * then still set when the request had one, so the error reply can carry it.
 * Free with control_request_free() either way. */
int control_request_parse(const char *line, size_t len, struct control_request *req, char *msg,
			  size_t msglen);
void control_request_free(struct control_request *req);

#endif
