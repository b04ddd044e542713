/* Host tests of virtio-console with the test as its driver (virtio_driver.h):
 * output reaches the console sink (log file, --expect), keyboard input waits
 * for receive buffers and is never lost below the pending bound, input still
 * waiting is part of the saved device state (vm_save_devices()), a guest that
 * breaks the queue rules stops the device and not the VMM.
 *
 *     host-virtio-console-test [CASE] */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host_util.h"
#include "virtio_driver.h"
#include "vm_util.h"
#include "vmm/device_type.h"
#include "vmm/state.h"
#include "vmm/vm.h"

#define CONSOLE_ID 3
#define RXQ 0
#define TXQ 1
#define PENDING_SIZE (64 * 1024) /* the device's bound on waiting input */
#define VIRTIO_RING_EVENT_IDX_BIT 29

static char log_path[64];
/* The console log of a second VM, the one a saved state is loaded into. */
static char second_log_path[64];

/* The test kernel prints its marker through the UART into the same sink:
 * waiting for it keeps it from landing between the test's own bytes. */
static void wait_for_uart_marker(void)
{
	struct timespec delay = {0, 1000 * 1000};
	char buf[256];

	for (int i = 0; i < VDRV_WAIT_SEC * 1000; i++) {
		int fd = open(log_path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = '\0';
			if (strstr(buf, "guest is spinning\n"))
				return;
		}
		nanosleep(&delay, NULL);
	}
	ck_abort_msg("the test kernel's marker never reached the console log");
}

/* A VM with virtio-console, its console log in a new file named in @path. */
static void start_vm(struct running_vm *r, char path[64], const char *expect)
{
	struct vm_config cfg;
	int fd;

	snprintf(path, 64, "/tmp/kvmkit-vcon-test-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	vdrv_config_init(&cfg);
	vm_config_add_device(&cfg, device_type_find("console"));
	cfg.console_log_path = path;
	cfg.expect = expect;
	vdrv_start_vm(r, &cfg);
}

static void start_with(struct running_vm *r, struct vdrv *d, const char *expect, uint64_t refuse)
{
	start_vm(r, log_path, expect);
	vdrv_init(d, r->vm, "virtio-console", CONSOLE_ID, 2, refuse);
	wait_for_uart_marker();
}

static void start(struct running_vm *r, struct vdrv *d, const char *expect)
{
	start_with(r, d, expect, 0);
}

static void start_refusing(struct running_vm *r, struct vdrv *d, uint64_t refuse)
{
	start_with(r, d, NULL, refuse);
}

/* The console log, after the VM is gone. */
static size_t read_log(char *buf, size_t len)
{
	int fd = open(log_path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, len - 1);
	close(fd);
	unlink(log_path);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return (size_t)n;
}

static void put(struct vdrv *d, uint64_t gpa, const char *text)
{
	memcpy(vdrv_gpa(d, gpa, strlen(text)), text, strlen(text));
}

/* The guest prints @text (at the end of the buffer area, out of the tests' way). */
static void guest_writes(struct vdrv *d, const char *text)
{
	const uint64_t gpa = VDRV_BUF_GPA + 0x80000;

	put(d, gpa, text);
	vdrv_post(d, TXQ, (struct vdrv_buf[]){{gpa, (uint32_t)strlen(text), false}}, 1);
	vdrv_kick(d, TXQ);
	ck_assert_msg(vdrv_wait_used(d, TXQ, 1, NULL), "transmit chain not used");
}

START_TEST(tx_to_console)
{
	struct running_vm r;
	struct vdrv d;
	struct vdrv_used used[2];
	char out[256];
	const uint64_t b = VDRV_BUF_GPA;

	start(&r, &d, NULL);
	put(&d, b, "hello ");
	put(&d, b + 0x100, "from hvc0\n");
	put(&d, b + 0x200, "second chain\n");
	vdrv_post(&d, TXQ, (struct vdrv_buf[]){{b, 6, false}, {b + 0x100, 10, false}}, 2);
	vdrv_post(&d, TXQ, (struct vdrv_buf[]){{b + 0x200, 13, false}}, 1);
	vdrv_kick(&d, TXQ);
	ck_assert_msg(vdrv_wait_used(&d, TXQ, 2, used), "transmit chains not used");
	ck_assert_uint_eq(used[0].len, 0);
	vdrv_stop_vm(&r);
	read_log(out, sizeof(out));
	ck_assert_str_eq(out, "guest is spinning\nhello from hvc0\nsecond chain\n");
	ck_assert_msg(host_captured_len() == 0, "unexpected messages:\n%s", host_captured());
}
END_TEST

/* The device wants a kick for the avail index moving from @old to @new: the
 * driver's side of notification suppression (virtio 1.x, 2.7.10 and 2.7.7). */
static bool device_wants_kick(struct vdrv *d, uint16_t old, uint16_t new_idx)
{
	const uint64_t used = d->q[TXQ].used;

	if (d->features & (1ULL << VIRTIO_RING_EVENT_IDX_BIT)) {
		uint16_t event =
			*(volatile uint16_t *)vdrv_gpa(d, used + 4 + 8 * VDRV_QUEUE_SIZE, 2);

		return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
	}
	return !(*(volatile uint16_t *)vdrv_gpa(d, used, 2) & 1); /* VIRTQ_USED_F_NO_NOTIFY */
}

/* A driver like Linux's hvc: one write at a time, each waited for, and a kick
 * only when the device asks for one. The device polls the ring for a while
 * after each write and turns kicks off meanwhile; however it times that, no
 * write may wait for a kick that was never asked for. */
static void tx_one_at_a_time(uint64_t refuse)
{
	enum { WRITES = 2000, LINE = 10 };
	static char want[WRITES * LINE + 64];
	static char out[sizeof(want) + 64];
	struct running_vm r;
	struct vdrv d;
	unsigned kicks = 0;
	size_t len = strlen("guest is spinning\n");

	memcpy(want, "guest is spinning\n", len);
	start_refusing(&r, &d, refuse);
	for (unsigned i = 0; i < WRITES; i++) {
		const uint64_t gpa = VDRV_BUF_GPA + (i % VDRV_QUEUE_SIZE) * 16;
		uint16_t old = d.q[TXQ].avail_idx;
		char line[LINE + 1];

		snprintf(line, sizeof(line), "line %04u\n", i);
		put(&d, gpa, line);
		memcpy(want + len, line, LINE);
		len += LINE;
		vdrv_post(&d, TXQ, (struct vdrv_buf[]){{gpa, LINE, false}}, 1);
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the index, then the device's event */
		if (device_wants_kick(&d, old, d.q[TXQ].avail_idx)) {
			vdrv_kick(&d, TXQ);
			kicks++;
		}
		/* Spinning, as hvc does: a sleeping driver would outlast any poll. */
		for (time_t end = time(NULL) + VDRV_WAIT_SEC;
		     !vdrv_nr_unseen(&d, TXQ) && time(NULL) <= end;)
			__builtin_ia32_pause();
		ck_assert_msg(vdrv_wait_used(&d, TXQ, 1, NULL), "write %u was not taken (%u kicks)",
			      i, kicks);
	}
	want[len] = '\0';
	vdrv_stop_vm(&r);
	read_log(out, sizeof(out));
	ck_assert_str_eq(out, want);
	printf("%u writes, %u kicks (the rest were taken by polling)\n", WRITES, kicks);
}

START_TEST(tx_kicks_event_idx) { tx_one_at_a_time(0); }
END_TEST

START_TEST(tx_kicks_no_notify_flag) { tx_one_at_a_time(1ULL << VIRTIO_RING_EVENT_IDX_BIT); }
END_TEST

START_TEST(expect_on_hvc0)
{
	struct running_vm r;
	struct vdrv d;
	char out[256];

	start(&r, &d, "KVMKIT-MARK");
	put(&d, VDRV_BUF_GPA, "boot... KVMKIT-MA");
	put(&d, VDRV_BUF_GPA + 0x100, "RK seen\n");
	vdrv_post(&d, TXQ, (struct vdrv_buf[]){{VDRV_BUF_GPA, 17, false}}, 1);
	vdrv_kick(&d, TXQ);
	ck_assert(vdrv_wait_used(&d, TXQ, 1, NULL));
	vdrv_post(&d, TXQ, (struct vdrv_buf[]){{VDRV_BUF_GPA + 0x100, 8, false}}, 1);
	vdrv_kick(&d, TXQ);
	ck_assert_msg(vdrv_wait_vm_end(&r), "--expect text split over two chains not seen");
	vdrv_stop_vm(&r);
	ck_assert_int_eq(r.reason, VM_EXIT_EXPECT_SEEN);
	read_log(out, sizeof(out));
	ck_assert_msg(strstr(out, "KVMKIT-MARK") != NULL, "log: %s", out);
}
END_TEST

START_TEST(panic_on_hvc0)
{
	struct running_vm r;
	struct vdrv d;
	char out[256];

	const char *panic = "Kernel panic - not syncing: test\n"
			    "---[ end Kernel panic - not syncing: test ]---\n";

	start(&r, &d, NULL);
	put(&d, VDRV_BUF_GPA, panic);
	vdrv_post(&d, TXQ, (struct vdrv_buf[]){{VDRV_BUF_GPA, (uint32_t)strlen(panic), false}}, 1);
	vdrv_kick(&d, TXQ);
	ck_assert_msg(vdrv_wait_vm_end(&r), "a panic on hvc0 did not end the VM");
	vdrv_stop_vm(&r);
	ck_assert_int_eq(r.reason, VM_EXIT_CRASH);
	read_log(out, sizeof(out));
}
END_TEST

/* Input typed before the guest has buffers, or before it wrote anything,
 * waits; then it fills the buffers in order. */
START_TEST(rx_waits_for_buffers)
{
	struct running_vm r;
	struct vdrv d;
	struct vdrv_used used[2];
	const uint64_t b = VDRV_BUF_GPA;
	struct timespec settle = {0, 50 * 1000 * 1000};
	char out[64];

	start(&r, &d, NULL);
	console_input(&r.vm->console, "abc", 3);
	nanosleep(&settle, NULL);
	ck_assert_uint_eq(vdrv_nr_unseen(&d, RXQ), 0);
	vdrv_post(&d, RXQ, (struct vdrv_buf[]){{b, 2, true}}, 1);
	vdrv_post(&d, RXQ, (struct vdrv_buf[]){{b + 0x100, 8, true}}, 1);
	vdrv_kick(&d, RXQ);
	nanosleep(&settle, NULL);
	ck_assert_msg(vdrv_nr_unseen(&d, RXQ) == 0, "input delivered before the guest wrote");
	guest_writes(&d, "login: ");
	ck_assert_msg(vdrv_wait_used(&d, RXQ, 2, used), "pending input not delivered");
	ck_assert_uint_eq(used[0].len, 2);
	ck_assert_uint_eq(used[1].len, 1);
	ck_assert_int_eq(memcmp(vdrv_gpa(&d, b, 2), "ab", 2), 0);
	ck_assert_int_eq(memcmp(vdrv_gpa(&d, b + 0x100, 1), "c", 1), 0);
	/* With a buffer already posted, input goes in at once. */
	vdrv_post(&d, RXQ, (struct vdrv_buf[]){{b + 0x200, 16, true}}, 1);
	vdrv_kick(&d, RXQ);
	nanosleep(&settle, NULL);
	ck_assert_uint_eq(vdrv_nr_unseen(&d, RXQ), 0);
	console_input(&r.vm->console, "ls\r", 3);
	ck_assert(vdrv_wait_used(&d, RXQ, 1, used));
	ck_assert_uint_eq(used[0].len, 3);
	memcpy(out, vdrv_gpa(&d, b + 0x200, 3), 3);
	ck_assert_int_eq(memcmp(out, "ls\r", 3), 0);
	vdrv_stop_vm(&r);
	read_log(out, sizeof(out));
	ck_assert_msg(host_captured_len() == 0, "unexpected messages:\n%s", host_captured());
}
END_TEST

/* Beyond the pending bound input is dropped; what was kept arrives whole. */
START_TEST(rx_pending_bound)
{
	struct running_vm r;
	struct vdrv d;
	struct vdrv_used used[16];
	const unsigned chunk = 4096, extra = 1000;
	char *in = malloc(PENDING_SIZE + extra);
	char out[16];
	uint64_t total = 0;

	ck_assert_ptr_nonnull(in);
	for (unsigned i = 0; i < PENDING_SIZE + extra; i++)
		in[i] = (char)('a' + i % 23);
	start(&r, &d, NULL);
	guest_writes(&d, "$ ");
	console_input(&r.vm->console, in, PENDING_SIZE + extra);
	/* 16 chains of 4 KiB: exactly the bound. */
	for (unsigned i = 0; i < 16; i++)
		vdrv_post(&d, RXQ, (struct vdrv_buf[]){{VDRV_BUF_GPA + i * chunk, chunk, true}}, 1);
	vdrv_kick(&d, RXQ);
	ck_assert(vdrv_wait_used(&d, RXQ, 16, used));
	for (unsigned i = 0; i < 16; i++)
		total += used[i].len;
	ck_assert_uint_eq(total, PENDING_SIZE);
	ck_assert_int_eq(memcmp(vdrv_gpa(&d, VDRV_BUF_GPA, PENDING_SIZE), in, PENDING_SIZE), 0);
	/* Nothing else was waiting. */
	vdrv_post(&d, RXQ, (struct vdrv_buf[]){{VDRV_BUF_GPA, chunk, true}}, 1);
	vdrv_kick(&d, RXQ);
	console_input(&r.vm->console, "z", 1);
	ck_assert(vdrv_wait_used(&d, RXQ, 1, used));
	ck_assert_uint_eq(used[0].len, 1);
	ck_assert_int_eq(*(char *)vdrv_gpa(&d, VDRV_BUF_GPA, 1), 'z');
	vdrv_stop_vm(&r);
	read_log(out, sizeof(out));
	free(in);
}
END_TEST

/* Guest RAM of paused @from into paused @to: the rings go with the state. */
static void copy_ram(struct vm *to, struct vm *from)
{
	ck_assert_uint_eq(to->mem.nr_regions, from->mem.nr_regions);
	for (unsigned i = 0; i < from->mem.nr_regions; i++) {
		ck_assert_uint_eq(to->mem.regions[i].size, from->mem.regions[i].size);
		memcpy(to->mem.regions[i].host, from->mem.regions[i].host,
		       from->mem.regions[i].size);
	}
}

/* Pauses @a (its driver @d), saves its devices into @saved, starts a fresh
 * VM @b of the same configuration, pauses it and gives it @a's RAM. */
static void save_and_start_second(struct running_vm *a, struct state_buf *saved,
				  struct running_vm *b)
{
	host_pause(a->vm);
	state_buf_init(saved);
	ck_assert_msg(vm_save_devices(a->vm, saved) == 0, "save: %s", a->vm->error);
	start_vm(b, second_log_path, NULL);
	host_pause(b->vm);
	copy_ram(b->vm, a->vm);
}

static void load_ok(struct vm *vm, const struct state_buf *saved)
{
	struct state_reader in;

	state_reader_init(&in, saved->data, saved->len);
	ck_assert_msg(vm_load_devices(vm, &in) == 0, "load: %s", vm->error);
}

/* Input typed while the guest had no receive buffer is saved with the
 * device and reaches the driver of the VM it is loaded into, once, as soon
 * as that driver posts buffers; unless the guest had not written yet (see
 * virtio_console.c), and then only after its first write, as in the VM it
 * was typed into. */
static void rx_pending_saved(bool guest_wrote)
{
	struct running_vm a, b;
	struct vdrv d;
	struct vdrv_used used[1];
	struct state_buf saved;
	const uint64_t buf = VDRV_BUF_GPA;
	char out[64];

	start(&a, &d, NULL);
	if (guest_wrote)
		guest_writes(&d, "$ ");
	console_input(&a.vm->console, "hello\r", 6);
	save_and_start_second(&a, &saved, &b);
	/* B's own input, typed before the load, is not B's any more after it. */
	console_input(&b.vm->console, "B", 1);
	load_ok(b.vm, &saved);
	vdrv_stop_vm(&a);
	vdrv_move(&d, b.vm, "virtio-console");
	ck_assert_uint_eq(vdrv_status(&d) & VDRV_STATUS_DRIVER_OK, VDRV_STATUS_DRIVER_OK);
	ck_assert_int_eq(vm_resume(b.vm), 0);

	vdrv_post(&d, RXQ, (struct vdrv_buf[]){{buf, 16, true}}, 1);
	vdrv_kick(&d, RXQ);
	if (!guest_wrote) {
		ck_assert_msg(!vdrv_wait_used_within(&d, RXQ, 1, 100),
			      "input delivered before the guest wrote");
		guest_writes(&d, "login: ");
	}
	ck_assert_msg(vdrv_wait_used(&d, RXQ, 1, used), "the saved input was not delivered");
	ck_assert_uint_eq(used[0].len, 6);
	ck_assert_int_eq(memcmp(vdrv_gpa(&d, buf, 6), "hello\r", 6), 0);
	/* Once: the next buffer gets what is typed next, and only that. */
	vdrv_post(&d, RXQ, (struct vdrv_buf[]){{buf + 0x100, 16, true}}, 1);
	vdrv_kick(&d, RXQ);
	console_input(&b.vm->console, "x", 1);
	ck_assert(vdrv_wait_used(&d, RXQ, 1, used));
	ck_assert_uint_eq(used[0].len, 1);
	ck_assert_int_eq(*(char *)vdrv_gpa(&d, buf + 0x100, 1), 'x');
	vdrv_stop_vm(&b);
	state_buf_free(&saved);
	read_log(out, sizeof(out));
	unlink(second_log_path);
	ck_assert_msg(host_captured_len() == 0, "unexpected messages:\n%s", host_captured());
}

START_TEST(rx_pending_saved_after_write) { rx_pending_saved(true); }
END_TEST

START_TEST(rx_pending_saved_before_write) { rx_pending_saved(false); }
END_TEST

/* The virtio-console record (inside the transport's record) of a crafted
 * stream: the version, guest_wrote's byte, the pending length it claims and
 * how many bytes of @bytes actually follow. */
struct console_record {
	uint32_t version;
	uint8_t guest_wrote;
	uint32_t claimed;
	size_t actual;
};

/* A record's kind as written: its length, then its name. */
static const char console_kind[] = "\016virtio-console";

/* @saved with the console's own record replaced by @c; the rest is copied. */
static void craft(const struct state_buf *saved, struct state_buf *out,
		  const struct console_record *c, const uint8_t *bytes)
{
	struct state_reader r, rec;
	char kind[STATE_KIND_MAX];
	uint32_t version;
	bool console_next = false, done = false;

	state_buf_init(out);
	state_reader_init(&r, saved->data, saved->len);
	while (!state_reader_done(&r)) {
		size_t start = r.pos;

		ck_assert_int_eq(state_next(&r, kind, &version, &rec), 0);
		if (console_next) {
			/* The transport's record: the core's fields, then the backend's record. */
			const uint8_t *at = memmem(rec.data, rec.len, console_kind, 15);

			ck_assert_ptr_nonnull(at);
			state_begin(out, kind, version);
			state_put_bytes(out, rec.data, (size_t)(at - rec.data));
			state_begin(out, "virtio-console", c->version);
			state_put_u8(out, c->guest_wrote);
			state_put_u32(out, c->claimed);
			state_put_bytes(out, bytes, c->actual);
			state_end(out);
			state_end(out);
			done = true;
		} else {
			state_put_bytes(out, saved->data + start, r.pos - start);
		}
		console_next = strcmp(kind, "device") == 0 && rec.len == 15 &&
			       memcmp(rec.data, console_kind, 15) == 0;
	}
	ck_assert(done);
	ck_assert_int_eq(out->err, 0);
}

/* A console record that claims more input than the device holds, fewer or
 * more bytes than it has, a guest_wrote that is no boolean or an unknown
 * version is refused, naming the device, and the input waiting in the
 * device is still there; a crafted record of exactly the bound is taken
 * (so the crafting is right) and delivered whole. */
START_TEST(rx_pending_bad_records)
{
	static const struct console_record bad[] = {
		{1, 1, PENDING_SIZE + 1, PENDING_SIZE + 1},
		{1, 1, 0xffffffff, 5},
		{1, 1, 6, 5},
		{1, 1, 5, 6},
		{1, 2, 5, 5},
		{2, 1, 5, 5},
	};
	const struct console_record full = {1, 1, PENDING_SIZE, PENDING_SIZE};
	const unsigned chunk = 4096;
	struct running_vm a, b;
	struct vdrv d, fresh;
	struct vdrv_used used[16];
	struct state_buf saved, crafted;
	struct state_reader in;
	uint8_t *bytes = malloc(PENDING_SIZE + 1);
	uint64_t total = 0;
	char out[64];

	ck_assert_ptr_nonnull(bytes);
	for (unsigned i = 0; i < PENDING_SIZE + 1; i++)
		bytes[i] = (uint8_t)('A' + i % 26);
	start(&a, &d, NULL);
	console_input(&a.vm->console, "hello", 5);
	save_and_start_second(&a, &saved, &b);
	console_input(&b.vm->console, "q", 1);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		craft(&saved, &crafted, &bad[i], bytes);
		b.vm->error[0] = '\0';
		state_reader_init(&in, crafted.data, crafted.len);
		ck_assert_msg(vm_load_devices(b.vm, &in) == -EINVAL, "bad record %u taken", i);
		ck_assert_msg(strstr(b.vm->error, "virtio-console"), "record %u: message: %s", i,
			      b.vm->error);
		state_buf_free(&crafted);
	}
	/* The devices are at power-on state; the input typed into B still waits. */
	ck_assert_int_eq(vm_resume(b.vm), 0);
	vdrv_init(&fresh, b.vm, "virtio-console", CONSOLE_ID, 2, 0);
	guest_writes(&fresh, "$ ");
	vdrv_post(&fresh, RXQ, (struct vdrv_buf[]){{VDRV_BUF_GPA, 16, true}}, 1);
	vdrv_kick(&fresh, RXQ);
	ck_assert_msg(vdrv_wait_used(&fresh, RXQ, 1, used), "B's own input was lost");
	ck_assert_uint_eq(used[0].len, 1);
	ck_assert_int_eq(*(char *)vdrv_gpa(&fresh, VDRV_BUF_GPA, 1), 'q');

	/* The control: exactly the bound is taken and all of it arrives. */
	host_pause(b.vm);
	copy_ram(b.vm, a.vm);
	craft(&saved, &crafted, &full, bytes);
	load_ok(b.vm, &crafted);
	vdrv_stop_vm(&a);
	vdrv_move(&d, b.vm, "virtio-console");
	ck_assert_int_eq(vm_resume(b.vm), 0);
	for (unsigned i = 0; i < 16; i++)
		vdrv_post(&d, RXQ, (struct vdrv_buf[]){{VDRV_BUF_GPA + i * chunk, chunk, true}}, 1);
	vdrv_kick(&d, RXQ);
	ck_assert(vdrv_wait_used(&d, RXQ, 16, used));
	for (unsigned i = 0; i < 16; i++)
		total += used[i].len;
	ck_assert_uint_eq(total, PENDING_SIZE);
	ck_assert_int_eq(memcmp(vdrv_gpa(&d, VDRV_BUF_GPA, PENDING_SIZE), bytes, PENDING_SIZE), 0);
	vdrv_stop_vm(&b);
	state_buf_free(&crafted);
	state_buf_free(&saved);
	free(bytes);
	read_log(out, sizeof(out));
	unlink(second_log_path);
}
END_TEST

/* The transmit interrupt is held back for a while after output (see
 * virtio_console.c); a pause in between sends it, so that it is neither
 * lost (the timer finds the device paused) nor left out of the saved
 * state. The driver refuses EVENT_IDX and so wants every interrupt. */
START_TEST(tx_interrupt_sent_at_pause)
{
	struct running_vm r;
	struct vdrv d;
	char out[64];

	start_refusing(&r, &d, 1ULL << VIRTIO_RING_EVENT_IDX_BIT);
	ck_assert_uint_eq(vdrv_reg_read(&d, VDRV_REG_INTERRUPT_STATUS), 0);
	guest_writes(&d, "$ ");
	host_pause(r.vm);
	ck_assert_msg(vdrv_reg_read(&d, VDRV_REG_INTERRUPT_STATUS) & 1,
		      "the held-back transmit interrupt did not come with the pause");
	/* After the resume the console goes on as before. */
	vdrv_reg_write(&d, VDRV_REG_INTERRUPT_ACK, 1);
	ck_assert_int_eq(vm_resume(r.vm), 0);
	guest_writes(&d, "# ");
	vdrv_stop_vm(&r);
	read_log(out, sizeof(out));
	ck_assert_str_eq(out, "guest is spinning\n$ # ");
}
END_TEST

/* A chain whose `next` leaves the queue stops the device, not the VMM. */
START_TEST(bad_chain)
{
	struct running_vm r;
	struct vdrv d;
	char out[16];
	struct {
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
	} * desc;

	start(&r, &d, NULL);
	put(&d, VDRV_BUF_GPA, "x");
	vdrv_post(&d, TXQ, (struct vdrv_buf[]){{VDRV_BUF_GPA, 1, false}}, 1);
	desc = vdrv_gpa(&d, d.q[TXQ].desc, 16);
	desc[0].flags = 1; /* NEXT */
	desc[0].next = 999;
	vdrv_kick(&d, TXQ);
	ck_assert_msg(vdrv_wait_needs_reset(&d), "a bad chain did not stop the device");
	ck_assert_int_eq(atomic_load(&r.vm->exit_reason), VM_EXIT_NONE);
	vdrv_stop_vm(&r);
	read_log(out, sizeof(out));
	ck_assert_msg(strstr(host_captured(), "virtio-console: queue 1") &&
			      strstr(host_captured(), "next 999"),
		      "log: %s", host_captured());
}
END_TEST

int main(int argc, char **argv)
{
	const struct host_case cases[] = {
		{"tx", tx_to_console, 30},
		{"tx_kicks_event_idx", tx_kicks_event_idx, 60},
		{"tx_kicks_no_notify_flag", tx_kicks_no_notify_flag, 60},
		{"expect", expect_on_hvc0, 30},
		{"panic", panic_on_hvc0, 30},
		{"rx", rx_waits_for_buffers, 30},
		{"rx_bound", rx_pending_bound, 30},
		{"rx_pending_saved_after_write", rx_pending_saved_after_write, 30},
		{"rx_pending_saved_before_write", rx_pending_saved_before_write, 30},
		{"rx_pending_bad_records", rx_pending_bad_records, 60},
		{"tx_interrupt_sent_at_pause", tx_interrupt_sent_at_pause, 30},
		{"bad_chain", bad_chain, 30},
	};
	const struct host_suite suite = {
		.name = "virtio-console",
		.cases = cases,
		.nr_cases = sizeof(cases) / sizeof(cases[0]),
		.setup = host_capture_start,
		.teardown = host_capture_stop,
	};

	return host_run_suite(argc, argv, &suite);
}
