/* libFuzzer target: what a client of the control socket sends
 * (src/vmm/control_request.c), fed as the socket feeds it: in pieces into a
 * CONTROL_LINE_MAX buffer, split into lines, each line parsed. Input: u8 piece
 * size, then the bytes. Besides the sanitizers it checks that every line lies
 * inside the buffer and holds no newline, that a parsed request has a command
 * string, and that a refusal says why with a code the protocol knows. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "vmm/control_request.h"

static void parse_line(const char *line, size_t len)
{
	struct control_request req;
	char msg[256];
	int err;

	msg[0] = '\0';
	err = control_request_parse(line, len, &req, msg, sizeof(msg));
	if (err == 0) {
		CHECK(req.root && json_object_is_type(req.root, json_type_object));
		CHECK(req.command != NULL);
	} else {
		CHECK(err == EBADMSG || err == EINVAL || err == ENOMEM);
		CHECK(msg[0] != '\0');
		CHECK(err != EBADMSG || (!req.root && !req.id));
	}
	control_request_free(&req);
	CHECK(!req.root && !req.id && !req.command);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[CONTROL_LINE_MAX];
	size_t piece, len = 0;

	if (size < 1)
		return -1;
	piece = 1 + data[0];
	data++;
	size--;
	while (size) {
		size_t n = size < piece ? size : piece, done = 0, taken, line_len;
		const char *line;

		if (n > sizeof(buf) - len)
			n = sizeof(buf) - len;
		memcpy(buf + len, data, n);
		data += n;
		size -= n;
		len += n;
		while ((taken = control_next_line(buf + done, len - done, &line, &line_len))) {
			CHECK(taken <= len - done);
			CHECK(line == buf + done && line_len < taken);
			CHECK(!memchr(line, '\n', line_len));
			if (line_len)
				parse_line(line, line_len);
			done += taken;
		}
		len -= done;
		memmove(buf, buf + done, len);
		if (len == sizeof(buf))
			len = 0; /* the socket closes such a client */
	}
	return 0;
}
