#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "vmm/working_set.h"

#define PAGE 0x1000ULL
/* Two regions, the first ending inside a word (runs must stop at its end),
 * the second a whole number of words. */
#define A_GPA 0x40000000ULL
#define B_GPA 0x100000000ULL
#define A_PAGES 100
#define B_PAGES 128

static uint8_t dummy_host[1];
static struct guest_mem mem;
static const uint8_t id[SNAPSHOT_ID_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static char dir[64];
static char path[128];
static struct working_set ws, got;
static char err[512];

static void setup(void)
{
	mem = (struct guest_mem){0};
	ck_assert_int_eq(guest_mem_add(&mem, A_GPA, A_PAGES * PAGE, dummy_host), 0);
	ck_assert_int_eq(guest_mem_add(&mem, B_GPA, B_PAGES * PAGE, dummy_host), 0);
	snprintf(dir, sizeof(dir), "/tmp/kvmkit-ws-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, WORKING_SET_FILE);
	ck_assert_int_eq(working_set_init(&ws, id, &mem), 0);
	/* Touched: A 0-2, 63-64 (across a word), 99 (its last page); B 5,
	 * 64-127 (to its end). Written: A 1, 64; B 100. */
	for (unsigned p = 0; p < 3; p++)
		dirty_set_add_page(&ws.touched, 0, p);
	dirty_set_add_page(&ws.touched, 0, 63);
	dirty_set_add_page(&ws.touched, 0, 64);
	dirty_set_add_page(&ws.touched, 0, 99);
	dirty_set_add_page(&ws.touched, 1, 5);
	for (unsigned p = 64; p < 128; p++)
		dirty_set_add_page(&ws.touched, 1, p);
	dirty_set_add_page(&ws.written, 0, 1);
	dirty_set_add_page(&ws.written, 0, 64);
	dirty_set_add_page(&ws.written, 1, 100);
	got = (struct working_set){0};
}

static void teardown(void)
{
	working_set_free(&ws);
	working_set_free(&got);
	guest_mem_release(&mem);
	unlink(path);
	rmdir(dir);
}

static size_t file_bytes(uint8_t **data)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	*data = malloc((size_t)st.st_size);
	ck_assert_int_eq(read(fd, *data, (size_t)st.st_size), st.st_size);
	close(fd);
	return (size_t)st.st_size;
}

static void put_bytes(const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

START_TEST(round_trip)
{
	ck_assert_int_eq(working_set_write(dir, &ws, err, sizeof(err)), 0);
	ck_assert_int_eq(working_set_read(dir, id, &mem, &got, err, sizeof(err)), 0);
	ck_assert_uint_eq(dirty_set_count(&got.touched), 6 + 65);
	ck_assert_uint_eq(dirty_set_count(&got.written), 3);
	for (unsigned r = 0; r < 2; r++)
		for (unsigned p = 0; p < (r ? B_PAGES : A_PAGES); p++) {
			uint64_t gpa = (r ? B_GPA : A_GPA) + p * PAGE;

			ck_assert_int_eq(dirty_set_test(&got.touched, gpa),
					 dirty_set_test(&ws.touched, gpa));
			ck_assert_int_eq(dirty_set_test(&got.written, gpa),
					 dirty_set_test(&ws.written, gpa));
		}
	/* Nothing but the file is left in the directory. */
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			ck_assert_str_eq(e->d_name, WORKING_SET_FILE);
			n++;
		}
	closedir(d);
	ck_assert_uint_eq(n, 1);
	/* A second write replaces the first. */
	dirty_set_add_page(&ws.touched, 1, 0);
	ck_assert_int_eq(working_set_write(dir, &ws, err, sizeof(err)), 0);
	working_set_free(&got);
	ck_assert_int_eq(working_set_read(dir, id, &mem, &got, err, sizeof(err)), 0);
	ck_assert_uint_eq(dirty_set_count(&got.touched), 6 + 65 + 1);
}
END_TEST

START_TEST(runs)
{
	uint64_t first, count, from = 0;
	/* Expected runs of touched: A {0,3} {63,2} {99,1}; B {5,1} {64,64}. */
	const uint64_t want[2][3][2] = {{{0, 3}, {63, 2}, {99, 1}}, {{5, 1}, {64, 64}, {0, 0}}};

	for (unsigned r = 0; r < 2; r++) {
		unsigned n = 0;

		from = 0;
		while (working_set_next_run(&ws.touched, r, from, &first, &count)) {
			ck_assert_uint_lt(n, r ? 2 : 3);
			ck_assert_uint_eq(first, want[r][n][0]);
			ck_assert_uint_eq(count, want[r][n][1]);
			from = first + count;
			n++;
		}
		ck_assert_uint_eq(n, r ? 2 : 3);
	}
	/* From the middle of a run; past the end; a region that is not there. */
	ck_assert(working_set_next_run(&ws.touched, 1, 70, &first, &count));
	ck_assert_uint_eq(first, 70);
	ck_assert_uint_eq(count, 58);
	ck_assert(!working_set_next_run(&ws.touched, 0, 100, &first, &count));
	ck_assert(!working_set_next_run(&ws.touched, 2, 0, &first, &count));
}
END_TEST

START_TEST(missing_is_enoent)
{
	ck_assert_int_eq(working_set_read(dir, id, &mem, &got, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

/* Every byte flipped in turn, and every length cut short, is refused. */
START_TEST(damage_refused)
{
	uint8_t *data;
	size_t len;

	ck_assert_int_eq(working_set_write(dir, &ws, err, sizeof(err)), 0);
	len = file_bytes(&data);
	for (size_t i = 0; i < len; i++) {
		data[i] ^= 0x04;
		put_bytes(data, len);
		ck_assert_int_lt(working_set_read(dir, id, &mem, &got, err, sizeof(err)), 0);
		ck_assert_ptr_nonnull(strstr(err, path));
		ck_assert_uint_eq(got.touched.nr_regions, 0);
		data[i] ^= 0x04;
	}
	for (size_t cut = 0; cut < len; cut++) {
		put_bytes(data, cut);
		ck_assert_int_lt(working_set_read(dir, id, &mem, &got, err, sizeof(err)), 0);
	}
	put_bytes(data, len);
	ck_assert_int_eq(working_set_read(dir, id, &mem, &got, err, sizeof(err)), 0);
	free(data);
}
END_TEST

START_TEST(other_snapshot_refused)
{
	uint8_t other[SNAPSHOT_ID_BYTES];

	ck_assert_int_eq(working_set_write(dir, &ws, err, sizeof(err)), 0);
	memcpy(other, id, sizeof(other));
	other[15] ^= 1;
	ck_assert_int_eq(working_set_read(dir, other, &mem, &got, err, sizeof(err)), -ESTALE);
	ck_assert_ptr_nonnull(strstr(err, "another snapshot"));
}
END_TEST

START_TEST(other_layout_refused)
{
	struct guest_mem bigger = {0}, moved = {0};

	ck_assert_int_eq(working_set_write(dir, &ws, err, sizeof(err)), 0);
	ck_assert_int_eq(guest_mem_add(&bigger, A_GPA, A_PAGES * PAGE, dummy_host), 0);
	ck_assert_int_eq(guest_mem_add(&bigger, B_GPA, 2 * B_PAGES * PAGE, dummy_host), 0);
	/* Larger RAM: the file is smaller than its sets would be, or its region
	 * table differs; either way it is not used. */
	ck_assert_int_lt(working_set_read(dir, id, &bigger, &got, err, sizeof(err)), 0);
	ck_assert_int_eq(guest_mem_add(&moved, A_GPA + PAGE, A_PAGES * PAGE, dummy_host), 0);
	ck_assert_int_eq(guest_mem_add(&moved, B_GPA, B_PAGES * PAGE, dummy_host), 0);
	ck_assert_int_eq(working_set_read(dir, id, &moved, &got, err, sizeof(err)), -ESTALE);
	ck_assert_ptr_nonnull(strstr(err, "RAM region 0"));
	guest_mem_release(&bigger);
	guest_mem_release(&moved);
}
END_TEST

/* A file whose written pages are not all touched, or with a page past a
 * region's end, is not one kvmkit wrote. */
START_TEST(inconsistent_sets_refused)
{
	dirty_set_add_page(&ws.written, 1, 6);
	ck_assert_int_eq(working_set_write(dir, &ws, err, sizeof(err)), 0);
	ck_assert_int_eq(working_set_read(dir, id, &mem, &got, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "never touched"));
}
END_TEST

START_TEST(write_failure_reported)
{
	char missing[160];

	snprintf(missing, sizeof(missing), "%s/no-such-dir", dir);
	ck_assert_int_lt(working_set_write(missing, &ws, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, missing));
}
END_TEST

Suite *working_set_suite(void)
{
	Suite *s = suite_create("working_set");
	TCase *tc = tcase_create("file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, runs);
	tcase_add_test(tc, missing_is_enoent);
	tcase_add_test(tc, damage_refused);
	tcase_add_test(tc, other_snapshot_refused);
	tcase_add_test(tc, other_layout_refused);
	tcase_add_test(tc, inconsistent_sets_refused);
	tcase_add_test(tc, write_failure_reported);
	suite_add_tcase(s, tc);
	return s;
}
