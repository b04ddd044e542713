#include "vmm/vm_snapshot.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "vmm/state.h"
#include "vmm/vm.h"
#include "vmm/vm_cpu_state.h"

/* The machine records: the CPUs' (vm_cpu_state.h) and the devices'
 * (vm_save_devices()), each list kept whole inside one outer record so
 * that either is read back on its own and bounded. */
#define MACHINE_CPUS "cpu-state"
#define MACHINE_DEVICES "device-state"
#define MACHINE_VERSION 1

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put_list(struct state_buf *out, const char *kind, const struct state_buf *list)
{
	state_begin(out, kind, MACHINE_VERSION);
	state_put_bytes(out, list->data, list->len);
	state_end(out);
}

int vm_snapshot_save(struct vm *vm, const char *path, struct vm_snapshot_result *result, char *err,
		     size_t errlen)
{
	struct state_buf cpus, devices, machine;
	char mem_path[PATH_MAX];
	double t0 = now_sec();
	struct stat st;
	int ret;

	if (!vm->machine_settings) {
		snprintf(err, errlen, "snapshot %s: this VM was not built from settings", path);
		return -EINVAL;
	}
	state_buf_init(&cpus);
	state_buf_init(&devices);
	state_buf_init(&machine);
	ret = vm_cpu_state_save(vm, &cpus);
	if (ret == 0)
		ret = vm_save_devices(vm, &devices);
	if (ret < 0) {
		snprintf(err, errlen, "snapshot %s: %s", path,
			 vm->error[0] ? vm->error : strerror(-ret));
		goto out;
	}
	put_list(&machine, MACHINE_CPUS, &cpus);
	put_list(&machine, MACHINE_DEVICES, &devices);
	if (machine.err) {
		ret = machine.err;
		snprintf(err, errlen, "snapshot %s: %s", path, strerror(-ret));
		goto out;
	}
	ret = snapshot_write(path, &vm->mem, arch_name(), KVMKIT_VERSION, vm->machine_settings,
			     machine.data, machine.len, NULL, err, errlen);
	if (ret < 0)
		goto out;
	if (result) {
		*result = (struct vm_snapshot_result){.seconds = now_sec() - t0};
		for (unsigned i = 0; i < vm->mem.nr_regions; i++)
			result->memory_bytes += vm->mem.regions[i].size;
		snprintf(mem_path, sizeof(mem_path), "%s/%s", path, SNAPSHOT_MEMORY_FILE);
		if (stat(mem_path, &st) == 0)
			result->stored_bytes = (uint64_t)st.st_blocks * 512;
	}
out:
	state_buf_free(&cpus);
	state_buf_free(&devices);
	state_buf_free(&machine);
	return ret;
}

int vm_snapshot_then(struct vm *vm, const char *path, enum vm_snapshot_then then, bool was_paused,
		     struct vm_snapshot_result *result, char *err, size_t errlen)
{
	int ret = vm_snapshot_save(vm, path, result, err, errlen);

	if (ret == 0 && then == VM_SNAPSHOT_THEN_STOP) {
		vm_request_exit(vm, VM_EXIT_SNAPSHOT);
		return 0;
	}
	if (then == VM_SNAPSHOT_THEN_RESUME || !was_paused)
		vm_resume(vm);
	return ret;
}

int vm_snapshot_then_parse(const char *text, enum vm_snapshot_then *out)
{
	if (strcmp(text, "resume") == 0)
		*out = VM_SNAPSHOT_THEN_RESUME;
	else if (strcmp(text, "stop") == 0)
		*out = VM_SNAPSHOT_THEN_STOP;
	else if (strcmp(text, "as-was") == 0)
		*out = VM_SNAPSHOT_THEN_AS_WAS;
	else
		return -EINVAL;
	return 0;
}

int vm_snapshot_open(const char *path, struct vm_restore **out, char *err, size_t errlen)
{
	struct timespec begun;
	struct vm_restore *rs = calloc(1, sizeof(*rs));
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &begun);
	*out = NULL;
	if (!rs) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rs->mem_fd = -1;
	rs->begun_ns = (uint64_t)begun.tv_sec * 1000000000u + (uint64_t)begun.tv_nsec;
	ret = snapshot_open(path, arch_name(), KVMKIT_VERSION, &rs->info, &rs->mem_fd, err, errlen);
	if (ret < 0) {
		free(rs);
		return ret;
	}
	*out = rs;
	return 0;
}

int vm_restore_ram(struct vm *vm)
{
	const struct vm_restore *rs = vm->cfg.restore;
	struct arch_ram_region ram[GUEST_MEM_MAX_REGIONS];
	int nr = arch_ram_regions(vm->cfg.mem_size, ram, GUEST_MEM_MAX_REGIONS);

	if (nr < 0)
		return vm_input_error(vm, nr, "restore: %llu MiB of RAM has no %s layout",
				      (unsigned long long)(vm->cfg.mem_size >> 20), arch_name());
	/* The settings say how large RAM is, the memory record where it is:
	 * a snapshot whose two disagree is not loaded. */
	if ((unsigned)nr != rs->info.nr_regions)
		return vm_input_error(vm, -EINVAL,
				      "restore: the snapshot has %u RAM regions where %llu MiB "
				      "of RAM has %d",
				      rs->info.nr_regions,
				      (unsigned long long)(vm->cfg.mem_size >> 20), nr);
	for (int i = 0; i < nr; i++) {
		const struct snapshot_region *r = &rs->info.regions[i];
		int ret;

		if (r->gpa != ram[i].gpa || r->size != ram[i].size)
			return vm_input_error(
				vm, -EINVAL,
				"restore: the snapshot's RAM region %d is 0x%llx+0x%llx, the "
				"layout's 0x%llx+0x%llx",
				i, (unsigned long long)r->gpa, (unsigned long long)r->size,
				(unsigned long long)ram[i].gpa, (unsigned long long)ram[i].size);
		ret = guest_mem_map_file(&vm->mem, r->gpa, r->size, rs->mem_fd, r->offset);
		if (ret < 0)
			return vm_error(vm, ret,
					"restore: cannot map RAM region %d from the "
					"memory file: %s",
					i, strerror(-ret));
	}
	return 0;
}

/* Reads the outer record @kind and points @list at what it holds. */
static int get_list(struct vm *vm, struct state_reader *in, const char *kind,
		    struct state_reader *list)
{
	struct state_reader rec;
	uint32_t version;

	if (state_expect(in, kind, &version, &rec) < 0 || version != MACHINE_VERSION)
		return vm_input_error(vm, -EINVAL, "restore: the snapshot has no %s record (v%d)",
				      kind, MACHINE_VERSION);
	state_reader_init(list, rec.data + rec.pos, rec.len - rec.pos);
	return 0;
}

int vm_restore_machine(struct vm *vm)
{
	const struct vm_restore *rs = vm->cfg.restore;
	struct state_reader in, cpus, devices;
	int ret;

	state_reader_init(&in, rs->info.machine, rs->info.machine_len);
	ret = get_list(vm, &in, MACHINE_CPUS, &cpus);
	if (ret == 0)
		ret = get_list(vm, &in, MACHINE_DEVICES, &devices);
	if (ret == 0 && !state_reader_done(&in))
		ret = vm_input_error(vm, -EINVAL, "restore: records left after the machine's");
	if (ret < 0)
		return ret;
	ret = vm_cpu_state_load(vm, &cpus);
	if (ret < 0)
		return ret;
	return vm_load_devices(vm, &devices);
}

void vm_restore_free(struct vm_restore *restore)
{
	if (!restore)
		return;
	snapshot_info_free(&restore->info);
	if (restore->mem_fd >= 0)
		close(restore->mem_fd);
	free(restore);
}
