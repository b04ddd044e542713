/* boot-and-wait: boot a guest, wait for a line on its console, stop it
 * gracefully, and report how it ended. An example of libkvmkit's API:
 * the config builder, a console callback, and the event fd in a poll() loop.
 *
 *   boot-and-wait TEXT SETTING=VALUE...
 *   boot-and-wait KVMKIT-L2-BOOT-OK kernel=Image initrd=initramfs.cpio \
 *       "cmdline=console=ttyS0 quiet" memory=256M
 *
 * SETTINGs are kvmkit run's long options (a flag is given without "=").
 * Exits 0 once the VM has ended after TEXT was seen, 1 otherwise. */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kvmkit/kvmkit.h>

#define WAIT_FOR_TEXT_MS 120000

struct watcher {
	const char *text;
	char line[1024];
	size_t len;
	int wake_fd; /* written once when the text shows */
	atomic_bool seen;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* On a vCPU thread: collect lines, look for the text, wake main(). */
static void on_console(struct kvmkit_vm *vm, const char *buf, size_t len, void *opaque)
{
	struct watcher *w = opaque;

	(void)vm;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n' && w->len < sizeof(w->line) - 1) {
			w->line[w->len++] = buf[i];
			continue;
		}
		w->line[w->len] = '\0';
		w->len = 0;
		if (!atomic_load(&w->seen) && strstr(w->line, w->text)) {
			atomic_store(&w->seen, true);
			if (write(w->wake_fd, "!", 1) < 0)
				perror("boot-and-wait: write");
		}
	}
}

static int apply_settings(struct kvmkit_config *cfg, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		int ret;

		if (eq)
			*eq = '\0';
		ret = kvmkit_config_set(cfg, argv[i], eq ? eq + 1 : NULL);
		if (ret < 0) {
			fprintf(stderr, "boot-and-wait: %s\n", kvmkit_config_last_error(cfg));
			return ret;
		}
	}
	return 0;
}

/* Waits until the text shows (1), the VM ends (0) or time runs out (-1). */
static int wait_for_text(struct kvmkit_vm *vm, int text_fd)
{
	struct pollfd fds[2] = {
		{.fd = text_fd, .events = POLLIN},
		{.fd = kvmkit_vm_event_fd(vm), .events = POLLIN},
	};
	long long deadline = now_ms() + WAIT_FOR_TEXT_MS;
	struct kvmkit_event ev;

	while (now_ms() < deadline) {
		if (poll(fds, 2, (int)(deadline - now_ms())) < 0 && errno != EINTR)
			return -1;
		if (fds[0].revents & POLLIN)
			return 1;
		while (kvmkit_vm_next_event(vm, &ev) == 0) {
			if (ev.type == KVMKIT_EVENT_EXIT)
				return 0;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct watcher w = {0};
	struct kvmkit_config *cfg;
	struct kvmkit_vm *vm;
	enum kvmkit_exit_reason reason;
	long long start, stop_at;
	int pipe_fds[2], found, ret;

	if (argc < 3) {
		fprintf(stderr, "usage: boot-and-wait TEXT SETTING=VALUE...\n");
		return 2;
	}
	w.text = argv[1];
	if (pipe(pipe_fds) < 0 || kvmkit_config_new(&cfg) < 0) {
		perror("boot-and-wait");
		return 1;
	}
	w.wake_fd = pipe_fds[1];
	kvmkit_set_log(kvmkit_log_stderr, NULL);
	if (apply_settings(cfg, argc - 2, argv + 2) < 0)
		return 2;
	ret = kvmkit_vm_create(cfg, &vm);
	kvmkit_config_free(cfg);
	if (ret < 0) {
		fprintf(stderr, "boot-and-wait: %s\n", strerror(-ret));
		return 1;
	}
	kvmkit_vm_set_console_fd(vm, STDOUT_FILENO);
	kvmkit_vm_set_console_callback(vm, on_console, &w);
	start = now_ms();
	if (kvmkit_vm_start(vm) < 0) {
		fprintf(stderr, "boot-and-wait: %s\n", kvmkit_vm_last_error(vm));
		kvmkit_vm_destroy(vm);
		return 1;
	}
	found = wait_for_text(vm, pipe_fds[0]);
	stop_at = now_ms();
	if (found == 1) {
		printf("boot-and-wait: saw \"%s\" after %lld ms; stopping the guest\n", w.text,
		       stop_at - start);
		fflush(stdout);
		kvmkit_vm_stop(vm);
	} else if (found < 0) {
		fprintf(stderr, "boot-and-wait: no \"%s\" in %d s; killing the guest\n", w.text,
			WAIT_FOR_TEXT_MS / 1000);
		kvmkit_vm_kill(vm);
	}
	kvmkit_vm_wait(vm, -1, &reason);
	printf("boot-and-wait: the VM ended: %s, %lld ms after the stop\n",
	       kvmkit_exit_reason_name(reason), now_ms() - stop_at);
	if (reason == KVMKIT_EXIT_ERROR)
		fprintf(stderr, "boot-and-wait: %s\n", kvmkit_vm_last_error(vm));
	kvmkit_vm_destroy(vm);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	return found == 1 ? 0 : 1;
}
