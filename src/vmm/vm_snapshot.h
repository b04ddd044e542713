/* Snapshots of a VM (issue #11): what a paused VM is, written with
 * snapshot_file.h, and a VM built back from it. The VM layer's part; the
 * API layer decides the machine's settings (JSON) and drives pause and
 * resume. */
#ifndef KVMKIT_VM_SNAPSHOT_H
#define KVMKIT_VM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/snapshot_chain.h"
#include "vmm/snapshot_file.h"

struct vm;

/* A snapshot opened for restore (snapshot_chain_open(): it and, for a diff
 * snapshot, those under it), handed to vm_create() through
 * vm_config.restore: the VM maps the base's memory file, lays the layers'
 * pages on, and loads the top's machine records instead of loading a
 * kernel. @info is the top's. */
struct vm_restore {
	struct snapshot_chain chain;
	const struct snapshot_info *info;
	uint64_t begun_ns; /* CLOCK_MONOTONIC when vm_snapshot_open() began (--stats) */
};

/* What a snapshot write did. */
struct vm_snapshot_result {
	uint64_t memory_bytes; /* guest RAM */
	uint64_t stored_bytes; /* blocks the memory file takes (zero pages are holes) */
	double seconds;        /* the whole write, fsyncs included */
	uint64_t diff_pages;   /* a diff snapshot: the pages it holds */
};

/* What kind of snapshot to write. */
enum vm_snapshot_kind {
	VM_SNAPSHOT_FULL,
	/* Only the pages dirtied since the VM's previous snapshot (or the one
	 * it was restored from), over that one: needs --diff-snapshots. */
	VM_SNAPSHOT_DIFF,
};

/* Writes the paused (or ended, or not started) VM to the snapshot directory
 * @path: every vCPU, the interrupt controller, every device, all of RAM (a
 * diff: the pages dirtied since the previous snapshot), and
 * vm->machine_settings. With --diff-snapshots the dirty pages are taken
 * from the tracker as a transaction: a failed write gives them back, so the
 * next diff still has them. A failure is a negative errno with its message
 * in @err; the VM goes on (a snapshot that failed is not the VM's error). */
int vm_snapshot_save(struct vm *vm, const char *path, enum vm_snapshot_kind kind,
		     struct vm_snapshot_result *result, char *err, size_t errlen);

/* What a VM does once its snapshot is written. */
enum vm_snapshot_then {
	VM_SNAPSHOT_THEN_AS_WAS, /* runs again if it ran; stays paused if it was paused */
	VM_SNAPSHOT_THEN_RESUME,
	VM_SNAPSHOT_THEN_STOP, /* ends with VM_EXIT_SNAPSHOT (only if the write worked) */
};

/* vm_snapshot_save() of a VM paused for it, then @then (@was_paused: it
 * was paused before the snapshot asked). A failed write leaves the VM
 * running or paused as it was, never ended. A stop asked while the files
 * were written is carried out after them; a pause keeps the VM paused. */
int vm_snapshot_then(struct vm *vm, const char *path, enum vm_snapshot_kind kind,
		     enum vm_snapshot_then then, bool was_paused, struct vm_snapshot_result *result,
		     char *err, size_t errlen);

/* The same in steps, for a caller that must not wait for the files (the
 * control socket, whose loop runs on meanwhile):
 * vm_snapshot_begin(), on a VM paused for it (or not started, or ended),
 * takes what needs the VM (every vCPU, every device, the dirty pages) and
 * holds it paused until the end (vm_snapshot_hold(): a resume is refused,
 * a stop waits); -EBUSY while another snapshot is written, -EAGAIN when
 * the VM runs.
 * vm_snapshot_write() writes the files, on any thread, or
 * vm_snapshot_write_async() on a thread of its own, which calls
 * @done(@opaque) there when the files are written (vm_snapshot_written()
 * is then true). vm_snapshot_cancel(), from any thread, makes the write
 * stop early with -ECANCELED, leaving nothing of it behind (once the files
 * are about to take their place it is too late: the write completes).
 * vm_snapshot_end() waits for the write, moves the VM's lineage on (or
 * gives the dirty pages back when the write failed), ends the hold and
 * does @then as vm_snapshot_then() does. Returns the write's result. */
struct vm_snapshot_job;
int vm_snapshot_begin(struct vm *vm, const char *path, enum vm_snapshot_kind kind,
		      struct vm_snapshot_job **out, char *err, size_t errlen);
void vm_snapshot_write(struct vm_snapshot_job *job);
int vm_snapshot_write_async(struct vm_snapshot_job *job, void (*done)(void *opaque), void *opaque);
bool vm_snapshot_written(struct vm_snapshot_job *job);
void vm_snapshot_cancel(struct vm_snapshot_job *job);
int vm_snapshot_end(struct vm_snapshot_job *job, enum vm_snapshot_then then, bool was_paused,
		    struct vm_snapshot_result *result, char *err, size_t errlen);

/* Parses "resume", "stop" ("as-was" too); -EINVAL. */
int vm_snapshot_then_parse(const char *text, enum vm_snapshot_then *out);

/* Opens the snapshot at @path (and those it lies over) for a restore into
 * this build (architecture and version checked, see snapshot_open() and
 * snapshot_chain_open()). -errno with a message. */
int vm_snapshot_open(const char *path, struct vm_restore **out, char *err, size_t errlen);

/* For vm_create(): maps RAM from the snapshot's memory file (the regions
 * must be exactly those the layout gives for the configured size), and,
 * once every device and vCPU exists, loads the machine records. The
 * devices are left quiesced, as they were saved: vm_start() (or the resume
 * of a VM started paused) starts them. */
int vm_restore_ram(struct vm *vm);
int vm_restore_machine(struct vm *vm);

void vm_restore_free(struct vm_restore *restore);

/* For vm_create(), once RAM is in place: with --diff-snapshots, starts dirty
 * tracking for them (a restored VM's next diff lies over the snapshot it
 * came from). vm_lineage_free() at vm_destroy(). */
int vm_lineage_init(struct vm *vm);
void vm_lineage_free(struct vm *vm);

#endif
