/* A test-only virtio device: the proof that a device is one file plus one
 * line in meson.build. Nothing in src/ names it; the line that adds this file
 * to a test program gives that program the setting --xor-test key=HEX, the
 * config record and the device on a virtio-mmio slot of its own.
 *
 * Queue 0 returns every chain's readable bytes XORed with the key into its
 * writable buffers (as many as fit); the key is byte 0 of config space, so a
 * driver can see which instance it talks to. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_dev.h"
#include "vmm/device_host.h"
#include "vmm/device_type.h"

#define XOR_DEVICE_ID 0xfffe /* no virtio device has it */
#define XOR_DEVICE_MAX 2

struct xor_config {
	uint8_t key;
};

struct xor_device {
	struct virtio_dev *vdev;
	uint8_t key;
};

static uint32_t xor_chain(const struct xor_device *x, struct virtq_chain *chain)
{
	uint32_t written = 0;

	for (unsigned i = 0; i < chain->nr_out; i++) {
		const struct virtq_buf *b = &chain->bufs[i];

		for (uint32_t off = 0; off < b->len && written < chain->in_len;) {
			uint8_t block[256];
			uint32_t n = b->len - off;

			if (n > sizeof(block))
				n = sizeof(block);
			if (n > chain->in_len - written)
				n = (uint32_t)(chain->in_len - written);
			for (uint32_t k = 0; k < n; k++)
				block[k] = b->host[off + k] ^ x->key;
			n = virtq_chain_write(chain, written, block, n);
			if (n == 0)
				return written;
			written += n;
			off += n;
		}
	}
	return written;
}

static void xor_notify(void *backend, unsigned index)
{
	struct xor_device *x = backend;
	struct virtq *q = virtio_queue_get(x->vdev, index);
	struct virtq_chain chain;
	int ret;

	if (!q)
		return;
	do {
		while ((ret = virtq_pop(q, &chain)) == 1) {
			if (virtq_push(q, &chain, xor_chain(x, &chain)) < 0)
				break;
		}
	} while (ret == 0 && virtq_enable_notify(q));
	if (ret < 0 || q->broken)
		virtio_queue_fail(x->vdev, index, virtq_error(q));
	else
		virtio_queue_notify_driver(x->vdev, index);
	virtio_queue_put(x->vdev, index);
}

static void xor_config_read(void *backend, uint32_t offset, void *data, unsigned len)
{
	const struct xor_device *x = backend;
	uint8_t config[4] = {x->key};

	memcpy(data, config + offset, len); /* the core bounds it by config_size */
}

static void xor_destroy(void *backend) { free(backend); }

static const struct virtio_device_ops xor_ops = {
	.kind = "virtio-xor",
	.device_id = XOR_DEVICE_ID,
	.nr_queues = 1,
	.queue_max_size = 64,
	.config_size = 4,
	.config_read = xor_config_read,
	.queue_notify = xor_notify,
	.destroy = xor_destroy,
};

/* key=HEX: one byte, "key=5a" or "key=0x5a". */
static int parse_xor(const struct vm_config *cfg, void *config, const char *v, char *err,
		     size_t errlen)
{
	struct xor_config *c = config;
	char *end;
	unsigned long key;

	(void)cfg;
	if (strncmp(v, "key=", 4) != 0)
		return option_fail(err, errlen, "--xor-test '%s': expected key=HEX", v);
	errno = 0;
	key = strtoul(v + 4, &end, 16);
	if (v[4] == '\0' || *end != '\0' || errno || key > 0xff)
		return option_fail(err, errlen, "--xor-test '%s': the key is one byte in hex", v);
	c->key = (uint8_t)key;
	return 1;
}

static int create_xor(struct device_host *host, unsigned index, const void *config,
		      struct virtio_dev **out)
{
	const struct xor_config *c = config;
	struct xor_device *x = calloc(1, sizeof(*x));
	char name[32];
	int ret;

	if (!x)
		return host_error(host, -ENOMEM, "virtio-xor: out of memory");
	x->key = c->key;
	snprintf(name, sizeof(name), "virtio-xor%u", index);
	ret = virtio_dev_create(host, name, &xor_ops, x, &x->vdev);
	if (ret == 0)
		*out = x->vdev;
	return ret;
}

static const struct device_type xor_device_type = {
	.option = {"xor-test", 0, OPTION_LIST, "key=HEX",
		   "test-only virtio device that XORs buffers with a key (up to 2)", NULL,
		   &xor_device_type},
	.max = XOR_DEVICE_MAX,
	.config_size = sizeof(struct xor_config),
	.order = 90,
	.parse = parse_xor,
	.create_virtio = create_xor,
};
DEVICE_TYPE_REGISTER(xor_device_type);
