/* Snapshots in the public API: kvmkit_vm_snapshot(), the settings a
 * snapshot keeps, and the "restore" setting, which builds the machine from
 * a snapshot's settings plus the restoring caller's own run settings. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api.h"
#include "vmm/device_type.h"
#include "vmm/vm_snapshot.h"

int api_machine_settings(const struct kvmkit_config *cfg, char **out)
{
	struct json_object *root = json_object_new_object();
	const char *text;
	int ret = 0;

	*out = NULL;
	if (!root)
		return -ENOMEM;
	for (unsigned i = 0; ret == 0 && i < cfg->nr_settings; i++) {
		const struct api_setting *s = &cfg->settings[i];
		const struct option_spec *spec = s->name ? option_find(s->name) : NULL;
		struct json_object *v, *list;

		if (!spec || option_scope(spec) != OPTION_SCOPE_MACHINE)
			continue;
		v = s->value ? json_object_new_string(s->value) : json_object_new_boolean(1);
		if (!v) {
			ret = -ENOMEM;
			break;
		}
		if (spec->kind != OPTION_LIST) {
			/* A later value replaces an earlier one, as it did. */
			ret = json_object_object_add(root, s->name, v) < 0 ? -ENOMEM : 0;
			continue;
		}
		if (!json_object_object_get_ex(root, s->name, &list)) {
			list = json_object_new_array();
			if (!list || json_object_object_add(root, s->name, list) < 0) {
				json_object_put(list);
				json_object_put(v);
				ret = -ENOMEM;
				break;
			}
		}
		ret = json_object_array_add(list, v) < 0 ? -ENOMEM : 0;
	}
	if (ret == 0) {
		text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
		*out = text ? strdup(text) : NULL;
		if (!*out)
			ret = -ENOMEM;
	}
	json_object_put(root);
	return ret;
}

/* The caller gave these with --restore (device settings that replace the
 * snapshot's, restore_replaces): the snapshot's own values of them are
 * counted, not applied. */
struct saved_settings {
	struct kvmkit_config *merged;
	const struct kvmkit_config *user;
	const char *replaced[VM_MAX_CONFIG_DEVICES];
	unsigned saved_count[VM_MAX_CONFIG_DEVICES];
	unsigned nr_replaced;
};

static int replaced_index(const struct saved_settings *ss, const char *name)
{
	for (unsigned i = 0; i < ss->nr_replaced; i++) {
		if (strcmp(ss->replaced[i], name) == 0)
			return (int)i;
	}
	return -1;
}

static int set_saved(void *ctx, const char *name, const char *value, char *err, size_t errlen)
{
	struct saved_settings *ss = ctx;
	int i = replaced_index(ss, name), ret;

	if (i >= 0) {
		ss->saved_count[i]++;
		return 0;
	}
	ret = kvmkit_config_set(ss->merged, name, value);
	if (ret < 0)
		snprintf(err, errlen, "%s", kvmkit_config_last_error(ss->merged));
	return ret;
}

/* Only run settings, and devices given anew (restore_replaces), may come
 * with --restore: what the machine is comes from the snapshot, a second
 * opinion would build a machine the saved guest does not know. */
static int check_user_settings(struct saved_settings *ss, char *err, size_t errlen)
{
	for (unsigned i = 0; i < ss->user->nr_settings; i++) {
		const char *name = ss->user->settings[i].name;
		const struct option_spec *spec = name ? option_find(name) : NULL;

		if (!spec || option_scope(spec) == OPTION_SCOPE_RUN)
			continue;
		if (spec->device && spec->device->restore_replaces) {
			if (replaced_index(ss, name) < 0 && ss->nr_replaced < VM_MAX_CONFIG_DEVICES)
				ss->replaced[ss->nr_replaced++] = spec->name;
			continue;
		}
		snprintf(err, errlen,
			 "--%s cannot be given with --restore: the snapshot's guest is %s, its "
			 "machine as it was",
			 spec->name,
			 option_scope(spec) == OPTION_SCOPE_BOOT ? "already loaded"
								 : "restored with");
		return -EINVAL;
	}
	return 0;
}

/* Devices given anew replace the snapshot's one for one. */
static int check_replaced_counts(const struct saved_settings *ss, char *err, size_t errlen)
{
	for (unsigned i = 0; i < ss->nr_replaced; i++) {
		const struct device_type *type = device_type_find(ss->replaced[i]);
		unsigned given = type ? vm_config_device_count(&ss->merged->opts.vm, type) : 0;

		if (given != ss->saved_count[i]) {
			snprintf(err, errlen,
				 "--%s with --restore replaces the snapshot's, one for one: it has "
				 "%u, %u given",
				 ss->replaced[i], ss->saved_count[i], given);
			return -EINVAL;
		}
	}
	return 0;
}

int api_restore_prepare(struct kvmkit_config **cfg_io, struct vm_restore **out, char *err,
			size_t errlen)
{
	struct kvmkit_config *user = *cfg_io, *merged = NULL;
	const char *path = user->opts.vm.restore_path;
	struct saved_settings ss = {.user = user};
	struct vm_restore *rs = NULL;
	char label[512];
	int ret;

	*out = NULL;
	ret = check_user_settings(&ss, err, errlen);
	if (ret < 0)
		return ret;
	ret = vm_snapshot_open(path, &rs, err, errlen);
	if (ret < 0)
		return ret;
	ret = kvmkit_config_new(&merged);
	if (ret < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	ss.merged = merged;
	snprintf(label, sizeof(label), "--restore %s: the snapshot's settings", path);
	ret = config_file_parse(label, rs->info->config, set_saved, &ss, err, errlen);
	if (ret < 0)
		goto fail;
	/* Then the caller's own, in the order given. */
	for (unsigned i = 0; i < user->nr_settings; i++) {
		const struct api_setting *s = &user->settings[i];

		ret = s->name ? kvmkit_config_set(merged, s->name, s->value)
			      : kvmkit_config_set_console_stdio(merged, s->on);
		if (ret < 0) {
			snprintf(err, errlen, "%s", kvmkit_config_last_error(merged));
			goto fail;
		}
	}
	ret = check_replaced_counts(&ss, err, errlen);
	if (ret < 0)
		goto fail;
	merged->opts.vm.restore = rs;
	kvmkit_config_free(user);
	*cfg_io = merged;
	*out = rs;
	return 0;
fail:
	kvmkit_config_free(merged);
	vm_restore_free(rs);
	return ret;
}

int kvmkit_vm_snapshot(struct kvmkit_vm *h, const char *path, unsigned flags,
		       struct kvmkit_snapshot_info *info)
{
	enum vm_snapshot_then then = VM_SNAPSHOT_THEN_AS_WAS;
	struct vm_snapshot_result result;
	char err[512];
	bool was_paused;
	struct vm *vm;
	int ret = 0;

	if (!h)
		return -EINVAL;
	if (!path || !*path ||
	    (flags & ~(KVMKIT_SNAPSHOT_STOP | KVMKIT_SNAPSHOT_RESUME | KVMKIT_SNAPSHOT_DIFF)) ||
	    (flags & (KVMKIT_SNAPSHOT_STOP | KVMKIT_SNAPSHOT_RESUME)) ==
		    (KVMKIT_SNAPSHOT_STOP | KVMKIT_SNAPSHOT_RESUME))
		return api_vm_fail(h, KVMKIT_ERROR_USAGE, -EINVAL,
				   "snapshot: needs a path, and at most one of STOP and RESUME");
	vm = api_running_vm(h, "snapshot", &ret);
	if (!vm)
		return ret;
	if (flags & KVMKIT_SNAPSHOT_STOP)
		then = VM_SNAPSHOT_THEN_STOP;
	else if (flags & KVMKIT_SNAPSHOT_RESUME)
		then = VM_SNAPSHOT_THEN_RESUME;
	/* Before pausing: a pause during another snapshot's write would keep
	 * the VM paused after that one. */
	if (vm_snapshot_is_held(vm))
		return api_vm_fail(h, KVMKIT_ERROR_USAGE, -EBUSY,
				   "snapshot: another snapshot of this VM is being written");
	was_paused = vm_run_state(vm) == VM_STATE_PAUSED;
	ret = vm_pause(vm);
	if (ret < 0)
		return api_vm_fail(h, KVMKIT_ERROR_USAGE, ret, "snapshot: cannot pause: %s",
				   vm_control_strerror(ret));
	ret = vm_snapshot_then(vm, path,
			       flags & KVMKIT_SNAPSHOT_DIFF ? VM_SNAPSHOT_DIFF : VM_SNAPSHOT_FULL,
			       then, was_paused, &result, err, sizeof(err));
	if (ret < 0)
		return api_vm_fail(h,
				   ret == -EEXIST || ret == -EINVAL || ret == -ELOOP
					   ? KVMKIT_ERROR_USAGE
					   : KVMKIT_ERROR_HOST,
				   ret, "%s", err);
	if (info)
		*info = (struct kvmkit_snapshot_info){
			.memory_bytes = result.memory_bytes,
			.stored_bytes = result.stored_bytes,
			.seconds = result.seconds,
			.diff_pages = result.diff_pages,
		};
	return 0;
}
