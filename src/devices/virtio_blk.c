/* virtio-blk (virtio 1.x, section 5.2) with one request queue. The guest's
 * kicks wake the device's worker thread directly (it waits on the queue's
 * ioeventfd; the main loop is not involved); the worker drains the queue,
 * moves data directly between the image and the guest's buffers
 * (preadv/pwritev on their host addresses), and completes a request
 * only once its data is in the host kernel (FLUSH: once fdatasync returned),
 * so a guest's fsync survives the VMM being killed. A driver that does not
 * accept VIRTIO_BLK_F_FLUSH cannot flush and may take the disk for one
 * without a volatile cache (virtio 1.x, 5.2.5.1: without FLUSH and
 * CONFIG_WCE it "MAY deduce the presence of a writethrough cache"): for it
 * each write, write-zeroes and discard completes only once fdatasync
 * returned, so a host crash loses nothing the guest was told was written.
 *
 * A failed flush stays failed: Linux reports a writeback error to one
 * fdatasync() only (and may drop the pages that could not be written), so
 * the next fdatasync() succeeds although writes the guest was told had
 * completed are lost. Once a flush failed, every later flush and write fails
 * (VIRTIO_BLK_S_IOERR) until the driver resets the device: the guest learns
 * that its data is gone instead of syncing again and believing it safe. */
#include "devices/virtio_blk.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/disk_image.h"
#include "devices/virtio_dev.h"
#include "vmm/device_host.h"
#include "vmm/device_type.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"
#include "vmm/state.h"
#include "vmm/thread.h"

#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_WZ_F_UNMAP 1

#define BLK_HEADER_SIZE 16  /* le32 type, le32 reserved, le64 sector */
#define BLK_SEGMENT_SIZE 16 /* le64 sector, le32 num_sectors, le32 flags */
#define BLK_QUEUE_SIZE 256
/* A chain is the header, the data segments and the status byte. */
#define BLK_SEG_MAX (VIRTQ_MAX_CHAIN - 2)
/* A hole punch is cheap; zeroes may have to be written out, so less of them. */
#define BLK_MAX_DISCARD_SECTORS (1u << 22)      /* 2 GiB */
#define BLK_MAX_WRITE_ZEROES_SECTORS (1u << 16) /* 32 MiB */
#define BLK_DISCARD_ALIGNMENT_SECTORS 8         /* the host's 4 KiB page */

/* Config space (virtio 1.x, 5.2.4) up to write_zeroes_may_unmap, little-endian. */
enum {
	CFG_CAPACITY = 0,
	CFG_SEG_MAX = 12,
	CFG_BLK_SIZE = 20,
	CFG_MAX_DISCARD_SECTORS = 36,
	CFG_MAX_DISCARD_SEG = 40,
	CFG_DISCARD_SECTOR_ALIGNMENT = 44,
	CFG_MAX_WRITE_ZEROES_SECTORS = 48,
	CFG_MAX_WRITE_ZEROES_SEG = 52,
	CFG_WRITE_ZEROES_MAY_UNMAP = 56,
	CFG_SIZE = 60,
};

struct virtio_blk {
	struct virtio_dev *vdev;
	struct device_host *host;
	char name[32];
	char *path;
	struct disk_image image;
	uint64_t capacity; /* sectors */
	uint8_t config[CFG_SIZE];
	char id[VM_DISK_SERIAL_MAX]; /* the GET_ID answer, NUL-padded */

	pthread_mutex_t lock; /* guards worker_running */
	pthread_t worker;
	bool worker_running;
	int stop_fd; /* eventfd: the worker returns */
	/* FLUSH not negotiated: changes are synced before they complete. Set
	 * at DRIVER_OK, before the worker starts. */
	bool write_through;

	/* The worker's own. */
	bool io_error_reported;
	/* Sticky (see the top of this file); reset clears it with the worker
	 * stopped. */
	bool flush_failed;
	struct virtq_chain chain;
	struct iovec iov[VIRTQ_MAX_CHAIN];
};

static void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static void blk_config_read(void *backend, uint32_t offset, void *data, unsigned len)
{
	struct virtio_blk *blk = backend;

	/* The transport checked offset + len against config_size. */
	memcpy(data, blk->config + offset, len);
}

static bool sectors_inside(const struct virtio_blk *blk, uint64_t sector, uint64_t count)
{
	return sector <= blk->capacity && count <= blk->capacity - sector;
}

/* Points blk->iov at @len bytes of the chain's buffers [first, first + nr),
 * after skipping @skip bytes of them. Returns the number of entries. */
static int chain_iov(struct virtio_blk *blk, unsigned first, unsigned nr, uint64_t skip,
		     uint64_t len)
{
	const struct virtq_chain *c = &blk->chain;
	int n = 0;

	for (unsigned i = first; i < first + nr && len; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		uint64_t take;

		if (skip >= b->len) {
			skip -= b->len;
			continue;
		}
		take = b->len - skip;
		if (take > len)
			take = len;
		blk->iov[n++] = (struct iovec){.iov_base = b->host + skip, .iov_len = (size_t)take};
		len -= take;
		skip = 0;
	}
	return n;
}

/* Host-side failures are the host's problem: said once per disk, and the
 * guest gets an I/O error each time. */
static uint8_t disk_io_error(struct virtio_blk *blk, const char *what, uint64_t sector, int err)
{
	if (!blk->io_error_reported) {
		blk->io_error_reported = true;
		log_error("%s (%s): %s at sector %" PRIu64 ": %s; the guest gets I/O errors, "
			  "further ones are not reported",
			  blk->name, blk->path, what, sector, strerror(-err));
	}
	return VIRTIO_BLK_S_IOERR;
}

/* A request the guest got wrong: an I/O error for it, a note for debugging. */
static uint8_t guest_error(struct virtio_blk *blk, const char *why, uint32_t type, uint64_t sector)
{
	log_debug("%s: request type %" PRIu32 " at sector %" PRIu64 ": %s", blk->name, type, sector,
		  why);
	return VIRTIO_BLK_S_IOERR;
}

/* fdatasync; a failure sticks (see the top of this file). @what names the
 * request for the message. */
static uint8_t do_flush(struct virtio_blk *blk, const char *what, uint64_t sector)
{
	int ret;

	if (blk->flush_failed)
		return VIRTIO_BLK_S_IOERR;
	ret = disk_image_flush(&blk->image);
	if (ret < 0) {
		blk->flush_failed = true;
		return disk_io_error(blk, what, sector, ret);
	}
	return VIRTIO_BLK_S_OK;
}

/* A change to the image is done: in write-through mode once it is synced. */
static uint8_t changed(struct virtio_blk *blk, const char *what, uint64_t sector)
{
	return blk->write_through ? do_flush(blk, what, sector) : VIRTIO_BLK_S_OK;
}

static uint8_t do_read_write(struct virtio_blk *blk, bool write, uint32_t type, uint64_t sector)
{
	const struct virtq_chain *c = &blk->chain;
	uint64_t out_data = c->out_len - BLK_HEADER_SIZE, in_data = c->in_len - 1;
	uint64_t len = write ? out_data : in_data;
	int iovcnt, ret;

	if (write ? in_data != 0 : out_data != 0)
		return guest_error(blk, "data buffers in the wrong direction", type, sector);
	if (len % DISK_SECTOR_SIZE)
		return guest_error(blk, "data length not a multiple of 512", type, sector);
	if (!sectors_inside(blk, sector, len / DISK_SECTOR_SIZE))
		return guest_error(blk, "beyond the end of the disk", type, sector);
	if (write && blk->image.read_only)
		return guest_error(blk, "write to a read-only disk", type, sector);
	if (write && blk->flush_failed)
		return VIRTIO_BLK_S_IOERR;
	if (write)
		iovcnt = chain_iov(blk, 0, c->nr_out, BLK_HEADER_SIZE, len);
	else
		iovcnt = chain_iov(blk, c->nr_out, c->nr_in, 0, len);
	if (write)
		ret = disk_image_write(&blk->image, sector * DISK_SECTOR_SIZE, blk->iov, iovcnt);
	else
		ret = disk_image_read(&blk->image, sector * DISK_SECTOR_SIZE, blk->iov, iovcnt);
	if (ret == -EINVAL && blk->image.direct)
		return guest_error(blk, "not aligned as O_DIRECT needs", type, sector);
	if (ret < 0)
		return disk_io_error(blk, write ? "write" : "read", sector, ret);
	return write ? changed(blk, "sync after a write", sector) : VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES carry one segment (max_*_seg is 1). */
static uint8_t do_discard_zeroes(struct virtio_blk *blk, uint32_t type, uint64_t hdr_sector)
{
	const struct virtq_chain *c = &blk->chain;
	bool zeroes = type == VIRTIO_BLK_T_WRITE_ZEROES;
	uint8_t seg[BLK_SEGMENT_SIZE];
	uint64_t sector;
	uint32_t count, flags;
	int ret;

	if (c->in_len != 1 || c->out_len - BLK_HEADER_SIZE != BLK_SEGMENT_SIZE)
		return guest_error(blk, "not exactly one segment", type, hdr_sector);
	if (blk->image.read_only)
		return guest_error(blk, "write to a read-only disk", type, hdr_sector);
	if (blk->flush_failed)
		return VIRTIO_BLK_S_IOERR;
	virtq_chain_read(c, BLK_HEADER_SIZE, seg, sizeof(seg));
	sector = get_le64(seg);
	count = get_le32(seg + 8);
	flags = get_le32(seg + 12);
	/* virtio 1.2, 5.2.6.2: unknown flags, and unmap on a discard, are UNSUPP. */
	if (flags & ~(uint32_t)(zeroes ? VIRTIO_BLK_WZ_F_UNMAP : 0))
		return VIRTIO_BLK_S_UNSUPP;
	if (count > (zeroes ? BLK_MAX_WRITE_ZEROES_SECTORS : BLK_MAX_DISCARD_SECTORS))
		return guest_error(blk, "more sectors than the config space allows", type, sector);
	if (!sectors_inside(blk, sector, count))
		return guest_error(blk, "beyond the end of the disk", type, sector);
	if (zeroes)
		ret = disk_image_write_zeroes(&blk->image, sector * DISK_SECTOR_SIZE,
					      (uint64_t)count * DISK_SECTOR_SIZE,
					      flags & VIRTIO_BLK_WZ_F_UNMAP);
	else
		ret = disk_image_discard(&blk->image, sector * DISK_SECTOR_SIZE,
					 (uint64_t)count * DISK_SECTOR_SIZE);
	if (ret < 0)
		return disk_io_error(blk, zeroes ? "write zeroes" : "discard", sector, ret);
	return changed(blk, zeroes ? "sync after write zeroes" : "sync after a discard", sector);
}

static uint8_t do_request(struct virtio_blk *blk)
{
	const struct virtq_chain *c = &blk->chain;
	uint8_t hdr[BLK_HEADER_SIZE];
	uint32_t type;
	uint64_t sector;

	if (c->out_len < BLK_HEADER_SIZE)
		return guest_error(blk, "header shorter than 16 bytes", UINT32_MAX, 0);
	/* The used ring reports at most 4 GiB written (see complete_chain()). */
	if (c->in_len > UINT32_MAX)
		return guest_error(blk, "writable part longer than 4 GiB", UINT32_MAX, 0);
	/* One copy: the guest may rewrite its buffer while we look at it. */
	virtq_chain_read(c, 0, hdr, sizeof(hdr));
	type = get_le32(hdr);
	sector = get_le64(hdr + 8);
	switch (type) {
	case VIRTIO_BLK_T_IN: return do_read_write(blk, false, type, sector);
	case VIRTIO_BLK_T_OUT: return do_read_write(blk, true, type, sector);
	case VIRTIO_BLK_T_FLUSH:
		if (c->out_len != BLK_HEADER_SIZE || c->in_len != 1)
			return guest_error(blk, "flush with data", type, sector);
		return do_flush(blk, "flush", sector);
	case VIRTIO_BLK_T_GET_ID:
		if (c->out_len != BLK_HEADER_SIZE || c->in_len < 2)
			return guest_error(blk, "no buffer for the ID", type, sector);
		virtq_chain_write(c, 0, blk->id,
				  c->in_len - 1 < sizeof(blk->id) ? c->in_len - 1
								  : sizeof(blk->id));
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: return do_discard_zeroes(blk, type, sector);
	default: return VIRTIO_BLK_S_UNSUPP;
	}
}

/* Serves the popped chain and returns it to the driver; -EIO when the guest
 * broke the protocol so badly that the queue must fail. */
static int complete_chain(struct virtio_blk *blk, struct virtq *q)
{
	const struct virtq_chain *c = &blk->chain;
	const struct virtq_buf *last;

	/* The status byte is the last writable byte: without one there is no
	 * way to answer, which no driver does by mistake. */
	if (c->in_len == 0) {
		virtio_queue_fail(blk->vdev, 0, "request without a writable status byte");
		return -EIO;
	}
	last = &c->bufs[c->nr_out + c->nr_in - 1];
	last->host[last->len - 1] = do_request(blk);
	guest_mem_mark_dirty(q->mem, last->gpa + last->len - 1, 1);
	/* The whole writable part counts as written (the dirty log then covers
	 * whatever the device stored, whatever the layout; virtio-blk drivers
	 * read the status byte, not the length). do_request() refused more
	 * than 4 GiB, so only a broken queue can make this fail. */
	if (virtq_push(q, c, c->in_len > UINT32_MAX ? 0 : (uint32_t)c->in_len) < 0) {
		virtio_queue_fail(blk->vdev, 0, virtq_error(q));
		return -EIO;
	}
	virtio_queue_notify_driver(blk->vdev, 0);
	return 0;
}

/* Drains the queue, then asks for the next kick. The queue is taken for one
 * request at a time, so that a reset (which takes it too) waits for at most
 * the request in flight. */
static void serve_queue(struct virtio_blk *blk)
{
	for (;;) {
		struct virtq *q = virtio_queue_get(blk->vdev, 0);
		int ret;

		if (!q)
			return;
		virtq_disable_notify(q);
		ret = virtq_pop(q, &blk->chain);
		if (ret == 1)
			ret = complete_chain(blk, q);
		else if (ret == 0)
			ret = virtq_enable_notify(q) ? 1 : -EAGAIN;
		else
			virtio_queue_fail(blk->vdev, 0, virtq_error(q));
		virtio_queue_put(blk->vdev, 0);
		if (ret < 0)
			return;
	}
}

/* Serves the queue, then sleeps until a kick or the stop; a kick that comes
 * while it serves leaves the eventfd readable, so none is missed. The first
 * pass finds requests the driver queued before its first kick reached us. */
static void *worker_main(void *opaque)
{
	struct virtio_blk *blk = opaque;
	struct pollfd fds[2] = {
		{.fd = virtio_kick_fd(blk->vdev, 0), .events = POLLIN},
		{.fd = blk->stop_fd, .events = POLLIN},
	};
	eventfd_t count;

	for (;;) {
		serve_queue(blk);
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		if (fds[0].revents)
			eventfd_read(fds[0].fd, &count);
	}
	return NULL;
}

static int start_worker(struct virtio_blk *blk)
{
	/* No signal needs to interrupt the worker's I/O. */
	return -vmm_thread_start(&blk->worker, worker_main, blk, 0);
}

/* DRIVER_OK: the worker starts. */
static int blk_activate(void *backend)
{
	struct virtio_blk *blk = backend;
	int ret = 0;

	pthread_mutex_lock(&blk->lock);
	if (!blk->worker_running) {
		blk->write_through = !(virtio_features(blk->vdev) & (1ULL << VIRTIO_BLK_F_FLUSH));
		ret = start_worker(blk);
		blk->worker_running = ret == 0;
	}
	pthread_mutex_unlock(&blk->lock);
	return ret;
}

/* Stops the worker. The transport has marked the device stopped and taken
 * the queue's lock since, so no request is in flight any more: the worker
 * holds that lock for as long as it serves. */
static void blk_reset(void *backend)
{
	struct virtio_blk *blk = backend;
	eventfd_t count;

	pthread_mutex_lock(&blk->lock);
	if (blk->worker_running) {
		eventfd_write(blk->stop_fd, 1);
		pthread_mutex_unlock(&blk->lock);
		pthread_join(blk->worker, NULL);
		pthread_mutex_lock(&blk->lock);
		blk->worker_running = false;
		eventfd_read(blk->stop_fd, &count);
	}
	/* The driver that saw the failed flush is gone; the next one starts
	 * afresh. */
	blk->flush_failed = false;
	pthread_mutex_unlock(&blk->lock);
}

static void blk_destroy(void *backend)
{
	struct virtio_blk *blk = backend;

	blk_reset(blk);
	disk_image_close(&blk->image);
	if (blk->stop_fd >= 0)
		close(blk->stop_fd);
	pthread_mutex_destroy(&blk->lock);
	free(blk->path);
	free(blk);
}

#define BLK_FEATURES                                                        \
	((1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) | \
	 (1ULL << VIRTIO_BLK_F_FLUSH))

#define BLK_STATE_VERSION 2

/* A quiesced device has completed every request it took (the worker holds
 * the queue from taking a request to completing it); the image and config
 * come from the configuration. What is left is whether a flush failed: the
 * writes it lost are lost for the loaded device too, whose driver must not
 * be told a later flush succeeded. The worker sets it under the queue's
 * lock, which the quiesced core holds.
 *
 * The saved guest knows the disk as it is now (its page cache, its file
 * system's journal): the image is synced, so that what the guest was told
 * is written survives a host crash as the snapshot does, and its identity
 * kept (size and, for a file, modification time), so that a load refuses
 * an image that changed since. A copy made with cp -p keeps both (to the
 * second with busybox's: disk_image_same_mtime()). */
static void blk_save(void *backend, struct state_buf *out)
{
	struct virtio_blk *blk = backend;
	struct stat st = {0};

	if ((!blk->image.read_only && fdatasync(blk->image.fd) < 0) ||
	    fstat(blk->image.fd, &st) < 0) {
		if (!out->err)
			out->err = -errno;
		return;
	}
	state_begin(out, "virtio-blk", BLK_STATE_VERSION);
	state_put_bool(out, blk->flush_failed);
	state_put_bool(out, blk->image.read_only);
	state_put_u64(out, blk->capacity);
	state_put_bool(out, blk->image.regular);
	state_put_u64(out, (uint64_t)st.st_mtim.tv_sec);
	state_put_u32(out, (uint32_t)st.st_mtim.tv_nsec);
	state_end(out);
}

/* Before the worker starts (the core activates the device after this). */
static int blk_load(void *backend, struct state_reader *in)
{
	struct virtio_blk *blk = backend;
	struct state_reader rec;
	uint64_t capacity, mtime_sec;
	uint32_t version, mtime_nsec;
	bool flush_failed, read_only, regular;
	struct stat st;

	if (state_expect(in, "virtio-blk", &version, &rec) < 0 || version != BLK_STATE_VERSION)
		return -EINVAL;
	flush_failed = state_get_bool(&rec);
	read_only = state_get_bool(&rec);
	capacity = state_get_u64(&rec);
	regular = state_get_bool(&rec);
	mtime_sec = state_get_u64(&rec);
	mtime_nsec = state_get_u32(&rec);
	if (state_finish(&rec) < 0)
		return -EINVAL;
	if (read_only != blk->image.read_only)
		return host_input_error(blk->host, -EINVAL,
					"disk %s: the snapshot's guest has it %s, here it is %s",
					blk->path, read_only ? "read-only" : "writable",
					blk->image.read_only ? "read-only" : "writable");
	if (capacity != blk->capacity)
		return host_input_error(
			blk->host, -EINVAL,
			"disk %s: %" PRIu64 " bytes, but the snapshot's guest has a "
			"disk of %" PRIu64 " bytes there (missing or another image?)",
			blk->path, blk->capacity * DISK_SECTOR_SIZE, capacity * DISK_SECTOR_SIZE);
	if (regular && blk->image.regular &&
	    (fstat(blk->image.fd, &st) < 0 || mtime_sec > (uint64_t)INT64_MAX ||
	     mtime_nsec >= 1000000000u ||
	     !disk_image_same_mtime((struct timespec){.tv_sec = (time_t)mtime_sec,
						      .tv_nsec = (long)mtime_nsec},
				    st.st_mtim)))
		return host_input_error(blk->host, -EINVAL,
					"disk %s: changed since the snapshot (its modification "
					"time is not the one saved); the saved guest would see a "
					"disk it does not know. Restore with the image as it was "
					"(a copy made at the snapshot with cp -p keeps its time)",
					blk->path);
	blk->flush_failed = flush_failed;
	return 0;
}

static const struct virtio_device_ops virtio_blk_ops = {
	.kind = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.queue_max_size = BLK_QUEUE_SIZE,
	.features = BLK_FEATURES | (1ULL << VIRTIO_BLK_F_DISCARD) |
		    (1ULL << VIRTIO_BLK_F_WRITE_ZEROES),
	.config_size = CFG_SIZE,
	.config_read = blk_config_read,
	.activate = blk_activate,
	.kicks_to_backend = true,
	.reset = blk_reset,
	.save = blk_save,
	.load = blk_load,
	.destroy = blk_destroy,
};

/* The same device with VIRTIO_BLK_F_RO and no way to write. */
static const struct virtio_device_ops virtio_blk_ro_ops = {
	.kind = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.queue_max_size = BLK_QUEUE_SIZE,
	.features = BLK_FEATURES | (1ULL << VIRTIO_BLK_F_RO),
	.config_size = CFG_SIZE,
	.config_read = blk_config_read,
	.activate = blk_activate,
	.kicks_to_backend = true,
	.reset = blk_reset,
	.save = blk_save,
	.load = blk_load,
	.destroy = blk_destroy,
};

static void fill_config(struct virtio_blk *blk)
{
	uint8_t *c = blk->config;

	put_le64(c + CFG_CAPACITY, blk->capacity);
	put_le32(c + CFG_SEG_MAX, BLK_SEG_MAX);
	/* Linux takes blk_size as its logical block size: with O_DIRECT that
	 * keeps requests aligned as the host file system needs. */
	put_le32(c + CFG_BLK_SIZE, blk->image.direct ? blk->image.offset_align : DISK_SECTOR_SIZE);
	if (blk->image.read_only)
		return;
	put_le32(c + CFG_MAX_DISCARD_SECTORS, BLK_MAX_DISCARD_SECTORS);
	put_le32(c + CFG_MAX_DISCARD_SEG, 1);
	put_le32(c + CFG_DISCARD_SECTOR_ALIGNMENT, BLK_DISCARD_ALIGNMENT_SECTORS);
	put_le32(c + CFG_MAX_WRITE_ZEROES_SECTORS, BLK_MAX_WRITE_ZEROES_SECTORS);
	put_le32(c + CFG_MAX_WRITE_ZEROES_SEG, 1);
	c[CFG_WRITE_ZEROES_MAY_UNMAP] = 1;
}

/* serial=ID, or else the file's name (its last 20 bytes, which differ more
 * often than the first ones). */
static void fill_id(struct virtio_blk *blk, const struct vm_disk_config *cfg)
{
	const char *id = cfg->serial, *slash;
	size_t len;

	if (!cfg->has_serial) {
		slash = strrchr(cfg->path, '/');
		id = slash ? slash + 1 : cfg->path;
	}
	len = strlen(id);
	if (len > sizeof(blk->id)) {
		id += len - sizeof(blk->id);
		len = sizeof(blk->id);
	}
	memcpy(blk->id, id, len);
}

int virtio_blk_create(struct device_host *host, unsigned index, const struct vm_disk_config *cfg,
		      struct virtio_dev **out)
{
	struct virtio_blk *blk = calloc(1, sizeof(*blk));
	char err[VM_DISK_PATH_MAX + 128];
	int ret;

	if (!blk)
		return host_error(host, -ENOMEM, "virtio-blk: out of memory");
	snprintf(blk->name, sizeof(blk->name), "virtio-blk%u", index);
	blk->host = host;
	blk->path = strdup(cfg->path);
	if (!blk->path) {
		free(blk);
		return host_error(host, -ENOMEM, "virtio-blk: out of memory");
	}
	ret = disk_image_open(&blk->image, cfg->path, cfg->read_only, cfg->direct, err,
			      sizeof(err));
	if (ret < 0) {
		free(blk->path);
		free(blk);
		return host_input_error(host, ret, "disk %s", err);
	}
	blk->capacity = blk->image.size / DISK_SECTOR_SIZE;
	pthread_mutex_init(&blk->lock, NULL);
	blk->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (blk->stop_fd < 0) {
		ret = -errno;
		blk_destroy(blk);
		return host_error(host, ret, "virtio-blk: eventfd: %s", strerror(-ret));
	}
	fill_config(blk);
	fill_id(blk, cfg);
	/* On failure the core destroys the backend. */
	ret = virtio_dev_create(host, blk->name,
				cfg->read_only ? &virtio_blk_ro_ops : &virtio_blk_ops, blk,
				&blk->vdev);
	if (ret == 0)
		*out = blk->vdev;
	return ret;
}

/* One sub-option of --disk, @len bytes at @opt. */
static int set_disk_suboption(struct vm_disk_config *d, const char *v, const char *opt, size_t len,
			      char *err, size_t errlen)
{
	static const char serial[] = "serial=";
	const size_t serial_len = sizeof(serial) - 1;

	if (len == 0)
		return option_fail(err, errlen, "--disk '%s': empty sub-option", v);
	if (len == 2 && memcmp(opt, "ro", 2) == 0) {
		d->read_only = true;
	} else if (len == 6 && memcmp(opt, "direct", 6) == 0) {
		d->direct = true;
	} else if (len >= serial_len && memcmp(opt, serial, serial_len) == 0) {
		if (len - serial_len > VM_DISK_SERIAL_MAX)
			return option_fail(err, errlen,
					   "--disk '%s': serial '%.*s' is longer than %d bytes", v,
					   (int)(len - serial_len), opt + serial_len,
					   VM_DISK_SERIAL_MAX);
		memset(d->serial, 0, sizeof(d->serial));
		memcpy(d->serial, opt + serial_len, len - serial_len);
		d->has_serial = true;
	} else {
		return option_fail(
			err, errlen,
			"--disk '%s': unknown sub-option '%.*s' (expected ro, direct or serial=ID)",
			v, (int)len, opt);
	}
	return 0;
}

static const struct device_type virtio_blk_type;

/* --disk PATH[,ro][,serial=ID][,direct]; the path ends at the first comma. */
static int parse_disk(const struct vm_config *cfg, void *config, const char *v, char *err,
		      size_t errlen)
{
	struct vm_disk_config *d = config;
	const char *end = strchr(v, ',');
	size_t path_len = end ? (size_t)(end - v) : strlen(v);
	int ret;

	if (vm_config_device_count(cfg, &virtio_blk_type) == VM_MAX_DISKS)
		return option_fail(err, errlen, "--disk '%s': at most %d disks", v, VM_MAX_DISKS);
	if (path_len == 0)
		return option_fail(err, errlen, "--disk '%s': the path must not be empty", v);
	if (path_len >= VM_DISK_PATH_MAX)
		return option_fail(err, errlen, "--disk: the path is longer than %d bytes",
				   VM_DISK_PATH_MAX - 1);
	memcpy(d->path, v, path_len);
	while (end) {
		const char *opt = end + 1;

		end = strchr(opt, ',');
		ret = set_disk_suboption(d, v, opt, end ? (size_t)(end - opt) : strlen(opt), err,
					 errlen);
		if (ret < 0)
			return ret;
	}
	return 1;
}

/* The image opens (and is not locked by another VM); closed again at once. */
static int check_disk(struct device_host *host, const void *config)
{
	const struct vm_disk_config *cfg = config;
	struct disk_image image;
	char err[VM_DISK_PATH_MAX + 128];
	int ret = disk_image_open(&image, cfg->path, cfg->read_only, cfg->direct, err, sizeof(err));

	if (ret < 0)
		return host_input_error(host, ret, "disk %s", err);
	disk_image_close(&image);
	return 0;
}

static int create_disk(struct device_host *host, unsigned index, const void *config,
		       struct virtio_dev **out)
{
	return virtio_blk_create(host, index, config, out);
}

_Static_assert(sizeof(struct vm_disk_config) <= VM_DEVICE_CONFIG_MAX, "a disk's config fits");

static const struct device_type virtio_blk_type = {
	.option = {"disk", 0, OPTION_LIST, "PATH[,OPTS]",
		   "raw disk image as a virtio-blk device (up to 8); OPTS: ro, direct, serial=ID",
		   NULL, &virtio_blk_type, OPTION_SCOPE_MACHINE},
	.max = VM_MAX_DISKS,
	.config_size = sizeof(struct vm_disk_config),
	.order = 20,
	.restore_replaces = true,
	.parse = parse_disk,
	.check = check_disk,
	.create_virtio = create_disk,
};
DEVICE_TYPE_REGISTER(virtio_blk_type);
