/* Command-line parsing for `kvmkit run` and `kvmkit ctl`, through the public
 * API only (the option table comes from kvmkit_option_get()), and free of side
 * effects so the unit tests can drive it. */
#ifndef KVMKIT_CLI_H
#define KVMKIT_CLI_H

#include <stddef.h>

#include "kvmkit/kvmkit.h"

/* Process exit codes of `kvmkit run`, documented in kvmkit(1). */
enum kvmkit_exit_code {
	EXIT_CODE_POWEROFF = 0, /* guest powered off, or --expect text seen */
	EXIT_CODE_INTERNAL = 1, /* kvmkit or KVM failed */
	EXIT_CODE_USAGE = 2,    /* bad command line or input file */
	EXIT_CODE_RESET = 3,    /* guest asked for a reset/reboot */
	EXIT_CODE_CRASH = 4,    /* guest crashed or panicked */
	EXIT_CODE_KILLED = 5,   /* stopped hard: ctl kill, or stop's grace time expired */
	EXIT_CODE_TIMEOUT = 124 /* --timeout expired, as timeout(1) */
};

/* Exit codes of `kvmkit ctl`. */
enum kvmkit_ctl_exit_code {
	CTL_EXIT_OK = 0,    /* the VM answered "ok": true */
	CTL_EXIT_NO_VM = 1, /* no VM answered on the socket */
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_REFUSED = 3, /* the VM answered with an error */
};

enum cli_action { CLI_RUN, CLI_CTL, CLI_HELP, CLI_VERSION };

struct cli_options {
	enum cli_action action;
	struct kvmkit_config *config; /* CLI_RUN: the settings; cli_options_free() */
	const char *socket_path;      /* CLI_CTL: borrowed from argv */
	const char *command;          /* CLI_CTL: "status", ...; NULL with --send */
	const char *send_text;        /* CLI_CTL: a raw request line */
	int timeout_ms;               /* CLI_CTL: for the reply; -1 waits for ever */
	unsigned seconds;             /* CLI_CTL dirty-rate: the window; 0 when not given */
	const char *snapshot_path;    /* CLI_CTL snapshot: the directory */
	const char *then;             /* CLI_CTL snapshot --then: resume or stop; NULL */
	bool diff;                    /* CLI_CTL snapshot --diff */
};

/* Parses argv (argv[0] is the program, argv[1] the subcommand). Returns 0 and
 * fills @opts, or a negative errno with a one-line message naming the bad
 * value in @err. Call cli_options_free() afterwards in both cases. */
int cli_parse(int argc, char **argv, struct cli_options *opts, char *err, size_t errlen);
void cli_options_free(struct cli_options *opts);

/* Writes the --help text into @buf. */
void cli_usage(char *buf, size_t len);

#endif
