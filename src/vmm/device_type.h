/* A kind of device a machine can be asked for (--disk, --net, --rng,
 * --console virtio): its setting, the parsed form of one instance and its
 * constructor, all in the device's own file. The file registers the type with
 * DEVICE_TYPE_REGISTER() and nothing else names it, so a new device is one
 * new file plus one line in meson.build. The registry is a linker set: the
 * registrations land in one section, which the linker brackets with
 * __start_/__stop_ symbols. */
#ifndef KVMKIT_DEVICE_TYPE_H
#define KVMKIT_DEVICE_TYPE_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/config.h"
#include "vmm/option_spec.h"

struct device_host;
struct virtio_dev;

struct device_type {
	struct option_spec option; /* its setting; .device points back here */
	unsigned max;              /* instances one machine may have */
	size_t config_size;        /* of one parsed instance, <= VM_DEVICE_CONFIG_MAX */
	/* Where its devices go among the others, lower first: the guest finds
	 * them in this order (virtio-mmio slots, so /dev/vda before /dev/vdb). */
	unsigned order;
	/* Given with --restore, this setting's values replace the snapshot's
	 * one for one (a clone's own disk copy, tap, MAC, serial); the device's
	 * load then refuses what does not fit the saved guest. */
	bool restore_replaces;
	/* Parses @value (NULL for a flag) into @config, which is zeroed. Returns
	 * 1 for a device, 0 when the value asks for none (it then undoes an
	 * earlier value of a flag or value setting), or option_fail(). @cfg has
	 * the devices asked for so far, for checks across instances. */
	int (*parse)(const struct vm_config *cfg, void *config, const char *value, char *err,
		     size_t errlen);
	/* Optional: checks what the user named in @config (files, interfaces)
	 * before the VM touches the host; reports an input error through @host
	 * and returns a negative errno. Creates nothing. */
	int (*check)(struct device_host *host, const void *config);
	/* Builds instance @index (this type's instances count from 0) as a virtio
	 * device; the platform gives it a transport. */
	int (*create_virtio)(struct device_host *host, unsigned index, const void *config,
			     struct virtio_dev **out);
};

#define DEVICE_TYPE_SECTION kvmkit_device_types

/* In the device's file, after its `static const struct device_type NAME`. */
#define DEVICE_TYPE_REGISTER(name)                                 \
	static const struct device_type *const name##_registration \
		__attribute__((used, section("kvmkit_device_types"))) = &(name)

/* The registered types, ordered by .order (then name). Thread-safe. */
unsigned device_type_count(void);
const struct device_type *device_type_at(unsigned index); /* NULL past the last */
const struct device_type *device_type_find(const char *name);

/* Applies @value of @type's setting to @cfg: parses it, then adds the device
 * (or, for a flag or value setting, replaces the earlier one). */
int device_type_apply(struct vm_config *cfg, const struct device_type *type, const char *value,
		      char *err, size_t errlen);

/* The devices of @type in @cfg, in the order they were asked for. */
unsigned vm_config_device_count(const struct vm_config *cfg, const struct device_type *type);
/* The parsed config of the @index-th one, or NULL (writable, as strchr()
 * is: the caller decides). */
void *vm_config_device(const struct vm_config *cfg, const struct device_type *type, unsigned index);
/* Adds one (zeroed), for callers that fill the config themselves; NULL when
 * the machine has VM_MAX_CONFIG_DEVICES already. */
void *vm_config_add_device(struct vm_config *cfg, const struct device_type *type);
void vm_config_remove_devices(struct vm_config *cfg, const struct device_type *type);

#endif
