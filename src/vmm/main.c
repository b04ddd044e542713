/* The kvmkit command, a client of the public API (kvmkit/kvmkit.h) only:
 * parse, build and start the VM, turn SIGTERM into a graceful stop and
 * SIGINT into a hard one, wait, map the outcome to an exit code. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "kvmkit/kvmkit.h"
#include "vmm/cli.h"
#include "vmm/ctl.h"

static int exit_code_for(enum kvmkit_exit_reason reason)
{
	switch (reason) {
	case KVMKIT_EXIT_POWEROFF:
	case KVMKIT_EXIT_EXPECT_SEEN:
	case KVMKIT_EXIT_QUIT:
	case KVMKIT_EXIT_SNAPSHOT: return EXIT_CODE_POWEROFF;
	case KVMKIT_EXIT_RESET: return EXIT_CODE_RESET;
	case KVMKIT_EXIT_CRASH: return EXIT_CODE_CRASH;
	case KVMKIT_EXIT_TIMEOUT: return EXIT_CODE_TIMEOUT;
	case KVMKIT_EXIT_KILLED:
	case KVMKIT_EXIT_STOP_TIMEOUT: return EXIT_CODE_KILLED;
	case KVMKIT_EXIT_NONE:
	case KVMKIT_EXIT_ERROR: break;
	}
	return EXIT_CODE_INTERNAL;
}

/* How long the ended VM's threads may take to stop (man/kvmkit.1, EXIT
 * STATUS). */
#define DESTROY_WAIT_SEC 5

static void *destroy_thread(void *vm)
{
	kvmkit_vm_destroy(vm);
	return NULL;
}

/* kvmkit_vm_destroy() joins every thread of the VM, and one held in host I/O
 * (a vCPU in a device reset waiting for a disk request, the disk's worker in
 * a read from an image that never answers) would keep a killed kvmkit from
 * exiting. So the VM is destroyed on a thread of its own, and when that
 * takes longer than DESTROY_WAIT_SEC the process exits without it: the
 * guest is over, its output flushed (the VM reported its end after that),
 * and the kernel ends the held threads with the process. */
static void destroy_bounded(struct kvmkit_vm *vm, int code)
{
	struct timespec deadline;
	pthread_t t;

	if (pthread_create(&t, NULL, destroy_thread, vm) != 0) {
		kvmkit_vm_destroy(vm);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += DESTROY_WAIT_SEC;
	if (pthread_timedjoin_np(t, NULL, &deadline) == 0)
		return;
	fprintf(stderr,
		"kvmkit: the VM's threads did not stop within %d s (held in host I/O?); "
		"exiting without them\n",
		DESTROY_WAIT_SEC);
	fflush(NULL);
	_exit(code);
}

/* The first SIGTERM presses the power button; SIGINT, or a second SIGTERM,
 * stops the guest at once. Returns the first signal seen, or 0. */
static int on_signal(struct kvmkit_vm *vm, int sfd, int first)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return first;
	if (si.ssi_signo == SIGTERM && !first)
		kvmkit_vm_stop(vm);
	else
		kvmkit_vm_kill(vm);
	return first ? first : (int)si.ssi_signo;
}

/* Waits for the VM's end on its event fd, handling signals meanwhile. */
static int wait_for_end(struct kvmkit_vm *vm, int sfd)
{
	struct pollfd fds[2] = {
		{.fd = sfd, .events = POLLIN},
		{.fd = kvmkit_vm_event_fd(vm), .events = POLLIN},
	};
	struct kvmkit_event ev;
	int signo = 0;

	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0].revents & POLLIN)
			signo = on_signal(vm, sfd, signo);
		while (kvmkit_vm_next_event(vm, &ev) == 0) {
			if (ev.type == KVMKIT_EVENT_EXIT)
				return signo;
		}
	}
	return signo;
}

static int run(struct kvmkit_config *cfg)
{
	enum kvmkit_exit_reason reason = KVMKIT_EXIT_ERROR;
	struct kvmkit_vm *vm;
	sigset_t stop_signals;
	int sfd, signo, code, ret;

	kvmkit_set_log(kvmkit_log_stderr, NULL);
	/* Blocked before any thread exists, so every thread inherits it and the
	 * signals wait in the signalfd. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_signals, NULL);
	sfd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "kvmkit: signalfd: %s\n", strerror(errno));
		return EXIT_CODE_INTERNAL;
	}
	ret = kvmkit_vm_create(cfg, &vm);
	if (ret < 0) {
		fprintf(stderr, "kvmkit: %s\n", strerror(-ret));
		close(sfd);
		return EXIT_CODE_INTERNAL;
	}
	ret = kvmkit_vm_start(vm);
	if (ret < 0) {
		fprintf(stderr, "kvmkit: %s\n", kvmkit_vm_last_error(vm));
		code = kvmkit_vm_last_error_kind(vm) == KVMKIT_ERROR_INPUT ? EXIT_CODE_USAGE
									   : EXIT_CODE_INTERNAL;
		kvmkit_vm_destroy(vm);
		close(sfd);
		return code;
	}
	signo = wait_for_end(vm, sfd);
	kvmkit_vm_wait(vm, -1, &reason);
	code = signo ? 128 + signo : exit_code_for(reason);
	if (reason == KVMKIT_EXIT_ERROR)
		fprintf(stderr, "kvmkit: %s\n",
			kvmkit_vm_last_error(vm)[0] ? kvmkit_vm_last_error(vm) : "the VM failed");
	destroy_bounded(vm, code);
	close(sfd);
	return code;
}

int main(int argc, char **argv)
{
	struct cli_options opts;
	char err[512];
	int code;

	if (cli_parse(argc, argv, &opts, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvmkit: %s\n", err);
		cli_options_free(&opts);
		return EXIT_CODE_USAGE;
	}
	switch (opts.action) {
	case CLI_HELP: {
		char usage[8192] = "";

		cli_usage(usage, sizeof(usage));
		fputs(usage, stdout);
		code = 0;
		break;
	}
	case CLI_VERSION:
		printf("kvmkit %s\n", kvmkit_version());
		code = 0;
		break;
	case CLI_CTL:
		code = ctl_main(opts.socket_path,
				&(struct ctl_request){.command = opts.command,
						      .raw = opts.send_text,
						      .seconds = opts.seconds,
						      .path = opts.snapshot_path,
						      .then = opts.then,
						      .diff = opts.diff},
				opts.timeout_ms);
		break;
	case CLI_RUN:
	default: code = run(opts.config); break;
	}
	cli_options_free(&opts);
	return code;
}
