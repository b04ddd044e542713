/* Process-wide settings of the public API: the log sink and the vCPU kick
 * signal. Library code logs through log.h; until an embedder asks for
 * messages they are dropped. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "vmm/api.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"

static kvmkit_log_fn user_log;
static void *user_log_opaque;
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void log_to_user(enum log_level level, const char *msg, void *opaque)
{
	(void)opaque;
	if (user_log)
		user_log((enum kvmkit_log_level)level, msg, user_log_opaque);
}

static void install_sink(void) { log_set_sink(log_to_user, NULL); }

void api_log_init(void) { pthread_once(&log_once, install_sink); }

const char *kvmkit_version(void) { return KVMKIT_VERSION; }

int kvmkit_set_log(kvmkit_log_fn fn, void *opaque)
{
	api_log_init();
	user_log = fn;
	user_log_opaque = opaque;
	return 0;
}

void kvmkit_log_stderr(enum kvmkit_log_level level, const char *msg, void *opaque)
{
	(void)level;
	(void)opaque;
	/* One write per message, so lines from several threads do not mix. */
	fprintf(stderr, "kvmkit: %s\n", msg);
}

int kvmkit_set_kick_signal(int signo) { return vcpu_set_kick_signal(signo); }

int kvmkit_kick_signal(void) { return vcpu_kick_signal(); }
