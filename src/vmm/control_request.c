#include "vmm/control_request.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

size_t control_next_line(const char *buf, size_t len, const char **line, size_t *line_len)
{
	const char *nl = memchr(buf, '\n', len);
	size_t n;

	if (!nl)
		return 0;
	n = (size_t)(nl - buf);
	*line = buf;
	*line_len = n && buf[n - 1] == '\r' ? n - 1 : n;
	return n + 1;
}

int control_request_parse(const char *line, size_t len, struct control_request *req, char *msg,
			  size_t msglen)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *command;
	enum json_tokener_error jerr;
	int ret = 0;

	*req = (struct control_request){0};
	if (!tok) {
		snprintf(msg, msglen, "out of memory");
		return ENOMEM;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	req->root = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!req->root || jerr != json_tokener_success || json_tokener_get_parse_end(tok) != len) {
		snprintf(msg, msglen, "malformed request: %s",
			 !req->root ? (jerr == json_tokener_continue
					       ? "the line ends inside a JSON value"
					       : json_tokener_error_desc(jerr))
				    : "text after the JSON value");
		ret = EBADMSG;
		goto out;
	}
	if (!json_object_is_type(req->root, json_type_object)) {
		snprintf(msg, msglen, "a request is a JSON object: {\"command\": \"status\"}");
		ret = EINVAL;
		goto out;
	}
	json_object_object_get_ex(req->root, "id", &req->id);
	if (!json_object_object_get_ex(req->root, "command", &command) ||
	    !json_object_is_type(command, json_type_string)) {
		snprintf(msg, msglen, "the request has no \"command\" string");
		ret = EINVAL;
		goto out;
	}
	req->command = json_object_get_string(command);
out:
	json_tokener_free(tok);
	if (ret == EBADMSG) {
		json_object_put(req->root);
		req->root = NULL;
	}
	return ret;
}

void control_request_free(struct control_request *req)
{
	json_object_put(req->root);
	*req = (struct control_request){0};
}
