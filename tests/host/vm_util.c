#include "vm_util.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "vmm/device.h"
#include "vmm/log.h"

static pthread_mutex_t captured_lock = PTHREAD_MUTEX_INITIALIZER;
static char captured[16384];
static size_t captured_len;
static unsigned captured_lines;

static void capture_log(enum log_level level, const char *msg, void *opaque)
{
	(void)level;
	(void)opaque;
	pthread_mutex_lock(&captured_lock);
	captured_len += (size_t)snprintf(captured + captured_len, sizeof(captured) - captured_len,
					 "%s\n", msg);
	if (captured_len >= sizeof(captured))
		captured_len = sizeof(captured) - 1;
	captured_lines++;
	pthread_mutex_unlock(&captured_lock);
}

void host_capture_start(void)
{
	captured[0] = '\0';
	captured_len = 0;
	captured_lines = 0;
	log_set_level(LOG_WARN);
	log_set_sink(capture_log, NULL);
}

void host_capture_stop(void) { log_set_sink(NULL, NULL); }

const char *host_captured(void) { return captured; }

size_t host_captured_len(void) { return captured_len; }

unsigned host_captured_lines(void) { return captured_lines; }

struct device *host_find_device(struct vm *vm, const char *name)
{
	for (unsigned i = 0; i < vm->nr_devices; i++) {
		if (strcmp(vm->devices[i]->name, name) == 0)
			return vm->devices[i];
	}
	ck_abort_msg("no device named %s", name);
	return NULL;
}

void host_pause(struct vm *vm)
{
	int ret = vm_pause(vm);

	ck_assert_msg(ret == 0, "vm_pause: %d %s", ret, vm->error);
	ck_assert_int_eq(vm_run_state(vm), VM_STATE_PAUSED);
}
