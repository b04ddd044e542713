/* Runs inside the nested suite's L1 (static aarch64, linked with kvmkit's
 * core): boots the L2 Linux guest with test=hang, waits for its boot line,
 * pauses it, saves every vCPU and the GIC (vm_cpu_state.h), loads them back,
 * saves again and compares, checks that bad records are refused, then
 * resumes and presses the power button: the guest's own shutdown (a GPIO
 * interrupt through the GIC to acpid, then its poweroff) must still run.
 *
 *     kvmkit-cpu-state-l2 IMAGE INITRD [CPUS]
 * prints KVMKIT-CPUSTATE lines (tests/nested/cases/cpu-state.sh) and exits
 * 0 when every step held. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "vmm/state.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vm_cpu_state.h"

#define WAIT_SEC 120
#define PAUSED_MS 1500 /* long enough for the guest's timers to be due at resume */

static pthread_mutex_t console_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t console_cond = PTHREAD_COND_INITIALIZER;
static char console[1 << 16];
static size_t console_len;

static void on_console(void *opaque, const char *buf, size_t len)
{
	(void)opaque;
	fwrite(buf, 1, len, stdout);
	fflush(stdout);
	pthread_mutex_lock(&console_lock);
	if (len > sizeof(console) - 1 - console_len)
		len = sizeof(console) - 1 - console_len;
	memcpy(console + console_len, buf, len);
	console_len += len;
	console[console_len] = '\0';
	pthread_cond_broadcast(&console_cond);
	pthread_mutex_unlock(&console_lock);
}

static bool wait_console(const char *text, int sec)
{
	struct timespec until;
	bool seen;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += sec;
	pthread_mutex_lock(&console_lock);
	while (!(seen = strstr(console, text) != NULL))
		if (pthread_cond_timedwait(&console_cond, &console_lock, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&console_lock);
	return seen;
}

static enum vm_exit_reason reason;

static void *run_loop(void *arg)
{
	reason = vm_run_loop(arg);
	return NULL;
}

static int fail(const char *what, int ret, struct vm *vm)
{
	printf("\nKVMKIT-CPUSTATE FAIL %s: %d (%s)\n", what, ret, vm->error);
	return 1;
}

/* Fields start after the kind's length byte, the kind, version and length. */
static size_t fields_at(const uint8_t *record) { return 1u + record[0] + 8u; }

/* The virtual counter of each arm64-vcpu record in @b is zeroed (it goes on
 * counting while the VM is paused: arm64_vcpu_state.c) after being stored
 * in @counters. Returns the number of records. */
static unsigned mask_counters(struct state_buf *b, uint64_t *counters, unsigned max)
{
	struct state_reader r, rec;
	char kind[STATE_KIND_MAX];
	uint32_t version;
	unsigned n = 0;

	state_reader_init(&r, b->data, b->len);
	for (;;) {
		size_t start = r.pos;

		if (state_reader_done(&r) || state_next(&r, kind, &version, &rec) < 0)
			break;
		if (strcmp(kind, "arm64-vcpu") == 0 && n < max) {
			uint8_t *c = b->data + start + fields_at(b->data + start) + 4;

			memcpy(&counters[n], c, sizeof(counters[n]));
			memset(c, 0, sizeof(counters[n]));
		}
		n++;
	}
	return n;
}

static int round_trip(struct vm *vm)
{
	struct state_buf a, b;
	struct state_reader in;
	uint64_t ca[VM_MAX_CPUS] = {0}, cb[VM_MAX_CPUS] = {0};
	unsigned records;
	int ret;

	state_buf_init(&a);
	state_buf_init(&b);
	ret = vm_cpu_state_save(vm, &a);
	if (ret < 0)
		return fail("save", ret, vm);
	state_reader_init(&in, a.data, a.len);
	ret = vm_cpu_state_load(vm, &in, 0);
	if (ret < 0)
		return fail("load", ret, vm);
	ret = vm_cpu_state_save(vm, &b);
	if (ret < 0)
		return fail("second save", ret, vm);
	printf("\nKVMKIT-CPUSTATE saved bytes=%zu second=%zu\n", a.len, b.len);

	/* Bad records first, while the good one is at hand. */
	state_reader_init(&in, a.data, a.len - 1);
	ret = vm_cpu_state_load(vm, &in, 0);
	printf("KVMKIT-CPUSTATE truncated rc=%d\n", ret);
	{
		uint8_t *bad = malloc(a.len);
		size_t at = fields_at(a.data);

		memcpy(bad, a.data, a.len);
		bad[at] ^= 0x5a; /* vCPU 0's record claims another index */
		state_reader_init(&in, bad, a.len);
		ret = arch_vcpu_load(vm->vcpus[0], &in, &(struct arch_clock){0});
		printf("KVMKIT-CPUSTATE wrong-index rc=%d\n", ret);
		state_reader_init(&in, a.data, a.len);
		ret = arch_irqchip_load(vm, &in); /* a vCPU record where the GIC's is due */
		printf("KVMKIT-CPUSTATE wrong-kind rc=%d\n", ret);
		free(bad);
	}

	records = mask_counters(&a, ca, VM_MAX_CPUS);
	mask_counters(&b, cb, VM_MAX_CPUS);
	ret = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
	printf("KVMKIT-CPUSTATE records=%u identical=%s counter-monotonic=%s\n", records,
	       ret ? "yes" : "no", cb[0] >= ca[0] ? "yes" : "no");
	if (!ret)
		for (size_t i = 0; i < a.len && i < b.len; i++)
			if (a.data[i] != b.data[i]) {
				printf("KVMKIT-CPUSTATE first difference at byte %zu of %zu\n", i,
				       a.len);
				break;
			}
	state_buf_free(&a);
	state_buf_free(&b);
	return ret ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct vm_config cfg;
	struct vm_hooks hooks = {.console_output = on_console, .console_fd = -1};
	struct vm *vm = NULL;
	char err[512] = "";
	bool input_error;
	pthread_t loop;
	int ret, failed;

	if (argc < 3) {
		fprintf(stderr, "usage: %s IMAGE INITRD [CPUS]\n", argv[0]);
		return 2;
	}
	vm_config_defaults(&cfg);
	cfg.kernel_path = argv[1];
	cfg.initrd_path = argv[2];
	cfg.nr_cpus = argc > 3 ? (unsigned)atoi(argv[3]) : 1;
	cfg.cmdline = "console=ttyS0 quiet panic=-1 test=hang";
	cfg.mem_size = 256ULL << 20;
	cfg.console_stdio = false;
	cfg.timeout_sec = 2 * WAIT_SEC;
	ret = vm_create_hooked(&cfg, &hooks, &vm, err, sizeof(err), &input_error);
	if (ret < 0) {
		printf("KVMKIT-CPUSTATE FAIL vm_create: %s\n", err);
		return 1;
	}
	if (vm_start(vm) < 0 || pthread_create(&loop, NULL, run_loop, vm) != 0)
		return fail("start", -1, vm);
	if (!wait_console("KVMKIT-L2-BOOT-OK", WAIT_SEC))
		return fail("no boot line", -ETIMEDOUT, vm);
	ret = vm_pause(vm);
	if (ret < 0)
		return fail("pause", ret, vm);
	failed = round_trip(vm);
	usleep(PAUSED_MS * 1000);
	ret = vm_resume(vm);
	if (ret < 0)
		return fail("resume", ret, vm);
	/* The guest must still take interrupts and run its timers: the power
	 * key reaches acpid, whose shutdown prints its marker and powers off. */
	usleep(500 * 1000);
	ret = vm_stop(vm);
	if (ret < 0)
		return fail("stop", ret, vm);
	pthread_join(loop, NULL);
	printf("\nKVMKIT-CPUSTATE after-resume marker=%s reason=%s\n",
	       wait_console("KVMKIT-L2-POWEROFF", 1) ? "yes" : "no", vm_exit_reason_name(reason));
	vm_destroy(vm);
	return failed || reason != VM_EXIT_POWEROFF;
}
