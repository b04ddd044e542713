/* One request queue; each chain's writable buffers are filled with random
 * bytes on the main loop (getrandom is quick and never blocks once the host
 * pool is initialised). */
#include "devices/virtio_rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "devices/virtio_dev.h"
#include "vmm/device_host.h"
#include "vmm/device_type.h"

/* One chain gets at most this much, so a huge buffer cannot stall the loop. */
#define RNG_MAX_PER_CHAIN (64 * 1024)
/* Work per turn of the loop: a guest that refills the queue as fast as it is
 * served gets the rest on a later turn, after the loop's other work. */
#define RNG_TURN_BYTES (1024 * 1024)

struct virtio_rng {
	struct virtio_dev *vdev;
};

static uint32_t fill_chain(struct virtq_chain *chain)
{
	uint32_t done = 0;

	for (unsigned i = chain->nr_out; i < chain->nr_out + chain->nr_in; i++) {
		struct virtq_buf *b = &chain->bufs[i];
		uint32_t want = b->len;

		if (want > RNG_MAX_PER_CHAIN - done)
			want = RNG_MAX_PER_CHAIN - done;
		for (uint32_t got = 0; got < want;) {
			ssize_t n = getrandom(b->host + got, want - got, 0);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				return done + got;
			}
			got += (uint32_t)n;
		}
		done += want;
		if (done == RNG_MAX_PER_CHAIN)
			break;
	}
	return done;
}

static void rng_notify(void *backend, unsigned index)
{
	struct virtio_rng *rng = backend;
	struct virtq_chain chain;
	struct virtq *q = virtio_queue_get(rng->vdev, index);
	uint64_t bytes = 0;
	bool more = false;
	int ret;

	if (!q)
		return;
	/* Drain, then ask for the next kick; buffers that arrived in between are
	 * served at once instead of waiting for a kick that will not come. */
	do {
		while ((ret = virtq_pop(q, &chain)) == 1) {
			uint32_t len = fill_chain(&chain);

			if (virtq_push(q, &chain, len) < 0)
				break;
			/* Each chain counts at least one byte, so empty ones end a
			 * turn too. */
			bytes += len ? len : 1;
			if (bytes >= RNG_TURN_BYTES) {
				more = true;
				break;
			}
		}
	} while (!more && ret == 0 && virtq_enable_notify(q));
	if (ret < 0 || q->broken)
		virtio_queue_fail(rng->vdev, index, virtq_error(q));
	else
		virtio_queue_notify_driver(rng->vdev, index);
	virtio_queue_put(rng->vdev, index);
	if (more && ret >= 0 && !q->broken)
		virtio_queue_serve_later(rng->vdev, index);
}

static void rng_destroy(void *backend) { free(backend); }

/* No save/load of its own: each chain is filled when it is taken, so the
 * device keeps nothing beyond its queue. */
static const struct virtio_device_ops virtio_rng_ops = {
	.kind = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.queue_max_size = 64,
	.queue_notify = rng_notify,
	.destroy = rng_destroy,
};

int virtio_rng_create(struct device_host *host, struct virtio_dev **out)
{
	struct virtio_rng *rng = calloc(1, sizeof(*rng));
	int ret;

	if (!rng)
		return host_error(host, -ENOMEM, "virtio-rng: out of memory");
	ret = virtio_dev_create(host, "virtio-rng", &virtio_rng_ops, rng, &rng->vdev);
	if (ret == 0)
		*out = rng->vdev;
	return ret;
}

/* --rng: a flag; the device has nothing to configure. */
static int parse_rng(const struct vm_config *cfg, void *config, const char *value, char *err,
		     size_t errlen)
{
	(void)cfg;
	(void)config;
	(void)value;
	(void)err;
	(void)errlen;
	return 1;
}

static int create_rng(struct device_host *host, unsigned index, const void *config,
		      struct virtio_dev **out)
{
	(void)index;
	(void)config;
	return virtio_rng_create(host, out);
}

static const struct device_type virtio_rng_type = {
	.option = {"rng", 0, OPTION_FLAG, NULL, "give the guest a virtio-rng entropy device", NULL,
		   &virtio_rng_type, OPTION_SCOPE_MACHINE},
	.max = 1,
	.order = 10,
	.parse = parse_rng,
	.create_virtio = create_rng,
};
DEVICE_TYPE_REGISTER(virtio_rng_type);
