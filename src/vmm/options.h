/* Every setting of `kvmkit run`, in one table shared by the command line, the
 * JSON config file and the embedding API, so a setting is parsed, checked and
 * explained the same way wherever it comes from. Values are borrowed, not
 * copied: they must outlive the options they are applied to. */
#ifndef KVMKIT_OPTIONS_H
#define KVMKIT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/config.h"
#include "vmm/log.h"

struct run_options {
	struct vm_config vm;
	enum log_level log_level;
};

enum option_kind {
	OPTION_VALUE, /* takes a value: --memory 512M */
	OPTION_FLAG,  /* takes none: --stats */
	OPTION_LIST,  /* takes a value, each use adds one more: --disk; a list in JSON */
};

struct option_spec {
	const char *name; /* long name without dashes, also the config file key */
	char short_name;  /* 0 if none */
	enum option_kind kind;
	const char *arg; /* placeholder in the help text, e.g. "SIZE" */
	const char *help;
	/* Applies @value (NULL for flags). Returns 0, or -EINVAL with a message that
	 * names the option and the value in @err. */
	int (*apply)(struct run_options *opts, const char *value, char *err, size_t errlen);
};

extern const struct option_spec option_specs[];
extern const unsigned nr_option_specs;

void run_options_defaults(struct run_options *opts);

/* The spec called @name, or NULL. */
const struct option_spec *option_find(const char *name);

/* Looks @name up and applies @value; an unknown name is an error naming it. */
int option_apply(struct run_options *opts, const char *name, const char *value, char *err,
		 size_t errlen);

/* Appends the option lines of the help text to @buf. */
void option_help(char *buf, size_t len);

#endif
