#include "vmm/thread.h"

#include <signal.h>

int vmm_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg, int allow_signal)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int ret;

	/* The new thread inherits the mask in force at pthread_create. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	if (allow_signal)
		sigdelset(&all, allow_signal);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, VMM_THREAD_STACK_SIZE);
	ret = pthread_create(thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}
