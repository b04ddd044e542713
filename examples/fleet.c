/* fleet: start N VMs in one process, wait until every guest has shown a line
 * on its console, stop them all gracefully and wait for all to end. An
 * example of several VMs per process with libkvmkit.
 *
 *   fleet N TEXT SETTING=VALUE...
 *
 * SETTINGs are kvmkit run's long options, the same for every VM. Exits 0
 * when every guest showed TEXT and every VM ended, 1 otherwise. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kvmkit/kvmkit.h>

#define MAX_VMS 16
#define BOOT_TIMEOUT_MS 180000

struct member {
	struct kvmkit_vm *vm;
	const char *text;
	char line[512];
	size_t len;
	atomic_bool seen;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

static void on_console(struct kvmkit_vm *vm, const char *buf, size_t len, void *opaque)
{
	struct member *m = opaque;

	(void)vm;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n' && m->len < sizeof(m->line) - 1) {
			m->line[m->len++] = buf[i];
			continue;
		}
		m->line[m->len] = '\0';
		m->len = 0;
		if (strstr(m->line, m->text)) {
			pthread_mutex_lock(&lock);
			atomic_store(&m->seen, true);
			pthread_cond_broadcast(&changed);
			pthread_mutex_unlock(&lock);
		}
	}
}

/* A VM that ends before its text shows must not keep main() waiting. */
static void on_event(struct kvmkit_vm *vm, const struct kvmkit_event *ev, void *opaque)
{
	(void)vm;
	(void)opaque;
	if (ev->type == KVMKIT_EVENT_EXIT) {
		pthread_mutex_lock(&lock);
		pthread_cond_broadcast(&changed);
		pthread_mutex_unlock(&lock);
	}
}

static bool all_up(struct member *fleet, int n, int *ended)
{
	bool up = true;

	*ended = 0;
	for (int i = 0; i < n; i++) {
		if (kvmkit_vm_state(fleet[i].vm) == KVMKIT_STATE_ENDED)
			(*ended)++;
		else if (!atomic_load(&fleet[i].seen))
			up = false;
	}
	return up;
}

static struct kvmkit_config *make_config(int argc, char **argv)
{
	struct kvmkit_config *cfg;

	if (kvmkit_config_new(&cfg) < 0)
		return NULL;
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (eq)
			*eq = '\0';
		if (kvmkit_config_set(cfg, argv[i], eq ? eq + 1 : NULL) < 0) {
			fprintf(stderr, "fleet: %s\n", kvmkit_config_last_error(cfg));
			kvmkit_config_free(cfg);
			return NULL;
		}
	}
	return cfg;
}

int main(int argc, char **argv)
{
	struct member fleet[MAX_VMS] = {0};
	struct kvmkit_config *cfg;
	struct timespec deadline;
	int n, started = 0, ended = 0, failed = 0;

	n = argc > 3 ? atoi(argv[1]) : 0;
	if (n < 1 || n > MAX_VMS) {
		fprintf(stderr, "usage: fleet N(1-%d) TEXT SETTING=VALUE...\n", MAX_VMS);
		return 2;
	}
	kvmkit_set_log(kvmkit_log_stderr, NULL);
	cfg = make_config(argc - 3, argv + 3);
	if (!cfg)
		return 2;
	for (int i = 0; i < n; i++) {
		struct member *m = &fleet[i];

		m->text = argv[2];
		if (kvmkit_vm_create(cfg, &m->vm) < 0)
			break;
		kvmkit_vm_set_console_callback(m->vm, on_console, m);
		kvmkit_vm_set_event_callback(m->vm, on_event, NULL);
		if (kvmkit_vm_start(m->vm) < 0) {
			fprintf(stderr, "fleet: vm%d: %s\n", i, kvmkit_vm_last_error(m->vm));
			kvmkit_vm_destroy(m->vm);
			m->vm = NULL;
			break;
		}
		started++;
	}
	kvmkit_config_free(cfg);
	printf("fleet: started %d of %d VMs\n", started, n);

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += BOOT_TIMEOUT_MS / 1000;
	pthread_mutex_lock(&lock);
	while (started == n && !all_up(fleet, n, &ended) &&
	       pthread_cond_timedwait(&changed, &lock, &deadline) == 0)
		;
	pthread_mutex_unlock(&lock);
	all_up(fleet, started, &ended);
	printf("fleet: %d of %d guests showed \"%s\"; stopping all\n", started - ended, n, argv[2]);
	fflush(stdout);

	for (int i = 0; i < started; i++)
		kvmkit_vm_stop(fleet[i].vm);
	for (int i = 0; i < started; i++) {
		enum kvmkit_exit_reason reason;

		kvmkit_vm_wait(fleet[i].vm, -1, &reason);
		printf("fleet: vm%d ended: %s\n", i, kvmkit_exit_reason_name(reason));
		failed += !atomic_load(&fleet[i].seen) || reason == KVMKIT_EXIT_ERROR;
		kvmkit_vm_destroy(fleet[i].vm);
	}
	return started == n && failed == 0 ? 0 : 1;
}
