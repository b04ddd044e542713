#include "vmm/options.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "vmm/device_type.h"
#include "vmm/dirty_log.h"

static int set_kernel(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (v[0] == '\0')
		return option_fail(err, errlen, "--kernel: the path must not be empty");
	o->vm.kernel_path = v;
	return 0;
}

static int set_kernel_format(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "auto") == 0) {
		o->vm.kernel_format = KERNEL_FORMAT_AUTO;
		return 0;
	}
	if (strcmp(v, "raw") != 0)
		return option_fail(err, errlen, "--kernel-format '%s': expected auto or raw", v);
	if (!arch_has_raw_kernel())
		return option_fail(
			err, errlen,
			"--kernel-format raw: raw kernels are arm64 only; this %s kvmkit "
			"boots ELF64 kernels",
			arch_name());
	o->vm.kernel_format = KERNEL_FORMAT_RAW;
	return 0;
}

static int set_pmu(struct run_options *o, const char *v, char *err, size_t errlen)
{
	(void)v;
	if (!arch_has_guest_pmu())
		return option_fail(
			err, errlen,
			"--pmu: a guest PMU is arm64 only; this %s kvmkit has none to give",
			arch_name());
	o->vm.pmu = true;
	return 0;
}

/* Accepted on x86_64 too, where there is none to leave out (it would need
 * ACPI), so that one set of settings serves both. */
static int set_no_vmgenid(struct run_options *o, const char *v, char *err, size_t errlen)
{
	(void)v;
	(void)err;
	(void)errlen;
	o->vm.no_vmgenid = true;
	return 0;
}

static int set_initrd(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (v[0] == '\0')
		return option_fail(err, errlen, "--initrd: the path must not be empty");
	o->vm.initrd_path = v;
	return 0;
}

static int set_cmdline(struct run_options *o, const char *v, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	o->vm.cmdline = v;
	return 0;
}

static int set_cpus(struct run_options *o, const char *v, char *err, size_t errlen)
{
	unsigned long n;

	if (parse_uint(v, 1, VM_MAX_CPUS, &n) < 0)
		return option_fail(err, errlen, "--cpus '%s': expected a number from 1 to %d", v,
				   VM_MAX_CPUS);
	o->vm.nr_cpus = (unsigned)n;
	return 0;
}

static int set_memory(struct run_options *o, const char *v, char *err, size_t errlen)
{
	uint64_t bytes;

	if (parse_mem_size(v, &bytes) < 0)
		return option_fail(err, errlen,
				   "--memory '%s': expected a size such as 256, 512M or 2G", v);
	if (bytes < VM_MIN_MEM)
		return option_fail(err, errlen, "--memory '%s': kvmkit needs at least %lluM", v,
				   (unsigned long long)(VM_MIN_MEM >> 20));
	if (bytes > arch_max_ram())
		return option_fail(err, errlen,
				   "--memory '%s': above the %lluM the %s layout allows", v,
				   (unsigned long long)(arch_max_ram() >> 20), arch_name());
	o->vm.mem_size = bytes;
	return 0;
}

static int set_console_log(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (v[0] == '\0')
		return option_fail(err, errlen, "--console-log: the path must not be empty");
	o->vm.console_log_path = v;
	return 0;
}

static int set_console_buffer(struct run_options *o, const char *v, char *err, size_t errlen)
{
	uint64_t bytes;

	if (parse_mem_size(v, &bytes) < 0 || bytes < VM_MIN_CONSOLE_BUFFER ||
	    bytes > VM_MAX_CONSOLE_BUFFER)
		return option_fail(
			err, errlen,
			"--console-buffer '%s': expected a size from %uK to %uM, such as "
			"256K",
			v, VM_MIN_CONSOLE_BUFFER >> 10, VM_MAX_CONSOLE_BUFFER >> 20);
	o->vm.console_buffer = bytes;
	return 0;
}

static int set_no_stdio(struct run_options *o, const char *v, char *err, size_t errlen)
{
	(void)v;
	(void)err;
	(void)errlen;
	o->vm.console_stdio = false;
	return 0;
}

static int set_timeout(struct run_options *o, const char *v, char *err, size_t errlen)
{
	unsigned long n;

	if (parse_uint(v, 1, 31 * 24 * 3600, &n) < 0)
		return option_fail(err, errlen,
				   "--timeout '%s': expected whole seconds from 1 to 2678400", v);
	o->vm.timeout_sec = (unsigned)n;
	return 0;
}

static int set_expect(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (v[0] == '\0')
		return option_fail(err, errlen, "--expect: the text must not be empty");
	o->vm.expect = v;
	return 0;
}

static int set_dump_dtb(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (v[0] == '\0')
		return option_fail(err, errlen, "--dump-dtb: the path must not be empty");
	o->vm.dump_dtb_path = v;
	return 0;
}

static int set_log_level(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (log_level_parse(v, &o->log_level) < 0)
		return option_fail(err, errlen,
				   "--log-level '%s': expected error, warn, info or debug", v);
	return 0;
}

static int set_stats(struct run_options *o, const char *v, char *err, size_t errlen)
{
	(void)v;
	(void)err;
	(void)errlen;
	o->vm.print_stats = true;
	return 0;
}

static int set_api_socket(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (v[0] == '\0')
		return option_fail(err, errlen, "--api-socket: the path must not be empty");
	/* sun_path holds 108 bytes with the terminating NUL. */
	if (strlen(v) >= 108)
		return option_fail(err, errlen,
				   "--api-socket '%s': a socket path has at most 107 bytes", v);
	o->vm.api_socket_path = v;
	return 0;
}

static int set_stop_timeout(struct run_options *o, const char *v, char *err, size_t errlen)
{
	unsigned long n;

	if (parse_uint(v, 0, VM_MAX_STOP_TIMEOUT_SEC, &n) < 0)
		return option_fail(err, errlen,
				   "--stop-timeout '%s': expected whole seconds from 0 to %d", v,
				   VM_MAX_STOP_TIMEOUT_SEC);
	o->vm.stop_timeout_sec = (unsigned)n;
	return 0;
}

static int set_dirty_engine(struct run_options *o, const char *v, char *err, size_t errlen)
{
	enum dirty_engine_kind kind;

	if (dirty_engine_parse(v, &kind) < 0)
		return option_fail(
			err, errlen,
			"--dirty-engine '%s': expected auto, bitmap, bitmap+clear or ring", v);
	o->vm.dirty_engine = kind;
	return 0;
}

static int set_dirty_ring_size(struct run_options *o, const char *v, char *err, size_t errlen)
{
	unsigned long n;

	if (parse_uint(v, DIRTY_RING_MIN_ENTRIES, DIRTY_RING_MAX_ENTRIES, &n) < 0 || (n & (n - 1)))
		return option_fail(err, errlen,
				   "--dirty-ring-size '%s': expected a power of two from %d to %d",
				   v, DIRTY_RING_MIN_ENTRIES, DIRTY_RING_MAX_ENTRIES);
	o->vm.dirty_ring_entries = (unsigned)n;
	return 0;
}

static int set_restore(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (!*v)
		return option_fail(err, errlen, "--restore: no snapshot directory given");
	o->vm.restore_path = v;
	return 0;
}

static int set_diff_snapshots(struct run_options *o, const char *v, char *err, size_t errlen)
{
	(void)v;
	(void)err;
	(void)errlen;
	o->vm.diff_snapshots = true;
	return 0;
}

static int set_paused(struct run_options *o, const char *v, char *err, size_t errlen)
{
	(void)v;
	(void)err;
	(void)errlen;
	o->vm.start_paused = true;
	return 0;
}

static int set_restore_clock(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "continue") == 0)
		o->vm.restore_clock = RESTORE_CLOCK_CONTINUE;
	else if (strcmp(v, "advance") == 0)
		o->vm.restore_clock = RESTORE_CLOCK_ADVANCE;
	else
		return option_fail(err, errlen,
				   "--restore-clock '%s': expected continue or advance", v);
	return 0;
}

static int set_no_working_set(struct run_options *o, const char *v, char *err, size_t errlen)
{
	(void)v;
	(void)err;
	(void)errlen;
	o->vm.no_working_set = true;
	return 0;
}

static int set_record_working_set(struct run_options *o, const char *v, char *err, size_t errlen)
{
	unsigned long ms;

	if (parse_uint(v, 1, 24UL * 3600 * 1000, &ms) < 0)
		return option_fail(
			err, errlen,
			"--record-working-set '%s': expected milliseconds, 1 to 86400000", v);
	o->vm.record_working_set_ms = (unsigned)ms;
	return 0;
}

static int set_memory_backend(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "anon") == 0)
		o->vm.memory_backend = MEMORY_BACKEND_ANON;
	else if (strcmp(v, "memfd") == 0)
		o->vm.memory_backend = MEMORY_BACKEND_MEMFD;
	else
		return option_fail(err, errlen, "--memory-backend '%s': expected anon or memfd", v);
	return 0;
}

static int set_nested(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (!v || strcmp(v, "vhe") == 0)
		o->vm.nested = VM_NESTED_VHE;
	else if (strcmp(v, "nvhe") == 0)
		o->vm.nested = VM_NESTED_NVHE;
	else
		return option_fail(err, errlen, "--nested=%s: expected vhe or nvhe (or no value)",
				   v);
	return 0;
}

static const struct option_spec machine_specs[] = {
	{"kernel", 'k', OPTION_VALUE, "FILE",
	 "kernel image (arm64 Image; x86_64 ELF64 test kernel)", set_kernel, NULL,
	 OPTION_SCOPE_BOOT},
	{"kernel-format", 0, OPTION_VALUE, "FORMAT",
	 "auto (default: Image on arm64, ELF64 on x86_64) or raw (arm64: a flat binary)",
	 set_kernel_format, NULL, OPTION_SCOPE_BOOT},
	{"initrd", 'i', OPTION_VALUE, "FILE", "initial ramdisk", set_initrd, NULL,
	 OPTION_SCOPE_BOOT},
	{"cmdline", 'p', OPTION_VALUE, "TEXT", "kernel command line", set_cmdline, NULL,
	 OPTION_SCOPE_BOOT},
	{"restore", 0, OPTION_VALUE, "DIR",
	 "restore the snapshot in DIR (kvmkit ctl snapshot) instead of booting", set_restore, NULL,
	 OPTION_SCOPE_RUN},
	{"restore-clock", 0, OPTION_VALUE, "HOW",
	 "continue (default) or advance: the guest's clocks after --restore", set_restore_clock,
	 NULL, OPTION_SCOPE_RUN},
	{"record-working-set", 0, OPTION_VALUE, "MS",
	 "with --restore: MS ms after the start, record the pages the guest touched so that "
	 "later restores bring them in first",
	 set_record_working_set, NULL, OPTION_SCOPE_RUN},
	{"no-working-set", 0, OPTION_FLAG, NULL,
	 "with --restore: do not prefetch the snapshot's recorded working set", set_no_working_set,
	 NULL, OPTION_SCOPE_RUN},
	{"paused", 0, OPTION_FLAG, NULL,
	 "start paused: the guest runs at the first kvmkit ctl resume", set_paused, NULL,
	 OPTION_SCOPE_RUN},
	{"diff-snapshots", 0, OPTION_FLAG, NULL,
	 "track dirty pages so that snapshots can be diffs (ctl snapshot --diff)",
	 set_diff_snapshots, NULL, OPTION_SCOPE_RUN},
	{"cpus", 'c', OPTION_VALUE, "N", "number of vCPUs (default 1)", set_cpus, NULL,
	 OPTION_SCOPE_MACHINE},
	{"pmu", 0, OPTION_FLAG, NULL, "give every vCPU a PMU (arm64 PMUv3)", set_pmu, NULL,
	 OPTION_SCOPE_MACHINE},
	{"no-vmgenid", 0, OPTION_FLAG, NULL,
	 "no VM generation ID (arm64): restored clones then share the guest's RNG state",
	 set_no_vmgenid, NULL, OPTION_SCOPE_MACHINE},
	{"nested", 0, OPTION_OPTIONAL, "[=MODE]",
	 "start vCPUs at EL2 so the guest can run KVM itself (arm64); =nvhe: non-VHE, slow",
	 set_nested, NULL, OPTION_SCOPE_MACHINE},
	{"memory", 'm', OPTION_VALUE, "SIZE",
	 "guest RAM; MiB, or with a K/M/G suffix (default 256M)", set_memory, NULL,
	 OPTION_SCOPE_MACHINE},
	{"memory-backend", 0, OPTION_VALUE, "KIND",
	 "anon (default) or memfd: guest RAM another process can map (kvmkit_vm_memory_fd)",
	 set_memory_backend, NULL, OPTION_SCOPE_RUN},
	{"console-log", 0, OPTION_VALUE, "FILE", "also write the guest console to FILE",
	 set_console_log, NULL, OPTION_SCOPE_RUN},
	{"console-buffer", 0, OPTION_VALUE, "SIZE",
	 "console output kept for a slow stdout, log or fd before it is dropped (default 256K)",
	 set_console_buffer, NULL, OPTION_SCOPE_RUN},
	{"no-stdio", 0, OPTION_FLAG, NULL, "do not connect the console to stdin/stdout",
	 set_no_stdio, NULL, OPTION_SCOPE_RUN},
	{"timeout", 0, OPTION_VALUE, "SECONDS", "stop the guest after SECONDS (exit code 124)",
	 set_timeout, NULL, OPTION_SCOPE_RUN},
	{"expect", 0, OPTION_VALUE, "TEXT",
	 "succeed (exit code 0) as soon as the console shows TEXT", set_expect, NULL,
	 OPTION_SCOPE_RUN},
	{"dump-dtb", 0, OPTION_VALUE, "FILE", "write the generated device tree to FILE (arm64)",
	 set_dump_dtb, NULL, OPTION_SCOPE_RUN},
	{"log-level", 0, OPTION_VALUE, "LEVEL", "error, warn (default), info or debug",
	 set_log_level, NULL, OPTION_SCOPE_RUN},
	{"stats", 0, OPTION_FLAG, NULL, "print memory and exit statistics at exit", set_stats, NULL,
	 OPTION_SCOPE_RUN},
	{"api-socket", 0, OPTION_VALUE, "PATH", "serve the JSON control protocol on a Unix socket",
	 set_api_socket, NULL, OPTION_SCOPE_RUN},
	{"stop-timeout", 0, OPTION_VALUE, "SECONDS",
	 "grace time after the power button before a hard stop (default 10)", set_stop_timeout,
	 NULL, OPTION_SCOPE_RUN},
	{"dirty-engine", 0, OPTION_VALUE, "ENGINE",
	 "dirty-page tracking: auto (default), bitmap, bitmap+clear or ring", set_dirty_engine,
	 NULL, OPTION_SCOPE_RUN},
	{"dirty-ring-size", 0, OPTION_VALUE, "ENTRIES",
	 "pages each vCPU's dirty ring holds (ring engine; default 65536)", set_dirty_ring_size,
	 NULL, OPTION_SCOPE_RUN},
};

#define NR_MACHINE_SPECS (sizeof(machine_specs) / sizeof(machine_specs[0]))

unsigned option_count(void) { return NR_MACHINE_SPECS + device_type_count(); }

/* The machine's own settings first, then each device type's, in their order. */
const struct option_spec *option_at(unsigned index)
{
	const struct device_type *type;

	if (index < NR_MACHINE_SPECS)
		return &machine_specs[index];
	type = device_type_at(index - NR_MACHINE_SPECS);
	return type ? &type->option : NULL;
}

void run_options_defaults(struct run_options *opts)
{
	vm_config_defaults(&opts->vm);
	opts->log_level = LOG_WARN;
}

enum option_scope option_scope(const struct option_spec *spec)
{
	return spec->device ? OPTION_SCOPE_MACHINE : spec->scope;
}

const struct option_spec *option_find(const char *name)
{
	const struct option_spec *spec;

	for (unsigned i = 0; (spec = option_at(i)); i++) {
		if (strcmp(spec->name, name) == 0)
			return spec;
	}
	return NULL;
}

int option_apply(struct run_options *opts, const char *name, const char *value, char *err,
		 size_t errlen)
{
	const struct option_spec *spec = option_find(name);

	if (!spec)
		return option_fail(err, errlen, "unknown setting '%s'", name);
	if ((spec->kind == OPTION_VALUE || spec->kind == OPTION_LIST) && !value)
		return option_fail(err, errlen, "'%s' needs a value", name);
	if (spec->device)
		return device_type_apply(&opts->vm, spec->device, value, err, errlen);
	return spec->apply(opts, value, err, errlen);
}

void option_help(char *buf, size_t len)
{
	size_t used = strlen(buf);

	const struct option_spec *s;

	for (unsigned i = 0; used < len && (s = option_at(i)); i++) {
		char left[40];
		int n;

		if (s->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", s->short_name, s->name,
				 s->arg ? " " : "", s->arg ? s->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", s->name, s->arg ? " " : "",
				 s->arg ? s->arg : "");
		n = snprintf(buf + used, len - used, "  %-23s  %s\n", left, s->help);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}
