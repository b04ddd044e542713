/* Command-line parsing for `kvmkit run`, kept free of side effects so the unit
 * tests can drive it: it fills a vm_config or explains what was wrong. */
#ifndef KVMKIT_CLI_H
#define KVMKIT_CLI_H

#include <stddef.h>

#include "vmm/options.h"

/* Process exit codes, documented in kvmkit(1). */
enum kvmkit_exit_code {
	EXIT_CODE_POWEROFF = 0, /* guest powered off, or --expect text seen */
	EXIT_CODE_INTERNAL = 1, /* kvmkit or KVM failed */
	EXIT_CODE_USAGE = 2,    /* bad command line or input file */
	EXIT_CODE_RESET = 3,    /* guest asked for a reset/reboot */
	EXIT_CODE_CRASH = 4,    /* guest crashed or panicked */
	EXIT_CODE_TIMEOUT = 124 /* --timeout expired, as timeout(1) */
};

enum cli_action { CLI_RUN, CLI_HELP, CLI_VERSION };

struct cli_options {
	enum cli_action action;
	struct run_options run;
};

/* Parses argv (argv[0] is the program, argv[1] the subcommand). Returns 0 and
 * fills @opts, or -EINVAL with a one-line message naming the bad value in @err. */
int cli_parse(int argc, char **argv, struct cli_options *opts, char *err, size_t errlen);

/* Writes the --help text into @buf. */
void cli_usage(char *buf, size_t len);

#endif
