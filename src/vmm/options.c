#include "vmm/options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

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
		return fail(err, errlen, "--memory '%s': expected a size such as 256, 512M or 2G",
			    v);
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
		return fail(err, errlen, "--timeout '%s': expected whole seconds from 1 to 2678400",
			    v);
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
		return fail(err, errlen, "--log-level '%s': expected error, warn, info or debug",
			    v);
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

static int set_api_socket(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (v[0] == '\0')
		return fail(err, errlen, "--api-socket: the path must not be empty");
	/* sun_path holds 108 bytes with the terminating NUL. */
	if (strlen(v) >= 108)
		return fail(err, errlen, "--api-socket '%s': a socket path has at most 107 bytes",
			    v);
	o->vm.api_socket_path = v;
	return 0;
}

static int set_stop_timeout(struct run_options *o, const char *v, char *err, size_t errlen)
{
	unsigned long n;

	if (parse_uint(v, 0, VM_MAX_STOP_TIMEOUT_SEC, &n) < 0)
		return fail(err, errlen, "--stop-timeout '%s': expected whole seconds from 0 to %d",
			    v, VM_MAX_STOP_TIMEOUT_SEC);
	o->vm.stop_timeout_sec = (unsigned)n;
	return 0;
}

/* One sub-option of --disk, @len bytes at @opt. */
static int set_disk_suboption(struct vm_disk_config *d, const char *v, const char *opt, size_t len,
			      char *err, size_t errlen)
{
	static const char serial[] = "serial=";
	const size_t serial_len = sizeof(serial) - 1;

	if (len == 0)
		return fail(err, errlen, "--disk '%s': empty sub-option", v);
	if (len == 2 && memcmp(opt, "ro", 2) == 0) {
		d->read_only = true;
	} else if (len == 6 && memcmp(opt, "direct", 6) == 0) {
		d->direct = true;
	} else if (len >= serial_len && memcmp(opt, serial, serial_len) == 0) {
		if (len - serial_len > VM_DISK_SERIAL_MAX)
			return fail(err, errlen,
				    "--disk '%s': serial '%.*s' is longer than %d bytes", v,
				    (int)(len - serial_len), opt + serial_len, VM_DISK_SERIAL_MAX);
		memset(d->serial, 0, sizeof(d->serial));
		memcpy(d->serial, opt + serial_len, len - serial_len);
		d->has_serial = true;
	} else {
		return fail(
			err, errlen,
			"--disk '%s': unknown sub-option '%.*s' (expected ro, direct or serial=ID)",
			v, (int)len, opt);
	}
	return 0;
}

/* --disk PATH[,ro][,serial=ID][,direct]; the path ends at the first comma. */
static int set_disk(struct run_options *o, const char *v, char *err, size_t errlen)
{
	struct vm_disk_config *d;
	const char *end = strchr(v, ',');
	size_t path_len = end ? (size_t)(end - v) : strlen(v);
	int ret;

	if (o->vm.nr_disks == VM_MAX_DISKS)
		return fail(err, errlen, "--disk '%s': at most %d disks", v, VM_MAX_DISKS);
	if (path_len == 0)
		return fail(err, errlen, "--disk '%s': the path must not be empty", v);
	if (path_len >= VM_DISK_PATH_MAX)
		return fail(err, errlen, "--disk: the path is longer than %d bytes",
			    VM_DISK_PATH_MAX - 1);
	d = &o->vm.disks[o->vm.nr_disks];
	memset(d, 0, sizeof(*d));
	memcpy(d->path, v, path_len);
	while (end) {
		const char *opt = end + 1;

		end = strchr(opt, ',');
		ret = set_disk_suboption(d, v, opt, end ? (size_t)(end - opt) : strlen(opt), err,
					 errlen);
		if (ret < 0)
			return ret;
	}
	o->vm.nr_disks++;
	return 0;
}

static int set_console(struct run_options *o, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "uart") == 0)
		o->vm.console_virtio = false;
	else if (strcmp(v, "virtio") == 0)
		o->vm.console_virtio = true;
	else
		return fail(err, errlen, "--console '%s': expected uart or virtio", v);
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "02:ab:cd:ef:01:23": six bytes in hex, colon-separated. */
static int parse_mac(const char *text, size_t len, uint8_t mac[6])
{
	if (len != 17)
		return -EINVAL;
	for (unsigned i = 0; i < 6; i++) {
		int hi = hex_digit(text[3 * i]), lo = hex_digit(text[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && text[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* One sub-option of --net, @len bytes at @opt. */
static int set_net_suboption(struct vm_net_config *net, const char *v, const char *opt, size_t len,
			     char *err, size_t errlen)
{
	if (len >= 4 && memcmp(opt, "tap=", 4) == 0) {
		const char *name = opt + 4;
		size_t name_len = len - 4;

		if (name_len == 0)
			return fail(err, errlen, "--net '%s': the tap name must not be empty", v);
		if (name_len > VM_NET_NAME_MAX)
			return fail(err, errlen,
				    "--net '%s': tap name '%.*s' is longer than %d bytes", v,
				    (int)name_len, name, VM_NET_NAME_MAX);
		if (memchr(name, '/', name_len) || memchr(name, ' ', name_len))
			return fail(err, errlen, "--net '%s': '%.*s' is not an interface name", v,
				    (int)name_len, name);
		memset(net->tap, 0, sizeof(net->tap));
		memcpy(net->tap, name, name_len);
	} else if (len >= 4 && memcmp(opt, "mac=", 4) == 0) {
		uint8_t *m = net->mac;

		if (parse_mac(opt + 4, len - 4, m) < 0)
			return fail(err, errlen,
				    "--net '%s': MAC '%.*s': expected six hex bytes such as "
				    "02:00:00:00:00:01",
				    v, (int)(len - 4), opt + 4);
		if ((m[0] & 1) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
			return fail(err, errlen, "--net '%s': MAC '%.*s' is not a unicast address",
				    v, (int)(len - 4), opt + 4);
		net->has_mac = true;
	} else {
		return fail(err, errlen,
			    "--net '%s': unknown sub-option '%.*s' (expected tap=NAME or mac=MAC)",
			    v, (int)len, opt);
	}
	return 0;
}

/* --net tap=NAME[,mac=MAC] */
static int set_net(struct run_options *o, const char *v, char *err, size_t errlen)
{
	struct vm_net_config net = {0};
	const char *opt = v;
	int ret;

	if (o->vm.nr_nets == VM_MAX_NETS)
		return fail(err, errlen, "--net '%s': at most %d network devices", v, VM_MAX_NETS);
	while (opt) {
		const char *end = strchr(opt, ',');

		ret = set_net_suboption(&net, v, opt, end ? (size_t)(end - opt) : strlen(opt), err,
					errlen);
		if (ret < 0)
			return ret;
		opt = end ? end + 1 : NULL;
	}
	if (net.tap[0] == '\0')
		return fail(err, errlen, "--net '%s': no tap=NAME given", v);
	for (unsigned i = 0; i < o->vm.nr_nets; i++) {
		if (strcmp(o->vm.nets[i].tap, net.tap) == 0)
			return fail(err, errlen,
				    "--net '%s': tap %s is already used by another --net", v,
				    net.tap);
	}
	o->vm.nets[o->vm.nr_nets++] = net;
	return 0;
}

const struct option_spec option_specs[] = {
	{"kernel", 'k', OPTION_VALUE, "FILE",
	 "kernel image (arm64 Image; x86_64 ELF64 test kernel)", set_kernel},
	{"initrd", 'i', OPTION_VALUE, "FILE", "initial ramdisk", set_initrd},
	{"cmdline", 'p', OPTION_VALUE, "TEXT", "kernel command line", set_cmdline},
	{"cpus", 'c', OPTION_VALUE, "N", "number of vCPUs (default 1)", set_cpus},
	{"memory", 'm', OPTION_VALUE, "SIZE",
	 "guest RAM; MiB, or with a K/M/G suffix (default 256M)", set_memory},
	{"console-log", 0, OPTION_VALUE, "FILE", "also write the guest console to FILE",
	 set_console_log},
	{"no-stdio", 0, OPTION_FLAG, NULL, "do not connect the console to stdin/stdout",
	 set_no_stdio},
	{"timeout", 0, OPTION_VALUE, "SECONDS", "stop the guest after SECONDS (exit code 124)",
	 set_timeout},
	{"expect", 0, OPTION_VALUE, "TEXT",
	 "succeed (exit code 0) as soon as the console shows TEXT", set_expect},
	{"dump-dtb", 0, OPTION_VALUE, "FILE", "write the generated device tree to FILE (arm64)",
	 set_dump_dtb},
	{"log-level", 0, OPTION_VALUE, "LEVEL", "error, warn (default), info or debug",
	 set_log_level},
	{"stats", 0, OPTION_FLAG, NULL, "print memory and exit statistics at exit", set_stats},
	{"api-socket", 0, OPTION_VALUE, "PATH", "serve the JSON control protocol on a Unix socket",
	 set_api_socket},
	{"stop-timeout", 0, OPTION_VALUE, "SECONDS",
	 "grace time after the power button before a hard stop (default 10)", set_stop_timeout},
	{"rng", 0, OPTION_FLAG, NULL, "give the guest a virtio-rng entropy device", set_rng},
	{"disk", 0, OPTION_LIST, "PATH[,OPTS]",
	 "raw disk image as a virtio-blk device (up to 8); OPTS: ro, direct, serial=ID", set_disk},
	{"console", 0, OPTION_VALUE, "uart|virtio",
	 "guest console device: the UART (default) or virtio-console (pass console=hvc0)",
	 set_console},
	{"net", 0, OPTION_LIST, "tap=NAME[,mac=MAC]",
	 "virtio-net device on an existing tap interface (up to 4)", set_net},
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
	if (spec->kind != OPTION_FLAG && !value)
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
