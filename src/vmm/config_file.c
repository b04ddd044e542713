/* kvmkit run --config FILE.json: one JSON object whose keys are the long
 * option names. json-c parses; each key then goes through the same setter as
 * the command line, so the file accepts exactly what the flags accept. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/api.h"

/* A config file is a few hundred bytes; this only stops a wrong path from
 * reading a disk image into memory. */
#define CONFIG_FILE_MAX (1 << 20)

static int read_file(const char *path, char **out, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "--config %s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_FILE_MAX) {
		ret = -EINVAL;
		snprintf(err, errlen, "--config %s: not a regular file of at most %d bytes", path,
			 CONFIG_FILE_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		snprintf(err, errlen, "--config %s: out of memory", path);
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			snprintf(err, errlen, "--config %s: %s", path,
				 n < 0 ? strerror(errno) : "the file shrank while being read");
			free(buf);
			goto out;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
out:
	close(fd);
	return ret;
}

/* Turns one JSON value into the text the setter takes; -EINVAL for a type the
 * setting cannot have. @skip is set for a flag that is false. */
static int value_text(const struct option_spec *spec, struct json_object *v, char *num,
		      size_t numlen, const char **text, bool *skip)
{
	*skip = false;
	if (spec->kind == OPTION_FLAG) {
		if (!json_object_is_type(v, json_type_boolean))
			return -EINVAL;
		*skip = !json_object_get_boolean(v);
		*text = NULL;
		return 0;
	}
	if (spec->kind == OPTION_OPTIONAL && json_object_is_type(v, json_type_boolean)) {
		*skip = !json_object_get_boolean(v);
		*text = NULL;
		return 0;
	}
	switch (json_object_get_type(v)) {
	case json_type_string: *text = json_object_get_string(v); return 0;
	case json_type_int:
		/* Negative numbers pass through: the setter rejects them by name. */
		snprintf(num, numlen, "%" PRId64, json_object_get_int64(v));
		*text = num;
		return 0;
	default: return -EINVAL;
	}
}

/* One value of @key, as if its flag had been given once on the command line. */
static int apply_value(const char *path, const char *key, const struct option_spec *spec,
		       struct json_object *value, config_file_set_fn set, void *ctx, char *err,
		       size_t errlen)
{
	char why[512], num[32];
	const char *text;
	bool skip;
	int ret;

	if (value_text(spec, value, num, sizeof(num), &text, &skip) < 0) {
		snprintf(err, errlen, "%s: key '%s': expected %s, not %s", path, key,
			 spec->kind == OPTION_FLAG       ? "true or false"
			 : spec->kind == OPTION_LIST     ? "a string or a list of strings"
			 : spec->kind == OPTION_OPTIONAL ? "true, false or a string"
							 : "a string or a whole number",
			 json_type_to_name(json_object_get_type(value)));
		return -EINVAL;
	}
	if (skip)
		return 0;
	ret = set(ctx, key, text, why, sizeof(why));
	if (ret < 0)
		snprintf(err, errlen, "%s: key '%s': %s", path, key, why);
	return ret;
}

static int apply_object(const char *path, struct json_object *root, config_file_set_fn set,
			void *ctx, char *err, size_t errlen)
{
	json_object_object_foreach(root, key, value)
	{
		const struct option_spec *spec = option_find(key);
		int ret = 0;

		if (!spec) {
			snprintf(err, errlen, "%s: unknown key '%s'", path, key);
			return -EINVAL;
		}
		/* For a repeatable setting a list stands for the flag given once per
		 * element, in order: "disk": ["a.img", "b.img,ro"]. */
		if (spec->kind == OPTION_LIST && json_object_is_type(value, json_type_array)) {
			size_t n = json_object_array_length(value);

			for (size_t i = 0; ret == 0 && i < n; i++)
				ret = apply_value(path, key, spec,
						  json_object_array_get_idx(value, i), set, ctx,
						  err, errlen);
		} else {
			ret = apply_value(path, key, spec, value, set, ctx, err, errlen);
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

int config_file_parse(const char *label, const char *text, config_file_set_fn set, void *ctx,
		      char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *root = NULL;
	enum json_tokener_error jerr;
	const char *path = label;
	size_t len;
	int ret;

	tok = json_tokener_new();
	if (!tok) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	/* Strict: JSON as the RFC has it, no single quotes or trailing commas. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	len = strlen(text);
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!root || jerr != json_tokener_success) {
		snprintf(err, errlen, "%s: not valid JSON at byte %zu: %s", path,
			 json_tokener_get_parse_end(tok),
			 jerr == json_tokener_continue || jerr == json_tokener_success
				 ? "the text ends before the object does"
				 : json_tokener_error_desc(jerr));
		ret = -EINVAL;
		goto out;
	}
	/* Only white space may follow the object. */
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
		if (!strchr(" \t\r\n", text[i])) {
			snprintf(err, errlen, "%s: unexpected text after the object at byte %zu",
				 path, i);
			ret = -EINVAL;
			goto out;
		}
	}
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(err, errlen, "%s: expected one JSON object of settings, not %s", path,
			 json_type_to_name(json_object_get_type(root)));
		ret = -EINVAL;
		goto out;
	}
	ret = apply_object(path, root, set, ctx, err, errlen);
out:
	json_object_put(root);
	json_tokener_free(tok);
	return ret;
}

int config_file_load(const char *path, config_file_set_fn set, void *ctx, char *err, size_t errlen)
{
	char label[512];
	char *text = NULL;
	int ret = read_file(path, &text, err, errlen);

	if (ret < 0)
		return ret;
	snprintf(label, sizeof(label), "--config %s", path);
	ret = config_file_parse(label, text, set, ctx, err, errlen);
	free(text);
	return ret;
}
