#include "vmm/vm_snapshot.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "vmm/dirty_log.h"
#include "vmm/log.h"
#include "vmm/state.h"
#include "vmm/thread.h"
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

/* Which snapshots this VM's next diff lies over: the paths of its chain,
 * base first (absolute, as the layers record them), and the top's id. */
struct vm_lineage {
	char *paths[SNAPSHOT_CHAIN_MAX];
	unsigned n;
	uint8_t top_id[SNAPSHOT_ID_BYTES];
};

static void lineage_clear(struct vm_lineage *lin)
{
	for (unsigned i = 0; i < lin->n; i++)
		free(lin->paths[i]);
	lin->n = 0;
}

/* @path made absolute and without trailing slashes; its parent directory
 * resolved (the snapshot itself may not exist yet). NULL: no memory, or a
 * parent that does not resolve (then the write fails on its own). */
static char *absolute_path(const char *path)
{
	char *copy = strdup(path), *slash, *dir, *out = NULL;
	char resolved[PATH_MAX];
	size_t n;

	if (!copy)
		return NULL;
	n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	slash = strrchr(copy, '/');
	if (!slash)
		dir = realpath(".", resolved);
	else if (slash == copy)
		dir = strcpy(resolved, "/");
	else {
		*slash = '\0';
		dir = realpath(copy, resolved);
	}
	if (dir && asprintf(&out, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "",
			    slash ? slash + 1 : copy) < 0)
		out = NULL;
	free(copy);
	return out;
}

/* Whether this VM can write a diff at @abs, or why not. */
static int diff_check(struct vm *vm, const char *abs, char *err, size_t errlen)
{
	const struct vm_lineage *lin = vm->lineage;

	if (!vm->cfg.diff_snapshots) {
		snprintf(err, errlen,
			 "diff snapshot %s: this VM does not track pages for diff snapshots "
			 "(start it with --diff-snapshots)",
			 abs);
		return -EINVAL;
	}
	if (!lin || lin->n == 0) {
		snprintf(err, errlen,
			 "diff snapshot %s: this VM has no earlier snapshot to lie over (take a "
			 "full one first)",
			 abs);
		return -EINVAL;
	}
	if (lin->n >= SNAPSHOT_CHAIN_MAX) {
		snprintf(err, errlen,
			 "diff snapshot %s: %u snapshots lie under it already, the most a chain "
			 "holds (take a full one)",
			 abs, lin->n);
		return -ELOOP;
	}
	for (unsigned i = 0; i < lin->n; i++) {
		if (strcmp(lin->paths[i], abs) == 0) {
			snprintf(
				err, errlen,
				"diff snapshot %s: that snapshot lies under this one; writing over "
				"it would lose what the diff needs",
				abs);
			return -EINVAL;
		}
	}
	return 0;
}

/* After a write at @abs (a full snapshot starts the lineage again). */
static void lineage_advance(struct vm *vm, enum vm_snapshot_kind kind, char *abs,
			    const uint8_t id[SNAPSHOT_ID_BYTES])
{
	struct vm_lineage *lin = vm->lineage;

	if (!lin) {
		free(abs);
		return;
	}
	if (kind == VM_SNAPSHOT_FULL)
		lineage_clear(lin);
	lin->paths[lin->n++] = abs;
	memcpy(lin->top_id, id, SNAPSHOT_ID_BYTES);
}

/* A snapshot being written: what vm_snapshot_begin() took from the VM. */
struct vm_snapshot_job {
	struct vm *vm;
	char *path;
	char *abs; /* for the lineage */
	enum vm_snapshot_kind kind;
	struct state_buf machine;
	struct snapshot_layer layer;
	bool taken; /* dirty pages taken from the tracker, to finish */
	double t0;
	/* The write's outcome (vm_snapshot_write()). */
	struct snapshot_info written;
	int ret;
	char err[512];
	_Atomic bool cancel;
	/* vm_snapshot_write_async(). */
	pthread_t thread;
	bool threaded;
	_Atomic bool finished;
	void (*done)(void *opaque);
	void *opaque;
};

static void job_free(struct vm_snapshot_job *job)
{
	free(job->layer.pages);
	free(job->abs);
	free(job->path);
	state_buf_free(&job->machine);
	free(job);
}

/* Everything but the files: the records and the dirty pages, taken while
 * the VM is held. */
static int job_take(struct vm_snapshot_job *job, char *err, size_t errlen)
{
	struct vm *vm = job->vm;
	const char *path = job->path;
	struct state_buf cpus, devices;
	int ret;

	state_buf_init(&cpus);
	state_buf_init(&devices);
	job->abs = absolute_path(path);
	if (!job->abs) {
		ret = errno ? -errno : -ENOMEM;
		snprintf(err, errlen, "snapshot %s: %s", path, strerror(-ret));
		goto out;
	}
	if (job->kind == VM_SNAPSHOT_DIFF) {
		ret = diff_check(vm, job->abs, err, errlen);
		if (ret < 0)
			goto out;
	}
	ret = vm_cpu_state_save(vm, &cpus);
	if (ret == 0)
		ret = vm_save_devices(vm, &devices);
	if (ret < 0) {
		snprintf(err, errlen, "snapshot %s: %s", path,
			 vm->error[0] ? vm->error : strerror(-ret));
		goto out;
	}
	put_list(&job->machine, MACHINE_CPUS, &cpus);
	put_list(&job->machine, MACHINE_DEVICES, &devices);
	if (job->machine.err) {
		ret = job->machine.err;
		snprintf(err, errlen, "snapshot %s: %s", path, strerror(-ret));
		goto out;
	}
	/* Every snapshot takes what the tracker has: a full one covers it, a
	 * diff is made of it. The vCPUs are parked, so the harvest is final. */
	if (vm->cfg.diff_snapshots) {
		struct snapshot_layer *layer = &job->layer;
		int64_t pages;

		layer->nr_words = dirty_log_words(vm->dirty);
		if (layer->nr_words != snapshot_layer_words(&vm->mem)) {
			snprintf(err, errlen,
				 "snapshot %s: the dirty tracker's pages are not the snapshot's "
				 "4 KiB pages (host page size)",
				 path);
			ret = -EINVAL;
			goto out;
		}
		layer->pages = calloc(layer->nr_words ? layer->nr_words : 1, sizeof(uint64_t));
		if (!layer->pages) {
			ret = -ENOMEM;
			snprintf(err, errlen, "snapshot %s: %s", path, strerror(ENOMEM));
			goto out;
		}
		pages = dirty_log_take(vm->dirty, true, layer->pages, layer->nr_words, err, errlen);
		if (pages < 0) {
			ret = (int)pages;
			goto out;
		}
		job->taken = true;
		layer->nr_pages = (uint64_t)pages;
	}
	if (job->kind == VM_SNAPSHOT_DIFF) {
		memcpy(job->layer.parent_id, vm->lineage->top_id, SNAPSHOT_ID_BYTES);
		job->layer.parent_path = vm->lineage->paths[vm->lineage->n - 1];
	}
out:
	state_buf_free(&cpus);
	state_buf_free(&devices);
	return ret;
}

int vm_snapshot_begin(struct vm *vm, const char *path, enum vm_snapshot_kind kind,
		      struct vm_snapshot_job **out, char *err, size_t errlen)
{
	struct vm_snapshot_job *job;
	int ret;

	*out = NULL;
	if (!vm->machine_settings) {
		snprintf(err, errlen, "snapshot %s: this VM was not built from settings", path);
		return -EINVAL;
	}
	/* Refused rather than saved without what a restore would need. */
	if (vm->cfg.nested != VM_NESTED_OFF) {
		snprintf(err, errlen,
			 "snapshot %s: a --nested VM cannot be snapshotted yet (its EL2 "
			 "registers and the vGIC's nested state are not saved)",
			 path);
		return -ENOTSUP;
	}
	ret = vm_snapshot_hold(vm);
	if (ret < 0) {
		snprintf(err, errlen, "snapshot %s: %s", path,
			 ret == -EBUSY ? "another snapshot of this VM is being written"
				       : vm_control_strerror(ret));
		return ret;
	}
	job = calloc(1, sizeof(*job));
	if (!job || !(job->path = strdup(path))) {
		free(job);
		vm_snapshot_release(vm);
		snprintf(err, errlen, "snapshot %s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	job->vm = vm;
	job->kind = kind;
	job->t0 = now_sec();
	state_buf_init(&job->machine);
	ret = job_take(job, err, errlen);
	if (ret < 0) {
		if (job->taken)
			dirty_log_finish(vm->dirty, false);
		job_free(job);
		vm_snapshot_release(vm);
		return ret;
	}
	*out = job;
	return 0;
}

void vm_snapshot_write(struct vm_snapshot_job *job)
{
	struct vm *vm = job->vm;

	job->ret =
		snapshot_write(job->path,
			       &(struct snapshot_content){
				       .mem = &vm->mem,
				       .arch = arch_name(),
				       .version = KVMKIT_VERSION,
				       .config = vm->machine_settings,
				       .machine = job->machine.data,
				       .machine_len = job->machine.len,
				       .layer = job->kind == VM_SNAPSHOT_DIFF ? &job->layer : NULL,
				       .cancel = &job->cancel,
			       },
			       &job->written, job->err, sizeof(job->err));
}

static void *write_thread(void *arg)
{
	struct vm_snapshot_job *job = arg;

	vm_snapshot_write(job);
	atomic_store(&job->finished, true);
	job->done(job->opaque);
	return NULL;
}

int vm_snapshot_write_async(struct vm_snapshot_job *job, void (*done)(void *opaque), void *opaque)
{
	int ret;

	job->done = done;
	job->opaque = opaque;
	ret = vmm_thread_start(&job->thread, write_thread, job, 0);
	if (ret)
		return -ret;
	job->threaded = true;
	return 0;
}

bool vm_snapshot_written(struct vm_snapshot_job *job)
{
	return !job->threaded || atomic_load(&job->finished);
}

void vm_snapshot_cancel(struct vm_snapshot_job *job) { atomic_store(&job->cancel, true); }

int vm_snapshot_end(struct vm_snapshot_job *job, enum vm_snapshot_then then, bool was_paused,
		    struct vm_snapshot_result *result, char *err, size_t errlen)
{
	struct vm *vm = job->vm;
	char mem_path[PATH_MAX];
	unsigned asked;
	struct stat st;
	int ret;

	if (job->threaded)
		pthread_join(job->thread, NULL);
	ret = job->ret;
	if (ret == -ECANCELED) {
		snprintf(err, errlen,
			 "snapshot %s: cancelled before it was complete; nothing of it "
			 "was kept",
			 job->path);
	} else if (ret < 0) {
		snprintf(err, errlen, "%s", job->err);
	} else {
		lineage_advance(vm, job->kind, job->abs, job->written.id);
		job->abs = NULL;
		if (result) {
			*result = (struct vm_snapshot_result){.seconds = now_sec() - job->t0};
			for (unsigned i = 0; i < vm->mem.nr_regions; i++)
				result->memory_bytes += vm->mem.regions[i].size;
			if (job->kind == VM_SNAPSHOT_DIFF)
				result->diff_pages = job->layer.nr_pages;
			snprintf(mem_path, sizeof(mem_path), "%s/%s", job->path,
				 SNAPSHOT_MEMORY_FILE);
			if (stat(mem_path, &st) == 0)
				result->stored_bytes = (uint64_t)st.st_blocks * 512;
		}
	}
	/* The harvest is kept only if the snapshot that needed it was written. */
	if (job->taken)
		dirty_log_finish(vm->dirty, ret == 0);
	job_free(job);
	asked = vm_snapshot_release(vm);
	if (ret == 0 && then == VM_SNAPSHOT_THEN_STOP) {
		vm_request_exit(vm, VM_EXIT_SNAPSHOT);
		return 0;
	}
	/* What was asked while the write went on comes after it. */
	if (asked & VM_HELD_STOP)
		vm_stop(vm);
	else if (!(asked & VM_HELD_PAUSE) && (then == VM_SNAPSHOT_THEN_RESUME || !was_paused))
		vm_resume(vm);
	return ret;
}

int vm_snapshot_save(struct vm *vm, const char *path, enum vm_snapshot_kind kind,
		     struct vm_snapshot_result *result, char *err, size_t errlen)
{
	return vm_snapshot_then(vm, path, kind, VM_SNAPSHOT_THEN_AS_WAS, true, result, err, errlen);
}

int vm_snapshot_then(struct vm *vm, const char *path, enum vm_snapshot_kind kind,
		     enum vm_snapshot_then then, bool was_paused, struct vm_snapshot_result *result,
		     char *err, size_t errlen)
{
	struct vm_snapshot_job *job;
	int ret = vm_snapshot_begin(vm, path, kind, &job, err, errlen);

	if (ret < 0) {
		/* A VM paused for this snapshot runs again when it failed. */
		if (ret != -EAGAIN && (then == VM_SNAPSHOT_THEN_RESUME || !was_paused))
			vm_resume(vm);
		return ret;
	}
	vm_snapshot_write(job);
	return vm_snapshot_end(job, then, was_paused, result, err, errlen);
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
	rs->begun_ns = (uint64_t)begun.tv_sec * 1000000000u + (uint64_t)begun.tv_nsec;
	ret = snapshot_chain_open(path, arch_name(), KVMKIT_VERSION, &rs->chain, err, errlen);
	if (ret < 0) {
		free(rs);
		return ret;
	}
	rs->info = snapshot_chain_top(&rs->chain);
	*out = rs;
	return 0;
}

int vm_restore_ram(struct vm *vm)
{
	const struct vm_restore *rs = vm->cfg.restore;
	const struct snapshot_link *base = &rs->chain.links[0];
	struct arch_ram_region ram[GUEST_MEM_MAX_REGIONS];
	int nr = arch_ram_regions(vm->cfg.mem_size, ram, GUEST_MEM_MAX_REGIONS);
	char why[512];
	int ret;

	if (nr < 0)
		return vm_input_error(vm, nr, "restore: %llu MiB of RAM has no %s layout",
				      (unsigned long long)(vm->cfg.mem_size >> 20), arch_name());
	/* The settings say how large RAM is, the memory record where it is:
	 * a snapshot whose two disagree is not loaded. */
	if ((unsigned)nr != rs->info->nr_regions)
		return vm_input_error(vm, -EINVAL,
				      "restore: the snapshot has %u RAM regions where %llu MiB "
				      "of RAM has %d",
				      rs->info->nr_regions,
				      (unsigned long long)(vm->cfg.mem_size >> 20), nr);
	for (int i = 0; i < nr; i++) {
		const struct snapshot_region *r = &base->info.regions[i];

		if (r->gpa != ram[i].gpa || r->size != ram[i].size)
			return vm_input_error(
				vm, -EINVAL,
				"restore: the snapshot's RAM region %d is 0x%llx+0x%llx, the "
				"layout's 0x%llx+0x%llx",
				i, (unsigned long long)r->gpa, (unsigned long long)r->size,
				(unsigned long long)ram[i].gpa, (unsigned long long)ram[i].size);
		if (vm->cfg.memory_backend == MEMORY_BACKEND_MEMFD) {
			/* Shared RAM cannot be a private mapping of the file:
			 * its pages are read in now, the restore's time then
			 * growing with what the snapshot stored. */
			ret = guest_mem_alloc_memfd(&vm->mem, r->gpa, r->size);
			if (ret == 0)
				ret = guest_mem_load_file(&vm->mem, r->gpa, r->size, base->mem_fd,
							  r->offset);
		} else {
			ret = guest_mem_map_file(&vm->mem, r->gpa, r->size, base->mem_fd,
						 r->offset);
		}
		if (ret < 0)
			return vm_error(vm, ret,
					"restore: cannot %s RAM region %d from the "
					"memory file: %s",
					vm->cfg.memory_backend == MEMORY_BACKEND_MEMFD ? "load"
										       : "map",
					i, strerror(-ret));
	}
	ret = snapshot_chain_apply(&rs->chain, &vm->mem, why, sizeof(why));
	if (ret < 0)
		return vm_error(vm, ret, "restore: %s", why);
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

/* How far the guest's counters move on from the values saved: nothing for
 * RESTORE_CLOCK_CONTINUE; for RESTORE_CLOCK_ADVANCE the host's wall-clock
 * time since the save, or nothing if that clock is now behind the save. */
static uint64_t restore_advance_ns(struct vm *vm)
{
	uint64_t saved = vm->cfg.restore->info->saved_realtime_ns, now;
	struct timespec ts;

	if (vm->cfg.restore_clock != RESTORE_CLOCK_ADVANCE)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (now < saved) {
		log_warn("restore: the host's clock is %.3f s behind the snapshot's save: the "
			 "guest's clocks continue from the save",
			 (double)(saved - now) / 1e9);
		return 0;
	}
	log_info("restore: the guest's clocks advance by %.3f s, the time since the save",
		 (double)(now - saved) / 1e9);
	return now - saved;
}

int vm_restore_machine(struct vm *vm)
{
	const struct vm_restore *rs = vm->cfg.restore;
	struct state_reader in, cpus, devices;
	int ret;

	state_reader_init(&in, rs->info->machine, rs->info->machine_len);
	ret = get_list(vm, &in, MACHINE_CPUS, &cpus);
	if (ret == 0)
		ret = get_list(vm, &in, MACHINE_DEVICES, &devices);
	if (ret == 0 && !state_reader_done(&in))
		ret = vm_input_error(vm, -EINVAL, "restore: records left after the machine's");
	if (ret < 0)
		return ret;
	ret = vm_cpu_state_load(vm, &cpus, restore_advance_ns(vm));
	if (ret < 0)
		return ret;
	/* The devices were saved quiesced and are loaded so: vm_start() starts
	 * them as a resume does, every queue served as if kicked. Work the
	 * guest made available before the snapshot is not announced again (a
	 * kick the paused device had not served yet; receive buffers posted
	 * long before, which virtio-net waits for to read its tap), so a
	 * device loaded and left to itself would sit on it for good. */
	vm_quiesce_devices(vm);
	vm->devices_quiesced = true;
	return vm_load_devices(vm, &devices);
}

void vm_restore_free(struct vm_restore *restore)
{
	if (!restore)
		return;
	snapshot_chain_close(&restore->chain);
	free(restore);
}

int vm_lineage_init(struct vm *vm)
{
	const struct vm_restore *rs = vm->cfg.restore;
	struct vm_lineage *lin;
	char why[256];
	int ret;

	if (!vm->cfg.diff_snapshots)
		return 0;
	lin = calloc(1, sizeof(*lin));
	if (!lin)
		return vm_error(vm, -ENOMEM, "diff snapshots: out of memory");
	vm->lineage = lin;
	/* A restored guest is its snapshot's memory: the next diff lies over
	 * that snapshot, and everything under it. */
	for (unsigned i = 0; rs && i < rs->chain.n; i++) {
		lin->paths[i] = absolute_path(rs->chain.links[i].path);
		if (!lin->paths[i])
			return vm_error(vm, -ENOMEM, "diff snapshots: cannot resolve %s",
					rs->chain.links[i].path);
		lin->n = i + 1;
	}
	if (rs)
		memcpy(lin->top_id, rs->info->id, SNAPSHOT_ID_BYTES);
	ret = dirty_log_start(vm->dirty, false, why, sizeof(why));
	if (ret < 0)
		return vm_error(vm, ret, "diff snapshots: cannot start dirty tracking: %s", why);
	return 0;
}

void vm_lineage_free(struct vm *vm)
{
	if (!vm->lineage)
		return;
	lineage_clear(vm->lineage);
	free(vm->lineage);
	vm->lineage = NULL;
}
