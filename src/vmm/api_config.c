/* The config builder of the public API: every setting goes through the one
 * option table (options.c), so the CLI, the JSON file and embedders parse and
 * check a value the same way. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api.h"

static int config_fail(struct kvmkit_config *cfg, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int config_fail(struct kvmkit_config *cfg, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cfg->error, sizeof(cfg->error), fmt, ap);
	va_end(ap);
	return err;
}

unsigned kvmkit_option_count(void) { return option_count(); }

int kvmkit_option_get(unsigned index, struct kvmkit_option_info *info)
{
	const struct option_spec *spec;

	if (!info)
		return -EINVAL;
	spec = option_at(index);
	if (!spec)
		return -ENOENT;
	*info = (struct kvmkit_option_info){
		.name = spec->name,
		.short_name = spec->short_name,
		.takes_value = spec->kind != OPTION_FLAG,
		.value_name = spec->arg,
		.help = spec->help,
	};
	return 0;
}

int kvmkit_option_value_optional(unsigned index)
{
	const struct option_spec *spec = option_at(index);

	if (!spec)
		return -ENOENT;
	return spec->kind == OPTION_OPTIONAL;
}

int kvmkit_config_new(struct kvmkit_config **out)
{
	struct kvmkit_config *cfg;

	api_log_init();
	if (!out)
		return -EINVAL;
	*out = NULL;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	run_options_defaults(&cfg->opts);
	/* A library prints nothing unless asked: no console on stdio. */
	cfg->opts.vm.console_stdio = false;
	*out = cfg;
	return 0;
}

void kvmkit_config_free(struct kvmkit_config *cfg)
{
	if (!cfg)
		return;
	for (unsigned i = 0; i < cfg->nr_settings; i++) {
		free(cfg->settings[i].name);
		free(cfg->settings[i].value);
	}
	free(cfg->settings);
	free(cfg);
}

static int record(struct kvmkit_config *cfg, char *name, char *value, bool on)
{
	if (cfg->nr_settings == cfg->cap_settings) {
		unsigned cap = cfg->cap_settings ? 2 * cfg->cap_settings : 16;
		struct api_setting *grown = realloc(cfg->settings, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		cfg->settings = grown;
		cfg->cap_settings = cap;
	}
	cfg->settings[cfg->nr_settings++] = (struct api_setting){
		.name = name,
		.value = value,
		.on = on,
	};
	return 0;
}

int kvmkit_config_set(struct kvmkit_config *cfg, const char *name, const char *value)
{
	const struct option_spec *spec;
	char *name_copy, *value_copy = NULL;
	int ret;

	if (!cfg)
		return -EINVAL;
	cfg->error[0] = '\0';
	if (!name)
		return config_fail(cfg, -EINVAL, "no setting name given");
	spec = option_find(name);
	if (!spec)
		return config_fail(cfg, -EINVAL, "unknown setting '%s'", name);
	if (spec->kind == OPTION_FLAG) {
		if (value && strcmp(value, "false") == 0)
			return 0;
		if (value && strcmp(value, "true") != 0)
			return config_fail(
				cfg, -EINVAL,
				"--%s is a flag: it takes no value (or true/false), not '%s'", name,
				value);
		value = NULL;
	} else if (spec->kind == OPTION_OPTIONAL) {
		if (value && strcmp(value, "false") == 0)
			return 0;
		if (value && strcmp(value, "true") == 0)
			value = NULL;
	} else if (!value) {
		return config_fail(cfg, -EINVAL, "--%s needs a value", name);
	}
	name_copy = strdup(name);
	if (value)
		value_copy = strdup(value);
	if (!name_copy || (value && !value_copy)) {
		ret = config_fail(cfg, -ENOMEM, "out of memory");
		goto fail;
	}
	/* The options keep pointing at the copy, which the config owns. */
	ret = option_apply(&cfg->opts, name_copy, value_copy, cfg->error, sizeof(cfg->error));
	if (ret < 0)
		goto fail;
	ret = record(cfg, name_copy, value_copy, false);
	if (ret < 0) {
		config_fail(cfg, ret, "out of memory");
		goto fail;
	}
	return 0;
fail:
	free(name_copy);
	free(value_copy);
	return ret;
}

int kvmkit_config_set_console_stdio(struct kvmkit_config *cfg, bool on)
{
	int ret;

	if (!cfg)
		return -EINVAL;
	cfg->error[0] = '\0';
	ret = record(cfg, NULL, NULL, on);
	if (ret < 0)
		return config_fail(cfg, ret, "out of memory");
	cfg->opts.vm.console_stdio = on;
	return 0;
}

static int set_from_file(void *ctx, const char *name, const char *value, char *err, size_t errlen)
{
	struct kvmkit_config *cfg = ctx;
	int ret = kvmkit_config_set(cfg, name, value);

	if (ret < 0)
		snprintf(err, errlen, "%s", cfg->error);
	return ret;
}

int kvmkit_config_load_file(struct kvmkit_config *cfg, const char *path)
{
	char err[sizeof(cfg->error)];
	int ret;

	if (!cfg)
		return -EINVAL;
	cfg->error[0] = '\0';
	if (!path)
		return config_fail(cfg, -EINVAL, "no config file given");
	ret = config_file_load(path, set_from_file, cfg, err, sizeof(err));
	if (ret < 0)
		snprintf(cfg->error, sizeof(cfg->error), "%s", err);
	return ret;
}

int kvmkit_config_is_set(const struct kvmkit_config *cfg, const char *name)
{
	if (!cfg || !name || !option_find(name))
		return -EINVAL;
	for (unsigned i = 0; i < cfg->nr_settings; i++) {
		if (cfg->settings[i].name && strcmp(cfg->settings[i].name, name) == 0)
			return 1;
	}
	return 0;
}

const char *kvmkit_config_last_error(const struct kvmkit_config *cfg)
{
	return cfg ? cfg->error : "no config given";
}

const struct run_options *api_config_options(const struct kvmkit_config *cfg) { return &cfg->opts; }

int api_config_clone(const struct kvmkit_config *src, struct kvmkit_config **out)
{
	struct kvmkit_config *cfg;
	int ret = kvmkit_config_new(&cfg);

	if (ret < 0)
		return ret;
	for (unsigned i = 0; ret == 0 && i < src->nr_settings; i++) {
		const struct api_setting *s = &src->settings[i];

		if (s->name)
			ret = kvmkit_config_set(cfg, s->name, s->value);
		else
			ret = kvmkit_config_set_console_stdio(cfg, s->on);
	}
	if (ret < 0) {
		kvmkit_config_free(cfg);
		return ret;
	}
	*out = cfg;
	return 0;
}
