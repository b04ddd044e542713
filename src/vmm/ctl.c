#include "vmm/ctl.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/cli.h"

#define REPLY_MAX 65536

static int connect_socket(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "kvmkit: ctl: socket path too long: %s\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno;

		fprintf(stderr, "kvmkit: ctl: %s: %s\n", path, strerror(err));
		if (fd >= 0)
			close(fd);
		return -err;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads up to the first newline into @buf (NUL-terminated, newline dropped). */
static int read_line(int fd, char *buf, size_t size, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	size_t len = 0;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int wait = timeout_ms < 0 ? -1 : (int)(deadline - now_ms());
		ssize_t n;
		char *nl;

		if (timeout_ms >= 0 && wait <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		n = recv(fd, buf + len, size - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		len += (size_t)n;
		buf[len] = '\0';
		nl = strchr(buf, '\n');
		if (nl) {
			*nl = '\0';
			return 0;
		}
		if (len == size - 1)
			return -EMSGSIZE;
	}
}

static char *request_line(const char *command, const char *raw)
{
	struct json_object *req;
	char *line;

	if (raw) {
		line = malloc(strlen(raw) + 2);
		if (line)
			sprintf(line, "%s\n", raw);
		return line;
	}
	req = json_object_new_object();
	if (!req)
		return NULL;
	json_object_object_add(req, "command", json_object_new_string(command));
	line = malloc(strlen(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN)) + 2);
	if (line)
		sprintf(line, "%s\n", json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	json_object_put(req);
	return line;
}

/* "ok": true in the reply? */
static bool reply_ok(const char *reply)
{
	struct json_object *obj = json_tokener_parse(reply), *ok;
	bool result = false;

	if (obj && json_object_object_get_ex(obj, "ok", &ok) &&
	    json_object_is_type(ok, json_type_boolean))
		result = json_object_get_boolean(ok);
	json_object_put(obj);
	return result;
}

int ctl_main(const char *socket_path, const char *command, const char *raw, int timeout_ms)
{
	char *line = request_line(command, raw);
	char *reply = malloc(REPLY_MAX);
	int fd = -1, ret, code = CTL_EXIT_NO_VM;

	if (!line || !reply) {
		fprintf(stderr, "kvmkit: ctl: out of memory\n");
		goto out;
	}
	fd = connect_socket(socket_path);
	if (fd < 0)
		goto out;
	ret = send_all(fd, line, strlen(line));
	if (ret == 0)
		ret = read_line(fd, reply, REPLY_MAX, timeout_ms);
	if (ret < 0) {
		fprintf(stderr, "kvmkit: ctl: %s: %s\n", socket_path,
			ret == -ETIMEDOUT ? "no reply in time" : strerror(-ret));
		goto out;
	}
	printf("%s\n", reply);
	code = reply_ok(reply) ? CTL_EXIT_OK : CTL_EXIT_REFUSED;
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(reply);
	return code;
}
