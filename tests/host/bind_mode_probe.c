/* Preloaded into kvmkit by socket_test.py (LD_PRELOAD): right after each
 * bind() of a Unix socket to a path, appends "PATH MODE" to the file named
 * by KVMKIT_BIND_PROBE_LOG. That is the mode the file had when it appeared,
 * before kvmkit could change it: if it is not 0600, another user could have
 * connected in between. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int (*real_bind)(int, const struct sockaddr *, socklen_t) =
		(int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
	const char *log = getenv("KVMKIT_BIND_PROBE_LOG");
	const struct sockaddr_un *un = (const struct sockaddr_un *)addr;
	int ret, saved;
	struct stat st;
	FILE *f;

	if (!real_bind) {
		errno = ENOSYS;
		return -1;
	}
	ret = real_bind(fd, addr, len);
	saved = errno;
	if (ret == 0 && log && addr->sa_family == AF_UNIX && un->sun_path[0] &&
	    lstat(un->sun_path, &st) == 0 && (f = fopen(log, "a"))) {
		fprintf(f, "%s %04o\n", un->sun_path, (unsigned)(st.st_mode & 07777));
		fclose(f);
	}
	errno = saved;
	return ret;
}
