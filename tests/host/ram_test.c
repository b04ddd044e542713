/* Host tests of guest RAM in several regions: on x86_64, RAM past the 32-bit
 * MMIO hole continues at 4 GiB in a memslot of its own. A guest
 * (guests/ram_pattern.S) writes a pattern at addresses the test chose and
 * reads it back through the test device; the test then finds the same
 * pattern in the VMM's view of guest memory (vm->mem) at those addresses.
 *
 *     host-ram-test [CASE] */
#include <check.h>
#include <string.h>

#include "arch/arch.h"
#include "arch/x86_64/layout.h"
#include "guests/layout.h"
#include "host_util.h"
#include "test_device.h"
#include "vm_util.h"
#include "vmm/vm.h"

#define MiB (1ULL << 20)
#define GUEST_TIMEOUT_SEC 10
#define PATTERN_BYTES (TEST_PATTERN_QWORDS * 8)

static struct vm *create_vm(uint64_t mem_size)
{
	struct vm_config cfg;
	struct vm *vm = NULL;
	char err[512] = "";
	bool input_error = false;
	int ret;

	vm_config_defaults(&cfg);
	cfg.kernel_path = host_guest_path("ram_pattern");
	cfg.mem_size = mem_size;
	cfg.console_stdio = false;
	cfg.timeout_sec = (unsigned)(GUEST_TIMEOUT_SEC * host_time_factor());
	ret = vm_create(&cfg, &vm, err, sizeof(err), &input_error);
	ck_assert_msg(ret == 0, "vm_create with %llu MiB: %s (%d)",
		      (unsigned long long)(mem_size >> 20), err, ret);
	return vm;
}

static void assert_region(const struct vm *vm, unsigned i, uint64_t gpa, uint64_t size)
{
	const struct guest_mem_region *r = &vm->mem.regions[i];

	ck_assert_msg(r->gpa == gpa && r->size == size,
		      "RAM region %u is 0x%llx+0x%llx, expected 0x%llx+0x%llx", i,
		      (unsigned long long)r->gpa, (unsigned long long)r->size,
		      (unsigned long long)gpa, (unsigned long long)size);
}

/* Boots ram_pattern with the table @gpas, then checks what the guest read
 * back and what the VMM finds at each address. */
static void write_and_find_pattern(struct vm *vm, const uint64_t *gpas, unsigned nr)
{
	uint64_t table[1 + TEST_RAM_TABLE_MAX] = {nr};
	struct test_device *t =
		test_device_new("mmio-test", BUS_MMIO, TEST_MMIO_BASE, TEST_MMIO_SIZE);
	enum vm_exit_reason reason;

	ck_assert_uint_le(nr, TEST_RAM_TABLE_MAX);
	ck_assert_ptr_nonnull(t);
	ck_assert_msg(vm_add_device(vm, &t->dev) == 0, "vm_add_device: %s", vm->error);
	for (unsigned i = 0; i < nr; i++) {
		const uint8_t *host = guest_mem_ptr(&vm->mem, gpas[i], PATTERN_BYTES);

		ck_assert_msg(host, "0x%llx is not RAM", (unsigned long long)gpas[i]);
		/* Nothing but the guest may put the pattern there. */
		for (unsigned b = 0; b < PATTERN_BYTES; b++)
			ck_assert_uint_eq(host[b], 0);
		table[1 + i] = gpas[i];
	}
	ck_assert_int_eq(guest_mem_write(&vm->mem, TEST_RAM_TABLE, table, sizeof(table)), 0);

	reason = vm_run(vm);
	ck_assert_msg(reason == VM_EXIT_POWEROFF, "guest ended with %s, not poweroff (%s)",
		      vm_exit_reason_name(reason), vm->error);
	ck_assert_uint_eq(t->done, TEST_DONE_MAGIC);
	ck_assert_msg(t->nr_bad_writes == 0,
		      "the guest read back 0x%llx as value %u of its pattern (%u bad)",
		      (unsigned long long)t->first_bad_write.value, t->nr_good_writes,
		      t->nr_bad_writes);
	ck_assert_uint_eq(t->nr_good_writes, nr * TEST_PATTERN_QWORDS);
	for (unsigned i = 0; i < nr; i++) {
		for (unsigned q = 0; q < TEST_PATTERN_QWORDS; q++) {
			uint64_t gpa = gpas[i] + 8 * q, want = test_seq_value(i * 8 + q, 8), seen;

			ck_assert_int_eq(guest_mem_read(&vm->mem, gpa, &seen, sizeof(seen)), 0);
			ck_assert_msg(seen == want,
				      "vm->mem at 0x%llx holds 0x%llx, the guest wrote 0x%llx",
				      (unsigned long long)gpa, (unsigned long long)seen,
				      (unsigned long long)want);
		}
	}
	ck_assert_msg(host_captured_lines() == 0, "unexpected messages:\n%s", host_captured());
}

/* 4608 MiB, as a PC lays it out: 3 GiB below the hole, 1.5 GiB from 4 GiB.
 * The pattern goes at the top of low RAM and at both ends of high RAM. */
START_TEST(ram_above_4g)
{
	const uint64_t mem_size = 4608 * MiB, high_size = mem_size - X86_MMIO_HOLE;
	struct vm *vm = create_vm(mem_size);
	const uint64_t gpas[] = {
		X86_MMIO_HOLE - PATTERN_BYTES,
		X86_HIGH_RAM_BASE,
		X86_HIGH_RAM_BASE + high_size / 2 + 0x1000 - PATTERN_BYTES / 2, /* across a page */
		X86_HIGH_RAM_BASE + high_size - PATTERN_BYTES,
	};

	ck_assert_uint_eq(vm->mem.nr_regions, 2);
	assert_region(vm, 0, 0, X86_MMIO_HOLE);
	assert_region(vm, 1, X86_HIGH_RAM_BASE, high_size);
	ck_assert_ptr_null(guest_mem_ptr(&vm->mem, X86_MMIO_HOLE, 1));
	ck_assert_ptr_null(guest_mem_ptr(&vm->mem, X86_HIGH_RAM_BASE - 1, 1));
	write_and_find_pattern(vm, gpas, sizeof(gpas) / sizeof(gpas[0]));
	vm_destroy(vm);
}
END_TEST

/* The largest RAM the layout allows ends at X86_RAM_END_MAX: KVM takes the
 * memslot and the boot page tables reach its last page. Anonymous memory is
 * mapped lazily, so only the touched pages cost host memory. */
START_TEST(largest_ram)
{
	struct vm *vm = create_vm(arch_max_ram());
	const uint64_t gpas[] = {X86_HIGH_RAM_BASE, X86_RAM_END_MAX - PATTERN_BYTES};

	ck_assert_uint_eq(vm->mem.nr_regions, 2);
	assert_region(vm, 0, 0, X86_MMIO_HOLE);
	assert_region(vm, 1, X86_HIGH_RAM_BASE, X86_RAM_END_MAX - X86_HIGH_RAM_BASE);
	write_and_find_pattern(vm, gpas, sizeof(gpas) / sizeof(gpas[0]));
	vm_destroy(vm);
}
END_TEST

/* Below the hole nothing changes: one region from 0. */
START_TEST(ram_below_hole)
{
	struct vm *vm = create_vm(VM_MIN_MEM);
	const uint64_t gpas[] = {TEST_RAM_TABLE + 0x1000, VM_MIN_MEM - PATTERN_BYTES};

	ck_assert_uint_eq(vm->mem.nr_regions, 1);
	assert_region(vm, 0, 0, VM_MIN_MEM);
	write_and_find_pattern(vm, gpas, sizeof(gpas) / sizeof(gpas[0]));
	vm_destroy(vm);
}
END_TEST

int main(int argc, char **argv)
{
	const struct host_case cases[] = {
		{"above_4g", ram_above_4g, 30},
		{"largest", largest_ram, 30},
		{"below_hole", ram_below_hole, 10},
	};
	const struct host_suite suite = {
		.name = "ram",
		.cases = cases,
		.nr_cases = sizeof(cases) / sizeof(cases[0]),
		.setup = host_capture_start,
		.teardown = host_capture_stop,
	};

	return host_run_suite(argc, argv, &suite);
}
