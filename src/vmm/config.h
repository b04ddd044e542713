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
#define VM_MAX_DISKS 8
#define VM_DISK_PATH_MAX 4096
#define VM_DISK_SERIAL_MAX 20 /* VIRTIO_BLK_T_GET_ID answers 20 bytes */

/* One --disk PATH[,ro][,serial=ID][,direct]: a raw image. Copied out of the
 * option's value, which holds sub-options after the path. */
struct vm_disk_config {
	char path[VM_DISK_PATH_MAX];
	bool read_only;  /* O_RDONLY, and VIRTIO_BLK_F_RO for the guest */
	bool direct;     /* O_DIRECT: bypass the host page cache */
	bool has_serial; /* else the ID is derived from the path */
	char serial[VM_DISK_SERIAL_MAX + 1];
};

#define VM_MAX_NETS 4
#define VM_NET_NAME_MAX 15 /* IFNAMSIZ - 1 */

/* One --net tap=NAME[,mac=MAC]: a virtio-net device on an existing tap. */
struct vm_net_config {
	char tap[VM_NET_NAME_MAX + 1];
	bool has_mac; /* else derived from the tap's name */
	uint8_t mac[6];
};

struct vm_config {
	const char *kernel_path;
	const char *initrd_path; /* NULL: none */
	const char *cmdline;     /* NULL: empty */
	unsigned nr_cpus;
	uint64_t mem_size;            /* bytes */
	const char *console_log_path; /* NULL: none */
	bool console_stdio;           /* guest console on stdin/stdout */
	unsigned timeout_sec;         /* 0: no timeout */
	const char *expect;           /* NULL: none; success once the console shows it */
	const char *dump_dtb_path;    /* NULL: none */
	bool print_stats;             /* memory and exit statistics on stderr at exit */
	const char *api_socket_path;  /* NULL: no control socket */
	unsigned stop_timeout_sec;    /* grace time after the power button; 0: stop hard */
	bool rng;                     /* a virtio-rng device */
	bool console_virtio;          /* guest console on virtio-console (hvc0), not the UART */
	struct vm_net_config nets[VM_MAX_NETS]; /* virtio-net devices, in this order */
	unsigned nr_nets;
	struct vm_disk_config disks[VM_MAX_DISKS]; /* virtio-blk devices, in this order */
	unsigned nr_disks;
};

void vm_config_defaults(struct vm_config *cfg);

/* Parses a memory size: a plain number is MiB; a K, M, G or T suffix (any case,
 * optional "iB"/"B") scales by 1024s. Returns -EINVAL for junk, zero or overflow. */
int parse_mem_size(const char *text, uint64_t *bytes);

/* Parses an unsigned decimal in [min, max]; -EINVAL or -ERANGE otherwise. */
int parse_uint(const char *text, unsigned long min, unsigned long max, unsigned long *out);

#endif
