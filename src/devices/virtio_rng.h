/* virtio-rng: entropy for the guest from the host's getrandom(). */
#ifndef KVMKIT_VIRTIO_RNG_H
#define KVMKIT_VIRTIO_RNG_H

struct vm;

int virtio_rng_create(struct vm *vm);

#endif
