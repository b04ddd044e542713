/* A test's virtio driver for host tests of virtio devices without a guest
 * driver: the VM runs the spinning x86 test kernel with its main loop on a
 * thread of its own (so QueueNotify writes become kicks served there), and
 * the test configures the device through its virtio-mmio registers
 * (device_read()/device_write()) and lays rings and buffers out in guest RAM.
 * Assertions are Check's: any failure ends the test. */
#ifndef KVMKIT_TEST_VIRTIO_DRIVER_H
#define KVMKIT_TEST_VIRTIO_DRIVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "host_util.h"
/* Where guest RAM starts, by the architecture the test is built for. */
#if defined(__aarch64__)
#include "../arm64/guests/layout.h"
#else
#include "guests/layout.h"
#endif
#include "vmm/vm.h"

#define VDRV_MAX_QUEUES 2
#define VDRV_QUEUE_SIZE 64
/* Descriptors per chain: chain number k uses [k * 4, k * 4 + 4). */
#define VDRV_DESC_PER_CHAIN 4
/* Scaled for slow tiers (host_time_factor()). */
#define VDRV_WAIT_SEC ((int)(5 * host_time_factor()))

/* Guest RAM the driver owns (the test kernel lives at 1 MiB): rings at
 * VDRV_RING_GPA + 64 KiB per queue; tests put their buffers from
 * VDRV_BUF_GPA on. */
#define VDRV_RING_GPA (TEST_RAM_BASE + 0x800000ULL)
#define VDRV_BUF_GPA (TEST_RAM_BASE + 0x900000ULL)

/* virtio-mmio registers (version 2), for vdrv_reg_read()/vdrv_reg_write(). */
#define VDRV_REG_DEVICE_ID 0x008
#define VDRV_REG_DEVICE_FEATURES 0x010
#define VDRV_REG_DEVICE_FEATURES_SEL 0x014
#define VDRV_REG_DRIVER_FEATURES 0x020
#define VDRV_REG_DRIVER_FEATURES_SEL 0x024
#define VDRV_REG_QUEUE_SEL 0x030
#define VDRV_REG_QUEUE_NUM_MAX 0x034
#define VDRV_REG_QUEUE_NUM 0x038
#define VDRV_REG_QUEUE_READY 0x044
#define VDRV_REG_QUEUE_NOTIFY 0x050
#define VDRV_REG_INTERRUPT_STATUS 0x060
#define VDRV_REG_INTERRUPT_ACK 0x064
#define VDRV_REG_STATUS 0x070
#define VDRV_REG_QUEUE_DESC_LOW 0x080
#define VDRV_REG_QUEUE_DESC_HIGH 0x084
#define VDRV_REG_QUEUE_DRIVER_LOW 0x090
#define VDRV_REG_QUEUE_DRIVER_HIGH 0x094
#define VDRV_REG_QUEUE_DEVICE_LOW 0x0a0
#define VDRV_REG_QUEUE_DEVICE_HIGH 0x0a4
#define VDRV_REG_CONFIG 0x100

#define VDRV_STATUS_ACK 1
#define VDRV_STATUS_DRIVER 2
#define VDRV_STATUS_DRIVER_OK 4
#define VDRV_STATUS_FEATURES_OK 8
#define VDRV_STATUS_NEEDS_RESET 64

struct running_vm {
	struct vm *vm;
	pthread_t loop;
	enum vm_exit_reason reason; /* once stopped */
};

/* vm_config_defaults() for the spinning test kernel in the guest memory the
 * driver expects, with no console on stdio; the test adds its devices. */
void vdrv_config_init(struct vm_config *cfg);
/* Creates the VM from @cfg (from vdrv_config_init()) and runs its loop on a
 * thread. */
void vdrv_start_vm(struct running_vm *r, const struct vm_config *cfg);
/* Waits up to VDRV_WAIT_SEC for the VM to end on its own; returns whether it did. */
bool vdrv_wait_vm_end(struct running_vm *r);
/* Ends the VM (if it has not ended), joins the loop and destroys the VM. */
void vdrv_stop_vm(struct running_vm *r);

struct vdrv_buf {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

struct vdrv_used {
	uint32_t id;
	uint32_t len;
};

struct vdrv_queue {
	uint64_t desc, avail, used;
	uint16_t avail_idx;
	uint16_t used_seen;
};

struct vdrv {
	struct vm *vm;
	struct device *dev;
	uint64_t offered;
	uint64_t features;
	unsigned nr_queues;
	uint64_t ring_gpa; /* the rings of queue i at ring_gpa + 64 KiB * i */
	struct vdrv_queue q[VDRV_MAX_QUEUES];
};

/* The driver side of initialisation (virtio 1.x, 3.1.1) of the device called
 * @name: checks its device ID, accepts the offered features minus @refuse,
 * sets up @nr_queues queues of VDRV_QUEUE_SIZE and sets DRIVER_OK. */
void vdrv_init(struct vdrv *d, struct vm *vm, const char *name, uint32_t device_id,
	       unsigned nr_queues, uint64_t refuse);

/* The same with the rings at @ring_gpa, for a second device in one VM. */
void vdrv_init_at(struct vdrv *d, struct vm *vm, const char *name, uint32_t device_id,
		  unsigned nr_queues, uint64_t refuse, uint64_t ring_gpa);
/* Stops queue @qi (QueueReady 0, read back) and sets it up, empty, with its
 * rings at @ring_gpa (three pages): a driver that sets a queue up by hand or
 * moves its rings. Returns whether QueueReady then reads 1. */
bool vdrv_queue_setup(struct vdrv *d, unsigned qi, uint64_t ring_gpa);
/* The same driver, rings and all, now talking to the device called @name
 * of @vm: for a device whose state (and guest RAM) was loaded there. */
void vdrv_move(struct vdrv *d, struct vm *vm, const char *name);
uint32_t vdrv_reg_read(struct vdrv *d, uint64_t offset);
void vdrv_reg_write(struct vdrv *d, uint64_t offset, uint32_t value);
/* The device status register; a write of 0 resets the device. */
uint32_t vdrv_status(struct vdrv *d);
void vdrv_reset(struct vdrv *d);
/* Config space, @len bytes at @offset. */
void vdrv_config_read(struct vdrv *d, uint32_t offset, void *data, unsigned len);

/* A host pointer to [gpa, gpa + len) of guest RAM. */
void *vdrv_gpa(struct vdrv *d, uint64_t gpa, uint64_t len);

/* Makes a chain of @n (at most VDRV_DESC_PER_CHAIN) buffers available on
 * queue @qi; returns its head. Does not kick. */
uint16_t vdrv_post(struct vdrv *d, unsigned qi, const struct vdrv_buf *bufs, unsigned n);
void vdrv_kick(struct vdrv *d, unsigned qi);

/* Waits until the device has used @count more chains of queue @qi and
 * returns whether it did within VDRV_WAIT_SEC; the entries go to @out (may
 * be NULL). */
bool vdrv_wait_used(struct vdrv *d, unsigned qi, unsigned count, struct vdrv_used *out);
/* Whether @count more chains were used within @ms milliseconds, without
 * taking them: the bound of a check that something does NOT happen. */
bool vdrv_wait_used_within(struct vdrv *d, unsigned qi, unsigned count, unsigned ms);
/* The used ring's index of queue @qi: how many chains the device used since
 * vdrv_init(). */
uint16_t vdrv_used_idx(struct vdrv *d, unsigned qi);
/* How many chains the device used that the driver has not seen. */
unsigned vdrv_nr_unseen(struct vdrv *d, unsigned qi);

/* Whether the device set DEVICE_NEEDS_RESET within VDRV_WAIT_SEC. */
bool vdrv_wait_needs_reset(struct vdrv *d);

#endif
