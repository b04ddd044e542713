/* What a setting of `kvmkit run` is: its name, the value it takes, its help
 * line and how it is applied. options.c holds the machine's own settings;
 * each device type (vmm/device_type.h) carries the setting that asks for it.
 * Kept apart from options.h so device files can state their setting without
 * seeing the option table. */
#ifndef KVMKIT_OPTION_SPEC_H
#define KVMKIT_OPTION_SPEC_H

#include <stddef.h>

struct run_options;
struct device_type;

enum option_kind {
	OPTION_VALUE, /* takes a value: --memory 512M */
	OPTION_FLAG,  /* takes none: --stats */
	OPTION_LIST,  /* takes a value, each use adds one more: --disk; a list in JSON */
	/* may take a value: --nested or --nested=nvhe; true, false or a string
	 * in JSON */
	OPTION_OPTIONAL,
};

/* What a setting is part of, for snapshots (vmm/vm_snapshot.h): a snapshot
 * keeps the machine's settings and builds the same machine from them; boot
 * settings have no meaning for a restored guest; run settings (where the
 * console goes, the socket, timeouts) are the restoring process's own. */
enum option_scope {
	OPTION_SCOPE_RUN,
	OPTION_SCOPE_BOOT,
	OPTION_SCOPE_MACHINE, /* also every device's setting */
};

struct option_spec {
	const char *name; /* long name without dashes, also the config file key */
	char short_name;  /* 0 if none */
	enum option_kind kind;
	const char *arg; /* placeholder in the help text, e.g. "SIZE" */
	const char *help;
	/* Applies @value (NULL for flags). Returns 0, or -EINVAL with a message that
	 * names the option and the value in @err. NULL for a device's setting. */
	int (*apply)(struct run_options *opts, const char *value, char *err, size_t errlen);
	/* The device type this setting asks for, or NULL. */
	const struct device_type *device;
	enum option_scope scope; /* see option_scope() */
};

/* Writes the message into @err and returns -EINVAL: the one way a setting's
 * parser fails. */
int option_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
