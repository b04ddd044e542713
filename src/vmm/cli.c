#include "vmm/cli.h"

#include "arch/arch.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char cli_usage[] =
	"Usage: kvmkit run -k IMAGE [options]\n"
	"       kvmkit --help | --version\n"
	"\n"
	"Boots a Linux guest on /dev/kvm.\n"
	"\n"
	"  -k, --kernel FILE        kernel image (arm64 Image; x86_64 ELF64 test kernel)\n"
	"  -i, --initrd FILE        initial ramdisk\n"
	"  -p, --cmdline TEXT       kernel command line\n"
	"  -c, --cpus N             number of vCPUs (default 1)\n"
	"  -m, --memory SIZE        guest RAM; MiB, or with a K/M/G suffix (default 256M)\n"
	"      --console-log FILE   also write the guest console to FILE\n"
	"      --no-stdio           do not connect the console to stdin/stdout\n"
	"      --timeout SECONDS    stop the guest after SECONDS (exit code 124)\n"
	"      --expect TEXT        succeed (exit code 0) as soon as the console shows TEXT\n"
	"      --dump-dtb FILE      write the generated device tree to FILE (arm64)\n"
	"      --log-level LEVEL    error, warn (default), info or debug\n"
	"      --stats              print memory and exit statistics at exit\n"
	"  -h, --help               this text\n"
	"  -V, --version            kvmkit's version\n"
	"\n"
	"Exit codes: 0 guest powered off or TEXT seen, 1 internal error, 2 bad usage or\n"
	"input, 3 guest reset, 4 guest crash, 124 timeout, 130/143 interrupted by SIGINT/SIGTERM.\n"
	"In a terminal, Ctrl-A x quits and Ctrl-A Ctrl-A sends Ctrl-A.\n";

#define SHORT_OPTIONS ":k:i:p:c:m:hV"

enum {
	OPT_CONSOLE_LOG = 256,
	OPT_TIMEOUT,
	OPT_EXPECT,
	OPT_DUMP_DTB,
	OPT_LOG_LEVEL,
	OPT_STATS,
	OPT_NO_STDIO,
};

static const struct option run_options[] = {
	{"kernel", required_argument, NULL, 'k'},
	{"initrd", required_argument, NULL, 'i'},
	{"cmdline", required_argument, NULL, 'p'},
	{"cpus", required_argument, NULL, 'c'},
	{"memory", required_argument, NULL, 'm'},
	{"console-log", required_argument, NULL, OPT_CONSOLE_LOG},
	{"no-stdio", no_argument, NULL, OPT_NO_STDIO},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"expect", required_argument, NULL, OPT_EXPECT},
	{"dump-dtb", required_argument, NULL, OPT_DUMP_DTB},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"stats", no_argument, NULL, OPT_STATS},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

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

static int parse_run(int argc, char **argv, struct cli_options *opts, char *err, size_t errlen)
{
	struct vm_config *vm = &opts->vm;
	unsigned long value;
	int opt, longindex;

	/* 0, not 1: glibc then also forgets its place inside a group of short
	 * options from an earlier argv. */
	optind = 0;
	opterr = 0;
	for (;;) {
		longindex = -1;
		opt = getopt_long(argc, argv, SHORT_OPTIONS, run_options, &longindex);
		if (opt == -1)
			break;
		switch (opt) {
		case 'k': vm->kernel_path = optarg; break;
		case 'i': vm->initrd_path = optarg; break;
		case 'p': vm->cmdline = optarg; break;
		case 'c':
			if (parse_uint(optarg, 1, VM_MAX_CPUS, &value) < 0)
				return fail(err, errlen, "--cpus '%s': expected a number from 1 to %d",
					    optarg, VM_MAX_CPUS);
			vm->nr_cpus = (unsigned)value;
			break;
		case 'm':
			if (parse_mem_size(optarg, &vm->mem_size) < 0)
				return fail(err, errlen,
					    "--memory '%s': expected a size such as 256, 512M or 2G",
					    optarg);
			if (vm->mem_size < VM_MIN_MEM)
				return fail(err, errlen, "--memory '%s': kvmkit needs at least %lluM",
					    optarg, (unsigned long long)(VM_MIN_MEM >> 20));
			if (vm->mem_size > arch_max_ram())
				return fail(err, errlen, "--memory '%s': above the %lluM the %s layout allows",
					    optarg, (unsigned long long)(arch_max_ram() >> 20),
					    arch_name());
			break;
		case OPT_CONSOLE_LOG: vm->console_log_path = optarg; break;
		case OPT_NO_STDIO: vm->console_stdio = false; break;
		case OPT_TIMEOUT:
			if (parse_uint(optarg, 1, 31 * 24 * 3600, &value) < 0)
				return fail(err, errlen,
					    "--timeout '%s': expected whole seconds from 1 to 2678400",
					    optarg);
			vm->timeout_sec = (unsigned)value;
			break;
		case OPT_EXPECT:
			if (optarg[0] == '\0')
				return fail(err, errlen, "--expect: the text must not be empty");
			vm->expect = optarg;
			break;
		case OPT_DUMP_DTB: vm->dump_dtb_path = optarg; break;
		case OPT_LOG_LEVEL:
			if (log_level_parse(optarg, &opts->log_level) < 0)
				return fail(err, errlen,
					    "--log-level '%s': expected error, warn, info or debug",
					    optarg);
			break;
		case OPT_STATS: vm->print_stats = true; break;
		case 'h': opts->action = CLI_HELP; return 0;
		case 'V': opts->action = CLI_VERSION; return 0;
		case ':':
			return fail(err, errlen, "'%s' needs a value", argv[optind - 1]);
		default:
			if (optopt >= 256 && strchr(argv[optind - 1], '=')) {
				int n = (int)(strchr(argv[optind - 1], '=') - argv[optind - 1]);

				return fail(err, errlen, "'%.*s' takes no value", n, argv[optind - 1]);
			}
			/* For long options glibc sets optopt to their value, not a letter. */
			if (optopt > 0 && optopt < 256 && !strchr(SHORT_OPTIONS, optopt))
				return fail(err, errlen, "unknown option '-%c'", optopt);
			return fail(err, errlen, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s'", argv[optind]);
	if (!vm->kernel_path)
		return fail(err, errlen, "no kernel given: use -k/--kernel FILE");
	return 0;
}

int cli_parse(int argc, char **argv, struct cli_options *opts, char *err, size_t errlen)
{
	*opts = (struct cli_options){.action = CLI_RUN, .log_level = LOG_WARN};
	vm_config_defaults(&opts->vm);
	err[0] = '\0';

	if (argc < 2)
		return fail(err, errlen, "no command given: try 'kvmkit run -k IMAGE' or 'kvmkit --help'");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		opts->action = CLI_HELP;
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		opts->action = CLI_VERSION;
		return 0;
	}
	if (strcmp(argv[1], "run") != 0)
		return fail(err, errlen, "unknown command '%s': try 'kvmkit --help'", argv[1]);
	return parse_run(argc - 1, argv + 1, opts, err, errlen);
}
