/* disk_image_same_mtime(): a restore's test that a disk image is the one the
 * snapshot saw, copies made by tools that keep the time coarser included. */
#include <time.h>

#include "devices/disk_image.h"
#include "unit.h"

static struct timespec ts(time_t sec, long nsec)
{
	return (struct timespec){.tv_sec = sec, .tv_nsec = nsec};
}

START_TEST(same_time)
{
	ck_assert(disk_image_same_mtime(ts(1700000000, 123456789), ts(1700000000, 123456789)));
	ck_assert(disk_image_same_mtime(ts(5, 0), ts(5, 0)));
}
END_TEST

START_TEST(copy_kept_microseconds)
{
	ck_assert(disk_image_same_mtime(ts(1700000000, 123456789), ts(1700000000, 123456000)));
}
END_TEST

START_TEST(copy_kept_seconds)
{
	ck_assert(disk_image_same_mtime(ts(1700000000, 123456789), ts(1700000000, 0)));
}
END_TEST

START_TEST(changed_later)
{
	/* Another second, or the same second with finer digits of its own. */
	ck_assert(!disk_image_same_mtime(ts(1700000000, 123456789), ts(1700000001, 123456789)));
	ck_assert(!disk_image_same_mtime(ts(1700000000, 123456789), ts(1700000001, 0)));
	ck_assert(!disk_image_same_mtime(ts(1700000000, 123456789), ts(1700000000, 523456789)));
	ck_assert(!disk_image_same_mtime(ts(1700000000, 123456789), ts(1700000000, 123457000)));
	ck_assert(!disk_image_same_mtime(ts(1700000000, 123456789), ts(1700000000, 123456790)));
	ck_assert(!disk_image_same_mtime(ts(1700000000, 0), ts(1700000000, 1000)));
	ck_assert(!disk_image_same_mtime(ts(1700000000, 0), ts(1699999999, 0)));
}
END_TEST

Suite *disk_mtime_suite(void)
{
	Suite *s = suite_create("disk_mtime");
	TCase *tc = tcase_create("disk_mtime");

	tcase_add_test(tc, same_time);
	tcase_add_test(tc, copy_kept_microseconds);
	tcase_add_test(tc, copy_kept_seconds);
	tcase_add_test(tc, changed_later);
	suite_add_tcase(s, tc);
	return s;
}
