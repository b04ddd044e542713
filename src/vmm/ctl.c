#include "vmm/ctl.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/cli.h"

#define REPLY_MAX 65536
/* Connecting and sending take this long at most when no --timeout bounds
 * the whole exchange (a "wait"): a VM reads a request at once. */
#define CTL_SEND_MS 30000

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects by @deadline: a listener that never accepts fills its backlog,
 * and a blocking connect would wait for it for ever. A Unix socket's
 * connect() honours SO_SNDTIMEO and fails with EAGAIN when it runs out. */
static int connect_socket(const char *path, long long deadline)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	long long left = deadline - now_ms();
	struct timeval tv;
	int fd, err;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "kvmkit: ctl: socket path too long: %s\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	if (left < 1)
		left = 1; /* 0 would mean no bound */
	tv.tv_sec = left / 1000;
	tv.tv_usec = (left % 1000) * 1000;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0 &&
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		return fd;
	err = errno;
	if (err == EAGAIN)
		fprintf(stderr,
			"kvmkit: ctl: %s: no connection in time: the listener accepts none "
			"(its backlog is full)\n",
			path);
	else
		fprintf(stderr, "kvmkit: ctl: %s: %s\n", path, strerror(err));
	if (fd >= 0)
		close(fd);
	return -err;
}

/* Waits for @events on @fd until @deadline (-1: none). */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		long long left = deadline < 0 ? -1 : deadline - now_ms();
		int n;

		if (deadline >= 0 && left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n > 0)
			return 0;
	}
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			int ret = wait_fd(fd, POLLOUT, deadline);

			if (ret < 0)
				return ret;
			continue;
		}
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads up to the first newline into @buf (NUL-terminated, newline dropped)
 * by @deadline (-1: none). */
static int read_line(int fd, char *buf, size_t size, long long deadline)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = wait_fd(fd, POLLIN, deadline);
		char *nl;

		if (n < 0)
			return (int)n;
		n = recv(fd, buf + len, size - 1 - len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
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

/* @path made absolute against the working directory (free()). */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX], *out;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	if (asprintf(&out, "%s/%s", cwd, path) < 0)
		return NULL;
	return out;
}

static char *request_line(const struct ctl_request *r)
{
	struct json_object *req;
	char *line, *path;

	if (r->raw) {
		line = malloc(strlen(r->raw) + 2);
		if (line)
			sprintf(line, "%s\n", r->raw);
		return line;
	}
	req = json_object_new_object();
	if (!req)
		return NULL;
	json_object_object_add(req, "command", json_object_new_string(r->command));
	if (r->seconds)
		json_object_object_add(req, "seconds", json_object_new_int((int)r->seconds));
	if (r->path) {
		path = absolute(r->path);
		if (!path) {
			json_object_put(req);
			return NULL;
		}
		json_object_object_add(req, "path", json_object_new_string(path));
		free(path);
	}
	if (r->then)
		json_object_object_add(req, "then", json_object_new_string(r->then));
	if (r->diff)
		json_object_object_add(req, "diff", json_object_new_boolean(1));
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

int ctl_main(const char *socket_path, const struct ctl_request *req, int timeout_ms)
{
	char *line = request_line(req);
	char *reply = malloc(REPLY_MAX);
	long long start = now_ms();
	/* --timeout bounds the whole exchange; without one (a "wait") only
	 * connecting and sending are bounded. */
	long long deadline = timeout_ms < 0 ? -1 : start + timeout_ms;
	long long send_deadline = timeout_ms < 0 ? start + CTL_SEND_MS : deadline;
	int fd = -1, ret, code = CTL_EXIT_NO_VM;

	if (!line || !reply) {
		fprintf(stderr, "kvmkit: ctl: out of memory\n");
		goto out;
	}
	fd = connect_socket(socket_path, send_deadline);
	if (fd < 0)
		goto out;
	ret = send_all(fd, line, strlen(line), send_deadline);
	if (ret < 0) {
		fprintf(stderr, "kvmkit: ctl: %s: %s\n", socket_path,
			ret == -ETIMEDOUT ? "the request was not read in time" : strerror(-ret));
		goto out;
	}
	ret = read_line(fd, reply, REPLY_MAX, deadline);
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
