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
#include "vmm/option_spec.h"

struct run_options {
	struct vm_config vm;
	enum log_level log_level;
};

/* Every setting: the machine's own (options.c) and the device types'
 * (vmm/device_type.h). option_at() is NULL past the last. */
unsigned option_count(void);
const struct option_spec *option_at(unsigned index);

void run_options_defaults(struct run_options *opts);

/* The spec called @name, or NULL. */
const struct option_spec *option_find(const char *name);

/* The scope of @spec: a device's setting is always the machine's. */
enum option_scope option_scope(const struct option_spec *spec);

/* Looks @name up and applies @value; an unknown name is an error naming it. */
int option_apply(struct run_options *opts, const char *name, const char *value, char *err,
		 size_t errlen);

/* Appends the option lines of the help text to @buf. */
void option_help(char *buf, size_t len);

#endif
