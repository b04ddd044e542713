#include <errno.h>
#include <stdint.h>

#include "unit.h"
#include "vmm/bus.h"
#include "vmm/device.h"

/* The bus only stores device pointers; these are never initialised. */
static struct device dev_a, dev_b;
static struct bus bus;

static void new_bus(void) { bus_init(&bus, "mmio"); }

static void free_bus(void) { bus_destroy(&bus); }

/* dev_a at [0x1000, 0x2000): the range the overlap cases collide with. */
static void bus_with_one_range(void)
{
	new_bus();
	ck_assert_int_eq(bus_register(&bus, 0x1000, 0x1000, &dev_a), 0);
}

START_TEST(register_and_find)
{
	const struct bus_range *r;

	ck_assert_int_eq(bus_register(&bus, 0x9000000, 0x1000, &dev_a), 0);
	r = bus_find(&bus, 0x9000000, 4);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->base, 0x9000000);
	ck_assert_uint_eq(r->size, 0x1000);
	ck_assert_ptr_eq(r->dev, &dev_a);
}
END_TEST

START_TEST(register_adjacent_both_sides)
{
	ck_assert_int_eq(bus_register(&bus, 0x2000, 0x1000, &dev_b), 0);
	ck_assert_int_eq(bus_register(&bus, 0x0, 0x1000, &dev_b), 0);
	ck_assert_uint_eq(bus.nr_ranges, 3);
	ck_assert_ptr_eq(bus_find(&bus, 0x1fff, 1)->dev, &dev_a);
	ck_assert_ptr_eq(bus_find(&bus, 0x2000, 1)->dev, &dev_b);
	ck_assert_ptr_eq(bus_find(&bus, 0xfff, 1)->dev, &dev_b);
}
END_TEST

START_TEST(register_overlapping_start)
{
	ck_assert_int_eq(bus_register(&bus, 0x800, 0x801, &dev_b), -EEXIST);
	ck_assert_int_eq(bus_register(&bus, 0xfff, 2, &dev_b), -EEXIST);
	ck_assert_uint_eq(bus.nr_ranges, 1);
}
END_TEST

START_TEST(register_overlapping_end)
{
	ck_assert_int_eq(bus_register(&bus, 0x1fff, 0x10, &dev_b), -EEXIST);
	ck_assert_int_eq(bus_register(&bus, 0x1800, 0x1000, &dev_b), -EEXIST);
	ck_assert_uint_eq(bus.nr_ranges, 1);
}
END_TEST

START_TEST(register_containing)
{
	ck_assert_int_eq(bus_register(&bus, 0x0, 0x10000, &dev_b), -EEXIST);
	ck_assert_int_eq(bus_register(&bus, 0x1000, 0x1001, &dev_b), -EEXIST);
	ck_assert_uint_eq(bus.nr_ranges, 1);
}
END_TEST

START_TEST(register_contained)
{
	ck_assert_int_eq(bus_register(&bus, 0x1400, 0x100, &dev_b), -EEXIST);
	ck_assert_int_eq(bus_register(&bus, 0x1000, 0x1000, &dev_b), -EEXIST);
	ck_assert_int_eq(bus_register(&bus, 0x1000, 1, &dev_b), -EEXIST);
	ck_assert_int_eq(bus_register(&bus, 0x1fff, 1, &dev_b), -EEXIST);
	ck_assert_uint_eq(bus.nr_ranges, 1);
}
END_TEST

START_TEST(register_between_neighbours_overlapping_next)
{
	/* Inserted between two ranges, touching only the later one. */
	ck_assert_int_eq(bus_register(&bus, 0x4000, 0x1000, &dev_a), 0);
	ck_assert_int_eq(bus_register(&bus, 0x3000, 0x1001, &dev_b), -EEXIST);
	ck_assert_int_eq(bus_register(&bus, 0x2000, 0x2000, &dev_b), 0);
	ck_assert_uint_eq(bus.nr_ranges, 3);
}
END_TEST

START_TEST(register_zero_size)
{
	ck_assert_int_eq(bus_register(&bus, 0x1000, 0, &dev_a), -EINVAL);
	ck_assert_uint_eq(bus.nr_ranges, 0);
}
END_TEST

START_TEST(register_wrapping)
{
	ck_assert_int_eq(bus_register(&bus, UINT64_MAX - 0xf, 0x20, &dev_a), -EINVAL);
	ck_assert_int_eq(bus_register(&bus, 2, UINT64_MAX, &dev_a), -EINVAL);
	ck_assert_uint_eq(bus.nr_ranges, 0);
}
END_TEST

START_TEST(register_up_to_top_of_address_space)
{
	/* [base, 2^64) does not wrap: the last byte is UINT64_MAX. */
	ck_assert_int_eq(bus_register(&bus, UINT64_MAX - 7, 8, &dev_a), 0);
	ck_assert_ptr_eq(bus_find(&bus, UINT64_MAX - 7, 8)->dev, &dev_a);
	ck_assert_ptr_eq(bus_find(&bus, UINT64_MAX, 1)->dev, &dev_a);
	ck_assert_ptr_null(bus_find(&bus, UINT64_MAX - 3, 8));
	ck_assert_ptr_null(bus_find(&bus, UINT64_MAX, 2));
}
END_TEST

START_TEST(register_after_seal_is_eperm)
{
	ck_assert_int_eq(bus_register(&bus, 0x1000, 0x100, &dev_a), 0);
	bus_seal(&bus);
	ck_assert_int_eq(bus_register(&bus, 0x8000, 0x100, &dev_b), -EPERM);
	ck_assert_uint_eq(bus.nr_ranges, 1);
	ck_assert_ptr_eq(bus_find(&bus, 0x10ff, 1)->dev, &dev_a);
}
END_TEST

START_TEST(find_first_and_last_byte)
{
	ck_assert_ptr_eq(bus_find(&bus, 0x1000, 1)->dev, &dev_a);
	ck_assert_ptr_eq(bus_find(&bus, 0x1000, 8)->dev, &dev_a);
	ck_assert_ptr_eq(bus_find(&bus, 0x1fff, 1)->dev, &dev_a);
	ck_assert_ptr_eq(bus_find(&bus, 0x1ff8, 8)->dev, &dev_a);
	ck_assert_ptr_eq(bus_find(&bus, 0x1000, 0x1000)->dev, &dev_a);
}
END_TEST

START_TEST(find_misses_outside)
{
	ck_assert_ptr_null(bus_find(&bus, 0xfff, 1));
	ck_assert_ptr_null(bus_find(&bus, 0x2000, 1));
	ck_assert_ptr_null(bus_find(&bus, 0, 4));
	ck_assert_ptr_null(bus_find(&bus, UINT64_MAX, 1));
}
END_TEST

START_TEST(find_straddling_fails)
{
	ck_assert_ptr_null(bus_find(&bus, 0x1ffe, 4));
	ck_assert_ptr_null(bus_find(&bus, 0x1000, 0x1001));
	/* Starts before the range and ends inside it. */
	ck_assert_ptr_null(bus_find(&bus, 0xffc, 8));
	ck_assert_ptr_null(bus_find(&bus, 0x1800, UINT32_MAX));
}
END_TEST

START_TEST(find_straddling_adjacent_ranges_fails)
{
	ck_assert_int_eq(bus_register(&bus, 0x2000, 0x1000, &dev_b), 0);
	ck_assert_ptr_null(bus_find(&bus, 0x1ffc, 8));
}
END_TEST

START_TEST(find_len_zero_fails) { ck_assert_ptr_null(bus_find(&bus, 0x1000, 0)); }
END_TEST

START_TEST(find_on_empty_bus)
{
	ck_assert_ptr_null(bus_find(&bus, 0, 1));
	ck_assert_ptr_null(bus_find(&bus, 0x1000, 4));
}
END_TEST

#define NR_MANY 257

START_TEST(many_ranges_in_random_order)
{
	static struct device devs[NR_MANY];
	unsigned order[NR_MANY];
	uint32_t seed = 0x6b766d6b;

	for (unsigned i = 0; i < NR_MANY; i++)
		order[i] = i;
	for (unsigned i = NR_MANY - 1; i > 0; i--) {
		unsigned j = unit_rand(&seed) % (i + 1), tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
	/* Range i is [i * 0x100, i * 0x100 + 0x80): a hole follows each one. */
	for (unsigned i = 0; i < NR_MANY; i++)
		ck_assert_int_eq(bus_register(&bus, order[i] * 0x100ULL, 0x80, &devs[order[i]]), 0);
	bus_seal(&bus);
	ck_assert_uint_eq(bus.nr_ranges, NR_MANY);
	for (unsigned i = 1; i < NR_MANY; i++)
		ck_assert_uint_lt(bus.ranges[i - 1].base, bus.ranges[i].base);
	for (unsigned i = 0; i < NR_MANY; i++) {
		uint64_t base = i * 0x100ULL;

		ck_assert_ptr_eq(bus_find(&bus, base, 1)->dev, &devs[i]);
		ck_assert_ptr_eq(bus_find(&bus, base + 0x40, 4)->dev, &devs[i]);
		ck_assert_ptr_eq(bus_find(&bus, base + 0x7f, 1)->dev, &devs[i]);
		ck_assert_ptr_null(bus_find(&bus, base + 0x80, 1));
		ck_assert_ptr_null(bus_find(&bus, base + 0xff, 1));
		ck_assert_ptr_null(bus_find(&bus, base + 0x7e, 4));
	}
	ck_assert_ptr_null(bus_find(&bus, NR_MANY * 0x100ULL, 1));
}
END_TEST

START_TEST(registry_grows_past_initial_capacity)
{
	static struct device devs[40];

	for (unsigned i = 0; i < 40; i++)
		ck_assert_int_eq(bus_register(&bus, 0x10000 - i * 0x10ULL, 0x10, &devs[i]), 0);
	ck_assert_uint_eq(bus.nr_ranges, 40);
	ck_assert_uint_ge(bus.capacity, 40);
	for (unsigned i = 0; i < 40; i++)
		ck_assert_ptr_eq(bus_find(&bus, 0x10000 - i * 0x10ULL + 0xf, 1)->dev, &devs[i]);
}
END_TEST

START_TEST(destroy_empties_and_bus_is_reusable)
{
	ck_assert_int_eq(bus_register(&bus, 0x1000, 0x10, &dev_a), 0);
	bus_seal(&bus);
	bus_destroy(&bus);
	ck_assert_uint_eq(bus.nr_ranges, 0);
	ck_assert(!bus.sealed);
	ck_assert_str_eq(bus.name, "mmio");
	ck_assert_ptr_null(bus_find(&bus, 0x1000, 1));
	ck_assert_int_eq(bus_register(&bus, 0x1000, 0x10, &dev_b), 0);
	ck_assert_ptr_eq(bus_find(&bus, 0x1000, 1)->dev, &dev_b);
}
END_TEST

Suite *bus_suite(void)
{
	Suite *s = suite_create("bus");
	TCase *reg = tcase_create("register");
	TCase *overlap = tcase_create("overlap");
	TCase *find = tcase_create("find");
	TCase *scale = tcase_create("scale");

	tcase_add_checked_fixture(reg, new_bus, free_bus);
	tcase_add_test(reg, register_and_find);
	tcase_add_test(reg, register_zero_size);
	tcase_add_test(reg, register_wrapping);
	tcase_add_test(reg, register_up_to_top_of_address_space);
	tcase_add_test(reg, register_after_seal_is_eperm);
	tcase_add_test(reg, find_on_empty_bus);
	tcase_add_test(reg, destroy_empties_and_bus_is_reusable);
	suite_add_tcase(s, reg);

	tcase_add_checked_fixture(overlap, bus_with_one_range, free_bus);
	tcase_add_test(overlap, register_adjacent_both_sides);
	tcase_add_test(overlap, register_overlapping_start);
	tcase_add_test(overlap, register_overlapping_end);
	tcase_add_test(overlap, register_containing);
	tcase_add_test(overlap, register_contained);
	tcase_add_test(overlap, register_between_neighbours_overlapping_next);
	suite_add_tcase(s, overlap);

	tcase_add_checked_fixture(find, bus_with_one_range, free_bus);
	tcase_add_test(find, find_first_and_last_byte);
	tcase_add_test(find, find_misses_outside);
	tcase_add_test(find, find_straddling_fails);
	tcase_add_test(find, find_straddling_adjacent_ranges_fails);
	tcase_add_test(find, find_len_zero_fails);
	suite_add_tcase(s, find);

	tcase_add_checked_fixture(scale, new_bus, free_bus);
	tcase_add_test(scale, many_ranges_in_random_order);
	tcase_add_test(scale, registry_grows_past_initial_capacity);
	suite_add_tcase(s, scale);
	return s;
}
