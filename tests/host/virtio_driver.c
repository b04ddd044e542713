#include "virtio_driver.h"

#include <check.h>
#include <string.h>
#include <time.h>

#include "host_util.h"
#include "vm_util.h"
#include "vmm/device.h"

#define F_VERSION_1 (1ULL << 32)
#define DESC_F_NEXT 1
#define DESC_F_WRITE 2

#define GUEST_MEM_SIZE (16ULL << 20)
#define QUEUE_STRIDE 0x10000ULL

static void *run_loop(void *arg)
{
	struct running_vm *r = arg;

	r->reason = vm_run(r->vm);
	return NULL;
}

void vdrv_config_init(struct vm_config *cfg)
{
	vm_config_defaults(cfg);
	cfg->kernel_path = host_guest_path("spin");
	cfg->mem_size = GUEST_MEM_SIZE;
	cfg->console_stdio = false;
}

void vdrv_start_vm(struct running_vm *r, const struct vm_config *cfg)
{
	char err[512] = "";
	bool input_error;
	int ret;

	ret = vm_create(cfg, &r->vm, err, sizeof(err), &input_error);
	ck_assert_msg(ret == 0, "vm_create: %s", err);
	r->reason = VM_EXIT_NONE;
	ck_assert_int_eq(pthread_create(&r->loop, NULL, run_loop, r), 0);
}

bool vdrv_wait_vm_end(struct running_vm *r)
{
	struct timespec delay = {0, 1000 * 1000};

	for (int i = 0; i < VDRV_WAIT_SEC * 1000; i++) {
		if (atomic_load(&r->vm->exit_reason) != VM_EXIT_NONE)
			return true;
		nanosleep(&delay, NULL);
	}
	return false;
}

void vdrv_stop_vm(struct running_vm *r)
{
	vm_request_exit(r->vm, VM_EXIT_QUIT);
	pthread_join(r->loop, NULL);
	vm_destroy(r->vm);
	r->vm = NULL;
}

uint32_t vdrv_reg_read(struct vdrv *d, uint64_t offset)
{
	uint32_t v = 0;

	ck_assert_int_eq(device_read(d->dev, offset, &v, 4), 0);
	return v;
}

void vdrv_reg_write(struct vdrv *d, uint64_t offset, uint32_t value)
{
	ck_assert_int_eq(device_write(d->dev, offset, &value, 4), 0);
}

uint32_t vdrv_status(struct vdrv *d) { return vdrv_reg_read(d, VDRV_REG_STATUS); }

void vdrv_reset(struct vdrv *d) { vdrv_reg_write(d, VDRV_REG_STATUS, 0); }

void vdrv_config_read(struct vdrv *d, uint32_t offset, void *data, unsigned len)
{
	ck_assert_int_eq(device_read(d->dev, VDRV_REG_CONFIG + offset, data, len), 0);
}

void *vdrv_gpa(struct vdrv *d, uint64_t gpa, uint64_t len)
{
	void *p = guest_mem_ptr(&d->vm->mem, gpa, len);

	ck_assert_ptr_nonnull(p);
	return p;
}

static void setup_queue_at(struct vdrv *d, unsigned qi, uint64_t base)
{
	struct vdrv_queue *q = &d->q[qi];

	*q = (struct vdrv_queue){.desc = base, .avail = base + 0x1000, .used = base + 0x2000};
	memset(vdrv_gpa(d, base, 0x3000), 0, 0x3000);
	vdrv_reg_write(d, VDRV_REG_QUEUE_SEL, qi);
	ck_assert_uint_ge(vdrv_reg_read(d, VDRV_REG_QUEUE_NUM_MAX), VDRV_QUEUE_SIZE);
	vdrv_reg_write(d, VDRV_REG_QUEUE_NUM, VDRV_QUEUE_SIZE);
	vdrv_reg_write(d, VDRV_REG_QUEUE_DESC_LOW, (uint32_t)q->desc);
	vdrv_reg_write(d, VDRV_REG_QUEUE_DESC_HIGH, 0);
	vdrv_reg_write(d, VDRV_REG_QUEUE_DRIVER_LOW, (uint32_t)q->avail);
	vdrv_reg_write(d, VDRV_REG_QUEUE_DRIVER_HIGH, 0);
	vdrv_reg_write(d, VDRV_REG_QUEUE_DEVICE_LOW, (uint32_t)q->used);
	vdrv_reg_write(d, VDRV_REG_QUEUE_DEVICE_HIGH, 0);
	vdrv_reg_write(d, VDRV_REG_QUEUE_READY, 1);
}

static void setup_queue(struct vdrv *d, unsigned qi)
{
	setup_queue_at(d, qi, d->ring_gpa + qi * QUEUE_STRIDE);
}

bool vdrv_queue_setup(struct vdrv *d, unsigned qi, uint64_t ring_gpa)
{
	vdrv_reg_write(d, VDRV_REG_QUEUE_SEL, qi);
	vdrv_reg_write(d, VDRV_REG_QUEUE_READY, 0);
	ck_assert_uint_eq(vdrv_reg_read(d, VDRV_REG_QUEUE_READY), 0);
	setup_queue_at(d, qi, ring_gpa);
	return vdrv_reg_read(d, VDRV_REG_QUEUE_READY) == 1;
}

void vdrv_move(struct vdrv *d, struct vm *vm, const char *name)
{
	d->vm = vm;
	d->dev = host_find_device(vm, name);
}

void vdrv_init(struct vdrv *d, struct vm *vm, const char *name, uint32_t device_id,
	       unsigned nr_queues, uint64_t refuse)
{
	vdrv_init_at(d, vm, name, device_id, nr_queues, refuse, VDRV_RING_GPA);
}

void vdrv_init_at(struct vdrv *d, struct vm *vm, const char *name, uint32_t device_id,
		  unsigned nr_queues, uint64_t refuse, uint64_t ring_gpa)
{
	const uint32_t ack = VDRV_STATUS_ACK | VDRV_STATUS_DRIVER;

	ck_assert_uint_le(nr_queues, VDRV_MAX_QUEUES);
	memset(d, 0, sizeof(*d));
	d->vm = vm;
	d->dev = host_find_device(vm, name);
	d->nr_queues = nr_queues;
	d->ring_gpa = ring_gpa;
	ck_assert_uint_eq(vdrv_reg_read(d, VDRV_REG_DEVICE_ID), device_id);
	vdrv_reg_write(d, VDRV_REG_STATUS, 0);
	vdrv_reg_write(d, VDRV_REG_STATUS, VDRV_STATUS_ACK);
	vdrv_reg_write(d, VDRV_REG_STATUS, ack);
	vdrv_reg_write(d, VDRV_REG_DEVICE_FEATURES_SEL, 0);
	d->offered = vdrv_reg_read(d, VDRV_REG_DEVICE_FEATURES);
	vdrv_reg_write(d, VDRV_REG_DEVICE_FEATURES_SEL, 1);
	d->offered |= (uint64_t)vdrv_reg_read(d, VDRV_REG_DEVICE_FEATURES) << 32;
	ck_assert(d->offered & F_VERSION_1);
	d->features = d->offered & ~refuse;
	vdrv_reg_write(d, VDRV_REG_DRIVER_FEATURES_SEL, 0);
	vdrv_reg_write(d, VDRV_REG_DRIVER_FEATURES, (uint32_t)d->features);
	vdrv_reg_write(d, VDRV_REG_DRIVER_FEATURES_SEL, 1);
	vdrv_reg_write(d, VDRV_REG_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
	vdrv_reg_write(d, VDRV_REG_STATUS, ack | VDRV_STATUS_FEATURES_OK);
	ck_assert(vdrv_reg_read(d, VDRV_REG_STATUS) & VDRV_STATUS_FEATURES_OK);
	for (unsigned i = 0; i < nr_queues; i++)
		setup_queue(d, i);
	vdrv_reg_write(d, VDRV_REG_STATUS, ack | VDRV_STATUS_FEATURES_OK | VDRV_STATUS_DRIVER_OK);
}

uint16_t vdrv_post(struct vdrv *d, unsigned qi, const struct vdrv_buf *bufs, unsigned n)
{
	struct vdrv_queue *q = &d->q[qi];
	struct {
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
	} *desc = vdrv_gpa(d, q->desc, 16 * VDRV_QUEUE_SIZE);
	uint16_t *avail = vdrv_gpa(d, q->avail, 6 + 2 * VDRV_QUEUE_SIZE);
	unsigned first =
		(q->avail_idx % (VDRV_QUEUE_SIZE / VDRV_DESC_PER_CHAIN)) * VDRV_DESC_PER_CHAIN;

	ck_assert_uint_le(n, VDRV_DESC_PER_CHAIN);
	for (unsigned i = 0; i < n; i++) {
		desc[first + i].addr = bufs[i].gpa;
		desc[first + i].len = bufs[i].len;
		desc[first + i].flags = (uint16_t)((bufs[i].writable ? DESC_F_WRITE : 0) |
						   (i + 1 < n ? DESC_F_NEXT : 0));
		desc[first + i].next = (uint16_t)(first + i + 1);
	}
	avail[2 + q->avail_idx % VDRV_QUEUE_SIZE] = (uint16_t)first;
	q->avail_idx++;
	__atomic_store_n(&avail[1], q->avail_idx, __ATOMIC_RELEASE);
	return (uint16_t)first;
}

void vdrv_kick(struct vdrv *d, unsigned qi) { vdrv_reg_write(d, VDRV_REG_QUEUE_NOTIFY, qi); }

uint16_t vdrv_used_idx(struct vdrv *d, unsigned qi)
{
	uint16_t *used = vdrv_gpa(d, d->q[qi].used, 4);

	return __atomic_load_n(&used[1], __ATOMIC_ACQUIRE);
}

unsigned vdrv_nr_unseen(struct vdrv *d, unsigned qi)
{
	return (uint16_t)(vdrv_used_idx(d, qi) - d->q[qi].used_seen);
}

bool vdrv_wait_used_within(struct vdrv *d, unsigned qi, unsigned count, unsigned ms)
{
	struct timespec delay = {0, 1000 * 1000};

	for (unsigned i = 0; i < ms; i++) {
		if (vdrv_nr_unseen(d, qi) >= count)
			return true;
		nanosleep(&delay, NULL);
	}
	return vdrv_nr_unseen(d, qi) >= count;
}

bool vdrv_wait_used(struct vdrv *d, unsigned qi, unsigned count, struct vdrv_used *out)
{
	struct timespec delay = {0, 1000 * 1000};
	struct vdrv_queue *q = &d->q[qi];
	uint32_t *ring = vdrv_gpa(d, q->used + 4, 8 * VDRV_QUEUE_SIZE);

	for (int i = 0; i < VDRV_WAIT_SEC * 1000; i++) {
		if (vdrv_nr_unseen(d, qi) >= count) {
			for (unsigned k = 0; out && k < count; k++) {
				unsigned slot = (uint16_t)(q->used_seen + k) % VDRV_QUEUE_SIZE;

				out[k] = (struct vdrv_used){ring[2 * slot], ring[2 * slot + 1]};
			}
			q->used_seen = (uint16_t)(q->used_seen + count);
			return true;
		}
		nanosleep(&delay, NULL);
	}
	return false;
}

bool vdrv_wait_needs_reset(struct vdrv *d)
{
	struct timespec delay = {0, 1000 * 1000};

	for (int i = 0; i < VDRV_WAIT_SEC * 1000; i++) {
		if (vdrv_status(d) & VDRV_STATUS_NEEDS_RESET)
			return true;
		nanosleep(&delay, NULL);
	}
	return false;
}
