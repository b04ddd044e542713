/* Thin helpers over /dev/kvm: opening it with a clear diagnosis, and checking
 * capabilities by name. */
#ifndef KVMKIT_KVM_H
#define KVMKIT_KVM_H

#include <stddef.h>

#include "arch/arch.h"

/* Opens /dev/kvm and checks the API version. Returns the fd, or a negative
 * errno with a one-line explanation in @err. */
int kvm_open(char *err, size_t errlen);

/* KVM_CHECK_EXTENSION on @fd (system or VM fd); <= 0 means absent. */
int kvm_cap(int fd, long cap);

/* Returns NULL if every capability is present, else the first missing one. */
const struct kvm_cap_req *kvm_missing_cap(int fd, const struct kvm_cap_req *caps, unsigned n);

#endif
