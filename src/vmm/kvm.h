/* Thin helpers over /dev/kvm: opening it with a clear diagnosis, checking
 * capabilities by name, and ioctls that report a failure once, naming the
 * ioctl, what it was for and the errno (as the Linux KVM selftests' kvm_util
 * does). Every KVM ioctl but KVM_RUN and capability probes goes through them. */
#ifndef KVMKIT_KVM_H
#define KVMKIT_KVM_H

#include <stdarg.h>
#include <stddef.h>

#include "arch/arch.h"

/* Opens /dev/kvm and checks the API version. Returns the fd, or a negative
 * errno with a one-line explanation in @err. */
int kvm_open(char *err, size_t errlen);

/* KVM_CHECK_EXTENSION on @fd (system or VM fd); <= 0 means absent. */
int kvm_cap(int fd, long cap);

/* Returns NULL if every capability is present, else the first missing one. */
const struct kvm_cap_req *kvm_missing_cap(int fd, const struct kvm_cap_req *caps, unsigned n);

struct vm;

/* ioctl() on a KVM fd, repeated while a signal interrupts it (EINTR).
 * Returns its non-negative result or -errno, and reports nothing: for calls
 * whose failure is an answer (a capability to fall back from). */
int kvm_ioctl(int fd, unsigned long request, void *arg);

/* The same; a failure becomes the VM's error, "[CONTEXT: ]NAME: strerror",
 * with CONTEXT from @fmt (NULL for none). Returns the result or -errno. */
int kvm_ioctl_checked(struct vm *vm, int fd, unsigned long request, void *arg, const char *name,
		      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* On the VM's own fd, on /dev/kvm, and on a vCPU's fd (context "vcpuN"). */
#define vm_ioctl(vm, request, arg) \
	kvm_ioctl_checked((vm), (vm)->vm_fd, (request), (arg), #request, NULL)
#define kvm_sys_ioctl(vm, request, arg) \
	kvm_ioctl_checked((vm), (vm)->kvm_fd, (request), (arg), #request, NULL)
#define vcpu_ioctl(vcpu, request, arg)                                                  \
	kvm_ioctl_checked((vcpu)->vm, (vcpu)->fd, (request), (arg), #request, "vcpu%u", \
			  (vcpu)->index)

#endif
