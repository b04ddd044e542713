#include <errno.h>
#include <libfdt.h>
#include <string.h>

#include "fdt/fdt_builder.h"
#include "unit.h"

static struct fdt_builder fb;
static const struct fdt_builder *encoder_saw;

static void free_builder(void) { fb_free(&fb); }

/* Shaped like a GIC's three cells: type, number, trigger. */
static unsigned encode_spi(const struct fdt_builder *b, unsigned irq, bool edge, uint32_t *cells)
{
	encoder_saw = b;
	cells[0] = 0;
	cells[1] = irq;
	cells[2] = edge ? 1 : 4;
	return 3;
}

static void build_sample_tree(void)
{
	static const char *const compatible[] = {"arm,pl011", "arm,primecell", NULL};

	ck_assert_int_eq(fb_init(&fb, 4096), 0);
	fb.encode_irq = encode_spi;
	fb_begin_node(&fb, "");
	fb_prop_u32(&fb, "#address-cells", 2);
	fb_prop_u32(&fb, "#size-cells", 2);
	fb_prop_string(&fb, "model", "kvmkit unit test");
	fb_begin_node(&fb, "soc");
	fb_prop_empty(&fb, "ranges");
	fb_begin_node_at(&fb, "uart", 0x9000000);
	fb_prop_strings(&fb, "compatible", compatible);
	fb_prop_reg(&fb, 0x9000000, 0x1000);
	fb_prop_irq(&fb, 33);
	fb_prop_u32(&fb, "clock-frequency", 24000000);
	fb_end_node(&fb);
	fb_begin_node_at(&fb, "memory", 0x140000000ULL);
	fb_prop_string(&fb, "device_type", "memory");
	/* Base and size above 4 GiB: both cells of each must be right. */
	fb_prop_reg(&fb, 0x140000000ULL, 0x280000000ULL);
	fb_prop_u64(&fb, "kvmkit,cookie", 0x0123456789abcdefULL);
	fb_end_node(&fb);
	fb_end_node(&fb);
	fb_end_node(&fb);
}

static const void *prop(const char *path, const char *name, int *len)
{
	int node = fdt_path_offset(fb.blob, path);

	ck_assert_msg(node >= 0, "%s: %s", path, fdt_strerror(node));
	return fdt_getprop(fb.blob, node, name, len);
}

static uint32_t prop_cell(const char *path, const char *name, int index)
{
	int len;
	const fdt32_t *cells = prop(path, name, &len);

	ck_assert_ptr_nonnull(cells);
	ck_assert_int_gt(len, index * (int)sizeof(fdt32_t));
	return fdt32_to_cpu(cells[index]);
}

START_TEST(finished_tree_is_valid)
{
	build_sample_tree();
	ck_assert_int_eq(fb_finish(&fb), 0);
	ck_assert_int_eq(fb.err, 0);
	ck_assert_int_eq(fdt_check_header(fb.blob), 0);
	ck_assert_uint_eq(fb_total_size(&fb), fdt_totalsize(fb.blob));
	/* Packed: the blob shrank to its contents. */
	ck_assert_uint_lt(fb_total_size(&fb), 4096);
}
END_TEST

START_TEST(root_cells)
{
	build_sample_tree();
	ck_assert_int_eq(fb_finish(&fb), 0);
	ck_assert_int_eq(fdt_address_cells(fb.blob, 0), 2);
	ck_assert_int_eq(fdt_size_cells(fb.blob, 0), 2);
	ck_assert_uint_eq(prop_cell("/", "#address-cells", 0), 2);
}
END_TEST

START_TEST(string_and_empty_props)
{
	int len;
	const char *model;

	build_sample_tree();
	ck_assert_int_eq(fb_finish(&fb), 0);
	model = prop("/", "model", &len);
	ck_assert_ptr_nonnull(model);
	ck_assert_str_eq(model, "kvmkit unit test");
	ck_assert_int_eq(len, (int)sizeof("kvmkit unit test"));
	ck_assert_ptr_nonnull(prop("/soc", "ranges", &len));
	ck_assert_int_eq(len, 0);
}
END_TEST

START_TEST(node_name_with_unit_address)
{
	build_sample_tree();
	ck_assert_int_eq(fb_finish(&fb), 0);
	ck_assert_int_ge(fdt_path_offset(fb.blob, "/soc/uart@9000000"), 0);
	ck_assert_int_ge(fdt_path_offset(fb.blob, "/soc/memory@140000000"), 0);
	ck_assert_int_eq(fdt_path_offset(fb.blob, "/uart@9000000"), -FDT_ERR_NOTFOUND);
}
END_TEST

START_TEST(string_list)
{
	int node;

	build_sample_tree();
	ck_assert_int_eq(fb_finish(&fb), 0);
	node = fdt_path_offset(fb.blob, "/soc/uart@9000000");
	ck_assert_int_ge(node, 0);
	ck_assert_int_eq(fdt_stringlist_count(fb.blob, node, "compatible"), 2);
	ck_assert_str_eq(fdt_stringlist_get(fb.blob, node, "compatible", 0, NULL), "arm,pl011");
	ck_assert_str_eq(fdt_stringlist_get(fb.blob, node, "compatible", 1, NULL), "arm,primecell");
	ck_assert_int_eq(fdt_node_check_compatible(fb.blob, node, "arm,primecell"), 0);
}
END_TEST

START_TEST(reg_cells)
{
	int len;

	build_sample_tree();
	ck_assert_int_eq(fb_finish(&fb), 0);
	ck_assert_ptr_nonnull(prop("/soc/uart@9000000", "reg", &len));
	ck_assert_int_eq(len, 16);
	ck_assert_uint_eq(prop_cell("/soc/uart@9000000", "reg", 0), 0);
	ck_assert_uint_eq(prop_cell("/soc/uart@9000000", "reg", 1), 0x9000000);
	ck_assert_uint_eq(prop_cell("/soc/uart@9000000", "reg", 2), 0);
	ck_assert_uint_eq(prop_cell("/soc/uart@9000000", "reg", 3), 0x1000);
	ck_assert_uint_eq(prop_cell("/soc/memory@140000000", "reg", 0), 0x1);
	ck_assert_uint_eq(prop_cell("/soc/memory@140000000", "reg", 1), 0x40000000);
	ck_assert_uint_eq(prop_cell("/soc/memory@140000000", "reg", 2), 0x2);
	ck_assert_uint_eq(prop_cell("/soc/memory@140000000", "reg", 3), 0x80000000);
}
END_TEST

START_TEST(irq_through_encoder)
{
	int len;

	build_sample_tree();
	ck_assert_int_eq(fb_finish(&fb), 0);
	ck_assert_ptr_eq(encoder_saw, &fb);
	ck_assert_ptr_nonnull(prop("/soc/uart@9000000", "interrupts", &len));
	ck_assert_int_eq(len, 3 * (int)sizeof(fdt32_t));
	ck_assert_uint_eq(prop_cell("/soc/uart@9000000", "interrupts", 0), 0);
	ck_assert_uint_eq(prop_cell("/soc/uart@9000000", "interrupts", 1), 33);
	ck_assert_uint_eq(prop_cell("/soc/uart@9000000", "interrupts", 2), 4);
}
END_TEST

START_TEST(u32_and_u64_props)
{
	int len;
	const fdt64_t *cookie;

	build_sample_tree();
	ck_assert_int_eq(fb_finish(&fb), 0);
	ck_assert_ptr_nonnull(prop("/soc/uart@9000000", "clock-frequency", &len));
	ck_assert_int_eq(len, 4);
	ck_assert_uint_eq(prop_cell("/soc/uart@9000000", "clock-frequency", 0), 24000000);
	cookie = prop("/soc/memory@140000000", "kvmkit,cookie", &len);
	ck_assert_ptr_nonnull(cookie);
	ck_assert_int_eq(len, 8);
	ck_assert_uint_eq(fdt64_ld(cookie), 0x0123456789abcdefULL);
}
END_TEST

START_TEST(nested_nodes)
{
	int soc, uart, memory;

	build_sample_tree();
	ck_assert_int_eq(fb_finish(&fb), 0);
	soc = fdt_path_offset(fb.blob, "/soc");
	uart = fdt_path_offset(fb.blob, "/soc/uart@9000000");
	memory = fdt_path_offset(fb.blob, "/soc/memory@140000000");
	ck_assert_int_ge(soc, 0);
	ck_assert_int_eq(fdt_parent_offset(fb.blob, uart), soc);
	ck_assert_int_eq(fdt_parent_offset(fb.blob, memory), soc);
	ck_assert_int_eq(fdt_parent_offset(fb.blob, soc), 0);
	ck_assert_int_eq(fdt_first_subnode(fb.blob, soc), uart);
	ck_assert_int_eq(fdt_next_subnode(fb.blob, uart), memory);
	ck_assert_int_eq(fdt_next_subnode(fb.blob, memory), -FDT_ERR_NOTFOUND);
}
END_TEST

START_TEST(tiny_buffer_is_nospace)
{
	const char *text;

	ck_assert_int_eq(fb_init(&fb, 64), 0);
	fb_begin_node(&fb, "");
	fb_prop_string(&fb, "model", "a model name that cannot fit in sixty-four bytes");
	fb_end_node(&fb);
	ck_assert_int_eq(fb_finish(&fb), -FDT_ERR_NOSPACE);
	text = fb_strerror(-FDT_ERR_NOSPACE);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_ne(text, "");
}
END_TEST

START_TEST(buffer_smaller_than_header_is_nospace)
{
	ck_assert_int_eq(fb_init(&fb, 16), 0);
	fb_begin_node(&fb, "");
	fb_end_node(&fb);
	ck_assert_int_eq(fb_finish(&fb), -FDT_ERR_NOSPACE);
}
END_TEST

START_TEST(irq_without_encoder_fails)
{
	ck_assert_int_eq(fb_init(&fb, 4096), 0);
	fb_begin_node(&fb, "");
	fb_begin_node(&fb, "uart");
	fb_prop_irq(&fb, 5);
	ck_assert_int_lt(fb.err, 0);
	fb_end_node(&fb);
	fb_end_node(&fb);
	ck_assert_int_lt(fb_finish(&fb), 0);
	ck_assert_str_ne(fb_strerror(fb.err), "");
}
END_TEST

START_TEST(first_error_sticks)
{
	static const char *const too_long[] = {
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		NULL,
	};

	ck_assert_int_eq(fb_init(&fb, 4096), 0);
	fb_begin_node(&fb, "");
	/* 260 bytes of strings do not fit the builder's string-list limit. */
	fb_prop_strings(&fb, "compatible", too_long);
	ck_assert_int_eq(fb.err, -FDT_ERR_NOSPACE);
	fb_prop_irq(&fb, 1);
	fb_prop_u32(&fb, "x", 1);
	fb_end_node(&fb);
	ck_assert_int_eq(fb_finish(&fb), -FDT_ERR_NOSPACE);
}
END_TEST

START_TEST(too_many_cells_fail)
{
	uint32_t cells[17] = {0};

	ck_assert_int_eq(fb_init(&fb, 4096), 0);
	fb_begin_node(&fb, "");
	fb_prop_cells(&fb, "many", cells, 16);
	ck_assert_int_eq(fb.err, 0);
	fb_prop_cells(&fb, "too-many", cells, 17);
	ck_assert_int_lt(fb.err, 0);
	fb_end_node(&fb);
	ck_assert_int_lt(fb_finish(&fb), 0);
}
END_TEST

Suite *fdt_builder_suite(void)
{
	Suite *s = suite_create("fdt_builder");
	TCase *tree = tcase_create("tree");
	TCase *errors = tcase_create("errors");

	tcase_add_checked_fixture(tree, NULL, free_builder);
	tcase_add_test(tree, finished_tree_is_valid);
	tcase_add_test(tree, root_cells);
	tcase_add_test(tree, string_and_empty_props);
	tcase_add_test(tree, node_name_with_unit_address);
	tcase_add_test(tree, string_list);
	tcase_add_test(tree, reg_cells);
	tcase_add_test(tree, irq_through_encoder);
	tcase_add_test(tree, u32_and_u64_props);
	tcase_add_test(tree, nested_nodes);
	suite_add_tcase(s, tree);

	tcase_add_checked_fixture(errors, NULL, free_builder);
	tcase_add_test(errors, tiny_buffer_is_nospace);
	tcase_add_test(errors, buffer_smaller_than_header_is_nospace);
	tcase_add_test(errors, irq_without_encoder_fails);
	tcase_add_test(errors, first_error_sticks);
	tcase_add_test(errors, too_many_cells_fail);
	suite_add_tcase(s, errors);
	return s;
}
