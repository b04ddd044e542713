/* virtio-rng: entropy for the guest from the host's getrandom(). */
#ifndef KVMKIT_VIRTIO_RNG_H
#define KVMKIT_VIRTIO_RNG_H

struct device_host;
struct virtio_dev;

int virtio_rng_create(struct device_host *host, struct virtio_dev **out);

#endif
