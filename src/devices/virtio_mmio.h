/* The virtio-mmio transport (virtio 1.x, register layout version 2, no legacy
 * interface): the register file in front of a virtio device core
 * (virtio_dev.h). The platform chooses its address and interrupt. Kicks
 * arrive through one ioeventfd per queue on QueueNotify; interrupts leave
 * through one irqfd. The vCPU threads therefore only ever touch registers. */
#ifndef KVMKIT_VIRTIO_MMIO_H
#define KVMKIT_VIRTIO_MMIO_H

#include <stdint.h>

#include "devices/virtio_dev.h"

#define VIRTIO_MMIO_SIZE 0x200

/* Puts @vdev behind a virtio-mmio register file at @base with platform
 * interrupt @irq (0: none, for polled drivers) and adds it to @host, which
 * then owns both; on failure @vdev is destroyed. */
int virtio_mmio_create(struct device_host *host, struct virtio_dev *vdev, uint64_t base,
		       unsigned irq);

#endif
