/* libFuzzer target: a hostile guest against one device model at a time, built
 * on a fake host (vmm/device_host.h) with no VM and no KVM: the register file
 * (any offset, any width from 1 to 8 bytes, as the bus lets through), guest
 * RAM under the driver's control, kicks served by a loop the harness turns,
 * console input, GPIO lines, pause/save/load round trips, hostile state
 * records and resets. Besides the sanitizers it checks that a register access
 * returns 0 or -EINVAL, that a saved record loads back, and that every page
 * of guest RAM a device changed is in the region's dirty bitmap
 * (audit_dirty()): a device write that bypasses guest_mem_mark_dirty() would
 * be lost to snapshots and migration.
 *
 * Input:
 *   0  u8 device (DEV_* below, modulo their number)
 *   then operations until the input ends, each a u8 code (modulo OP_COUNT):
 *     OP_WRITE  u8 len-1 (low 3 bits), u16 offset (modulo the register window),
 *               u64 value
 *     OP_READ   u8 len-1, u16 offset
 *     OP_MEM    u16 gpa (modulo RAM_SIZE), u8 n, n bytes: guest RAM, stored
 *               as the guest would (not marked: KVM's log sees those)
 *     OP_INPUT  u8 n, n bytes: typed on the console
 *     OP_PAUSE  quiesce, save, load the record back, unquiesce
 *     OP_LOAD   u16 n, n bytes: quiesce, load them as a record, unquiesce
 *     OP_RESET  the device's reset
 *     OP_GPIO   u8 pin and level (bit 7)
 *     OP_FRAME  u16 n, n bytes: a frame (vnet header first) from the host's
 *               network; virtio-net's "tap" is a SOCK_SEQPACKET socket
 *   After each operation the loop serves every watched fd that is ready and
 *   the frames the guest sent are taken from the socket; after a kick of
 *   virtio-blk (or a pause, which kicks) the harness waits until the
 *   device's worker served every chain available (settle()).
 *
 * The disks: DEV_BLK and DEV_BLK_RO on a memfd; DEV_BLK_DIRECT opened with
 * O_DIRECT on a real file (see open_direct_disk()), so that guest buffers
 * O_DIRECT refuses take disk_image.c's bounce buffer. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "devices/pl031.h"
#include "devices/pl061.h"
#include "devices/tap.h"
#include "devices/uart_16550.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_console.h"
#include "devices/virtio_dev.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "devices/vmgenid.h"
#include "fuzz_util.h"
#include "vmm/console.h"
#include "vmm/device.h"
#include "vmm/device_host.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"
#include "vmm/state.h"

#define RAM_SIZE UINT64_C(0x10000)
#define DEVICE_BASE 0x10000000ULL
#define DEVICE_IRQ 5
#define DISK_SIZE 0x10000
/* Past the 1 MiB bounce buffer, so that a bounced request can take two
 * rounds (a chain may name the same guest RAM over and over). */
#define DIRECT_DISK_SIZE 0x200000
#define MAX_WATCHES 8
#define LOOP_ROUNDS 4
#define REG_QUEUE_NOTIFY 0x50
/* A kicked virtio-blk queue still not served after this long is a hang. */
#define SETTLE_TIMEOUT_MS 5000
#define PAGE UINT64_C(0x1000)
#define RAM_PAGES (RAM_SIZE / PAGE)
#define RAM_WORDS ((RAM_PAGES + 63) / 64)

enum {
	DEV_UART,
	DEV_PL031,
	DEV_PL061,
	DEV_RNG,
	DEV_CONSOLE,
	DEV_BLK,
	DEV_BLK_RO,
	DEV_NET,
	DEV_BLK_DIRECT,
	DEV_VMGENID,
	DEV_COUNT
};
enum {
	OP_WRITE,
	OP_READ,
	OP_MEM,
	OP_INPUT,
	OP_PAUSE,
	OP_LOAD,
	OP_RESET,
	OP_GPIO,
	OP_FRAME,
	OP_COUNT
};

struct watch {
	int fd;
	host_fd_ready_fn ready;
	void *opaque;
};

struct fake_host {
	struct device_host host;
	struct guest_mem mem;
	struct console console;
	struct device *dev;
	struct watch watches[MAX_WATCHES];
	unsigned nr_watches;
	int net_peer; /* the host's end of virtio-net's "tap", or -1 */
	/* virtio-blk serves its queue on a worker thread: after a kick the
	 * harness waits until it served what the kick asked for (settle()). */
	struct virtio_dev *blk;
	bool kicked;
	/* Guest RAM, and what it held when audit_dirty() last looked, but
	 * for the guest's own stores since (guest_store()). */
	uint8_t *ram;
	uint8_t *shadow;
};

static int fake_add_device(void *ctx, struct device *dev)
{
	struct fake_host *h = ctx;

	if (h->dev) {
		dev->ops->destroy(dev);
		return -ENOSPC;
	}
	h->dev = dev;
	return 0;
}

static int fake_watch_fd(void *ctx, int fd, host_fd_ready_fn ready, void *opaque)
{
	struct fake_host *h = ctx;

	if (h->nr_watches == MAX_WATCHES)
		return -ENOSPC;
	h->watches[h->nr_watches++] = (struct watch){fd, ready, opaque};
	return 0;
}

static int fake_set_irq(void *ctx, unsigned irq, bool level)
{
	(void)ctx;
	(void)level;
	CHECK(irq == DEVICE_IRQ);
	return 0;
}

/* Accepted and never read: the interrupt is the device's signal to nobody. */
static int fake_irqfd(void *ctx, unsigned irq, int fd)
{
	(void)ctx;
	(void)fd;
	CHECK(irq == DEVICE_IRQ);
	return 0;
}

/* None: kicks take the register path, as on a host without ioeventfds. */
static int fake_ioeventfd(void *ctx, enum bus_space space, uint64_t addr, unsigned len,
			  uint64_t datamatch, int fd)
{
	(void)ctx;
	(void)space;
	(void)addr;
	(void)len;
	(void)datamatch;
	(void)fd;
	return -ENOTSUP;
}

static void fake_request_reset(void *ctx) { (void)ctx; }

static void fake_report(void *ctx, bool input, const char *msg)
{
	(void)ctx;
	(void)input;
	CHECK(msg && msg[0]);
}

static const struct device_host_ops fake_ops = {
	.add_device = fake_add_device,
	.watch_fd = fake_watch_fd,
	.set_irq = fake_set_irq,
	.irqfd = fake_irqfd,
	.ioeventfd = fake_ioeventfd,
	.request_reset = fake_request_reset,
	.report = fake_report,
};

/* FUZZ_LOG=1 shows them, to understand a finding. */
static void drop_message(enum log_level level, const char *msg, void *opaque)
{
	(void)level;
	(void)opaque;
	CHECK(msg);
	if (getenv("FUZZ_LOG"))
		fprintf(stderr, "log: %s\n", msg);
}

static void on_console_event(void *opaque, enum console_event event)
{
	(void)opaque;
	(void)event;
}

/* One turn of the main loop: every watched fd that is readable. */
static void run_loop(struct fake_host *h)
{
	for (unsigned round = 0; round < LOOP_ROUNDS; round++) {
		struct pollfd fds[MAX_WATCHES];
		int n;

		for (unsigned i = 0; i < h->nr_watches; i++)
			fds[i] = (struct pollfd){.fd = h->watches[i].fd, .events = POLLIN};
		n = poll(fds, h->nr_watches, 0);
		if (n <= 0)
			return;
		for (unsigned i = 0; i < h->nr_watches; i++) {
			if (fds[i].revents & POLLIN)
				h->watches[i].ready(h->watches[i].opaque);
		}
	}
}

static int disk_fd(void)
{
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
		CHECK(fd >= 0);
		CHECK(ftruncate(fd, DISK_SIZE) == 0);
	}
	return fd;
}

/* The image of DEV_BLK_DIRECT, opened with O_DIRECT as the device will
 * open it: a file in KVMKIT_FUZZ_DISK_DIR, else next to the fuzzer (under
 * build/fuzz, on the checkout's file system), unlinked at once. A memfd
 * would not do: tmpfs takes O_DIRECT only since Linux 6.6. A directory
 * whose file system refuses O_DIRECT is an error, not a reason to fuzz
 * less: the bounce path would go untested without anyone noticing. */
static int direct_disk_fd;

static void open_direct_disk(void)
{
	const char *dir = getenv("KVMKIT_FUZZ_DISK_DIR");
	char self[PATH_MAX], tmpl[PATH_MAX + 32];
	ssize_t n;
	int fd, probe;

	if (!dir) {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		CHECK(n > 0);
		self[n] = 0;
		dir = dirname(self);
	}
	snprintf(tmpl, sizeof(tmpl), "%s/fuzz-direct-disk-XXXXXX", dir);
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "fuzz: %s: %s\n", tmpl, strerror(errno));
		exit(1);
	}
	unlink(tmpl);
	CHECK(ftruncate(fd, DIRECT_DISK_SIZE) == 0);
	snprintf(tmpl, sizeof(tmpl), "/proc/self/fd/%d", fd);
	probe = open(tmpl, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (probe < 0) {
		fprintf(stderr,
			"fuzz: %s: O_DIRECT refused (%s): the file system cannot hold the "
			"direct disk; set KVMKIT_FUZZ_DISK_DIR to a directory on ext4, xfs, "
			"btrfs or (Linux 6.6 or later) tmpfs\n",
			dir, strerror(errno));
		exit(1);
	}
	close(probe);
	direct_disk_fd = fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	open_direct_disk();
	return 0;
}

static int create_virtio(struct fake_host *h, unsigned kind)
{
	struct virtio_dev *vdev = NULL;
	struct vm_disk_config disk = {0};
	int ret;

	switch (kind) {
	case DEV_RNG: ret = virtio_rng_create(&h->host, &vdev); break;
	case DEV_CONSOLE: ret = virtio_console_create(&h->host, &vdev); break;
	case DEV_NET: {
		struct vm_net_config net = {
			.tap = "fuzz0", .has_mac = true, .mac = {2, 0, 0, 0, 0, 1}};
		int sv[2];

		CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) ==
		      0);
		h->net_peer = sv[1];
		ret = virtio_net_create_on_fd(&h->host, &net, sv[0], &vdev);
		break;
	}
	default:
		snprintf(disk.path, sizeof(disk.path), "/proc/self/fd/%d",
			 kind == DEV_BLK_DIRECT ? direct_disk_fd : disk_fd());
		disk.read_only = kind == DEV_BLK_RO;
		disk.direct = kind == DEV_BLK_DIRECT;
		ret = virtio_blk_create(&h->host, 0, &disk, &vdev);
		break;
	}
	if (ret < 0)
		return ret;
	ret = virtio_mmio_create(&h->host, vdev, DEVICE_BASE, DEVICE_IRQ);
	if (ret == 0 && (kind == DEV_BLK || kind == DEV_BLK_RO || kind == DEV_BLK_DIRECT))
		h->blk = vdev;
	return ret;
}

static int create_device(struct fake_host *h, unsigned kind)
{
	struct device *out = NULL;

	switch (kind) {
	case DEV_UART:
		return uart_16550_create(&h->host, "uart0", BUS_MMIO, DEVICE_BASE, DEVICE_IRQ,
					 &out);
	case DEV_PL031: return pl031_create(&h->host, DEVICE_BASE, DEVICE_IRQ);
	case DEV_PL061: return pl061_create(&h->host, DEVICE_BASE, DEVICE_IRQ, &out);
	case DEV_VMGENID: return vmgenid_create(&h->host, DEVICE_BASE, DEVICE_IRQ);
	default: return create_virtio(h, kind);
	}
}

static void reg_access(struct fake_host *h, struct input *in, bool write)
{
	struct device *dev = h->dev;
	unsigned len = 1 + (take(in, 1) & 7);
	uint64_t offset = take(in, 2), value = write ? take(in, 8) : 0;
	int ret;

	/* The bus only passes accesses that lie inside the device. */
	if (len > dev->size)
		return;
	offset %= dev->size - len + 1;
	if (write)
		ret = device_write(dev, offset, &value, len);
	else
		ret = device_read(dev, offset, &value, len);
	CHECK(ret == 0 || ret == -EINVAL);
	if (write && ret == 0 && offset == REG_QUEUE_NOTIFY && len == 4 && (uint32_t)value == 0)
		h->kicked = true;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* After a kick of virtio-blk (or an unquiesce, which kicks): waits until
 * its worker took every chain the driver made available, so that what a
 * request does is part of the input's run (and not cut short by the
 * device's destruction). The worker holds the queue from taking a chain to
 * completing it, so holding the queue here and finding nothing available
 * means all was served; a queue the device stopped serving (not running,
 * broken) has nothing more to do either. Buffers made available without a
 * kick are not waited for: the device need not look at them. */
static void settle(struct fake_host *h)
{
	uint64_t deadline = now_ms() + SETTLE_TIMEOUT_MS;

	if (!h->blk || !h->kicked)
		return;
	h->kicked = false;
	for (;;) {
		struct virtq *q = virtio_queue_get(h->blk, 0);
		bool busy = q && virtq_has_avail(q);

		if (q)
			virtio_queue_put(h->blk, 0);
		if (!busy)
			return;
		CHECK(now_ms() < deadline);
		poll(NULL, 0, 1);
	}
}

static void pause_round_trip(struct fake_host *h)
{
	struct device *dev = h->dev;
	struct state_buf buf;
	struct state_reader rd;

	if (dev->ops->quiesce)
		dev->ops->quiesce(dev);
	if (dev->ops->save && dev->ops->load) {
		state_buf_init(&buf);
		CHECK(dev->ops->save(dev, &buf) == 0);
		state_reader_init(&rd, buf.data, buf.len);
		CHECK(dev->ops->load(dev, &rd) == 0);
		state_buf_free(&buf);
	}
	if (dev->ops->unquiesce)
		dev->ops->unquiesce(dev);
}

static void load_hostile(struct fake_host *h, struct input *in)
{
	struct device *dev = h->dev;
	size_t n = take(in, 2);
	struct state_reader rd;
	int ret;

	if (n > in->left)
		n = in->left;
	if (dev->ops->quiesce)
		dev->ops->quiesce(dev);
	if (dev->ops->load) {
		state_reader_init(&rd, in->data, n);
		ret = dev->ops->load(dev, &rd);
		CHECK(ret == 0 || ret == -EINVAL);
	}
	in->data += n;
	in->left -= n;
	if (dev->ops->unquiesce)
		dev->ops->unquiesce(dev);
}

/* Frames the guest sent: each one at least the vnet header. */
static void drain_sent(struct fake_host *h)
{
	static uint8_t frame[65536 + 64];
	ssize_t n;

	if (h->net_peer < 0)
		return;
	while ((n = recv(h->net_peer, frame, sizeof(frame), MSG_DONTWAIT)) >= 0)
		CHECK(n >= TAP_VNET_HDR_LEN);
}

static void send_frame(struct fake_host *h, struct input *in)
{
	size_t n = take(in, 2);

	if (n > in->left)
		n = in->left;
	if (h->net_peer >= 0)
		send(h->net_peer, in->data, n, MSG_DONTWAIT); /* a full socket drops it */
	in->data += n;
	in->left -= n;
}

/* A store by the guest (the driver): into RAM and the shadow alike, so that
 * only the bytes a device changes since differ. Not marked dirty: the
 * bitmap is the VMM's record, KVM's log has the guest's writes. virtio-blk's
 * worker may write the same page meanwhile; it marks what it writes. */
static void guest_store(struct fake_host *h, uint64_t gpa, const uint8_t *src, size_t n)
{
	memcpy(h->ram + gpa, src, n);
	memcpy(h->shadow + gpa, src, n);
}

/* Issue #10's audit: every page whose bytes differ from the shadow was
 * written by a device since the last audit, and must be in the dirty
 * bitmap; then the bitmap is collected and the shadow brought up to date.
 * virtio-blk's worker writes guest memory (data, status, used ring) only
 * while it holds its queue, so holding the queue keeps it out; a queue
 * that cannot be taken is one the worker cannot take either. */
static void audit_dirty(struct fake_host *h)
{
	uint64_t words[RAM_WORDS];
	struct virtq *q = h->blk ? virtio_queue_get(h->blk, 0) : NULL;

	CHECK(dirty_bitmap_collect(&h->mem.regions[0].dirty, words, RAM_WORDS) == RAM_WORDS);
	for (uint64_t p = 0; p < RAM_PAGES; p++) {
		if (!memcmp(h->ram + p * PAGE, h->shadow + p * PAGE, PAGE))
			continue;
		if (!((words[p / 64] >> (p % 64)) & 1)) {
			fprintf(stderr,
				"fuzz: a device wrote guest page 0x%" PRIx64
				" without marking it dirty (guest_mem_mark_dirty())\n",
				p * PAGE);
			abort();
		}
	}
	memcpy(h->shadow, h->ram, RAM_SIZE);
	if (q)
		virtio_queue_put(h->blk, 0);
}

static void run_op(struct fake_host *h, unsigned kind, struct input *in)
{
	unsigned op = take(in, 1) % OP_COUNT;
	uint8_t bytes[256];
	size_t n;

	switch (op) {
	case OP_WRITE: reg_access(h, in, true); break;
	case OP_READ: reg_access(h, in, false); break;
	case OP_MEM: {
		uint64_t gpa = take(in, 2) % RAM_SIZE;

		n = take(in, 1);
		if (n > in->left)
			n = in->left;
		if (n > RAM_SIZE - gpa)
			n = RAM_SIZE - gpa;
		guest_store(h, gpa, in->data, n);
		in->data += n;
		in->left -= n;
		break;
	}
	case OP_INPUT:
		n = take(in, 1);
		if (n > in->left)
			n = in->left;
		memcpy(bytes, in->data, n);
		in->data += n;
		in->left -= n;
		console_input(&h->console, (const char *)bytes, n);
		break;
	case OP_PAUSE:
		pause_round_trip(h);
		h->kicked = true;
		break;
	case OP_LOAD:
		load_hostile(h, in);
		h->kicked = true;
		break;
	case OP_RESET:
		if (h->dev->ops->reset)
			h->dev->ops->reset(h->dev);
		break;
	case OP_FRAME: send_frame(h, in); break;
	case OP_GPIO: {
		unsigned v = take(in, 1);

		if (kind == DEV_PL061)
			CHECK(pl061_set_input(h->dev, v & 7, v & 0x80) == 0);
		break;
	}
	}
	settle(h);
	run_loop(h);
	drain_sent(h);
	audit_dirty(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram, *shadow;
	static bool quiet;
	struct fake_host h = {.net_peer = -1};
	struct input in = {data, size};
	unsigned kind;

	if (size < 1)
		return -1;
	if (!quiet) {
		/* Every message is formatted (a bad format is a finding) and then
		 * dropped: guest mistakes are logged by design. */
		log_set_sink(drop_message, NULL);
		log_set_level(LOG_DEBUG);
		quiet = true;
	}
	if (!ram) {
		ram = aligned_alloc(PAGE, RAM_SIZE);
		shadow = malloc(RAM_SIZE);
		CHECK(ram && shadow);
	}
	memset(ram, 0, RAM_SIZE);
	memset(shadow, 0, RAM_SIZE);
	kind = take(&in, 1) % DEV_COUNT;
	CHECK(guest_mem_add(&h.mem, 0, RAM_SIZE, ram) == 0);
	CHECK(console_init(&h.console, false, 4096, on_console_event, &h) == 0);
	h.host = (struct device_host){
		.ops = &fake_ops, .ctx = &h, .mem = &h.mem, .console = &h.console};
	h.ram = ram;
	h.shadow = shadow;
	if (create_device(&h, kind) == 0) {
		CHECK(h.dev);
		audit_dirty(&h);
		while (in.left)
			run_op(&h, kind, &in);
	}
	h.blk = NULL;
	if (h.dev)
		h.dev->ops->destroy(h.dev);
	audit_dirty(&h);
	if (h.net_peer >= 0)
		close(h.net_peer);
	console_destroy(&h.console);
	guest_mem_release(&h.mem);
	return 0;
}
