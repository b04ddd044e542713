#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "vmm/guest_mem.h"

#define PAGE 0x1000ULL

/* Real backing for the regions whose bytes the tests touch. */
static uint8_t ram_lo[2 * PAGE];
static uint8_t ram_hi[PAGE];
/* guest_mem_add() never dereferences @host, so table-only tests share one. */
static uint8_t dummy_host[1];

static struct guest_mem mem;

static void empty_table(void)
{
	mem = (struct guest_mem){0};
	memset(ram_lo, 0, sizeof(ram_lo));
	memset(ram_hi, 0, sizeof(ram_hi));
}

/* Regions own their dirty bitmaps: every test ends by releasing the table. */
static void release_table(void) { guest_mem_release(&mem); }

/* RAM at [0x10000, 0x12000) and [0x20000, 0x21000), a hole between them. */
static void two_regions(void)
{
	empty_table();
	ck_assert_int_eq(guest_mem_add(&mem, 0x10000, sizeof(ram_lo), ram_lo), 0);
	ck_assert_int_eq(guest_mem_add(&mem, 0x20000, sizeof(ram_hi), ram_hi), 0);
}

START_TEST(add_accepts_aligned_region)
{
	ck_assert_int_eq(guest_mem_add(&mem, 0x40000000, 0x10000000, dummy_host), 0);
	ck_assert_uint_eq(mem.nr_regions, 1);
	ck_assert_uint_eq(mem.regions[0].gpa, 0x40000000);
	ck_assert_uint_eq(mem.regions[0].size, 0x10000000);
	ck_assert_ptr_eq(mem.regions[0].host, dummy_host);
	ck_assert(!mem.regions[0].owned);
}
END_TEST

START_TEST(add_rejects_zero_size)
{
	ck_assert_int_eq(guest_mem_add(&mem, 0x1000, 0, dummy_host), -EINVAL);
	ck_assert_uint_eq(mem.nr_regions, 0);
}
END_TEST

START_TEST(add_rejects_unaligned_gpa)
{
	ck_assert_int_eq(guest_mem_add(&mem, 0x1800, PAGE, dummy_host), -EINVAL);
	ck_assert_int_eq(guest_mem_add(&mem, 0x1001, PAGE, dummy_host), -EINVAL);
	ck_assert_uint_eq(mem.nr_regions, 0);
}
END_TEST

START_TEST(add_rejects_unaligned_size)
{
	ck_assert_int_eq(guest_mem_add(&mem, 0x1000, PAGE + 1, dummy_host), -EINVAL);
	ck_assert_int_eq(guest_mem_add(&mem, 0x1000, PAGE - 1, dummy_host), -EINVAL);
	ck_assert_uint_eq(mem.nr_regions, 0);
}
END_TEST

START_TEST(add_rejects_wrap_around)
{
	uint64_t last_page = UINT64_MAX & ~(PAGE - 1);

	ck_assert_int_eq(guest_mem_add(&mem, last_page, 2 * PAGE, dummy_host), -EINVAL);
	ck_assert_int_eq(guest_mem_add(&mem, PAGE, UINT64_MAX & ~(PAGE - 1), dummy_host), -EINVAL);
	ck_assert_uint_eq(mem.nr_regions, 0);
}
END_TEST

START_TEST(add_rejects_null_host)
{
	ck_assert_int_eq(guest_mem_add(&mem, 0x1000, PAGE, NULL), -EINVAL);
}
END_TEST

START_TEST(add_accepts_adjacent_regions)
{
	ck_assert_int_eq(guest_mem_add(&mem, 0x2000, PAGE, dummy_host), 0);
	ck_assert_int_eq(guest_mem_add(&mem, 0x3000, PAGE, dummy_host), 0);
	ck_assert_int_eq(guest_mem_add(&mem, 0x1000, PAGE, dummy_host), 0);
	ck_assert_uint_eq(mem.nr_regions, 3);
}
END_TEST

START_TEST(add_rejects_overlap)
{
	ck_assert_int_eq(guest_mem_add(&mem, 0x10000, 4 * PAGE, dummy_host), 0);
	/* Same start, tail inside, head inside, containing, contained. */
	ck_assert_int_eq(guest_mem_add(&mem, 0x10000, PAGE, dummy_host), -EEXIST);
	ck_assert_int_eq(guest_mem_add(&mem, 0xf000, 2 * PAGE, dummy_host), -EEXIST);
	ck_assert_int_eq(guest_mem_add(&mem, 0x13000, 2 * PAGE, dummy_host), -EEXIST);
	ck_assert_int_eq(guest_mem_add(&mem, 0x8000, 16 * PAGE, dummy_host), -EEXIST);
	ck_assert_int_eq(guest_mem_add(&mem, 0x11000, PAGE, dummy_host), -EEXIST);
	ck_assert_uint_eq(mem.nr_regions, 1);
}
END_TEST

START_TEST(add_rejects_when_table_full)
{
	for (unsigned i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		ck_assert_int_eq(guest_mem_add(&mem, (i + 1) * 0x100000ULL, PAGE, dummy_host), 0);
	ck_assert_int_eq(guest_mem_add(&mem, 0x10000000, PAGE, dummy_host), -ENOSPC);
	ck_assert_uint_eq(mem.nr_regions, GUEST_MEM_MAX_REGIONS);
}
END_TEST

START_TEST(ptr_inside_region)
{
	ck_assert_ptr_eq(guest_mem_ptr(&mem, 0x10000, 1), ram_lo);
	ck_assert_ptr_eq(guest_mem_ptr(&mem, 0x10123, 8), ram_lo + 0x123);
	ck_assert_ptr_eq(guest_mem_ptr(&mem, 0x10000, sizeof(ram_lo)), ram_lo);
	ck_assert_ptr_eq(guest_mem_ptr(&mem, 0x20ff8, 8), ram_hi + 0xff8);
}
END_TEST

START_TEST(ptr_straddling_end_fails)
{
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0x11ffc, 8));
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0x10000, sizeof(ram_lo) + 1));
}
END_TEST

START_TEST(ptr_last_byte_and_exactly_at_end)
{
	ck_assert_ptr_eq(guest_mem_ptr(&mem, 0x11fff, 1), ram_lo + sizeof(ram_lo) - 1);
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0x12000, 1));
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0x21000, 1));
}
END_TEST

START_TEST(ptr_len_zero_needs_valid_gpa)
{
	ck_assert_ptr_eq(guest_mem_ptr(&mem, 0x10010, 0), ram_lo + 0x10);
	ck_assert_ptr_eq(guest_mem_ptr(&mem, 0x11fff, 0), ram_lo + sizeof(ram_lo) - 1);
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0x12000, 0));
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0, 0));
}
END_TEST

START_TEST(ptr_gpa_plus_len_overflow_fails)
{
	ck_assert_ptr_null(guest_mem_ptr(&mem, UINT64_MAX - 1, 4));
	ck_assert_ptr_null(guest_mem_ptr(&mem, UINT64_MAX, 1));
	/* A valid start whose end wraps to a small (mapped) address. */
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0x10008, UINT64_MAX - 4));
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0x10000, UINT64_MAX));
}
END_TEST

START_TEST(ptr_in_hole_between_regions_fails)
{
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0x18000, 1));
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0xfff, 1));
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0xfff, 2));
}
END_TEST

START_TEST(ptr_spanning_adjacent_regions_fails)
{
	/* Adjacent in the guest, unrelated on the host: one pointer cannot cover both. */
	release_table();
	empty_table();
	ck_assert_int_eq(guest_mem_add(&mem, 0x10000, sizeof(ram_lo), ram_lo), 0);
	ck_assert_int_eq(guest_mem_add(&mem, 0x12000, sizeof(ram_hi), ram_hi), 0);
	ck_assert_ptr_eq(guest_mem_ptr(&mem, 0x12000, 4), ram_hi);
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0x11ffe, 4));
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0x10000, sizeof(ram_lo) + sizeof(ram_hi)));
}
END_TEST

START_TEST(region_of_finds_containing_region)
{
	ck_assert_ptr_eq(guest_mem_region_of(&mem, 0x10000), &mem.regions[0]);
	ck_assert_ptr_eq(guest_mem_region_of(&mem, 0x11fff), &mem.regions[0]);
	ck_assert_ptr_eq(guest_mem_region_of(&mem, 0x20800), &mem.regions[1]);
	ck_assert_ptr_null(guest_mem_region_of(&mem, 0x12000));
	ck_assert_ptr_null(guest_mem_region_of(&mem, UINT64_MAX));
}
END_TEST

START_TEST(write_then_read_round_trip)
{
	const char msg[] = "kvmkit";
	char back[sizeof(msg)] = {0};

	ck_assert_int_eq(guest_mem_write(&mem, 0x11ff9, msg, sizeof(msg)), 0);
	ck_assert_mem_eq(ram_lo + 0x1ff9, msg, sizeof(msg));
	ck_assert_int_eq(guest_mem_read(&mem, 0x11ff9, back, sizeof(back)), 0);
	ck_assert_str_eq(back, msg);
}
END_TEST

START_TEST(write_outside_ram_is_efault_and_writes_nothing)
{
	static const uint8_t zero[sizeof(ram_lo)];
	uint8_t data[16];

	memset(data, 0xaa, sizeof(data));
	ck_assert_int_eq(guest_mem_write(&mem, 0x18000, data, sizeof(data)), -EFAULT);
	ck_assert_int_eq(guest_mem_write(&mem, 0x11ff8, data, sizeof(data)), -EFAULT);
	ck_assert_int_eq(guest_mem_write(&mem, UINT64_MAX - 1, data, 4), -EFAULT);
	ck_assert_mem_eq(ram_lo, zero, sizeof(ram_lo));
}
END_TEST

START_TEST(read_outside_ram_is_efault_and_reads_nothing)
{
	uint8_t data[16], before[16];

	memset(data, 0x55, sizeof(data));
	memcpy(before, data, sizeof(data));
	ck_assert_int_eq(guest_mem_read(&mem, 0x12000, data, 1), -EFAULT);
	ck_assert_int_eq(guest_mem_read(&mem, 0x20ffc, data, 8), -EFAULT);
	ck_assert_int_eq(guest_mem_read(&mem, 0x11ffe, data, 4), -EFAULT);
	ck_assert_mem_eq(data, before, sizeof(data));
}
END_TEST

START_TEST(alloc_maps_and_release_empties)
{
	uint8_t *host;

	ck_assert_int_eq(guest_mem_alloc(&mem, 0x100000, 4 * PAGE), 0);
	ck_assert(mem.regions[0].owned);
	host = guest_mem_ptr(&mem, 0x103ff8, 8);
	ck_assert_ptr_nonnull(host);
	memset(host, 0x5a, 8);
	guest_mem_release(&mem);
	ck_assert_uint_eq(mem.nr_regions, 0);
	ck_assert_ptr_null(guest_mem_ptr(&mem, 0x100000, 1));
}
END_TEST

START_TEST(alloc_memfd_is_shared_and_closed_at_release)
{
	uint8_t *host, byte = 0;
	int fd;

	ck_assert_int_eq(guest_mem_alloc_memfd(&mem, 0x100000, 4 * PAGE), 0);
	ck_assert_int_eq(guest_mem_alloc_memfd(&mem, 0x200000, PAGE + 8), -EINVAL);
	ck_assert(mem.regions[0].owned);
	fd = mem.regions[0].fd;
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	host = guest_mem_ptr(&mem, 0x102000, 1);
	ck_assert_ptr_nonnull(host);
	/* Both ways: the mapping is the file's pages, not a private copy. */
	*host = 0xa5;
	ck_assert_int_eq(pread(fd, &byte, 1, 2 * PAGE), 1);
	ck_assert_uint_eq(byte, 0xa5);
	byte = 0x3c;
	ck_assert_int_eq(pwrite(fd, &byte, 1, 3 * PAGE + 7), 1);
	ck_assert_uint_eq(*(uint8_t *)guest_mem_ptr(&mem, 0x103007, 1), 0x3c);
	guest_mem_release(&mem);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

START_TEST(load_file_reads_data_and_leaves_holes)
{
	char path[] = "/tmp/kvmkit-unit-memfile-XXXXXX";
	uint8_t page[PAGE], *host;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	/* A 64-page file: data at pages 1 and 40-41 (from offset 8 pages on:
	 * region pages 0 not in range), holes elsewhere. */
	memset(page, 0x11, sizeof(page));
	ck_assert_int_eq(pwrite(fd, page, PAGE, 9 * PAGE), PAGE);
	memset(page, 0x22, sizeof(page));
	ck_assert_int_eq(pwrite(fd, page, PAGE, 48 * PAGE), PAGE);
	ck_assert_int_eq(pwrite(fd, page, 100, 49 * PAGE + 8), 100);
	ck_assert_int_eq(ftruncate(fd, 64 * PAGE), 0);
	ck_assert_int_eq(guest_mem_alloc_memfd(&mem, 0x100000, 56 * PAGE), 0);
	host = guest_mem_ptr(&mem, 0x100000, 56 * PAGE);
	/* What a hole covers keeps what RAM held. */
	memset(host + 20 * PAGE, 0x77, PAGE);
	ck_assert_int_eq(guest_mem_load_file(&mem, 0x100000, 56 * PAGE, fd, 8 * PAGE), 0);
	for (unsigned p = 0; p < 56; p++) {
		for (unsigned b = 0; b < PAGE; b++) {
			uint8_t want = p == 1 ? 0x11 : p == 40 ? 0x22 : p == 20 ? 0x77 : 0;

			if (p == 41)
				want = b >= 8 && b < 108 ? 0x22 : 0;
			ck_assert_msg(host[p * PAGE + b] == want,
				      "page %u byte %u: 0x%x, want 0x%x", p, b, host[p * PAGE + b],
				      want);
		}
	}
	ck_assert_int_eq(guest_mem_load_file(&mem, 0x100000 + 55 * PAGE, 2 * PAGE, fd, 0), -EFAULT);
	close(fd);
}
END_TEST

START_TEST(anonymous_regions_have_no_fd)
{
	static uint8_t backing[2 * PAGE] __attribute__((aligned(4096)));

	ck_assert_int_eq(guest_mem_alloc(&mem, 0x100000, PAGE), 0);
	ck_assert_int_eq(guest_mem_add(&mem, 0x200000, sizeof(backing), backing), 0);
	ck_assert_int_eq(mem.regions[0].fd, -1);
	ck_assert_int_eq(mem.regions[1].fd, -1);
	guest_mem_release(&mem);
}
END_TEST

START_TEST(alloc_rejects_bad_ranges)
{
	ck_assert_int_eq(guest_mem_alloc(&mem, 0x100000, 0), -EINVAL);
	ck_assert_int_eq(guest_mem_alloc(&mem, 0x100000, PAGE + 8), -EINVAL);
	ck_assert_int_eq(guest_mem_alloc(&mem, 0x100800, PAGE), -EINVAL);
	ck_assert_int_eq(guest_mem_alloc(&mem, 0x100000, 2 * PAGE), 0);
	ck_assert_int_eq(guest_mem_alloc(&mem, 0x101000, 2 * PAGE), -EEXIST);
	ck_assert_uint_eq(mem.nr_regions, 1);
	guest_mem_release(&mem);
}
END_TEST

Suite *guest_mem_suite(void)
{
	Suite *s = suite_create("guest_mem");
	TCase *add = tcase_create("add");
	TCase *access = tcase_create("access");
	TCase *alloc = tcase_create("alloc");

	tcase_add_checked_fixture(add, empty_table, release_table);
	tcase_add_test(add, add_accepts_aligned_region);
	tcase_add_test(add, add_rejects_zero_size);
	tcase_add_test(add, add_rejects_unaligned_gpa);
	tcase_add_test(add, add_rejects_unaligned_size);
	tcase_add_test(add, add_rejects_wrap_around);
	tcase_add_test(add, add_rejects_null_host);
	tcase_add_test(add, add_accepts_adjacent_regions);
	tcase_add_test(add, add_rejects_overlap);
	tcase_add_test(add, add_rejects_when_table_full);
	suite_add_tcase(s, add);

	tcase_add_checked_fixture(access, two_regions, release_table);
	tcase_add_test(access, ptr_inside_region);
	tcase_add_test(access, ptr_straddling_end_fails);
	tcase_add_test(access, ptr_last_byte_and_exactly_at_end);
	tcase_add_test(access, ptr_len_zero_needs_valid_gpa);
	tcase_add_test(access, ptr_gpa_plus_len_overflow_fails);
	tcase_add_test(access, ptr_in_hole_between_regions_fails);
	tcase_add_test(access, ptr_spanning_adjacent_regions_fails);
	tcase_add_test(access, region_of_finds_containing_region);
	tcase_add_test(access, write_then_read_round_trip);
	tcase_add_test(access, write_outside_ram_is_efault_and_writes_nothing);
	tcase_add_test(access, read_outside_ram_is_efault_and_reads_nothing);
	suite_add_tcase(s, access);

	tcase_add_checked_fixture(alloc, empty_table, release_table);
	tcase_add_test(alloc, alloc_maps_and_release_empties);
	tcase_add_test(alloc, alloc_rejects_bad_ranges);
	tcase_add_test(alloc, alloc_memfd_is_shared_and_closed_at_release);
	tcase_add_test(alloc, anonymous_regions_have_no_fd);
	tcase_add_test(alloc, load_file_reads_data_and_leaves_holes);
	suite_add_tcase(s, alloc);
	return s;
}
