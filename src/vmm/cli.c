#include "vmm/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cli_usage(char *buf, size_t len)
{
	snprintf(buf, len,
		 "Usage: kvmkit run -k IMAGE [options]\n"
		 "       kvmkit --help | --version\n"
		 "\n"
		 "Boots a Linux guest on /dev/kvm.\n"
		 "\n");
	option_help(buf, len);
	snprintf(buf + strlen(buf), len - strlen(buf),
		 "  -h, --help               this text\n"
		 "  -V, --version            kvmkit's version\n"
		 "\n"
		 "Exit codes: 0 guest powered off or TEXT seen, 1 internal error, 2 bad usage or\n"
		 "input, 3 guest reset, 4 guest crash, 124 timeout, 130/143 interrupted by\n"
		 "SIGINT/SIGTERM. In a terminal, Ctrl-A x quits and Ctrl-A Ctrl-A sends Ctrl-A.\n");
}

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

/* getopt values: 'h' and 'V', short letters, or OPT_SPEC_BASE + table index. */
#define OPT_SPEC_BASE 256
#define MAX_OPTIONS 64

static void build_getopt_tables(struct option *longopts, char *shortopts)
{
	unsigned n = 0;
	char *s = shortopts;

	*s++ = ':';
	for (unsigned i = 0; i < nr_option_specs && n < MAX_OPTIONS - 3; i++) {
		const struct option_spec *spec = &option_specs[i];

		longopts[n++] = (struct option){
			.name = spec->name,
			.has_arg = spec->kind == OPTION_VALUE ? required_argument : no_argument,
			.val = (int)(OPT_SPEC_BASE + i),
		};
		if (spec->short_name) {
			*s++ = spec->short_name;
			if (spec->kind == OPTION_VALUE)
				*s++ = ':';
		}
	}
	longopts[n++] = (struct option){.name = "help", .val = 'h'};
	longopts[n++] = (struct option){.name = "version", .val = 'V'};
	longopts[n] = (struct option){0};
	*s++ = 'h';
	*s++ = 'V';
	*s = '\0';
}

static const struct option_spec *spec_for_short(int c)
{
	for (unsigned i = 0; i < nr_option_specs; i++) {
		if (option_specs[i].short_name == c)
			return &option_specs[i];
	}
	return NULL;
}

static int parse_run(int argc, char **argv, struct cli_options *opts, char *err, size_t errlen)
{
	struct option longopts[MAX_OPTIONS];
	char shortopts[2 * MAX_OPTIONS + 4];
	const struct option_spec *spec;
	int opt, ret;

	build_getopt_tables(longopts, shortopts);
	/* 0, not 1: glibc then also forgets its place inside a group of short
	 * options from an earlier argv. */
	optind = 0;
	opterr = 0;
	for (;;) {
		opt = getopt_long(argc, argv, shortopts, longopts, NULL);
		if (opt == -1)
			break;
		if (opt == 'h') {
			opts->action = CLI_HELP;
			return 0;
		}
		if (opt == 'V') {
			opts->action = CLI_VERSION;
			return 0;
		}
		if (opt == ':')
			return fail(err, errlen, "'%s' needs a value", argv[optind - 1]);
		if (opt == '?') {
			const char *word = argv[optind - 1];

			if (optopt >= OPT_SPEC_BASE && strchr(word, '='))
				return fail(err, errlen, "'%.*s' takes no value",
					    (int)(strchr(word, '=') - word), word);
			/* For long options glibc sets optopt to their value, not a letter. */
			if (optopt > 0 && optopt < OPT_SPEC_BASE && !strchr(shortopts, optopt))
				return fail(err, errlen, "unknown option '-%c'", optopt);
			return fail(err, errlen, "unknown option '%s'", word);
		}
		spec = opt >= OPT_SPEC_BASE ? &option_specs[opt - OPT_SPEC_BASE] : spec_for_short(opt);
		ret = spec->apply(&opts->run, spec->kind == OPTION_VALUE ? optarg : NULL, err, errlen);
		if (ret < 0)
			return ret;
	}
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s'", argv[optind]);
	if (!opts->run.vm.kernel_path)
		return fail(err, errlen, "no kernel given: use -k/--kernel FILE");
	return 0;
}

int cli_parse(int argc, char **argv, struct cli_options *opts, char *err, size_t errlen)
{
	*opts = (struct cli_options){.action = CLI_RUN};
	run_options_defaults(&opts->run);
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
