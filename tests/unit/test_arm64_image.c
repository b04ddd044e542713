#include <errno.h>
#include <string.h>

#include "arch/arm64/image.h"
#include "arch/arm64/layout.h"
#include "unit.h"

#define HEAD_SIZE 4096
#define PE_AT 0x40
#define PE_OPT_SIZE 0xa0
#define SECTIONS_AT (PE_AT + 24 + PE_OPT_SIZE)

static uint8_t head[HEAD_SIZE];
static uint64_t file_size;
static struct arm64_image_info info;
static char err[160];

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A kernel without EFI stub: 8 MiB in the file, 16 MiB once running. */
static void plain_image(void)
{
	memset(head, 0, sizeof(head));
	put_le32(head + 0x00, 0x14000010); /* b +0x40, the usual code0 */
	put_le64(head + 0x08, 0x80000);    /* text_offset */
	put_le64(head + 0x10, 0x1000000);  /* image_size */
	put_le64(head + 0x18, 0xa);        /* LE, 4K pages, anywhere in RAM */
	put_le32(head + 0x38, ARM64_IMAGE_MAGIC);
	file_size = 0x800000;
	memset(&info, 0, sizeof(info));
	err[0] = '\0';
}

static void set_section(unsigned i, uint32_t raw_offset, uint32_t raw_size)
{
	uint8_t *s = head + SECTIONS_AT + i * 40;

	memcpy(s, i ? ".data" : ".text", 5);
	put_le32(s + 16, raw_size);
	put_le32(s + 20, raw_offset);
}

/* The same kernel with an EFI stub: "MZ", a PE header, two sections whose raw
 * data ends at 7 MiB + 64 KiB. */
static void efi_image(void)
{
	plain_image();
	head[0] = 'M';
	head[1] = 'Z';
	put_le32(head + 0x3c, PE_AT);
	memcpy(head + PE_AT, "PE\0\0", 4);
	put_le16(head + PE_AT + 4, 0xaa64); /* Machine: arm64 */
	put_le16(head + PE_AT + 6, 2);      /* NumberOfSections */
	put_le16(head + PE_AT + 20, PE_OPT_SIZE);
	set_section(0, 0x10000, 0x600000);
	set_section(1, 0x610000, 0x100000);
	file_size = 0x710000;
}

static int parse(void)
{
	return arm64_image_parse(head, sizeof(head), file_size, &info, err, sizeof(err));
}

static void assert_rejected(const char *why)
{
	ck_assert_int_eq(parse(), -ENOEXEC);
	ck_assert_msg(strstr(err, why) != NULL, "refused as '%s', not for '%s'", err, why);
}

START_TEST(plain_image_parses)
{
	ck_assert_int_eq(parse(), 0);
	ck_assert_uint_eq(info.text_offset, 0x80000);
	ck_assert_uint_eq(info.image_size, 0x1000000);
	ck_assert(!info.efi_stub);
	ck_assert_uint_eq(info.min_file_size, 0);
}
END_TEST

START_TEST(header_only_read)
{
	/* Only the 64-byte header was read: enough without an EFI stub. */
	ck_assert_int_eq(arm64_image_parse(head, ARM64_IMAGE_HEADER_SIZE, file_size, &info, err,
					   sizeof(err)),
			 0);
}
END_TEST

START_TEST(zero_text_offset)
{
	put_le64(head + 0x08, 0);
	ck_assert_int_eq(parse(), 0);
	ck_assert_uint_eq(info.text_offset, 0);
}
END_TEST

START_TEST(largest_text_offset)
{
	put_le64(head + 0x08, 0x1ff000);
	ck_assert_int_eq(parse(), 0);
	ck_assert_uint_eq(info.text_offset, 0x1ff000);
}
END_TEST

START_TEST(file_as_large_as_image_size)
{
	file_size = 0x1000000;
	ck_assert_int_eq(parse(), 0);
}
END_TEST

START_TEST(efi_stub_parses)
{
	ck_assert_int_eq(parse(), 0);
	ck_assert(info.efi_stub);
	ck_assert_uint_eq(info.min_file_size, 0x710000);
	ck_assert_uint_eq(info.text_offset, 0x80000);
	ck_assert_uint_eq(info.image_size, 0x1000000);
}
END_TEST

START_TEST(efi_min_size_from_furthest_section)
{
	/* The sections are not in file order: the furthest end counts. */
	set_section(0, 0x700000, 0x20000);
	set_section(1, 0x10000, 0x100);
	file_size = 0x720000;
	ck_assert_int_eq(parse(), 0);
	ck_assert_uint_eq(info.min_file_size, 0x720000);
}
END_TEST

START_TEST(too_short_read)
{
	ck_assert_int_eq(arm64_image_parse(head, ARM64_IMAGE_HEADER_SIZE - 1, file_size, &info, err,
					   sizeof(err)),
			 -ENOEXEC);
	ck_assert_str_ne(err, "");
}
END_TEST

START_TEST(too_short_file)
{
	file_size = ARM64_IMAGE_HEADER_SIZE - 1;
	assert_rejected("too short");
}
END_TEST

START_TEST(bad_magic)
{
	put_le32(head + 0x38, 0x644d5242);
	assert_rejected("not an arm64 Image");
	/* The default refuses a raw binary and names the setting that takes it. */
	ck_assert_msg(strstr(err, "a raw binary needs --kernel-format raw") != NULL, "%s", err);
}
END_TEST

/* A raw kernel: at the start of RAM (where a bare-metal program linked for
 * RAM expects to run), as large as its file, whatever its first bytes are. */
START_TEST(raw_at_start_of_ram)
{
	ck_assert_int_eq(arm64_raw_image_info(12345, &info, err, sizeof(err)), 0);
	ck_assert_uint_eq(info.text_offset, 0);
	ck_assert_uint_eq(ARM64_RAW_KERNEL_OFFSET, 0);
	ck_assert_uint_eq(info.image_size, 12345);
	ck_assert(!info.efi_stub);
	ck_assert_uint_eq(info.min_file_size, 0);
}
END_TEST

START_TEST(raw_empty_refused)
{
	ck_assert_int_eq(arm64_raw_image_info(0, &info, err, sizeof(err)), -ENOEXEC);
	ck_assert_str_eq(err, "empty raw kernel");
}
END_TEST

/* A raw kernel may fill RAM up to the DTB's last 2 MiB, not one byte more. */
START_TEST(raw_fits_below_the_dtb)
{
	const uint64_t mem = 16ULL << 20;

	ck_assert_int_eq(arm64_raw_image_info(mem - ARM64_FDT_MAX_SIZE, &info, err, sizeof(err)),
			 0);
	ck_assert(arm64_kernel_fits(&info, mem));
	ck_assert_int_eq(
		arm64_raw_image_info(mem - ARM64_FDT_MAX_SIZE + 1, &info, err, sizeof(err)), 0);
	ck_assert(!arm64_kernel_fits(&info, mem));
}
END_TEST

/* An Image's text_offset counts against the room, and a huge image_size
 * from a header cannot wrap the check. */
START_TEST(image_fits_with_text_offset)
{
	const uint64_t mem = 16ULL << 20;

	info = (struct arm64_image_info){.text_offset = 0x80000,
					 .image_size = mem - ARM64_FDT_MAX_SIZE - 0x80000};
	ck_assert(arm64_kernel_fits(&info, mem));
	info.image_size++;
	ck_assert(!arm64_kernel_fits(&info, mem));
	info.image_size = UINT64_MAX;
	ck_assert(!arm64_kernel_fits(&info, mem));
}
END_TEST

START_TEST(gzip_file)
{
	memset(head, 0, sizeof(head));
	head[0] = 0x1f;
	head[1] = 0x8b;
	assert_rejected("decompressed");
}
END_TEST

START_TEST(big_endian_kernel)
{
	put_le64(head + 0x18, 0xb);
	assert_rejected("big-endian");
}
END_TEST

START_TEST(zero_image_size)
{
	put_le64(head + 0x10, 0);
	assert_rejected("image_size");
}
END_TEST

START_TEST(unaligned_text_offset)
{
	put_le64(head + 0x08, 0x80001);
	assert_rejected("text_offset");
}
END_TEST

START_TEST(text_offset_of_2mib)
{
	put_le64(head + 0x08, 0x200000);
	assert_rejected("text_offset");
}
END_TEST

START_TEST(huge_text_offset)
{
	put_le64(head + 0x08, UINT64_MAX & ~0xfffULL);
	assert_rejected("text_offset");
}
END_TEST

START_TEST(file_larger_than_image_size)
{
	file_size = 0x1000001;
	assert_rejected("larger");
}
END_TEST

START_TEST(efi_truncated)
{
	file_size = 0x70ffff;
	assert_rejected("truncated");
	ck_assert_msg(strstr(err, "7405568") != NULL, "message '%s' lacks the size needed", err);
}
END_TEST

START_TEST(efi_pe_offset_outside_read)
{
	put_le32(head + 0x3c, HEAD_SIZE - 23);
	assert_rejected("PE header");
}
END_TEST

START_TEST(efi_pe_header_straddles_read_end)
{
	/* The signature fits, the COFF header after it does not. */
	memcpy(head + HEAD_SIZE - 8, "PE\0\0", 4);
	put_le32(head + 0x3c, HEAD_SIZE - 8);
	assert_rejected("PE header");
}
END_TEST

START_TEST(efi_pe_offset_huge)
{
	put_le32(head + 0x3c, UINT32_MAX);
	assert_rejected("PE header");
}
END_TEST

START_TEST(efi_pe_signature_missing)
{
	memcpy(head + PE_AT, "NE\0\0", 4);
	assert_rejected("PE header");
}
END_TEST

START_TEST(efi_pe_header_beyond_short_read)
{
	/* The caller read only the 64-byte header of an EFI Image. */
	ck_assert_int_eq(arm64_image_parse(head, ARM64_IMAGE_HEADER_SIZE, file_size, &info, err,
					   sizeof(err)),
			 -ENOEXEC);
	ck_assert_msg(strstr(err, "PE header") != NULL, "refused as '%s'", err);
}
END_TEST

START_TEST(efi_no_sections)
{
	put_le16(head + PE_AT + 6, 0);
	assert_rejected("section table");
}
END_TEST

START_TEST(efi_section_table_past_read)
{
	put_le16(head + PE_AT + 6, UINT16_MAX);
	assert_rejected("section table");
}
END_TEST

START_TEST(efi_optional_header_past_read)
{
	put_le16(head + PE_AT + 20, UINT16_MAX);
	assert_rejected("section table");
}
END_TEST

START_TEST(efi_section_end_beyond_32_bits)
{
	/* Offset + size overflow 32 bits: the sum must not wrap to a small size. */
	set_section(1, UINT32_MAX, UINT32_MAX);
	assert_rejected("truncated");
	ck_assert_msg(strstr(err, "8589934590") != NULL, "message '%s' lacks the size needed", err);
}
END_TEST

Suite *arm64_image_suite(void)
{
	Suite *s = suite_create("arm64_image");
	TCase *plain = tcase_create("plain");
	TCase *efi = tcase_create("efi");

	tcase_add_checked_fixture(plain, plain_image, NULL);
	tcase_add_test(plain, plain_image_parses);
	tcase_add_test(plain, header_only_read);
	tcase_add_test(plain, zero_text_offset);
	tcase_add_test(plain, largest_text_offset);
	tcase_add_test(plain, file_as_large_as_image_size);
	tcase_add_test(plain, too_short_read);
	tcase_add_test(plain, too_short_file);
	tcase_add_test(plain, bad_magic);
	tcase_add_test(plain, raw_at_start_of_ram);
	tcase_add_test(plain, raw_empty_refused);
	tcase_add_test(plain, raw_fits_below_the_dtb);
	tcase_add_test(plain, image_fits_with_text_offset);
	tcase_add_test(plain, gzip_file);
	tcase_add_test(plain, big_endian_kernel);
	tcase_add_test(plain, zero_image_size);
	tcase_add_test(plain, unaligned_text_offset);
	tcase_add_test(plain, text_offset_of_2mib);
	tcase_add_test(plain, huge_text_offset);
	tcase_add_test(plain, file_larger_than_image_size);
	suite_add_tcase(s, plain);

	tcase_add_checked_fixture(efi, efi_image, NULL);
	tcase_add_test(efi, efi_stub_parses);
	tcase_add_test(efi, efi_min_size_from_furthest_section);
	tcase_add_test(efi, efi_truncated);
	tcase_add_test(efi, efi_pe_offset_outside_read);
	tcase_add_test(efi, efi_pe_header_straddles_read_end);
	tcase_add_test(efi, efi_pe_offset_huge);
	tcase_add_test(efi, efi_pe_signature_missing);
	tcase_add_test(efi, efi_pe_header_beyond_short_read);
	tcase_add_test(efi, efi_no_sections);
	tcase_add_test(efi, efi_section_table_past_read);
	tcase_add_test(efi, efi_optional_header_past_read);
	tcase_add_test(efi, efi_section_end_beyond_32_bits);
	suite_add_tcase(s, efi);
	return s;
}
