#include "fuse_file.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define FILE_NAME "img"
#define FILE_NODE 2
#define MAX_WRITE (128u * 1024)
/* A request and its payload, with room to spare (the kernel wants at least
 * FUSE_MIN_READ_BUFFER). */
#define REQUEST_BUF (MAX_WRITE + 8192)
/* Attributes never change behind the kernel's back: cache them long. */
#define VALID_SEC 3600

/* In a shared mapping: the test sets, the server serves. */
struct fuse_shared {
	pthread_mutex_t lock; /* process-shared; guards what follows */
	int read_error;       /* errno for each READ, 0: none */
	int write_error;      /* errno for each WRITE, 0: none */
	unsigned fsync_failures;
	unsigned fsyncs;
	bool hold_reads;         /* READs wait (unanswered) until it is cleared */
	unsigned reads_held;     /* READs that waited */
	pthread_cond_t released; /* process-shared: hold_reads was cleared */
	uint64_t size;
	uint8_t data[];
};

/* The server's side. */
struct server {
	int fd; /* /dev/fuse */
	struct fuse_shared *sh;
};

static void reply(struct server *f, uint64_t unique, int error, const void *data, size_t len)
{
	struct fuse_out_header h = {
		.len = (uint32_t)(sizeof(h) + (error ? 0 : len)),
		.error = -error,
		.unique = unique,
	};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)data, error ? 0 : len}};

	/* ENOENT: the request was interrupted meanwhile, nobody waits. */
	if (writev(f->fd, iov, 2) < 0 && errno != ENOENT)
		fprintf(stderr, "fuse_file: reply to request %llu: %s\n",
			(unsigned long long)unique, strerror(errno));
}

static void fill_attr(struct server *f, uint64_t node, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = node;
	a->nlink = 1;
	a->uid = getuid();
	a->gid = getgid();
	a->blksize = 4096;
	if (node == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
	} else {
		a->mode = S_IFREG | 0644;
		a->size = f->sh->size;
		a->blocks = (f->sh->size + 511) / 512;
	}
}

static void do_init(struct server *f, const struct fuse_in_header *in, const void *arg)
{
	const struct fuse_init_in *init = arg;
	struct fuse_init_out out = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = init->max_readahead,
		.max_background = 16,
		.congestion_threshold = 12,
		.max_write = MAX_WRITE,
		.time_gran = 1,
	};

	reply(f, in->unique, 0, &out, sizeof(out));
}

static void do_lookup(struct server *f, const struct fuse_in_header *in, const char *name)
{
	struct fuse_entry_out out = {.nodeid = FILE_NODE,
				     .generation = 1,
				     .entry_valid = VALID_SEC,
				     .attr_valid = VALID_SEC};

	if (in->nodeid != FUSE_ROOT_ID || strcmp(name, FILE_NAME) != 0) {
		reply(f, in->unique, ENOENT, NULL, 0);
		return;
	}
	fill_attr(f, FILE_NODE, &out.attr);
	reply(f, in->unique, 0, &out, sizeof(out));
}

static void do_getattr(struct server *f, const struct fuse_in_header *in)
{
	struct fuse_attr_out out = {.attr_valid = VALID_SEC};

	fill_attr(f, in->nodeid, &out.attr);
	reply(f, in->unique, 0, &out, sizeof(out));
}

static void do_open(struct server *f, const struct fuse_in_header *in, bool dir)
{
	struct fuse_open_out out = {.fh = 1, .open_flags = dir ? 0 : FOPEN_DIRECT_IO};

	reply(f, in->unique, 0, &out, sizeof(out));
}

static void do_read(struct server *f, const struct fuse_in_header *in, const void *arg)
{
	const struct fuse_read_in *r = arg;
	uint64_t len = 0;
	int err;

	pthread_mutex_lock(&f->sh->lock);
	if (f->sh->hold_reads) {
		/* A server that does not answer: the reader waits in the kernel,
		 * and so does everything else of this file system meanwhile. */
		f->sh->reads_held++;
		while (f->sh->hold_reads)
			pthread_cond_wait(&f->sh->released, &f->sh->lock);
	}
	err = f->sh->read_error;
	if (r->offset < f->sh->size)
		len = f->sh->size - r->offset < r->size ? f->sh->size - r->offset : r->size;
	pthread_mutex_unlock(&f->sh->lock);
	/* Only this process writes the data. */
	reply(f, in->unique, err, f->sh->data + (len ? r->offset : 0), (size_t)len);
}

static void do_write(struct server *f, const struct fuse_in_header *in, const void *arg,
		     size_t arg_len)
{
	const struct fuse_write_in *w = arg;
	struct fuse_write_out out = {.size = w->size};
	int err;

	pthread_mutex_lock(&f->sh->lock);
	err = f->sh->write_error;
	if (!err && (arg_len < sizeof(*w) + w->size || w->offset > f->sh->size ||
		     w->size > f->sh->size - w->offset))
		err = ENOSPC; /* the file has a fixed size */
	if (!err)
		memcpy(f->sh->data + w->offset, (const uint8_t *)arg + sizeof(*w), w->size);
	pthread_mutex_unlock(&f->sh->lock);
	reply(f, in->unique, err, &out, sizeof(out));
}

static void do_fsync(struct server *f, const struct fuse_in_header *in)
{
	int err = 0;

	pthread_mutex_lock(&f->sh->lock);
	f->sh->fsyncs++;
	if (f->sh->fsync_failures) {
		f->sh->fsync_failures--;
		err = EIO;
	}
	pthread_mutex_unlock(&f->sh->lock);
	reply(f, in->unique, err, NULL, 0);
}

static void handle(struct server *f, const uint8_t *buf, size_t len)
{
	const struct fuse_in_header *in = (const void *)buf;
	const void *arg = buf + sizeof(*in);
	size_t arg_len = len - sizeof(*in);

	switch (in->opcode) {
	case FUSE_INIT: do_init(f, in, arg); break;
	case FUSE_LOOKUP: do_lookup(f, in, arg); break;
	case FUSE_GETATTR:
	case FUSE_SETATTR: do_getattr(f, in); break;
	case FUSE_OPEN: do_open(f, in, false); break;
	case FUSE_OPENDIR: do_open(f, in, true); break;
	case FUSE_READ: do_read(f, in, arg); break;
	case FUSE_WRITE: do_write(f, in, arg, arg_len); break;
	case FUSE_FSYNC: do_fsync(f, in); break;
	case FUSE_FLUSH:
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_DESTROY: reply(f, in->unique, 0, NULL, 0); break;
	/* No answer expected. */
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT: break;
	default: reply(f, in->unique, ENOSYS, NULL, 0); break;
	}
}

/* The server process: answers until the file system is gone. */
static void serve(struct server *f)
{
	uint8_t *buf = malloc(REQUEST_BUF);

	if (!buf)
		return;
	for (;;) {
		ssize_t n = read(f->fd, buf, REQUEST_BUF);

		if (n < 0) {
			/* ENOENT: a request interrupted before we read it. */
			if (errno == EINTR || errno == ENOENT)
				continue;
			break; /* ENODEV: unmounted */
		}
		if ((size_t)n < sizeof(struct fuse_in_header))
			continue;
		handle(f, buf, (size_t)n);
	}
	free(buf);
}

void fuse_file_start(struct fuse_file *f, const uint8_t *init, uint64_t size)
{
	pthread_mutexattr_t attr;
	pthread_condattr_t cattr;
	pid_t parent = getpid();
	char opts[128];
	int fd;

	memset(f, 0, sizeof(*f));
	f->sh_len = sizeof(*f->sh) + size;
	f->sh = mmap(NULL, f->sh_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(f->sh != MAP_FAILED);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&f->sh->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_condattr_init(&cattr);
	pthread_condattr_setpshared(&cattr, PTHREAD_PROCESS_SHARED);
	pthread_cond_init(&f->sh->released, &cattr);
	pthread_condattr_destroy(&cattr);
	f->sh->size = size;
	memcpy(f->sh->data, init, size);
	snprintf(f->dir, sizeof(f->dir), "/tmp/kvmkit-fuse-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/" FILE_NAME, f->dir);
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "/dev/fuse: %s (the kernel needs FUSE; the L1 loads fuse.ko)",
		      strerror(errno));
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=%u,group_id=%u", fd,
		 (unsigned)getuid(), (unsigned)getgid());
	ck_assert_msg(mount("kvmkit-test", f->dir, "fuse", MS_NOSUID | MS_NODEV, opts) == 0,
		      "mount fuse on %s: %s (needs root)", f->dir, strerror(errno));
	f->mounted = true;
	f->server = fork();
	ck_assert_int_ge(f->server, 0);
	if (f->server == 0) {
		struct server s = {.fd = fd, .sh = f->sh};

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == parent)
			serve(&s);
		_exit(0);
	}
	/* Only the server holds the connection: when it dies, requests fail
	 * instead of waiting. */
	close(fd);
}

void fuse_file_detach(struct fuse_file *f)
{
	ck_assert_msg(umount2(f->dir, MNT_DETACH) == 0, "umount %s: %s", f->dir, strerror(errno));
	f->mounted = false;
}

void fuse_file_stop(struct fuse_file *f)
{
	if (f->mounted)
		fuse_file_detach(f);
	kill(f->server, SIGKILL);
	ck_assert_int_eq(waitpid(f->server, NULL, 0), f->server);
	rmdir(f->dir);
	pthread_cond_destroy(&f->sh->released);
	pthread_mutex_destroy(&f->sh->lock);
	munmap(f->sh, f->sh_len);
}

void fuse_file_fail_reads(struct fuse_file *f, int err)
{
	pthread_mutex_lock(&f->sh->lock);
	f->sh->read_error = err;
	pthread_mutex_unlock(&f->sh->lock);
}

void fuse_file_hold_reads(struct fuse_file *f, bool hold)
{
	pthread_mutex_lock(&f->sh->lock);
	f->sh->hold_reads = hold;
	if (!hold)
		pthread_cond_broadcast(&f->sh->released);
	pthread_mutex_unlock(&f->sh->lock);
}

unsigned fuse_file_reads_held(struct fuse_file *f)
{
	unsigned n;

	pthread_mutex_lock(&f->sh->lock);
	n = f->sh->reads_held;
	pthread_mutex_unlock(&f->sh->lock);
	return n;
}

void fuse_file_fail_writes(struct fuse_file *f, int err)
{
	pthread_mutex_lock(&f->sh->lock);
	f->sh->write_error = err;
	pthread_mutex_unlock(&f->sh->lock);
}

void fuse_file_fail_fsyncs(struct fuse_file *f, unsigned count)
{
	pthread_mutex_lock(&f->sh->lock);
	f->sh->fsync_failures = count;
	pthread_mutex_unlock(&f->sh->lock);
}

unsigned fuse_file_fsyncs(struct fuse_file *f)
{
	unsigned n;

	pthread_mutex_lock(&f->sh->lock);
	n = f->sh->fsyncs;
	pthread_mutex_unlock(&f->sh->lock);
	return n;
}

void fuse_file_read(struct fuse_file *f, uint64_t offset, void *buf, uint64_t len)
{
	ck_assert(offset <= f->sh->size && len <= f->sh->size - offset);
	pthread_mutex_lock(&f->sh->lock);
	memcpy(buf, f->sh->data + offset, len);
	pthread_mutex_unlock(&f->sh->lock);
}
