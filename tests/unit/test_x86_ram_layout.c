/* x86_ram_regions(): RAM below the 32-bit MMIO hole first, the rest from 4 GiB,
 * never beyond what the boot page tables and every host's MAXPHYADDR reach. */
#include <errno.h>

#include "arch/x86_64/layout.h"
#include "arch/x86_64/ram_layout.h"
#include "unit.h"
#include "vmm/guest_mem.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define MAX_OUT 4

static struct arch_ram_region out[MAX_OUT];

static void assert_region(unsigned i, uint64_t gpa, uint64_t size)
{
	ck_assert_msg(out[i].gpa == gpa && out[i].size == size,
		      "region %u is 0x%llx+0x%llx, expected 0x%llx+0x%llx", i,
		      (unsigned long long)out[i].gpa, (unsigned long long)out[i].size,
		      (unsigned long long)gpa, (unsigned long long)size);
}

START_TEST(small_ram_is_one_region)
{
	ck_assert_int_eq(x86_ram_regions(16 * MiB, out, MAX_OUT), 1);
	assert_region(0, 0, 16 * MiB);
}
END_TEST

START_TEST(ram_up_to_the_hole_is_one_region)
{
	ck_assert_int_eq(x86_ram_regions(3 * GiB, out, MAX_OUT), 1);
	assert_region(0, 0, 3 * GiB);
	ck_assert_uint_eq(out[0].gpa + out[0].size, X86_MMIO_HOLE);
}
END_TEST

START_TEST(one_page_past_the_hole_goes_to_4g)
{
	ck_assert_int_eq(x86_ram_regions(3 * GiB + 4 * KiB, out, MAX_OUT), 2);
	assert_region(0, 0, 3 * GiB);
	assert_region(1, 4 * GiB, 4 * KiB);
}
END_TEST

START_TEST(pc_like_split)
{
	ck_assert_int_eq(x86_ram_regions(4608 * MiB, out, MAX_OUT), 2);
	assert_region(0, 0, 3 * GiB);
	assert_region(1, 4 * GiB, 1536 * MiB);
}
END_TEST

START_TEST(largest_ram_ends_at_64g)
{
	ck_assert_uint_eq(X86_MAX_RAM, 63 * GiB);
	ck_assert_int_eq(x86_ram_regions(X86_MAX_RAM, out, MAX_OUT), 2);
	assert_region(0, 0, 3 * GiB);
	assert_region(1, 4 * GiB, 60 * GiB);
	ck_assert_uint_eq(out[1].gpa + out[1].size, X86_RAM_END_MAX);
	ck_assert_uint_eq(X86_RAM_END_MAX, 1ULL << 36);
}
END_TEST

/* The boot page tables map whole GiB up to X86_RAM_END_MAX, and nothing that
 * may be loaded sits under them. */
START_TEST(page_tables_cover_the_largest_ram)
{
	ck_assert_uint_eq(X86_PD_PAGES * GiB, X86_RAM_END_MAX);
	ck_assert_uint_ge(X86_PD_PAGES, 4);   /* the first 4 GiB, MMIO included */
	ck_assert_uint_le(X86_PD_PAGES, 512); /* one page-directory-pointer table */
	ck_assert_uint_le(X86_PD_ADDR + X86_PD_PAGES * 4 * KiB, X86_LOW_RESERVED);
	ck_assert_uint_lt(X86_LOW_RESERVED, X86_BOOT_STACK);
}
END_TEST

static const uint64_t bad_sizes[] = {
	0,        4 * KiB - 1, 16 * MiB + 1,           3 * GiB + 512, X86_MAX_RAM + 4 * KiB,
	64 * GiB, UINT64_MAX,  UINT64_MAX & ~0xfffULL,
};

START_TEST(bad_size_rejected)
{
	ck_assert_int_eq(x86_ram_regions(bad_sizes[_i], out, MAX_OUT), -EINVAL);
}
END_TEST

START_TEST(too_few_slots)
{
	ck_assert_int_eq(x86_ram_regions(16 * MiB, out, 0), -ENOSPC);
	ck_assert_int_eq(x86_ram_regions(4608 * MiB, out, 1), -ENOSPC);
	ck_assert_int_eq(x86_ram_regions(3 * GiB, out, 1), 1);
	ck_assert_int_eq(x86_ram_regions(4608 * MiB, out, 2), 2);
}
END_TEST

/* For many sizes: the regions hold exactly the RAM asked for, page aligned, in
 * ascending order, none in the hole or past X86_RAM_END_MAX, and guest_mem
 * accepts them as they come. */
START_TEST(split_invariants)
{
	static uint8_t host_page[4096];
	uint32_t seed = 8;

	for (unsigned k = 0; k < 2000; k++) {
		uint64_t pages = X86_MAX_RAM >> 12, size, sum = 0;
		struct guest_mem mem = {0};
		int n;

		size = k < 2 ? (k ? X86_MAX_RAM : 4 * KiB)
			     : ((((uint64_t)unit_rand(&seed) << 24) ^ unit_rand(&seed)) % pages + 1)
				       << 12;
		n = x86_ram_regions(size, out, MAX_OUT);
		ck_assert_msg(n == 1 || n == 2, "%llu bytes: %d regions", (unsigned long long)size,
			      n);
		ck_assert_int_eq(n == 2, size > X86_MMIO_HOLE);
		for (int i = 0; i < n; i++) {
			const struct arch_ram_region *r = &out[i];

			ck_assert_uint_ne(r->size, 0);
			ck_assert_uint_eq((r->gpa | r->size) & 0xfff, 0);
			ck_assert(r->gpa + r->size <= X86_MMIO_HOLE || r->gpa >= X86_HIGH_RAM_BASE);
			ck_assert_uint_le(r->gpa + r->size, X86_RAM_END_MAX);
			if (i > 0)
				ck_assert_uint_ge(r->gpa, out[i - 1].gpa + out[i - 1].size);
			sum += r->size;
			/* One host page stands for all of it: guest_mem_add() only records. */
			ck_assert_int_eq(guest_mem_add(&mem, r->gpa, r->size, host_page), 0);
		}
		ck_assert_uint_eq(sum, size);
		ck_assert_uint_eq(out[0].gpa, X86_RAM_BASE);
		guest_mem_release(&mem);
	}
}
END_TEST

Suite *x86_ram_layout_suite(void)
{
	Suite *s = suite_create("x86_ram_layout");
	TCase *good = tcase_create("split");
	TCase *bad = tcase_create("bad");

	tcase_add_test(good, small_ram_is_one_region);
	tcase_add_test(good, ram_up_to_the_hole_is_one_region);
	tcase_add_test(good, one_page_past_the_hole_goes_to_4g);
	tcase_add_test(good, pc_like_split);
	tcase_add_test(good, largest_ram_ends_at_64g);
	tcase_add_test(good, page_tables_cover_the_largest_ram);
	tcase_add_test(good, split_invariants);
	suite_add_tcase(s, good);
	tcase_add_loop_test(bad, bad_size_rejected, 0, ARRAY_SIZE(bad_sizes));
	tcase_add_test(bad, too_few_slots);
	suite_add_tcase(s, bad);
	return s;
}
