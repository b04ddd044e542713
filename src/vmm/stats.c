/* --stats: what the VM did and what it cost, and the console output each fd
 * lost. The VMM's own memory is the peak resident set minus the guest RAM
 * pages that are resident (touched). A restored VM also gets the time from
 * the restore's start (opening the snapshot) to vCPU 0's first KVM_RUN. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/device.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vm_snapshot.h"

static unsigned long long proc_status_kib(const char *key)
{
	char line[256];
	size_t keylen = strlen(key);
	unsigned long long value = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, keylen) == 0 && line[keylen] == ':') {
			value = strtoull(line + keylen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return value;
}

static unsigned long long resident_guest_kib(const struct guest_mem *mem)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long long pages = 0;

	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		size_t n = (r->size + (uint64_t)page - 1) / (uint64_t)page;
		unsigned char *vec = malloc(n);

		if (!vec)
			continue;
		if (mincore(r->host, r->size, vec) == 0) {
			for (size_t p = 0; p < n; p++)
				pages += vec[p] & 1;
		}
		free(vec);
	}
	return pages * (unsigned long long)page / 1024;
}

void vm_print_stats(struct vm *vm, int fd)
{
	unsigned long long hwm = proc_status_kib("VmHWM");
	unsigned long long guest = resident_guest_kib(&vm->mem);

	dprintf(fd, "kvmkit stats: exit=%s\n",
		vm_exit_reason_name((enum vm_exit_reason)atomic_load(&vm->exit_reason)));
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		dprintf(fd, "kvmkit stats: vcpu%u exits=%llu mmio=%llu pio=%llu\n", i,
			(unsigned long long)atomic_load(&v->nr_exits),
			(unsigned long long)atomic_load(&v->nr_mmio_exits),
			(unsigned long long)atomic_load(&v->nr_pio_exits));
	}
	for (unsigned i = 0; i < vm->nr_devices; i++) {
		struct device *d = vm->devices[i];

		dprintf(fd, "kvmkit stats: device %s (%s) reads=%llu writes=%llu rejected=%llu\n",
			d->name, d->ops->kind, (unsigned long long)atomic_load(&d->nr_reads),
			(unsigned long long)atomic_load(&d->nr_writes),
			(unsigned long long)atomic_load(&d->nr_rejected));
	}
	dprintf(fd, "kvmkit stats: console stdout_dropped=%llu log_dropped=%llu fd_dropped=%llu\n",
		(unsigned long long)console_dropped(&vm->console, CONSOLE_STDOUT),
		(unsigned long long)console_dropped(&vm->console, CONSOLE_LOG),
		(unsigned long long)console_dropped(&vm->console, CONSOLE_FD));
	dprintf(fd,
		"kvmkit stats: peak_rss_kib=%llu guest_resident_kib=%llu vmm_overhead_kib=%llu\n",
		hwm, guest, hwm > guest ? hwm - guest : 0);
	if (vm->cfg.restore && vm->nr_vcpus > 0) {
		uint64_t run = atomic_load(&vm->vcpus[0]->first_run_ns);
		uint64_t begun = vm->cfg.restore->begun_ns;

		if (run >= begun)
			dprintf(fd, "kvmkit stats: restore_to_first_run_us=%llu\n",
				(unsigned long long)((run - begun) / 1000));
		dprintf(fd,
			"kvmkit stats: working_set used=%s pages=%llu written=%llu "
			"prefaulted=%llu us=%llu\n",
			vm->working_set.used ? "yes" : "no",
			(unsigned long long)vm->working_set.touched,
			(unsigned long long)vm->working_set.written,
			(unsigned long long)vm->working_set.prefaulted,
			(unsigned long long)vm->working_set.us);
	}
}
