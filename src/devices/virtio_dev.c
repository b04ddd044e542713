/* The transport-neutral virtio device core; see virtio_dev.h and
 * virtio_transport.h. Locking: register state (status, features, queue
 * layout) changes under the transport's device lock; each queue's ring is
 * served under its own lock, so a backend's thread and the vCPU threads
 * never race on a ring. */
#include "devices/virtio_transport.h"

#include "devices/virtio_dev.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/device_host.h"
#include "vmm/log.h"
#include "vmm/ratelimit.h"
#include "vmm/state.h"

struct vq_state {
	struct virtio_dev *vdev;
	unsigned index;
	pthread_mutex_t lock; /* held while the queue is served or reconfigured */
	uint16_t num;
	bool ready;
	uint64_t desc, driver, device;
	struct virtq q;
	int kick_fd;
};

struct virtio_dev {
	struct device_host *host;
	const struct virtio_device_ops *ops;
	void *backend;
	struct virtio_transport transport;
	char name[32];
	uint32_t status;
	uint64_t driver_features;
	uint32_t config_generation;
	_Atomic uint32_t isr;
	_Atomic bool running;     /* DRIVER_OK and not failed */
	_Atomic bool broken;      /* the guest broke a rule; set until reset */
	_Atomic bool needs_reset; /* what the driver sees: set once the rule was reported */
	_Atomic bool quiesced;    /* paused: no queue is served */
	struct vq_state queues[VIRTIO_MAX_QUEUES];
	/* What the driver gets wrong is reported through this: a driver that
	 * resets and breaks the device in a loop cannot flood the log. */
	struct ratelimit log_limit;
};

uint64_t virtio_dev_offered_features(const struct virtio_dev *vdev)
{
	return vdev->ops->features | (1ULL << VIRTIO_F_VERSION_1) |
	       (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX);
}

static void raise_interrupt(struct virtio_dev *vdev, uint32_t why, unsigned queue)
{
	atomic_fetch_or(&vdev->isr, why);
	if (vdev->transport.signal)
		vdev->transport.signal(vdev->transport.opaque, queue);
}

struct virtq *virtio_queue_get(struct virtio_dev *vdev, unsigned index)
{
	struct vq_state *vq;

	if (index >= vdev->ops->nr_queues)
		return NULL;
	vq = &vdev->queues[index];
	pthread_mutex_lock(&vq->lock);
	if (!atomic_load(&vdev->running) || atomic_load(&vdev->quiesced) || !vq->ready ||
	    vq->q.broken) {
		pthread_mutex_unlock(&vq->lock);
		return NULL;
	}
	return &vq->q;
}

void virtio_queue_put(struct virtio_dev *vdev, unsigned index)
{
	pthread_mutex_unlock(&vdev->queues[index].lock);
}

void virtio_queue_notify_driver(struct virtio_dev *vdev, unsigned index)
{
	if (virtq_should_interrupt(&vdev->queues[index].q))
		raise_interrupt(vdev, VIRTIO_INT_USED_BUFFER, index);
}

static void mark_broken(struct virtio_dev *vdev, const char *what, const char *why)
{
	if (atomic_exchange(&vdev->broken, true))
		return;
	atomic_store(&vdev->running, false);
	log_limited(&vdev->log_limit, LOG_ERROR,
		    "%s: %s: %s; the device stops until the guest resets it", vdev->name, what,
		    why);
	/* Only now: whoever sees DEVICE_NEEDS_RESET finds the reason reported. */
	atomic_store(&vdev->needs_reset, true);
	raise_interrupt(vdev, VIRTIO_INT_CONFIG_CHANGE, VIRTIO_CONFIG_VECTOR);
}

void virtio_queue_fail(struct virtio_dev *vdev, unsigned index, const char *why)
{
	char what[32];

	snprintf(what, sizeof(what), "queue %u", index);
	mark_broken(vdev, what, why);
}

uint64_t virtio_features(const struct virtio_dev *vdev) { return vdev->driver_features; }

int virtio_kick_fd(const struct virtio_dev *vdev, unsigned index)
{
	return index < vdev->ops->nr_queues ? vdev->queues[index].kick_fd : -1;
}

const char *virtio_dev_name(const struct virtio_dev *vdev) { return vdev->name; }

const struct virtio_device_ops *virtio_dev_ops(const struct virtio_dev *vdev) { return vdev->ops; }

/* Back to the state after power-on: the driver starts over. */
static void dev_reset(struct virtio_dev *vdev)
{
	atomic_store(&vdev->running, false);
	for (unsigned i = 0; i < vdev->ops->nr_queues; i++) {
		struct vq_state *vq = &vdev->queues[i];

		pthread_mutex_lock(&vq->lock);
		vq->ready = false;
		vq->num = 0;
		vq->desc = vq->driver = vq->device = 0;
		memset(&vq->q, 0, sizeof(vq->q));
		pthread_mutex_unlock(&vq->lock);
	}
	if (vdev->ops->reset)
		vdev->ops->reset(vdev->backend);
	vdev->status = 0;
	vdev->driver_features = 0;
	atomic_store(&vdev->isr, 0);
	atomic_store(&vdev->needs_reset, false);
	atomic_store(&vdev->broken, false);
}

void virtio_dev_set_driver_features(struct virtio_dev *vdev, uint32_t sel, uint32_t value)
{
	if (vdev->status & VIRTIO_STATUS_FEATURES_OK)
		return; /* frozen once accepted */
	if (sel == 0)
		vdev->driver_features = (vdev->driver_features & ~0xffffffffULL) | value;
	else if (sel == 1)
		vdev->driver_features = (vdev->driver_features & 0xffffffffULL) | (uint64_t)value
											  << 32;
}

uint32_t virtio_dev_status(const struct virtio_dev *vdev)
{
	return vdev->status | (atomic_load(&vdev->needs_reset) ? VIRTIO_STATUS_NEEDS_RESET : 0);
}

/* The device status follows virtio 1.x, 2.1 and 3.1.1: only a reset (a write
 * of 0) clears bits, so a write that would clear one is ignored and the status
 * stays as it was (the driver MUST NOT clear a bit). FEATURES_OK is not kept
 * when the driver accepted features the device did not offer, or not
 * VERSION_1 (the driver then finds the device unusable). DRIVER_OK is not
 * kept, and the device does not start, without FEATURES_OK: the features are
 * final only then. Refusing a bit, rather than setting DEVICE_NEEDS_RESET,
 * is what the specification describes for FEATURES_OK, and a driver that
 * re-reads the status sees the same for DRIVER_OK. */
void virtio_dev_set_status(struct virtio_dev *vdev, uint32_t value)
{
	uint32_t added = value & ~vdev->status;

	if (value == 0) {
		dev_reset(vdev);
		return;
	}
	if (vdev->status & ~value) {
		log_limited(&vdev->log_limit, LOG_WARN,
			    "%s: driver cleared status bits 0x%x without a reset: ignored",
			    vdev->name, vdev->status & ~value);
		return;
	}
	if (added & VIRTIO_STATUS_FEATURES_OK) {
		uint64_t offered = virtio_dev_offered_features(vdev);
		uint64_t extra = vdev->driver_features & ~offered;

		if (extra || !(vdev->driver_features & (1ULL << VIRTIO_F_VERSION_1))) {
			log_limited(
				&vdev->log_limit, LOG_WARN,
				"%s: driver asked for features 0x%llx (offered 0x%llx): refused",
				vdev->name, (unsigned long long)vdev->driver_features,
				(unsigned long long)offered);
			value &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
			added &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
		}
	}
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(value & VIRTIO_STATUS_FEATURES_OK)) {
		log_limited(&vdev->log_limit, LOG_WARN,
			    "%s: driver set DRIVER_OK without FEATURES_OK: refused", vdev->name);
		value &= ~(uint32_t)VIRTIO_STATUS_DRIVER_OK;
		added &= ~(uint32_t)VIRTIO_STATUS_DRIVER_OK;
	}
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !atomic_load(&vdev->broken)) {
		int ret = vdev->ops->activate ? vdev->ops->activate(vdev->backend) : 0;

		if (ret < 0)
			mark_broken(vdev, "activation", strerror(-ret));
		else
			atomic_store(&vdev->running, true);
	}
	vdev->status = value;
}

uint32_t virtio_dev_config_generation(const struct virtio_dev *vdev)
{
	return vdev->config_generation;
}

uint32_t virtio_dev_isr(const struct virtio_dev *vdev) { return atomic_load(&vdev->isr); }

void virtio_dev_ack_isr(struct virtio_dev *vdev, uint32_t bits)
{
	atomic_fetch_and(&vdev->isr, ~bits);
}

int virtio_dev_config_access(struct virtio_dev *vdev, uint32_t offset, void *data, unsigned len,
			     bool is_write)
{
	if (len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	if (offset >= vdev->ops->config_size || len > vdev->ops->config_size - offset)
		return -EINVAL;
	if (is_write) {
		if (vdev->ops->config_write)
			vdev->ops->config_write(vdev->backend, offset, data, len);
	} else if (vdev->ops->config_read) {
		vdev->ops->config_read(vdev->backend, offset, data, len);
	} else {
		memset(data, 0, len);
	}
	return 0;
}

bool virtio_dev_queue_exists(const struct virtio_dev *vdev, unsigned index)
{
	return index < vdev->ops->nr_queues;
}

bool virtio_dev_queue_ready(const struct virtio_dev *vdev, unsigned index)
{
	return index < vdev->ops->nr_queues && vdev->queues[index].ready;
}

uint64_t virtio_dev_queue_get(const struct virtio_dev *vdev, unsigned index,
			      enum virtio_queue_field field)
{
	const struct vq_state *vq;

	if (index >= vdev->ops->nr_queues)
		return 0;
	vq = &vdev->queues[index];
	switch (field) {
	case VIRTIO_QUEUE_NUM: return vq->num;
	case VIRTIO_QUEUE_DESC: return vq->desc;
	case VIRTIO_QUEUE_DRIVER: return vq->driver;
	case VIRTIO_QUEUE_DEVICE: return vq->device;
	}
	return 0;
}

void virtio_dev_queue_set(struct virtio_dev *vdev, unsigned index, enum virtio_queue_field field,
			  uint64_t value)
{
	struct vq_state *vq;

	if (index >= vdev->ops->nr_queues)
		return; /* a queue that does not exist */
	vq = &vdev->queues[index];
	if (vq->ready)
		return; /* a live queue's layout cannot change */
	switch (field) {
	case VIRTIO_QUEUE_NUM:
		vq->num = value <= vdev->ops->queue_max_size ? (uint16_t)value : 0;
		break;
	case VIRTIO_QUEUE_DESC: vq->desc = value; break;
	case VIRTIO_QUEUE_DRIVER: vq->driver = value; break;
	case VIRTIO_QUEUE_DEVICE: vq->device = value; break;
	}
}

/* QueueReady: 1 makes a queue live once the features are final (virtio 1.x,
 * 3.1.1 sets them up after FEATURES_OK); a live queue's layout, ready bit
 * included, does not change until it is made not ready or the device resets,
 * so a second 1 is ignored (it would start the ring over under a running
 * backend). 0 stops a live queue; the backend forgets what it took from it
 * (queue_stop), so nothing taken from the old ring outlives it. */
void virtio_dev_queue_set_ready(struct virtio_dev *vdev, unsigned index, bool ready)
{
	uint64_t features = vdev->driver_features;
	struct vq_state *vq;
	int ret;

	if (index >= vdev->ops->nr_queues)
		return;
	vq = &vdev->queues[index];
	pthread_mutex_lock(&vq->lock);
	if (!ready) {
		if (vq->ready && vdev->ops->queue_stop)
			vdev->ops->queue_stop(vdev->backend, index);
		vq->ready = false;
		pthread_mutex_unlock(&vq->lock);
		return;
	}
	if (vq->ready || !(vdev->status & VIRTIO_STATUS_FEATURES_OK)) {
		bool live = vq->ready;

		pthread_mutex_unlock(&vq->lock);
		log_limited(&vdev->log_limit, LOG_WARN, "%s: queue %u made ready %s: ignored",
			    vdev->name, index, live ? "again while live" : "before FEATURES_OK");
		return;
	}
	ret = virtq_init(&vq->q, vdev->host->mem, vq->num, vq->desc, vq->driver, vq->device,
			 features & (1ULL << VIRTIO_RING_F_EVENT_IDX),
			 features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
	vq->ready = ret == 0;
	pthread_mutex_unlock(&vq->lock);
	if (ret < 0) {
		char what[32];

		snprintf(what, sizeof(what), "queue %u", index);
		mark_broken(vdev, what, virtq_error(&vq->q));
	}
}

/* The kick eventfd is what the loop watches: written here, it is seen by the
 * loop's next poll, so whatever else was ready runs first. */
void virtio_queue_serve_later(struct virtio_dev *vdev, unsigned index)
{
	virtio_dev_kick(vdev, index);
}

void virtio_dev_kick(struct virtio_dev *vdev, unsigned index)
{
	if (index < vdev->ops->nr_queues)
		eventfd_write(vdev->queues[index].kick_fd, 1);
}

/* On the main loop: a queue was kicked. */
static void on_kick(void *opaque)
{
	struct vq_state *vq = opaque;
	struct virtio_dev *vdev = vq->vdev;
	eventfd_t count;

	if (eventfd_read(vq->kick_fd, &count) < 0)
		return;
	if (atomic_load(&vdev->running) && !atomic_load(&vdev->quiesced) && vdev->ops->queue_notify)
		vdev->ops->queue_notify(vdev->backend, vq->index);
}

void virtio_dev_quiesce(struct virtio_dev *vdev)
{
	if (atomic_exchange(&vdev->quiesced, true))
		return;
	/* Whoever serves a queue holds its lock: once we hold each, none is
	 * served, and none will be (quiesced is set). */
	for (unsigned i = 0; i < vdev->ops->nr_queues; i++)
		pthread_mutex_lock(&vdev->queues[i].lock);
	if (vdev->ops->quiesce)
		vdev->ops->quiesce(vdev->backend);
	for (unsigned i = vdev->ops->nr_queues; i-- > 0;)
		pthread_mutex_unlock(&vdev->queues[i].lock);
}

struct virtq *virtio_queue_held(struct virtio_dev *vdev, unsigned index)
{
	if (index >= vdev->ops->nr_queues || !vdev->queues[index].ready)
		return NULL;
	return &vdev->queues[index].q;
}

void virtio_dev_unquiesce(struct virtio_dev *vdev)
{
	if (!atomic_exchange(&vdev->quiesced, false))
		return;
	if (vdev->ops->unquiesce)
		vdev->ops->unquiesce(vdev->backend);
	for (unsigned i = 0; i < vdev->ops->nr_queues; i++)
		eventfd_write(vdev->queues[i].kick_fd, 1);
}

void virtio_dev_save(const struct virtio_dev *vdev, struct state_buf *out)
{
	state_put_u32(out, vdev->ops->device_id);
	state_put_u32(out, vdev->status);
	state_put_u64(out, vdev->driver_features);
	state_put_u32(out, vdev->config_generation);
	state_put_u32(out, atomic_load(&vdev->isr));
	state_put_bool(out, atomic_load(&vdev->broken));
	state_put_bool(out, atomic_load(&vdev->needs_reset));
	state_put_u32(out, vdev->ops->nr_queues);
	for (unsigned i = 0; i < vdev->ops->nr_queues; i++) {
		const struct vq_state *vq = &vdev->queues[i];

		state_put_u16(out, vq->num);
		state_put_bool(out, vq->ready);
		state_put_u64(out, vq->desc);
		state_put_u64(out, vq->driver);
		state_put_u64(out, vq->device);
		state_put_u16(out, vq->q.last_avail_idx);
		state_put_u16(out, vq->q.used_idx);
		state_put_u16(out, vq->q.signalled_used);
		state_put_bool(out, vq->q.signalled_valid);
	}
	if (vdev->ops->save)
		vdev->ops->save(vdev->backend, out);
}

/* The backend's record is the last of @in's fields: checked before the
 * backend takes it, so that a record with more after it leaves the backend
 * unchanged. */
static int load_backend(struct virtio_dev *vdev, struct state_reader *in)
{
	struct state_reader after = *in, rec;
	char kind[STATE_KIND_MAX];
	uint32_t version;

	if (state_next(&after, kind, &version, &rec) < 0 || state_finish(&after) < 0)
		return -EINVAL;
	return vdev->ops->load(vdev->backend, in);
}

int virtio_dev_load(struct virtio_dev *vdev, struct state_reader *in)
{
	uint32_t device_id = state_get_u32(in), status = state_get_u32(in);
	uint64_t features = state_get_u64(in);
	uint32_t generation = state_get_u32(in), isr = state_get_u32(in);
	bool broken = state_get_bool(in), needs_reset = state_get_bool(in);
	uint32_t nr_queues = state_get_u32(in);
	int ret;

	if (in->err)
		return in->err;
	/* Before FEATURES_OK the driver's feature bits are only what it wrote,
	 * offered or not (FEATURES_OK is refused then); after it, offered ones. */
	if (device_id != vdev->ops->device_id || nr_queues != vdev->ops->nr_queues ||
	    ((status & VIRTIO_STATUS_FEATURES_OK) &&
	     (features & ~virtio_dev_offered_features(vdev))) ||
	    status > 0xff || (isr & ~(uint32_t)(VIRTIO_INT_USED_BUFFER | VIRTIO_INT_CONFIG_CHANGE)))
		return -EINVAL;
	dev_reset(vdev);
	vdev->driver_features = features;
	for (unsigned i = 0; i < nr_queues; i++) {
		struct vq_state *vq = &vdev->queues[i];
		uint16_t num = state_get_u16(in);
		bool ready = state_get_bool(in);

		vq->desc = state_get_u64(in);
		vq->driver = state_get_u64(in);
		vq->device = state_get_u64(in);
		vq->num = num <= vdev->ops->queue_max_size ? num : 0;
		if (in->err || vq->num != num)
			goto bad;
		/* Rings outside guest memory refuse the record. */
		if (ready && virtq_init(&vq->q, vdev->host->mem, num, vq->desc, vq->driver,
					vq->device, features & (1ULL << VIRTIO_RING_F_EVENT_IDX),
					features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC)) < 0)
			goto bad;
		vq->ready = ready;
		vq->q.last_avail_idx = state_get_u16(in);
		vq->q.used_idx = state_get_u16(in);
		vq->q.signalled_used = state_get_u16(in);
		vq->q.signalled_valid = state_get_bool(in);
	}
	if (in->err || (vdev->ops->load && load_backend(vdev, in) < 0))
		goto bad;
	ret = state_finish(in);
	if (ret < 0)
		goto bad;
	vdev->status = status;
	vdev->config_generation = generation;
	atomic_store(&vdev->isr, isr);
	atomic_store(&vdev->broken, broken);
	atomic_store(&vdev->needs_reset, needs_reset);
	if ((status & VIRTIO_STATUS_DRIVER_OK) && !broken) {
		ret = vdev->ops->activate ? vdev->ops->activate(vdev->backend) : 0;
		if (ret < 0) {
			dev_reset(vdev);
			return ret;
		}
		atomic_store(&vdev->running, true);
	}
	return 0;
bad:
	dev_reset(vdev);
	return -EINVAL;
}

int virtio_dev_attach(struct virtio_dev *vdev, const struct virtio_transport *transport)
{
	int ret;

	vdev->transport = *transport;
	if (vdev->ops->kicks_to_backend)
		return 0;
	for (unsigned i = 0; i < vdev->ops->nr_queues; i++) {
		ret = host_watch_fd(vdev->host, vdev->queues[i].kick_fd, on_kick, &vdev->queues[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void virtio_dev_destroy(struct virtio_dev *vdev)
{
	dev_reset(vdev);
	if (vdev->ops->destroy)
		vdev->ops->destroy(vdev->backend);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (vdev->queues[i].kick_fd >= 0)
			close(vdev->queues[i].kick_fd);
		pthread_mutex_destroy(&vdev->queues[i].lock);
	}
	free(vdev);
}

int virtio_dev_create(struct device_host *host, const char *name,
		      const struct virtio_device_ops *ops, void *backend, struct virtio_dev **out)
{
	struct virtio_dev *vdev;

	if (ops->nr_queues == 0 || ops->nr_queues > VIRTIO_MAX_QUEUES ||
	    ops->config_size > VIRTIO_MAX_CONFIG_SIZE) {
		if (ops->destroy)
			ops->destroy(backend);
		return host_error(host, -EINVAL, "%s: bad virtio device description", name);
	}
	vdev = calloc(1, sizeof(*vdev));
	if (!vdev) {
		if (ops->destroy)
			ops->destroy(backend);
		return host_error(host, -ENOMEM, "%s: out of memory", name);
	}
	vdev->host = host;
	vdev->ops = ops;
	vdev->backend = backend;
	vdev->log_limit = (struct ratelimit)RATELIMIT_GUEST;
	snprintf(vdev->name, sizeof(vdev->name), "%s", name);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		vdev->queues[i] = (struct vq_state){.vdev = vdev, .index = i, .kick_fd = -1};
		pthread_mutex_init(&vdev->queues[i].lock, NULL);
	}
	for (unsigned i = 0; i < ops->nr_queues; i++) {
		vdev->queues[i].kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (vdev->queues[i].kick_fd < 0) {
			int err = -errno;

			virtio_dev_destroy(vdev);
			return host_error(host, err, "%s: eventfd: %s", name, strerror(-err));
		}
	}
	*out = vdev;
	return 0;
}
