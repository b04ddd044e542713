#include "vmm/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/vm_dirty.h"

/* getopt values: 'h' and 'V', short letters, OPT_CONFIG, or OPT_SPEC_BASE +
 * the setting's index. */
#define OPT_CONFIG 255
#define OPT_SPEC_BASE 256
#define MAX_OPTIONS 64
/* kvmkit ctl snapshot: writing and syncing all of guest RAM may take a while. */
#define CTL_SNAPSHOT_TIMEOUT_MS 300000

static int append(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;
	int n;

	if (used >= len)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
	return n;
}

static void usage_line(char *buf, size_t len, char short_name, const char *name, const char *arg,
		       const char *help)
{
	char left[48];
	/* An optional value ("[=MODE]") is written on to the name. */
	const char *sep = arg && arg[0] != '[' ? " " : "";

	if (short_name)
		snprintf(left, sizeof(left), "-%c, --%s%s%s", short_name, name, sep,
			 arg ? arg : "");
	else
		snprintf(left, sizeof(left), "    --%s%s%s", name, sep, arg ? arg : "");
	append(buf, len, "  %-23s  %s\n", left, help);
}

void cli_usage(char *buf, size_t len)
{
	struct kvmkit_option_info info;

	snprintf(buf, len,
		 "Usage: kvmkit run -k IMAGE [options]\n"
		 "       kvmkit ctl --socket PATH COMMAND\n"
		 "       kvmkit --help | --version\n"
		 "\n"
		 "Boots a Linux guest on /dev/kvm.\n"
		 "\n");
	for (unsigned i = 0; kvmkit_option_get(i, &info) == 0; i++)
		usage_line(buf, len, info.short_name, info.name, info.value_name, info.help);
	usage_line(buf, len, 0, "config", "FILE", "settings from a JSON file; flags override it");
	usage_line(buf, len, 'h', "help", NULL, "this text");
	usage_line(buf, len, 'V', "version", NULL, "kvmkit's version");
	append(buf, len,
	       "\n"
	       "kvmkit ctl talks to a VM started with --api-socket PATH; COMMAND is status,\n"
	       "pause, resume, stop (graceful), kill (hard), wait (for the exit reason),\n"
	       "snapshot DIR [--then resume|stop] [--diff] (write the VM to DIR, or with\n"
	       "--diff only the pages dirtied since its previous snapshot; restore it with\n"
	       "kvmkit run --restore DIR), dirty-start, dirty-stop or dirty-rate [--seconds N]\n"
	       "(pages/s the guest writes);\n"
	       "--send TEXT sends TEXT as the request line; --timeout SECONDS bounds connecting,\n"
	       "sending and the reply (30 by default; for wait, the reply is not bounded).\n"
	       "\n"
	       "Exit codes of run: 0 guest powered off or TEXT seen, 1 internal error, 2 bad\n"
	       "usage or input, 3 guest reset, 4 guest crash, 5 stopped hard (ctl kill, or stop's\n"
	       "grace time expired), 124 timeout, 130/143 ended by SIGINT/SIGTERM (SIGTERM first\n"
	       "presses the power button). In a terminal, Ctrl-A x quits and Ctrl-A Ctrl-A\n"
	       "sends Ctrl-A.\n");
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

static void build_run_tables(struct option *longopts, char *shortopts)
{
	struct kvmkit_option_info info;
	unsigned n = 0;
	char *s = shortopts;

	*s++ = ':';
	for (unsigned i = 0; n < MAX_OPTIONS - 4 && kvmkit_option_get(i, &info) == 0; i++) {
		longopts[n++] = (struct option){
			.name = info.name,
			.has_arg = kvmkit_option_value_optional(i) == 1 ? optional_argument
				   : info.takes_value                   ? required_argument
									: no_argument,
			.val = (int)(OPT_SPEC_BASE + i),
		};
		if (info.short_name) {
			*s++ = info.short_name;
			if (info.takes_value)
				*s++ = ':';
		}
	}
	longopts[n++] =
		(struct option){.name = "config", .has_arg = required_argument, .val = OPT_CONFIG};
	longopts[n++] = (struct option){.name = "help", .val = 'h'};
	longopts[n++] = (struct option){.name = "version", .val = 'V'};
	longopts[n] = (struct option){0};
	*s++ = 'h';
	*s++ = 'V';
	*s = '\0';
}

static int option_index_for_short(int c)
{
	struct kvmkit_option_info info;

	for (unsigned i = 0; kvmkit_option_get(i, &info) == 0; i++) {
		if (info.short_name == c)
			return (int)i;
	}
	return -1;
}

/* A getopt error: what was wrong with which word. */
static int getopt_error(int opt, char **argv, const char *shortopts, char *err, size_t errlen)
{
	const char *word = argv[optind - 1];

	if (opt == ':')
		return fail(err, errlen, "'%s' needs a value", word);
	if ((optopt >= OPT_SPEC_BASE || optopt == OPT_CONFIG || optopt == 'h' || optopt == 'V') &&
	    strchr(word, '='))
		return fail(err, errlen, "'%.*s' takes no value", (int)(strchr(word, '=') - word),
			    word);
	/* For long options glibc sets optopt to their value, not a letter. */
	if (optopt > 0 && optopt < OPT_CONFIG && !strchr(shortopts, optopt))
		return fail(err, errlen, "unknown option '-%c'", optopt);
	return fail(err, errlen, "unknown option '%s'", word);
}

/* Pass 1 settles --help/--version and applies every --config file, so that
 * pass 2's flags override the files wherever they stand. */
static int parse_run_pass(int argc, char **argv, struct cli_options *opts, bool configs, char *err,
			  size_t errlen)
{
	struct option longopts[MAX_OPTIONS];
	char shortopts[2 * MAX_OPTIONS + 4];
	struct kvmkit_option_info info;
	int opt, index, ret;

	build_run_tables(longopts, shortopts);
	/* 0, not 1: glibc then also forgets its place inside a group of short
	 * options from an earlier argv. */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (opt == ':' || opt == '?')
			return getopt_error(opt, argv, shortopts, err, errlen);
		if (opt == 'h' || opt == 'V') {
			opts->action = opt == 'h' ? CLI_HELP : CLI_VERSION;
			return 0;
		}
		if (opt == OPT_CONFIG) {
			if (configs && kvmkit_config_load_file(opts->config, optarg) < 0)
				return fail(err, errlen, "%s",
					    kvmkit_config_last_error(opts->config));
			continue;
		}
		if (configs)
			continue;
		index = opt >= OPT_SPEC_BASE ? opt - OPT_SPEC_BASE : option_index_for_short(opt);
		if (index < 0 || kvmkit_option_get((unsigned)index, &info) < 0)
			return fail(err, errlen, "unknown option '%s'", argv[optind - 1]);
		ret = kvmkit_config_set(opts->config, info.name, info.takes_value ? optarg : NULL);
		if (ret < 0)
			return fail(err, errlen, "%s", kvmkit_config_last_error(opts->config));
	}
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s'", argv[optind]);
	return 0;
}

static int parse_run(int argc, char **argv, struct cli_options *opts, char *err, size_t errlen)
{
	int ret;

	ret = kvmkit_config_new(&opts->config);
	if (ret < 0)
		return fail(err, errlen, "out of memory");
	ret = kvmkit_config_set_console_stdio(opts->config, true);
	if (ret == 0)
		ret = parse_run_pass(argc, argv, opts, true, err, errlen);
	if (ret == 0 && opts->action == CLI_RUN)
		ret = parse_run_pass(argc, argv, opts, false, err, errlen);
	if (ret < 0 || opts->action != CLI_RUN)
		return ret;
	if (kvmkit_config_is_set(opts->config, "kernel") != 1 &&
	    kvmkit_config_is_set(opts->config, "restore") != 1)
		return fail(err, errlen,
			    "no kernel given: use -k/--kernel FILE (or --restore DIR)");
	return 0;
}

/* Whole seconds of a dirty-rate window. */
static int parse_seconds(const char *text, unsigned *out)
{
	char *end;
	long sec;

	errno = 0;
	sec = strtol(text, &end, 10);
	if (errno || end == text || *end || sec < 1 || sec > DIRTY_RATE_MAX_SEC)
		return -EINVAL;
	*out = (unsigned)sec;
	return 0;
}

static int parse_timeout(const char *text, int *ms)
{
	char *end;
	long sec;

	errno = 0;
	sec = strtol(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno || sec < 1 || sec > 86400)
		return -EINVAL;
	*ms = (int)sec * 1000;
	return 0;
}

static int parse_ctl(int argc, char **argv, struct cli_options *opts, char *err, size_t errlen)
{
	static const struct option longopts[] = {
		{.name = "socket", .has_arg = required_argument, .val = 's'},
		{.name = "send", .has_arg = required_argument, .val = 'S'},
		{.name = "timeout", .has_arg = required_argument, .val = 't'},
		{.name = "seconds", .has_arg = required_argument, .val = 'n'},
		{.name = "then", .has_arg = required_argument, .val = 'T'},
		{.name = "diff", .val = 'D'},
		{.name = "help", .val = 'h'},
		{0},
	};
	bool timeout_given = false;
	int opt;

	opts->action = CLI_CTL;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":s:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': opts->socket_path = optarg; break;
		case 'S': opts->send_text = optarg; break;
		case 't':
			if (parse_timeout(optarg, &opts->timeout_ms) < 0)
				return fail(
					err, errlen,
					"--timeout '%s': expected whole seconds from 1 to 86400",
					optarg);
			timeout_given = true;
			break;
		case 'n':
			if (parse_seconds(optarg, &opts->seconds) < 0)
				return fail(err, errlen,
					    "--seconds '%s': expected whole seconds from 1 to %d",
					    optarg, DIRTY_RATE_MAX_SEC);
			break;
		case 'T':
			if (strcmp(optarg, "resume") != 0 && strcmp(optarg, "stop") != 0)
				return fail(err, errlen, "--then '%s': expected resume or stop",
					    optarg);
			opts->then = optarg;
			break;
		case 'D': opts->diff = true; break;
		case 'h': opts->action = CLI_HELP; return 0;
		default: return getopt_error(opt, argv, ":s:h", err, errlen);
		}
	}
	if (!opts->socket_path)
		return fail(err, errlen, "ctl: no socket given: use --socket PATH");
	if (optind < argc)
		opts->command = argv[optind++];
	if (opts->command && strcmp(opts->command, "snapshot") == 0) {
		if (optind == argc)
			return fail(err, errlen, "ctl: snapshot needs a directory: snapshot DIR");
		opts->snapshot_path = argv[optind++];
	}
	if (optind < argc)
		return fail(err, errlen, "ctl: unexpected argument '%s'", argv[optind]);
	if (!opts->command == !opts->send_text)
		return fail(
			err, errlen,
			"ctl: give one COMMAND (status, pause, resume, stop, kill, wait, snapshot, "
			"dirty-start, dirty-stop, dirty-rate) or --send TEXT");
	if (opts->seconds && (!opts->command || strcmp(opts->command, "dirty-rate") != 0))
		return fail(err, errlen, "ctl: --seconds goes with dirty-rate only");
	if (opts->then && !opts->snapshot_path)
		return fail(err, errlen, "ctl: --then goes with snapshot only");
	if (opts->diff && !opts->snapshot_path)
		return fail(err, errlen, "ctl: --diff goes with snapshot only");
	/* wait returns when the VM ends, which may take any time. */
	if (!timeout_given)
		opts->timeout_ms = opts->command && strcmp(opts->command, "wait") == 0 ? -1 : 30000;
	/* A snapshot writes all of guest RAM and syncs it before it answers. */
	if (!timeout_given && opts->snapshot_path)
		opts->timeout_ms = CTL_SNAPSHOT_TIMEOUT_MS;
	/* dirty-rate answers once its window has passed. */
	if (!timeout_given && opts->command && strcmp(opts->command, "dirty-rate") == 0)
		opts->timeout_ms += (int)(opts->seconds ? opts->seconds : 1) * 1000;
	return 0;
}

int cli_parse(int argc, char **argv, struct cli_options *opts, char *err, size_t errlen)
{
	*opts = (struct cli_options){.action = CLI_RUN};
	err[0] = '\0';

	if (argc < 2)
		return fail(err, errlen,
			    "no command given: try 'kvmkit run -k IMAGE' or 'kvmkit --help'");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		opts->action = CLI_HELP;
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		opts->action = CLI_VERSION;
		return 0;
	}
	if (strcmp(argv[1], "ctl") == 0)
		return parse_ctl(argc - 1, argv + 1, opts, err, errlen);
	if (strcmp(argv[1], "run") != 0)
		return fail(err, errlen, "unknown command '%s': try 'kvmkit --help'", argv[1]);
	return parse_run(argc - 1, argv + 1, opts, err, errlen);
}

void cli_options_free(struct cli_options *opts)
{
	kvmkit_config_free(opts->config);
	opts->config = NULL;
}
