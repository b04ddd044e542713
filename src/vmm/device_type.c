#include "vmm/device_type.h"

#include <stdalign.h>
#include <string.h>

/* Bracketed by the linker; weak so that a program without any device type
 * still links (the set is then empty). */
extern const struct device_type *const __start_kvmkit_device_types[]
	__attribute__((weak, visibility("hidden")));
extern const struct device_type *const __stop_kvmkit_device_types[]
	__attribute__((weak, visibility("hidden")));

static unsigned nr_registered(void)
{
	if (!__start_kvmkit_device_types)
		return 0;
	return (unsigned)(__stop_kvmkit_device_types - __start_kvmkit_device_types);
}

static bool comes_before(const struct device_type *a, const struct device_type *b)
{
	if (a->order != b->order)
		return a->order < b->order;
	return strcmp(a->option.name, b->option.name) < 0;
}

unsigned device_type_count(void) { return nr_registered(); }

/* The link order of the set is not ours to choose, so the index is a rank:
 * how many types come before. A handful of types: no sorted copy to keep. */
const struct device_type *device_type_at(unsigned index)
{
	unsigned n = nr_registered();

	for (unsigned i = 0; i < n; i++) {
		const struct device_type *t = __start_kvmkit_device_types[i];
		unsigned rank = 0;

		for (unsigned j = 0; j < n; j++)
			rank += comes_before(__start_kvmkit_device_types[j], t);
		if (rank == index)
			return t;
	}
	return NULL;
}

const struct device_type *device_type_find(const char *name)
{
	unsigned n = nr_registered();

	for (unsigned i = 0; i < n; i++) {
		if (strcmp(__start_kvmkit_device_types[i]->option.name, name) == 0)
			return __start_kvmkit_device_types[i];
	}
	return NULL;
}

unsigned vm_config_device_count(const struct vm_config *cfg, const struct device_type *type)
{
	unsigned count = 0;

	for (unsigned i = 0; i < cfg->nr_devices && i < VM_MAX_CONFIG_DEVICES; i++)
		count += cfg->devices[i].type == type;
	return count;
}

void *vm_config_device(const struct vm_config *cfg, const struct device_type *type, unsigned index)
{
	for (unsigned i = 0; i < cfg->nr_devices && i < VM_MAX_CONFIG_DEVICES; i++) {
		if (cfg->devices[i].type == type && index-- == 0)
			return (void *)cfg->devices[i].data;
	}
	return NULL;
}

void *vm_config_add_device(struct vm_config *cfg, const struct device_type *type)
{
	struct vm_device_config *d;

	if (cfg->nr_devices >= VM_MAX_CONFIG_DEVICES)
		return NULL;
	d = &cfg->devices[cfg->nr_devices++];
	d->type = type;
	memset(d->data, 0, sizeof(d->data));
	return d->data;
}

void vm_config_remove_devices(struct vm_config *cfg, const struct device_type *type)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < cfg->nr_devices && i < VM_MAX_CONFIG_DEVICES; i++) {
		if (cfg->devices[i].type != type)
			cfg->devices[kept++] = cfg->devices[i];
	}
	cfg->nr_devices = kept;
}

int device_type_apply(struct vm_config *cfg, const struct device_type *type, const char *value,
		      char *err, size_t errlen)
{
	const char *name = type->option.name;
	alignas(VM_DEVICE_CONFIG_ALIGN) unsigned char parsed[VM_DEVICE_CONFIG_MAX];
	void *slot;
	int ret;

	if (type->config_size > sizeof(parsed))
		return option_fail(err, errlen, "--%s: its config does not fit (%zu bytes)", name,
				   type->config_size);
	memset(parsed, 0, sizeof(parsed));
	ret = type->parse(cfg, parsed, value, err, errlen);
	if (ret < 0)
		return ret;
	if (type->option.kind != OPTION_LIST)
		vm_config_remove_devices(cfg, type);
	if (ret == 0)
		return 0;
	if (vm_config_device_count(cfg, type) >= type->max)
		return option_fail(err, errlen, "--%s '%s': at most %u", name, value ? value : "",
				   type->max);
	slot = vm_config_add_device(cfg, type);
	if (!slot)
		return option_fail(err, errlen, "--%s '%s': a machine has at most %d devices", name,
				   value ? value : "", VM_MAX_CONFIG_DEVICES);
	memcpy(slot, parsed, type->config_size);
	return 0;
}
