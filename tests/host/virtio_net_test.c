/* Host tests of virtio-net with the test as its driver (virtio_driver.h) and
 * a real tap interface, created for the run with a unique name and deleted
 * after it; frames are injected into and caught from the tap with a packet
 * socket. Needs root and /dev/net/tun (exit 77 without them).
 *
 *     host-virtio-net-test [CASE] */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_net.h"
#include "host_util.h"
#include "virtio_driver.h"
#include "vm_util.h"
#include "vmm/device_type.h"
#include "vmm/vm.h"
#include "vmm/vm_snapshot.h"

#define NET_ID 1
#define RXQ 0
#define TXQ 1
#define HDR 12
#define ETHERTYPE_TEST 0x88b5 /* IEEE local experimental */

#define F_CSUM (1ULL << 0)
#define F_GUEST_CSUM (1ULL << 1)
#define F_MAC (1ULL << 5)
#define F_GUEST_TSO4 (1ULL << 7)
#define F_GUEST_UFO (1ULL << 10)
#define F_HOST_TSO4 (1ULL << 11)
#define F_HOST_UFO (1ULL << 14)
#define F_MRG_RXBUF (1ULL << 15)
#define F_STATUS (1ULL << 16)

static const uint8_t guest_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x42};
static const uint8_t host_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static char tap_name[IFNAMSIZ];

/* Makes the tap persistent (it outlives this fd) or deletes it. */
static int tap_persist(int persist)
{
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), ret = -1;

	if (fd < 0)
		return -1;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, tap_name, strlen(tap_name));
	if (ioctl(fd, TUNSETIFF, &ifr) == 0 && ioctl(fd, TUNSETPERSIST, persist) == 0)
		ret = 0;
	close(fd);
	return ret;
}

/* In the parent, once per case: a tap that is up, with no IPv6 (whose
 * router and neighbour solicitations would be frames the tests did not send). */
static void tap_create(void)
{
	struct ifreq ifr = {0};
	char path[128];
	int fd;

	if (tap_persist(1) < 0) {
		fprintf(stderr, "cannot create tap %s: %s\n", tap_name, strerror(errno));
		exit(EXIT_FAILURE);
	}
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", tap_name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
		close(fd);
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memcpy(ifr.ifr_name, tap_name, strlen(tap_name));
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		perror("SIOCGIFFLAGS");
		exit(EXIT_FAILURE);
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		perror("SIOCSIFFLAGS");
		exit(EXIT_FAILURE);
	}
	close(fd);
}

static void tap_delete(void) { tap_persist(0); }

static int packet_socket(void)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)if_nametoindex(tap_name),
	};
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(sll.sll_ifindex, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return fd;
}

/* An Ethernet frame of @len bytes for the test's EtherType; payload bytes
 * derive from @seq. */
static void make_frame(uint8_t *f, size_t len, const uint8_t *dst, const uint8_t *src, unsigned seq)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seq * 31 + i);
}

/* Out of the tap into the guest: the frame the host "sends" to it. */
static void host_send(int ps, unsigned seq, size_t len)
{
	uint8_t f[2048];

	ck_assert_uint_le(len, sizeof(f));
	make_frame(f, len, guest_mac, host_mac, seq);
	ck_assert_int_eq(send(ps, f, len, 0), (ssize_t)len);
}

/* The next frame of the test's EtherType the host received, or -1. */
static ssize_t host_receive(int ps, uint8_t *buf, size_t len)
{
	struct pollfd p = {.fd = ps, .events = POLLIN};

	while (poll(&p, 1, VDRV_WAIT_SEC * 1000) == 1) {
		struct sockaddr_ll from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(ps, buf, len, 0, (struct sockaddr *)&from, &fromlen);

		if (n >= 14 && from.sll_pkttype != PACKET_OUTGOING &&
		    buf[12] == ETHERTYPE_TEST >> 8 && buf[13] == (ETHERTYPE_TEST & 0xff))
			return n;
	}
	return -1;
}

static const char *device_name(void)
{
	static char name[40];

	snprintf(name, sizeof(name), "virtio-net-%s", tap_name);
	return name;
}

/* Attaching the device turns the tap's carrier on, but the kernel activates
 * its queueing (and until then drops what is sent to it) in a deferred link
 * event, up to a second later: operstate "up" says that happened. */
static void wait_link_up(void)
{
	struct timespec delay = {0, 1000 * 1000};
	char path[128], state[16];

	snprintf(path, sizeof(path), "/sys/class/net/%s/operstate", tap_name);
	for (int i = 0; i < VDRV_WAIT_SEC * 1000; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, state, sizeof(state) - 1) : -1;

		if (fd >= 0)
			close(fd);
		if (n >= 2 && memcmp(state, "up", 2) == 0)
			return;
		nanosleep(&delay, NULL);
	}
	ck_abort_msg("%s never came up", tap_name);
}

static void net_config(struct vm_config *cfg)
{
	struct vm_net_config *net;

	vdrv_config_init(cfg);
	net = vm_config_add_device(cfg, device_type_find("net"));
	snprintf(net->tap, sizeof(net->tap), "%s", tap_name);
	memcpy(net->mac, guest_mac, 6);
	net->has_mac = true;
}

static void start(struct running_vm *r, struct vdrv *d, uint64_t refuse)
{
	struct vm_config cfg;

	net_config(&cfg);
	vdrv_start_vm(r, &cfg);
	vdrv_init(d, r->vm, device_name(), NET_ID, 2, refuse);
	wait_link_up();
}

static uint16_t num_buffers(struct vdrv *d, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, vdrv_gpa(d, gpa + 10, 2), 2);
	return v;
}

START_TEST(config_space)
{
	struct running_vm r;
	struct vdrv d;
	uint8_t mac[6];
	uint16_t status;

	start(&r, &d, 0);
	ck_assert(d.offered & F_CSUM);
	ck_assert(d.offered & F_GUEST_CSUM);
	ck_assert(d.offered & F_GUEST_TSO4);
	ck_assert(d.offered & F_HOST_TSO4);
	ck_assert(d.offered & F_MRG_RXBUF);
	ck_assert(d.offered & F_MAC);
	ck_assert(d.offered & F_STATUS);
	ck_assert(!(d.offered & (F_GUEST_UFO | F_HOST_UFO)));
	for (unsigned i = 0; i < 6; i++)
		vdrv_config_read(&d, i, &mac[i], 1);
	ck_assert_int_eq(memcmp(mac, guest_mac, 6), 0);
	vdrv_config_read(&d, 6, &status, 2);
	ck_assert_uint_eq(status, 1); /* link up */
	vdrv_stop_vm(&r);
	ck_assert_msg(host_captured_len() == 0, "unexpected messages:\n%s", host_captured());
}
END_TEST

START_TEST(transmit)
{
	struct running_vm r;
	struct vdrv d;
	const uint64_t b = VDRV_BUF_GPA;
	uint8_t sent[300], got[2048];
	int ps = packet_socket();

	start(&r, &d, 0);
	make_frame(sent, sizeof(sent), (const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		   guest_mac, 7);
	memset(vdrv_gpa(&d, b, HDR), 0, HDR);
	/* The frame split over two buffers, after the header. */
	memcpy(vdrv_gpa(&d, b + 0x100, 100), sent, 100);
	memcpy(vdrv_gpa(&d, b + 0x200, 200), sent + 100, 200);
	vdrv_post(&d, TXQ,
		  (struct vdrv_buf[]){
			  {b, HDR, false}, {b + 0x100, 100, false}, {b + 0x200, 200, false}},
		  3);
	vdrv_kick(&d, TXQ);
	ck_assert_msg(vdrv_wait_used(&d, TXQ, 1, NULL), "transmit chain not used");
	ck_assert_int_eq(host_receive(ps, got, sizeof(got)), (ssize_t)sizeof(sent));
	ck_assert_int_eq(memcmp(got, sent, sizeof(sent)), 0);
	vdrv_stop_vm(&r);
	close(ps);
	ck_assert_msg(host_captured_len() == 0, "unexpected messages:\n%s", host_captured());
}
END_TEST

/* Checks the bytes of frame @seq (@len bytes) spread over @n buffers. */
static void assert_frame(struct vdrv *d, const uint64_t *gpas, const uint32_t *lens, unsigned n,
			 unsigned seq, size_t len)
{
	uint8_t want[2048 + HDR], got[2048 + HDR];
	size_t at = 0;

	make_frame(want + HDR, len, guest_mac, host_mac, seq);
	for (unsigned i = 0; i < n; i++) {
		memcpy(got + at, vdrv_gpa(d, gpas[i], lens[i]), lens[i]);
		at += lens[i];
	}
	ck_assert_uint_eq(at, len + HDR);
	ck_assert_uint_eq(got[1], 0); /* gso_type: none */
	ck_assert_int_eq(memcmp(got + HDR, want + HDR, len), 0);
}

/* One frame spread over three mergeable buffers, num_buffers set. */
START_TEST(receive_mergeable)
{
	struct running_vm r;
	struct vdrv d;
	struct vdrv_used used[3];
	const uint64_t b = VDRV_BUF_GPA;
	const uint64_t gpas[3] = {b, b + 0x100, b + 0x200};
	int ps = packet_socket();

	start(&r, &d, 0);
	for (unsigned i = 0; i < 3; i++)
		vdrv_post(&d, RXQ, (struct vdrv_buf[]){{gpas[i], 64, true}}, 1);
	vdrv_kick(&d, RXQ);
	host_send(ps, 1, 150);
	ck_assert_msg(vdrv_wait_used(&d, RXQ, 3, used), "frame not received");
	ck_assert_uint_eq(used[0].len, 64);
	ck_assert_uint_eq(used[1].len, 64);
	ck_assert_uint_eq(used[2].len, 150 + HDR - 128);
	ck_assert_uint_eq(num_buffers(&d, b), 3);
	assert_frame(&d, gpas, (uint32_t[]){64, 64, 150 + HDR - 128}, 3, 1, 150);
	vdrv_stop_vm(&r);
	close(ps);
	ck_assert_msg(host_captured_len() == 0, "unexpected messages:\n%s", host_captured());
}
END_TEST

/* CPU time of the VM's loop thread. */
static uint64_t loop_cpu_ns(struct running_vm *r)
{
	clockid_t clock;
	struct timespec ts;

	ck_assert_int_eq(pthread_getcpuclockid(r->loop, &clock), 0);
	ck_assert_int_eq(clock_gettime(clock, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* No buffers: the tap is not read and nothing is lost; frames arrive in
 * order once the guest posts buffers. */
START_TEST(receive_back_pressure)
{
	struct running_vm r;
	struct vdrv d;
	struct vdrv_used used[8];
	const uint64_t b = VDRV_BUF_GPA;
	struct timespec settle = {0, 200 * 1000 * 1000};
	int ps = packet_socket();
	uint64_t busy;

	start(&r, &d, 0);
	/* One frame uses up the only buffer... */
	vdrv_post(&d, RXQ, (struct vdrv_buf[]){{b + 0x10000, 2048, true}}, 1);
	vdrv_kick(&d, RXQ);
	host_send(ps, 9, 64);
	ck_assert_msg(vdrv_wait_used(&d, RXQ, 1, used), "first frame not received");
	ck_assert_uint_eq(used[0].len, 64 + HDR);
	/* ...and the next ones wait in the tap. */
	for (unsigned i = 0; i < 8; i++)
		host_send(ps, 10 + i, 100 + i);
	/* Waiting for buffers costs the loop nothing: the tap is not polled. */
	busy = loop_cpu_ns(&r);
	nanosleep(&settle, NULL);
	busy = loop_cpu_ns(&r) - busy;
	ck_assert_msg(busy < 20 * 1000 * 1000, "the loop spent %llu us waiting for buffers",
		      (unsigned long long)busy / 1000);
	ck_assert_uint_eq(vdrv_nr_unseen(&d, RXQ), 0);
	for (unsigned i = 0; i < 8; i++)
		vdrv_post(&d, RXQ, (struct vdrv_buf[]){{b + i * 0x1000, 2048, true}}, 1);
	vdrv_kick(&d, RXQ);
	ck_assert_msg(vdrv_wait_used(&d, RXQ, 8, used), "queued frames not received (%u of 8)",
		      vdrv_nr_unseen(&d, RXQ));
	for (unsigned i = 0; i < 8; i++) {
		ck_assert_uint_eq(used[i].len, 100 + i + HDR);
		ck_assert_uint_eq(num_buffers(&d, b + i * 0x1000), 1);
		assert_frame(&d, (uint64_t[]){b + i * 0x1000}, &used[i].len, 1, 10 + i, 100 + i);
	}
	vdrv_stop_vm(&r);
	close(ps);
	ck_assert_msg(host_captured_len() == 0, "unexpected messages:\n%s", host_captured());
}
END_TEST

/* A frame larger than the buffers posted waits for more, then arrives whole. */
START_TEST(receive_partial)
{
	struct running_vm r;
	struct vdrv d;
	struct vdrv_used used[4];
	const uint64_t b = VDRV_BUF_GPA;
	const uint64_t gpas[4] = {b, b + 0x100, b + 0x200, b + 0x300};
	struct timespec settle = {0, 200 * 1000 * 1000};
	int ps = packet_socket();

	start(&r, &d, 0);
	vdrv_post(&d, RXQ, (struct vdrv_buf[]){{gpas[0], 40, true}}, 1);
	vdrv_kick(&d, RXQ);
	host_send(ps, 3, 300);
	nanosleep(&settle, NULL);
	ck_assert_uint_eq(vdrv_nr_unseen(&d, RXQ), 0);
	for (unsigned i = 1; i < 4; i++)
		vdrv_post(&d, RXQ, (struct vdrv_buf[]){{gpas[i], 128, true}}, 1);
	vdrv_kick(&d, RXQ);
	ck_assert_msg(vdrv_wait_used(&d, RXQ, 4, used), "spilled frame not received");
	ck_assert_uint_eq(used[0].len, 40);
	ck_assert_uint_eq(used[1].len, 128);
	ck_assert_uint_eq(used[2].len, 128);
	ck_assert_uint_eq(used[3].len, 300 + HDR - 296);
	ck_assert_uint_eq(num_buffers(&d, b), 4);
	assert_frame(&d, gpas, (uint32_t[]){40, 128, 128, 300 + HDR - 296}, 4, 3, 300);
	vdrv_stop_vm(&r);
	close(ps);
	ck_assert_msg(host_captured_len() == 0, "unexpected messages:\n%s", host_captured());
}
END_TEST

/* Receive chains the device took ahead of need belong to their ring: once
 * the driver stops the queue and sets it up elsewhere, a frame goes to the
 * new ring's buffers, never to the old ones. */
START_TEST(receive_queue_moved)
{
	struct running_vm r;
	struct vdrv d;
	struct vdrv_used used[2];
	const uint64_t b = VDRV_BUF_GPA, fresh = VDRV_BUF_GPA + 0x1000;
	uint16_t head;
	int ps = packet_socket();

	start(&r, &d, 0);
	for (unsigned i = 0; i < 4; i++)
		vdrv_post(&d, RXQ, (struct vdrv_buf[]){{b + i * 0x100, 64, true}}, 1);
	vdrv_kick(&d, RXQ);
	/* 100 + HDR bytes fill two chains; the device took all four first. */
	host_send(ps, 1, 100);
	ck_assert_msg(vdrv_wait_used(&d, RXQ, 2, used), "first frame not received");
	ck_assert(vdrv_queue_setup(&d, RXQ, VDRV_RING_GPA + 0x40000));
	head = vdrv_post(&d, RXQ, (struct vdrv_buf[]){{fresh, 256, true}}, 1);
	vdrv_kick(&d, RXQ);
	host_send(ps, 2, 100);
	ck_assert_msg(vdrv_wait_used(&d, RXQ, 1, used), "frame after the move not received");
	ck_assert_uint_eq(used[0].id, head);
	ck_assert_uint_eq(used[0].len, 100 + HDR);
	ck_assert_uint_eq(vdrv_used_idx(&d, RXQ), 1);
	assert_frame(&d, &fresh, (uint32_t[]){100 + HDR}, 1, 2, 100);
	vdrv_stop_vm(&r);
	close(ps);
	ck_assert_msg(host_captured_len() == 0, "unexpected messages:\n%s", host_captured());
}
END_TEST

/* Without MRG_RXBUF a frame takes one chain; one too large for it is dropped
 * and the chain serves the next frame. */
START_TEST(receive_single_buffer)
{
	struct running_vm r;
	struct vdrv d;
	struct vdrv_used used[1];
	const uint64_t b = VDRV_BUF_GPA;
	struct timespec settle = {0, 200 * 1000 * 1000};
	int ps = packet_socket();

	start(&r, &d, F_MRG_RXBUF);
	ck_assert(!(d.features & F_MRG_RXBUF));
	vdrv_post(&d, RXQ, (struct vdrv_buf[]){{b, 100, true}}, 1);
	vdrv_kick(&d, RXQ);
	host_send(ps, 4, 300);
	nanosleep(&settle, NULL);
	ck_assert_uint_eq(vdrv_nr_unseen(&d, RXQ), 0);
	host_send(ps, 5, 60);
	ck_assert_msg(vdrv_wait_used(&d, RXQ, 1, used), "frame not received");
	ck_assert_uint_eq(used[0].len, 60 + HDR);
	ck_assert_uint_eq(num_buffers(&d, b), 1);
	assert_frame(&d, (uint64_t[]){b}, &used[0].len, 1, 5, 60);
	vdrv_stop_vm(&r);
	close(ps);
}
END_TEST

/* A transmit chain shorter than the header stops the device, not the VMM. */
START_TEST(transmit_short_chain)
{
	struct running_vm r;
	struct vdrv d;

	start(&r, &d, 0);
	vdrv_post(&d, TXQ, (struct vdrv_buf[]){{VDRV_BUF_GPA, 4, false}}, 1);
	vdrv_kick(&d, TXQ);
	ck_assert_msg(vdrv_wait_needs_reset(&d), "a short chain did not stop the device");
	ck_assert_int_eq(atomic_load(&r.vm->exit_reason), VM_EXIT_NONE);
	vdrv_stop_vm(&r);
	ck_assert_msg(strstr(host_captured(), "queue 1") &&
			      strstr(host_captured(), "less than the 12-byte header"),
		      "log: %s", host_captured());
}
END_TEST

/* A receive buffer too small for the header, likewise. */
START_TEST(receive_tiny_buffer)
{
	struct running_vm r;
	struct vdrv d;

	start(&r, &d, 0);
	vdrv_post(&d, RXQ, (struct vdrv_buf[]){{VDRV_BUF_GPA, 8, true}}, 1);
	vdrv_kick(&d, RXQ);
	ck_assert_msg(vdrv_wait_needs_reset(&d), "a tiny receive buffer did not stop the device");
	vdrv_stop_vm(&r);
	ck_assert_msg(strstr(host_captured(), "queue 0") &&
			      strstr(host_captured(), "8 writable bytes"),
		      "log: %s", host_captured());
}
END_TEST

/* A VM restored from a snapshot serves what its driver made available
 * before the snapshot, with no kick after it (a guest driver kicks only
 * when its ring passes the index the device last asked to hear of): the
 * receive buffers posted and kicked long before, for which the tap is read
 * again, and a transmit chain whose kick came while the VM was paused. */
START_TEST(restore_serves_queues)
{
	struct running_vm a, b;
	struct vdrv d;
	struct vdrv_used used[1];
	struct vm_config cfg;
	struct vm_restore *rs;
	const uint64_t rx = VDRV_BUF_GPA, tx = VDRV_BUF_GPA + 0x10000;
	uint8_t sent[200], got[2048];
	char dir[] = "/tmp/kvmkit-net-snap-XXXXXX", snap[64], path[128], err[512] = "";
	int ps = packet_socket();

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(snap, sizeof(snap), "%s/snap", dir);
	net_config(&cfg);
	vdrv_start_vm(&a, &cfg);
	vdrv_init(&d, a.vm, device_name(), NET_ID, 2, 0);
	wait_link_up();
	for (unsigned i = 0; i < 4; i++)
		vdrv_post(&d, RXQ, (struct vdrv_buf[]){{rx + i * 0x1000, 2048, true}}, 1);
	vdrv_kick(&d, RXQ);
	host_pause(a.vm);
	make_frame(sent, sizeof(sent), host_mac, guest_mac, 11);
	memset(vdrv_gpa(&d, tx, HDR), 0, HDR);
	memcpy(vdrv_gpa(&d, tx + 0x100, sizeof(sent)), sent, sizeof(sent));
	vdrv_post(&d, TXQ, (struct vdrv_buf[]){{tx, HDR, false}, {tx + 0x100, sizeof(sent), false}},
		  2);
	vdrv_kick(&d, TXQ);
	a.vm->machine_settings = "{}"; /* the API layer's; the test restores by hand */
	ck_assert_msg(vm_snapshot_save(a.vm, snap, VM_SNAPSHOT_FULL, NULL, err, sizeof(err)) == 0,
		      "snapshot: %s", err);
	vdrv_stop_vm(&a);

	ck_assert_msg(vm_snapshot_open(snap, &rs, err, sizeof(err)) == 0, "open: %s", err);
	cfg.restore = rs;
	vdrv_start_vm(&b, &cfg);
	vdrv_move(&d, b.vm, device_name());
	ck_assert_msg(host_receive(ps, got, sizeof(got)) == (ssize_t)sizeof(sent),
		      "the frame posted before the snapshot was not sent");
	ck_assert_int_eq(memcmp(got, sent, sizeof(sent)), 0);
	ck_assert_msg(vdrv_wait_used(&d, TXQ, 1, NULL), "transmit chain not used");
	wait_link_up();
	host_send(ps, 12, 120);
	ck_assert_msg(vdrv_wait_used(&d, RXQ, 1, used), "the restored device did not receive");
	ck_assert_uint_eq(used[0].len, 120 + HDR);
	assert_frame(&d, (uint64_t[]){rx}, &used[0].len, 1, 12, 120);
	vdrv_stop_vm(&b);
	vm_restore_free(rs);
	close(ps);
	snprintf(path, sizeof(path), "%s/" SNAPSHOT_STATE_FILE, snap);
	unlink(path);
	snprintf(path, sizeof(path), "%s/" SNAPSHOT_MEMORY_FILE, snap);
	unlink(path);
	rmdir(snap);
	rmdir(dir);
	ck_assert_msg(host_captured_len() == 0, "unexpected messages:\n%s", host_captured());
}
END_TEST

static void assert_create_fails(const char *tap, const char *text)
{
	struct vm_config cfg;
	struct vm *vm = NULL;
	char err[512] = "";
	bool input_error = false;
	struct vm_net_config *net;

	vdrv_config_init(&cfg);
	net = vm_config_add_device(&cfg, device_type_find("net"));
	snprintf(net->tap, sizeof(net->tap), "%s", tap);
	ck_assert_int_lt(vm_create(&cfg, &vm, err, sizeof(err), &input_error), 0);
	ck_assert(input_error);
	ck_assert_msg(strstr(err, tap) && strstr(err, text), "message: %s", err);
}

START_TEST(bad_taps)
{
	assert_create_fails("kvkt-nosuch", "no network interface kvkt-nosuch");
	assert_create_fails("lo", "lo is not a tap interface");
}
END_TEST

static bool tap_usable(void)
{
	if (access("/dev/net/tun", R_OK | W_OK) != 0 || geteuid() != 0) {
		fprintf(stderr, "tap tests need root and /dev/net/tun: skipping\n");
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	const struct host_case cases[] = {
		{"config", config_space, 30},
		{"tx", transmit, 30},
		{"rx_mergeable", receive_mergeable, 30},
		{"rx_back_pressure", receive_back_pressure, 30},
		{"rx_partial", receive_partial, 30},
		{"rx_single_buffer", receive_single_buffer, 30},
		{"rx_queue_moved", receive_queue_moved, 30},
		{"tx_short", transmit_short_chain, 30},
		{"rx_tiny", receive_tiny_buffer, 30},
		{"bad_taps", bad_taps, 30},
		{"restore", restore_serves_queues, 60},
	};
	const struct host_suite suite = {
		.name = "virtio-net",
		.cases = cases,
		.nr_cases = sizeof(cases) / sizeof(cases[0]),
		.setup = host_capture_start,
		.teardown = host_capture_stop,
		.unchecked_setup = tap_create,
		.unchecked_teardown = tap_delete,
		.host_ready = tap_usable,
	};

	snprintf(tap_name, sizeof(tap_name), "kvkt%u", (unsigned)getpid() % 1000000000u);
	return host_run_suite(argc, argv, &suite);
}
