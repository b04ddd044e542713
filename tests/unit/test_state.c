#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "vmm/state.h"

static struct state_buf buf;

static void setup(void) { state_buf_init(&buf); }
static void teardown(void) { state_buf_free(&buf); }

static void write_two_records(void)
{
	state_begin(&buf, "dev-a", 3);
	state_put_u8(&buf, 0xab);
	state_put_u16(&buf, 0x1234);
	state_put_u32(&buf, 0xdeadbeef);
	state_put_u64(&buf, 0x0102030405060708ULL);
	state_put_bool(&buf, true);
	state_put_bytes(&buf, "xyz", 3);
	ck_assert_int_eq(state_end(&buf), 0);
	state_begin(&buf, "dev-b", 1);
	ck_assert_int_eq(state_end(&buf), 0);
}

START_TEST(round_trip)
{
	struct state_reader r, rec;
	char kind[STATE_KIND_MAX], bytes[3];
	uint32_t version;

	write_two_records();
	state_reader_init(&r, buf.data, buf.len);
	ck_assert_int_eq(state_next(&r, kind, &version, &rec), 0);
	ck_assert_str_eq(kind, "dev-a");
	ck_assert_uint_eq(version, 3);
	ck_assert_uint_eq(state_get_u8(&rec), 0xab);
	ck_assert_uint_eq(state_get_u16(&rec), 0x1234);
	ck_assert_uint_eq(state_get_u32(&rec), 0xdeadbeef);
	ck_assert_uint_eq(state_get_u64(&rec), 0x0102030405060708ULL);
	ck_assert(state_get_bool(&rec));
	state_get_bytes(&rec, bytes, 3);
	ck_assert_mem_eq(bytes, "xyz", 3);
	ck_assert_int_eq(state_finish(&rec), 0);
	ck_assert(!state_reader_done(&r));
	ck_assert_int_eq(state_expect(&r, "dev-b", &version, &rec), 0);
	ck_assert_uint_eq(version, 1);
	ck_assert_int_eq(state_finish(&rec), 0);
	ck_assert(state_reader_done(&r));
}
END_TEST

START_TEST(little_endian_on_the_wire)
{
	static const uint8_t want[] = {1, 'k', 2, 0, 0, 0, 4, 0, 0, 0, 0x78, 0x56, 0x34, 0x12};

	state_begin(&buf, "k", 2);
	state_put_u32(&buf, 0x12345678);
	ck_assert_int_eq(state_end(&buf), 0);
	ck_assert_uint_eq(buf.len, sizeof(want));
	ck_assert_mem_eq(buf.data, want, sizeof(want));
}
END_TEST

START_TEST(reading_past_a_record_fails_with_zeros)
{
	struct state_reader r, rec;
	uint32_t version;

	state_begin(&buf, "short", 1);
	state_put_u16(&buf, 7);
	state_end(&buf);
	state_put_u32(&buf, 0xffffffff); /* bytes after the record: not its fields */
	state_reader_init(&r, buf.data, buf.len);
	ck_assert_int_eq(state_expect(&r, "short", &version, &rec), 0);
	ck_assert_uint_eq(state_get_u64(&rec), 0);
	ck_assert_int_eq(rec.err, -EINVAL);
	ck_assert_int_eq(state_finish(&rec), -EINVAL);
}
END_TEST

START_TEST(left_over_fields_are_an_error)
{
	struct state_reader r, rec;
	uint32_t version;

	state_begin(&buf, "long", 1);
	state_put_u32(&buf, 1);
	state_put_u32(&buf, 2);
	state_end(&buf);
	state_reader_init(&r, buf.data, buf.len);
	ck_assert_int_eq(state_expect(&r, "long", &version, &rec), 0);
	state_get_u32(&rec);
	ck_assert_int_eq(state_finish(&rec), -EINVAL);
}
END_TEST

START_TEST(wrong_kind_and_bad_bool)
{
	struct state_reader r, rec;
	uint32_t version;

	state_begin(&buf, "a", 1);
	state_put_u8(&buf, 2);
	state_end(&buf);
	state_reader_init(&r, buf.data, buf.len);
	ck_assert_int_eq(state_expect(&r, "b", &version, &rec), -EINVAL);
	state_reader_init(&r, buf.data, buf.len);
	ck_assert_int_eq(state_expect(&r, "a", &version, &rec), 0);
	state_get_bool(&rec);
	ck_assert_int_eq(state_finish(&rec), -EINVAL);
}
END_TEST

/* Every prefix of a good stream and every single-byte corruption of it is
 * either read whole or refused; none reads outside the buffer (ASan). */
START_TEST(truncated_and_corrupt_streams_are_refused)
{
	char kind[STATE_KIND_MAX];
	uint32_t version;
	size_t first_end;

	write_two_records();
	/* The second record is a bare header: 1 + 5 + 4 + 4 bytes. */
	first_end = buf.len - 14;
	for (size_t cut = 0; cut < buf.len; cut++) {
		struct state_reader r, rec;
		int ret = 0;
		uint8_t *copy = malloc(cut ? cut : 1);

		memcpy(copy, buf.data, cut);
		state_reader_init(&r, copy, cut);
		while (ret == 0 && !state_reader_done(&r))
			ret = state_next(&r, kind, &version, &rec);
		ck_assert_msg(cut == 0 || cut == first_end || ret == -EINVAL,
			      "prefix %zu read as whole", cut);
		free(copy);
	}
	for (size_t at = 0; at < buf.len; at++) {
		struct state_reader r, rec;
		int ret = 0;

		buf.data[at] ^= 0xff;
		state_reader_init(&r, buf.data, buf.len);
		while (ret == 0 && !state_reader_done(&r))
			ret = state_next(&r, kind, &version, &rec);
		buf.data[at] ^= 0xff;
	}
}
END_TEST

/* A record among another's fields is read with state_next() on the outer
 * record's reader, bounded by it; the outer length covers the inner record. */
START_TEST(records_nest)
{
	struct state_reader r, outer, inner;
	char kind[STATE_KIND_MAX];
	uint32_t version;

	state_begin(&buf, "outer", 2);
	state_put_u16(&buf, 0x1111);
	state_begin(&buf, "inner", 5);
	state_put_u32(&buf, 0x22222222);
	ck_assert_int_eq(state_end(&buf), 0);
	state_put_u8(&buf, 0x33);
	ck_assert_int_eq(state_end(&buf), 0);
	state_begin(&buf, "next", 1);
	ck_assert_int_eq(state_end(&buf), 0);
	ck_assert_uint_eq(buf.depth, 0);

	state_reader_init(&r, buf.data, buf.len);
	ck_assert_int_eq(state_expect(&r, "outer", &version, &outer), 0);
	ck_assert_uint_eq(version, 2);
	ck_assert_uint_eq(state_get_u16(&outer), 0x1111);
	ck_assert_int_eq(state_next(&outer, kind, &version, &inner), 0);
	ck_assert_str_eq(kind, "inner");
	ck_assert_uint_eq(version, 5);
	ck_assert_uint_eq(state_get_u32(&inner), 0x22222222);
	ck_assert_int_eq(state_finish(&inner), 0);
	ck_assert_uint_eq(state_get_u8(&outer), 0x33);
	ck_assert_int_eq(state_finish(&outer), 0);
	ck_assert_int_eq(state_expect(&r, "next", &version, &outer), 0);
	ck_assert(state_reader_done(&r));
}
END_TEST

/* An inner record cannot claim more than its outer record holds. */
START_TEST(nested_record_bounded_by_outer)
{
	struct state_reader r, outer, inner;
	char kind[STATE_KIND_MAX];
	uint32_t version;
	size_t inner_len_at;

	state_begin(&buf, "outer", 1);
	state_begin(&buf, "inner", 1);
	inner_len_at = buf.len;
	state_put_u32(&buf, 7);
	state_end(&buf);
	state_end(&buf);
	state_put_u32(&buf, 0);         /* bytes after the outer record */
	buf.data[inner_len_at - 4] = 8; /* the inner length: one byte past the outer */
	state_reader_init(&r, buf.data, buf.len);
	ck_assert_int_eq(state_expect(&r, "outer", &version, &outer), 0);
	ck_assert_int_eq(state_next(&outer, kind, &version, &inner), -EINVAL);
}
END_TEST

START_TEST(nesting_too_deep_and_bad_kinds_are_writer_errors)
{
	for (unsigned i = 0; i < STATE_NEST_MAX; i++)
		state_begin(&buf, "level", 1);
	ck_assert_int_eq(buf.err, 0);
	state_begin(&buf, "too-deep", 1);
	ck_assert_int_eq(buf.err, -EINVAL);
	state_buf_free(&buf);
	state_begin(&buf, "", 1);
	ck_assert_int_eq(state_end(&buf), -EINVAL);
	state_buf_free(&buf);
	ck_assert_int_eq(state_end(&buf), -EINVAL);
	state_buf_free(&buf);
	state_begin(&buf, "one", 1);
	ck_assert_int_eq(state_end(&buf), 0);
	ck_assert_int_eq(state_end(&buf), -EINVAL); /* nothing left open */
}
END_TEST

Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("records");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, little_endian_on_the_wire);
	tcase_add_test(tc, reading_past_a_record_fails_with_zeros);
	tcase_add_test(tc, left_over_fields_are_an_error);
	tcase_add_test(tc, wrong_kind_and_bad_bool);
	tcase_add_test(tc, truncated_and_corrupt_streams_are_refused);
	tcase_add_test(tc, records_nest);
	tcase_add_test(tc, nested_record_bounded_by_outer);
	tcase_add_test(tc, nesting_too_deep_and_bad_kinds_are_writer_errors);
	suite_add_tcase(s, tc);
	return s;
}
