/* Threads kvmkit starts for itself (vCPUs, the event loop, I/O workers): a
 * small explicit stack, so a host with transparent huge pages "always" does
 * not back an 8 MiB default stack with a 2 MiB page per thread, and a signal
 * mask that leaves asynchronous signals to the embedding program's threads. */
#ifndef KVMKIT_THREAD_H
#define KVMKIT_THREAD_H

#include <pthread.h>

#define VMM_THREAD_STACK_SIZE (256 * 1024)

/* Starts @fn(@arg) with every asynchronous signal blocked except @allow_signal
 * (0: none); synchronous faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL) stay
 * deliverable. Returns 0 or a positive errno, like pthread_create. */
int vmm_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg, int allow_signal);

#endif
