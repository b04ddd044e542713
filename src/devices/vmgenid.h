/* VM generation ID (microsoft,vmgenid): a random ID in guest memory that
 * changes, with an interrupt, whenever the machine is restored, so that the
 * guest reseeds its random number generator (each clone its own way). */
#ifndef KVMKIT_VMGENID_H
#define KVMKIT_VMGENID_H

#include <stdint.h>

struct device_host;

#define VMGENID_ID_LEN 16
/* The page the ID starts: 64 KiB, so that it is whole host pages on arm64
 * hosts with 4, 16 or 64 KiB pages. */
#define VMGENID_SIZE 0x10000ULL

/* Places the ID's page at @base (aligned to VMGENID_SIZE) as guest memory
 * and its edge interrupt on @irq. */
int vmgenid_create(struct device_host *host, uint64_t base, unsigned irq);

#endif
