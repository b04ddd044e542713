/* What a VM is asked to be: filled by the CLI parser (or an embedder), read by
 * vm_create(). Strings are borrowed, not copied. */
#ifndef KVMKIT_CONFIG_H
#define KVMKIT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/log.h"

#define VM_DEFAULT_MEM_MIB 256
#define VM_MIN_MEM (16ULL << 20)
#define VM_MAX_CPUS 64
#define VM_DEFAULT_STOP_TIMEOUT_SEC 10
#define VM_MAX_STOP_TIMEOUT_SEC 3600
/* Console output each output fd may have waiting before it drops
 * (--console-buffer): bounds and default, in bytes. */
#define VM_MIN_CONSOLE_BUFFER (4 * 1024)
#define VM_MAX_CONSOLE_BUFFER (64 * 1024 * 1024)
#define VM_DEFAULT_CONSOLE_BUFFER (256 * 1024)
/* The devices asked for (vmm/device_type.h): each keeps its parsed setting
 * here, in a form only its own file reads, so a config stays one plain value
 * that can be copied. */
#define VM_MAX_CONFIG_DEVICES 16
#define VM_DEVICE_CONFIG_MAX 4608
#define VM_DEVICE_CONFIG_ALIGN 16

struct device_type;
struct vm_restore;

/* Dirty-page tracking's engine (vmm/dirty_log.h says what each is). */
#define DIRTY_RING_MIN_ENTRIES 512
#define DIRTY_RING_MAX_ENTRIES 65536
enum dirty_engine_kind {
	DIRTY_ENGINE_AUTO,
	DIRTY_ENGINE_BITMAP,       /* KVM_GET_DIRTY_LOG, get-and-clear */
	DIRTY_ENGINE_BITMAP_CLEAR, /* manual protect: get, then clear what was taken */
	DIRTY_ENGINE_RING,
};

/* What a restore does with the guest's clocks (--restore-clock). */
enum restore_clock {
	RESTORE_CLOCK_CONTINUE, /* the vCPUs' counters go on from the values saved */
	RESTORE_CLOCK_ADVANCE,  /* ... moved on by the host's wall-clock time since the save */
};

/* What backs guest RAM (--memory-backend). */
enum memory_backend {
	MEMORY_BACKEND_ANON,  /* private anonymous memory */
	MEMORY_BACKEND_MEMFD, /* a memfd per RAM region, mapped shared: another process can map it */
};

/* How -k is read (--kernel-format). */
enum kernel_format {
	KERNEL_FORMAT_AUTO, /* the architecture's kernel format (arm64 Image, x86_64 ELF64) */
	KERNEL_FORMAT_RAW, /* arm64: a flat binary entered at its first byte (arch/arm64/layout.h) */
};

/* Nested virtualization (--nested): the guest's vCPUs start at EL2, so the
 * guest can be a hypervisor itself (arm64 only). */
enum vm_nested {
	VM_NESTED_OFF,
	VM_NESTED_VHE,  /* EL2 with VHE: KVM_ARM_VCPU_HAS_EL2 */
	VM_NESTED_NVHE, /* ... and E2H fixed at 0 (KVM_ARM_VCPU_HAS_EL2_E2H0): slow */
};

struct vm_device_config {
	const struct device_type *type;
	_Alignas(VM_DEVICE_CONFIG_ALIGN) unsigned char data[VM_DEVICE_CONFIG_MAX];
};

struct vm_config {
	const char *kernel_path;
	enum kernel_format kernel_format;
	const char *initrd_path; /* NULL: none */
	const char *cmdline;     /* NULL: empty */
	unsigned nr_cpus;
	uint64_t mem_size;                   /* bytes */
	const char *console_log_path;        /* NULL: none */
	bool console_stdio;                  /* guest console on stdin/stdout */
	uint64_t console_buffer;             /* bytes each console output fd may have waiting */
	unsigned timeout_sec;                /* 0: no timeout */
	const char *expect;                  /* NULL: none; success once the console shows it */
	const char *dump_dtb_path;           /* NULL: none */
	bool pmu;                            /* a PMU in every vCPU (arm64) */
	bool no_vmgenid;                     /* no VM generation ID device (arm64 has one) */
	bool print_stats;                    /* memory and exit statistics on stderr at exit */
	const char *api_socket_path;         /* NULL: no control socket */
	unsigned stop_timeout_sec;           /* grace time after the power button; 0: stop hard */
	enum dirty_engine_kind dirty_engine; /* chosen when the VM is built (the ring must be) */
	unsigned dirty_ring_entries;         /* per vCPU ring; 0: DIRTY_RING_DEFAULT_ENTRIES */
	const char *restore_path;            /* --restore: a snapshot directory; NULL: boot */
	bool diff_snapshots;                 /* track dirty pages so that snapshots can be diffs */
	bool start_paused;                   /* vCPUs wait for a resume before they first run */
	/* The snapshot opened from restore_path (the API layer does it, and
	 * owns it): the VM is built from it rather than booted. */
	const struct vm_restore *restore;
	enum restore_clock restore_clock;
	bool no_working_set;            /* restore: do not prefetch the snapshot's working set */
	unsigned record_working_set_ms; /* restore: record it this long after the start; 0: no */
	enum memory_backend memory_backend;
	enum vm_nested nested;
	struct vm_device_config devices[VM_MAX_CONFIG_DEVICES]; /* in the order they were asked for */
	unsigned nr_devices;
};

void vm_config_defaults(struct vm_config *cfg);

/* Parses a memory size: a plain number is MiB; a K, M, G or T suffix (any case,
 * optional "iB"/"B") scales by 1024s. Returns -EINVAL for junk, zero or overflow. */
int parse_mem_size(const char *text, uint64_t *bytes);

/* Parses an unsigned decimal in [min, max]; -EINVAL or -ERANGE otherwise. */
int parse_uint(const char *text, unsigned long min, unsigned long max, unsigned long *out);

#endif
