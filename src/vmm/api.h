/* Internals of the public API (include/kvmkit/kvmkit.h), shared by the
 * api_*.c files and the unit tests. Nothing here is exported. */
#ifndef KVMKIT_API_H
#define KVMKIT_API_H

#include <pthread.h>
#include <stdbool.h>

#include "kvmkit/kvmkit.h"
#include "vmm/options.h"
#include "vmm/vm.h"

/* One kvmkit_config_set() (or set_console_stdio) call, replayed to copy a
 * config: the options borrow their strings, so each config owns its copies. */
struct api_setting {
	char *name;  /* NULL: a kvmkit_config_set_console_stdio() call */
	char *value; /* NULL for flags */
	bool on;     /* for set_console_stdio */
};

struct kvmkit_config {
	struct run_options opts;
	struct api_setting *settings;
	unsigned nr_settings;
	unsigned cap_settings;
	char error[512];
};

/* A deep copy of @src into a new config. -ENOMEM. */
int api_config_clone(const struct kvmkit_config *src, struct kvmkit_config **out);

/* The options a config stands for (unit tests, the VM). */
const struct run_options *api_config_options(const struct kvmkit_config *cfg);

/* The public names of the core's states and exit reasons (api_vm.c). */
enum kvmkit_exit_reason api_public_reason(enum vm_exit_reason reason);
enum kvmkit_state api_public_state(enum vm_run_state state);

/* Records the message of a failed call on @h (api_vm.c); returns @err. */
int api_vm_fail(struct kvmkit_vm *h, enum kvmkit_error_kind kind, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The core VM of @h while it runs (RUNNING, PAUSED or STOPPING), else NULL
 * with -ESRCH in *@ret and the message recorded for "@what". */
struct vm *api_running_vm(struct kvmkit_vm *h, const char *what, int *ret);

/* Snapshots (api_snapshot.c): the JSON of @cfg's machine settings (what a
 * snapshot keeps; free()); and, for a config with "restore", the snapshot
 * opened and @cfg_io replaced by its settings followed by the caller's own
 * (which may only be run settings). -errno with a message. */
struct vm_restore;
int api_machine_settings(const struct kvmkit_config *cfg, char **out);
int api_restore_prepare(struct kvmkit_config **cfg_io, struct vm_restore **out, char *err,
			size_t errlen);

/* Installs the "no output" log sink unless an embedder chose one. */
void api_log_init(void);

#define API_EVENT_QUEUE 64

/* Events waiting for kvmkit_vm_next_event(); fd is readable while any are. */
struct api_events {
	pthread_mutex_t lock;
	int fd;
	struct kvmkit_event ring[API_EVENT_QUEUE];
	unsigned head;
	unsigned count;
};

int api_events_init(struct api_events *q);
void api_events_destroy(struct api_events *q);
/* Queues @ev, dropping the oldest when full. */
void api_events_push(struct api_events *q, const struct kvmkit_event *ev);
/* 0, or -EAGAIN when empty. */
int api_events_pop(struct api_events *q, struct kvmkit_event *ev);

/* JSON config files (config_file.c): calls @set for every key of the object
 * in @path, in order; flags get NULL (true) or are skipped (false). On error
 * returns a negative errno and a message naming @path and the key in @err. */
typedef int (*config_file_set_fn)(void *ctx, const char *name, const char *value, char *err,
				  size_t errlen);
int config_file_load(const char *path, config_file_set_fn set, void *ctx, char *err, size_t errlen);
/* The same for JSON @text; messages start with @label. */
int config_file_parse(const char *label, const char *text, config_file_set_fn set, void *ctx,
		      char *err, size_t errlen);

#endif
