/* Diff snapshots: layers written over a base, opened as a chain and laid
 * back on; what a restore of base + diffs gives must equal the memory at
 * the last diff, page for page. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "vmm/snapshot_chain.h"

#define PAGE 4096u
#define A_GPA 0x0ULL
#define A_PAGES 16u
#define B_GPA 0x40000000ULL
#define B_PAGES 200u /* not a multiple of 64: the last word is partial */
#define ARCH "arm64"
#define VERSION "0.1.0"

static char dir[64];
static struct guest_mem mem;
static uint8_t *ra, *rb; /* the two regions */
static uint64_t bits[(A_PAGES + 63) / 64 + (B_PAGES + 63) / 64];
static char err[512];

static void fill_page(uint8_t *p, unsigned seed)
{
	for (unsigned i = 0; i < PAGE; i++)
		p[i] = (uint8_t)(seed * 13 + i * 5 + 3);
}

static void setup(void)
{
	strcpy(dir, "/tmp/kvmkit-snapchain-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	mem = (struct guest_mem){0};
	ra = calloc(A_PAGES, PAGE);
	rb = calloc(B_PAGES, PAGE);
	ck_assert(ra && rb);
	for (unsigned p = 0; p < A_PAGES; p += 3)
		fill_page(ra + p * PAGE, p);
	for (unsigned p = 0; p < B_PAGES; p += 7)
		fill_page(rb + p * PAGE, 1000 + p);
	ck_assert_int_eq(guest_mem_add(&mem, A_GPA, A_PAGES * PAGE, ra), 0);
	ck_assert_int_eq(guest_mem_add(&mem, B_GPA, B_PAGES * PAGE, rb), 0);
	memset(bits, 0, sizeof(bits));
	err[0] = '\0';
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	guest_mem_release(&mem);
	free(ra);
	free(rb);
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *at(const char *name)
{
	static char buf[4][256];
	static unsigned next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

/* Writes @seed into page @page of region @region and marks it dirty
 * (@mark false: changed behind the tracker's back). */
static void touch(unsigned region, unsigned page, unsigned seed, bool mark)
{
	uint8_t *p = (region ? rb : ra) + (size_t)page * PAGE;
	size_t word = region ? (A_PAGES + 63) / 64 : 0;

	if (seed)
		fill_page(p, seed);
	else
		memset(p, 0, PAGE);
	if (mark)
		bits[word + page / 64] |= 1ULL << (page % 64);
}

static uint64_t count_bits(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(bits); i++)
		n += (uint64_t)__builtin_popcountll(bits[i]);
	return n;
}

static int write_layer(const char *name, const struct snapshot_layer *layer,
		       struct snapshot_info *info)
{
	return snapshot_write(at(name),
			      &(struct snapshot_content){.mem = &mem,
							 .arch = ARCH,
							 .version = VERSION,
							 .config = "{}",
							 .layer = layer},
			      info, err, sizeof(err));
}

static void write_full(const char *name, struct snapshot_info *info)
{
	int ret = write_layer(name, NULL, info);

	ck_assert_msg(ret == 0, "%s", err);
	memset(bits, 0, sizeof(bits));
}

/* A diff of the pages marked since the last write, over @parent. */
static void write_diff(const char *name, const char *parent, const struct snapshot_info *pinfo,
		       struct snapshot_info *info)
{
	struct snapshot_layer layer = {.parent_path = (char *)at(parent),
				       .pages = bits,
				       .nr_words = ARRAY_SIZE(bits),
				       .nr_pages = count_bits()};
	int ret;

	memcpy(layer.parent_id, pinfo->id, SNAPSHOT_ID_BYTES);
	ret = write_layer(name, &layer, info);
	ck_assert_msg(ret == 0, "%s", err);
	ck_assert(info->is_layer);
	ck_assert_uint_eq(info->layer.nr_pages, layer.nr_pages);
	memset(bits, 0, sizeof(bits));
}

/* Restores @name as kvmkit does (the base's memory file mapped private,
 * the layers read in) and compares it with @want_a/@want_b. */
static void expect_restores_to(const char *name, const uint8_t *want_a, const uint8_t *want_b,
			       unsigned want_links)
{
	struct snapshot_chain chain;
	struct guest_mem back = {0};
	const struct snapshot_link *base;
	int ret;

	ret = snapshot_chain_open(at(name), ARCH, VERSION, &chain, err, sizeof(err));
	ck_assert_msg(ret == 0, "snapshot_chain_open: %d: %s", ret, err);
	ck_assert_uint_eq(chain.n, want_links);
	ck_assert(!chain.links[0].info.is_layer);
	ck_assert_str_eq(chain.links[chain.n - 1].path, at(name));
	base = &chain.links[0];
	for (unsigned i = 0; i < base->info.nr_regions; i++)
		ck_assert_int_eq(guest_mem_map_file(&back, base->info.regions[i].gpa,
						    base->info.regions[i].size, base->mem_fd,
						    base->info.regions[i].offset),
				 0);
	ret = snapshot_chain_apply(&chain, &back, err, sizeof(err));
	ck_assert_msg(ret == 0, "snapshot_chain_apply: %s", err);
	for (unsigned p = 0; p < A_PAGES; p++)
		ck_assert_msg(!memcmp(back.regions[0].host + p * PAGE, want_a + p * PAGE, PAGE),
			      "region 0 page %u differs", p);
	for (unsigned p = 0; p < B_PAGES; p++)
		ck_assert_msg(!memcmp(back.regions[1].host + p * PAGE, want_b + p * PAGE, PAGE),
			      "region 1 page %u differs", p);
	guest_mem_release(&back);
	snapshot_chain_close(&chain);
}

START_TEST(base_and_two_diffs_equal_a_full_snapshot)
{
	struct snapshot_info base, d1, d2, full;
	uint8_t *at_base_b = malloc(B_PAGES * PAGE);

	ck_assert_ptr_nonnull(at_base_b);
	write_full("base", &base);
	memcpy(at_base_b, rb, B_PAGES * PAGE);
	touch(0, 1, 77, true);
	touch(1, 0, 0, true);    /* data made zero: the diff must say so */
	touch(1, 199, 78, true); /* the last page of a partial word */
	write_diff("d1", "base", &base, &d1);
	touch(0, 1, 79, true); /* again: the newer layer wins */
	touch(1, 64, 80, true);
	touch(1, 65, 0, true); /* a zero page that was zero: still the layer's */
	write_diff("d2", "d1", &d1, &d2);
	write_full("full", &full);

	expect_restores_to("d2", ra, rb, 3);
	expect_restores_to("full", ra, rb, 1);
	/* The middle of the chain restores to its own point. */
	uint8_t *a1 = malloc(A_PAGES * PAGE), *b1 = malloc(B_PAGES * PAGE);

	ck_assert(a1 && b1);
	memcpy(a1, ra, A_PAGES * PAGE);
	memcpy(b1, rb, B_PAGES * PAGE);
	fill_page(a1 + 1 * PAGE, 77);
	memcpy(b1 + 64 * PAGE, at_base_b + 64 * PAGE, PAGE);
	memcpy(b1 + 65 * PAGE, at_base_b + 65 * PAGE, PAGE);
	expect_restores_to("d1", a1, b1, 2);
	free(a1);
	free(b1);
	free(at_base_b);
}
END_TEST

START_TEST(a_diff_holds_only_its_pages)
{
	struct snapshot_info base, d1;
	uint8_t *want_b = malloc(B_PAGES * PAGE);
	struct stat st;

	ck_assert_ptr_nonnull(want_b);
	write_full("base", &base);
	touch(1, 10, 90, true);
	memcpy(want_b, rb, B_PAGES * PAGE);
	/* Changed, but not reported dirty: a diff does not look at it. */
	touch(1, 11, 91, false);
	write_diff("d1", "base", &base, &d1);
	ck_assert_int_eq(stat(at("d1/memory"), &st), 0);
	/* The header page and the one page: blocks, not the file's size. */
	ck_assert_int_le(st.st_blocks * 512, 4 * PAGE);
	expect_restores_to("d1", ra, want_b, 2);
	free(want_b);
}
END_TEST

START_TEST(a_replaced_parent_is_refused)
{
	struct snapshot_info base, d1, again;
	struct snapshot_chain chain;
	int ret;

	write_full("base", &base);
	touch(0, 2, 5, true);
	write_diff("d1", "base", &base, &d1);
	write_full("base", &again); /* a new snapshot where the parent was */
	ret = snapshot_chain_open(at("d1"), ARCH, VERSION, &chain, err, sizeof(err));
	ck_assert_int_eq(ret, -EINVAL);
	ck_assert_msg(strstr(err, "replaced") && strstr(err, at("base")) && strstr(err, at("d1")),
		      "%s", err);
	ck_assert_uint_eq(chain.n, 0);
}
END_TEST

START_TEST(a_missing_parent_is_refused)
{
	struct snapshot_info base, d1;
	struct snapshot_chain chain;
	int ret;

	write_full("base", &base);
	touch(0, 2, 5, true);
	write_diff("d1", "base", &base, &d1);
	ck_assert_int_eq(unlink(at("base/memory")), 0);
	ret = snapshot_chain_open(at("d1"), ARCH, VERSION, &chain, err, sizeof(err));
	ck_assert_int_eq(ret, -ENOENT);
	ck_assert_msg(strstr(err, "lies over") && strstr(err, at("base/memory")), "%s", err);
}
END_TEST

START_TEST(a_chain_is_bounded)
{
	struct snapshot_info prev, next;
	struct snapshot_chain chain;
	char name[16], parent[16];
	int ret;

	write_full("l0", &prev);
	for (unsigned i = 1; i <= SNAPSHOT_CHAIN_MAX; i++) {
		snprintf(name, sizeof(name), "l%u", i);
		snprintf(parent, sizeof(parent), "l%u", i - 1);
		touch(1, i, i, true);
		write_diff(name, parent, &prev, &next);
		prev = next;
	}
	/* l31 is the 32nd: the most a chain holds. */
	ret = snapshot_chain_open(at("l31"), ARCH, VERSION, &chain, err, sizeof(err));
	ck_assert_msg(ret == 0, "%s", err);
	ck_assert_uint_eq(chain.n, SNAPSHOT_CHAIN_MAX);
	snapshot_chain_close(&chain);
	ret = snapshot_chain_open(at("l32"), ARCH, VERSION, &chain, err, sizeof(err));
	ck_assert_int_eq(ret, -ELOOP);
	ck_assert_msg(strstr(err, "more than"), "%s", err);
}
END_TEST

START_TEST(a_bad_layer_is_not_written)
{
	struct snapshot_info base, info;
	struct snapshot_layer layer = {
		.parent_path = "relative/base", .pages = bits, .nr_words = ARRAY_SIZE(bits)};

	write_full("base", &base);
	ck_assert_int_eq(write_layer("d", &layer, &info), -EINVAL);
	ck_assert_msg(strstr(err, "absolute"), "%s", err);
	layer.parent_path = (char *)at("base");
	layer.nr_words = ARRAY_SIZE(bits) - 1;
	ck_assert_int_eq(write_layer("d", &layer, &info), -EINVAL);
	ck_assert_msg(strstr(err, "words"), "%s", err);
	ck_assert_int_eq(access(at("d"), F_OK), -1);
}
END_TEST

Suite *snapshot_chain_suite(void)
{
	Suite *s = suite_create("snapshot_chain");
	TCase *tc = tcase_create("chain");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, base_and_two_diffs_equal_a_full_snapshot);
	tcase_add_test(tc, a_diff_holds_only_its_pages);
	tcase_add_test(tc, a_replaced_parent_is_refused);
	tcase_add_test(tc, a_missing_parent_is_refused);
	tcase_add_test(tc, a_chain_is_bounded);
	tcase_add_test(tc, a_bad_layer_is_not_written);
	suite_add_tcase(s, tc);
	return s;
}
