#include "vmm/options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int set_kernel(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (v[0] == '\0')
		return fail(err, errlen, "--kernel: the path must not be empty");
	o->vm.kernel_path = v;
	return 0;
}

static int set_initrd(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (v[0] == '\0')
		return fail(err, errlen, "--initrd: the path must not be empty");
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
		return fail(err, errlen, "--cpus '%s': expected a number from 1 to %d", v,
			    VM_MAX_CPUS);
	o->vm.nr_cpus = (unsigned)n;
	return 0;
}

static int set_memory(struct run_options *o, const char *v, char *err, size_t errlen)
{
	uint64_t bytes;

	if (parse_mem_size(v, &bytes) < 0)
		return fail(err, errlen, "--memory '%s': expected a size such as 256, 512M or 2G", v);
	if (bytes < VM_MIN_MEM)
		return fail(err, errlen, "--memory '%s': kvmkit needs at least %lluM", v,
			    (unsigned long long)(VM_MIN_MEM >> 20));
	if (bytes > arch_max_ram())
		return fail(err, errlen, "--memory '%s': above the %lluM the %s layout allows", v,
			    (unsigned long long)(arch_max_ram() >> 20), arch_name());
	o->vm.mem_size = bytes;
	return 0;
}

static int set_console_log(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (v[0] == '\0')
		return fail(err, errlen, "--console-log: the path must not be empty");
	o->vm.console_log_path = v;
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
		return fail(err, errlen, "--timeout '%s': expected whole seconds from 1 to 2678400", v);
	o->vm.timeout_sec = (unsigned)n;
	return 0;
}

static int set_expect(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (v[0] == '\0')
		return fail(err, errlen, "--expect: the text must not be empty");
	o->vm.expect = v;
	return 0;
}

static int set_dump_dtb(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (v[0] == '\0')
		return fail(err, errlen, "--dump-dtb: the path must not be empty");
	o->vm.dump_dtb_path = v;
	return 0;
}

static int set_log_level(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (log_level_parse(v, &o->log_level) < 0)
		return fail(err, errlen, "--log-level '%s': expected error, warn, info or debug", v);
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

static int set_rng(struct run_options *o, const char *v, char *err, size_t errlen)
{
	(void)v;
	(void)err;
	(void)errlen;
	o->vm.rng = true;
	return 0;
}

const struct option_spec option_specs[] = {
	{"kernel", 'k', OPTION_VALUE, "FILE", "kernel image (arm64 Image; x86_64 ELF64 test kernel)",
	 set_kernel},
	{"initrd", 'i', OPTION_VALUE, "FILE", "initial ramdisk", set_initrd},
	{"cmdline", 'p', OPTION_VALUE, "TEXT", "kernel command line", set_cmdline},
	{"cpus", 'c', OPTION_VALUE, "N", "number of vCPUs (default 1)", set_cpus},
	{"memory", 'm', OPTION_VALUE, "SIZE", "guest RAM; MiB, or with a K/M/G suffix (default 256M)",
	 set_memory},
	{"console-log", 0, OPTION_VALUE, "FILE", "also write the guest console to FILE",
	 set_console_log},
	{"no-stdio", 0, OPTION_FLAG, NULL, "do not connect the console to stdin/stdout",
	 set_no_stdio},
	{"timeout", 0, OPTION_VALUE, "SECONDS", "stop the guest after SECONDS (exit code 124)",
	 set_timeout},
	{"expect", 0, OPTION_VALUE, "TEXT", "succeed (exit code 0) as soon as the console shows TEXT",
	 set_expect},
	{"dump-dtb", 0, OPTION_VALUE, "FILE", "write the generated device tree to FILE (arm64)",
	 set_dump_dtb},
	{"log-level", 0, OPTION_VALUE, "LEVEL", "error, warn (default), info or debug", set_log_level},
	{"stats", 0, OPTION_FLAG, NULL, "print memory and exit statistics at exit", set_stats},
	{"rng", 0, OPTION_FLAG, NULL, "give the guest a virtio-rng entropy device", set_rng},
};

const unsigned nr_option_specs = sizeof(option_specs) / sizeof(option_specs[0]);

void run_options_defaults(struct run_options *opts)
{
	vm_config_defaults(&opts->vm);
	opts->log_level = LOG_WARN;
}

const struct option_spec *option_find(const char *name)
{
	for (unsigned i = 0; i < nr_option_specs; i++) {
		if (strcmp(option_specs[i].name, name) == 0)
			return &option_specs[i];
	}
	return NULL;
}

int option_apply(struct run_options *opts, const char *name, const char *value, char *err,
		 size_t errlen)
{
	const struct option_spec *spec = option_find(name);

	if (!spec)
		return fail(err, errlen, "unknown setting '%s'", name);
	if (spec->kind == OPTION_VALUE && !value)
		return fail(err, errlen, "'%s' needs a value", name);
	return spec->apply(opts, value, err, errlen);
}

void option_help(char *buf, size_t len)
{
	size_t used = strlen(buf);

	for (unsigned i = 0; i < nr_option_specs && used < len; i++) {
		const struct option_spec *s = &option_specs[i];
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
