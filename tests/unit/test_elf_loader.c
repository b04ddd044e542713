#include <elf.h>
#include <errno.h>
#include <string.h>

#include "arch/x86_64/elf_loader.h"
#include "unit.h"

#define HEAD_SIZE 4096 /* what the loader reads of the file */
#define PH_OFFSET sizeof(Elf64_Ehdr)
#define MAX_TEST_PHDRS 20

/* The headers are edited as structs, then laid out as the file's first bytes. */
static Elf64_Ehdr eh;
static Elf64_Phdr ph[MAX_TEST_PHDRS];
static uint64_t file_size;
static uint8_t head[HEAD_SIZE];
static struct elf_image img;
static char err[128];

/* A valid test kernel: text, a note, then data whose BSS runs past the file. */
static void well_formed_elf(void)
{
	memset(&eh, 0, sizeof(eh));
	memset(ph, 0, sizeof(ph));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = 0x100040;
	eh.e_phoff = PH_OFFSET;
	eh.e_ehsize = sizeof(Elf64_Ehdr);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 3;
	ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
			     .p_flags = PF_R | PF_X,
			     .p_offset = 0x1000,
			     .p_paddr = 0x100000,
			     .p_vaddr = 0x100000,
			     .p_filesz = 0x800,
			     .p_memsz = 0x800,
			     .p_align = 0x1000};
	ph[1] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = 0x200, .p_filesz = 0x20, .p_align = 4};
	ph[2] = (Elf64_Phdr){.p_type = PT_LOAD,
			     .p_flags = PF_R | PF_W,
			     .p_offset = 0x2000,
			     .p_paddr = 0x200000,
			     .p_vaddr = 0x200000,
			     .p_filesz = 0x100,
			     .p_memsz = 0x5000,
			     .p_align = 0x1000};
	file_size = 0x3000;
	memset(&img, 0, sizeof(img));
	err[0] = '\0';
}

static int parse(void)
{
	memset(head, 0, sizeof(head));
	memcpy(head, &eh, sizeof(eh));
	memcpy(head + PH_OFFSET, ph, sizeof(ph));
	return elf_parse(head, sizeof(head), file_size, &img, err, sizeof(err));
}

/* Fails the test unless the file is refused for the reason naming @why. */
static void assert_rejected(const char *why)
{
	ck_assert_int_eq(parse(), -ENOEXEC);
	ck_assert_msg(strstr(err, why) != NULL, "refused as '%s', not for '%s'", err, why);
}

START_TEST(well_formed)
{
	ck_assert_int_eq(parse(), 0);
	ck_assert_uint_eq(img.entry, 0x100040);
	ck_assert_uint_eq(img.nr_segments, 2);
	ck_assert_uint_eq(img.segments[0].file_offset, 0x1000);
	ck_assert_uint_eq(img.segments[0].file_size, 0x800);
	ck_assert_uint_eq(img.segments[0].paddr, 0x100000);
	ck_assert_uint_eq(img.segments[0].mem_size, 0x800);
	ck_assert_uint_eq(img.segments[1].file_offset, 0x2000);
	ck_assert_uint_eq(img.segments[1].file_size, 0x100);
	ck_assert_uint_eq(img.segments[1].paddr, 0x200000);
	ck_assert_uint_eq(img.segments[1].mem_size, 0x5000);
}
END_TEST

START_TEST(empty_load_segment_skipped)
{
	/* A PT_LOAD with nothing to load: its other fields do not matter. */
	ph[3] = (Elf64_Phdr){.p_type = PT_LOAD,
			     .p_offset = UINT64_MAX,
			     .p_filesz = 0,
			     .p_paddr = UINT64_MAX,
			     .p_memsz = 0};
	eh.e_phnum = 4;
	ck_assert_int_eq(parse(), 0);
	ck_assert_uint_eq(img.nr_segments, 2);
}
END_TEST

START_TEST(segment_beyond_head_inside_file)
{
	/* Only the headers must be in the bytes read; segment data may lie further. */
	ph[2].p_offset = 0x100000;
	file_size = 0x100100;
	ck_assert_int_eq(parse(), 0);
	ck_assert_uint_eq(img.segments[1].file_offset, 0x100000);
}
END_TEST

START_TEST(segment_ending_exactly_at_file_end)
{
	ph[2].p_filesz = file_size - ph[2].p_offset;
	ck_assert_int_eq(parse(), 0);
}
END_TEST

START_TEST(too_short_for_header)
{
	ck_assert_int_eq(elf_parse(head, sizeof(Elf64_Ehdr) - 1, file_size, &img, err, sizeof(err)),
			 -ENOEXEC);
	ck_assert_str_ne(err, "");
	file_size = sizeof(Elf64_Ehdr) - 1;
	assert_rejected("too short");
}
END_TEST

START_TEST(bad_magic)
{
	eh.e_ident[EI_MAG1] = 'e';
	assert_rejected("not an ELF");
}
END_TEST

START_TEST(elf32_class)
{
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	assert_rejected("ELF64");
}
END_TEST

START_TEST(big_endian)
{
	eh.e_ident[EI_DATA] = ELFDATA2MSB;
	assert_rejected("little-endian");
}
END_TEST

START_TEST(wrong_machine)
{
	eh.e_machine = EM_AARCH64;
	assert_rejected("x86_64");
}
END_TEST

START_TEST(shared_object)
{
	eh.e_type = ET_DYN;
	assert_rejected("not an executable");
}
END_TEST

START_TEST(relocatable_object)
{
	eh.e_type = ET_REL;
	assert_rejected("not an executable");
}
END_TEST

START_TEST(wrong_phentsize)
{
	eh.e_phentsize = sizeof(Elf32_Phdr);
	assert_rejected("program headers");
}
END_TEST

START_TEST(no_program_headers)
{
	eh.e_phnum = 0;
	assert_rejected("program headers");
}
END_TEST

START_TEST(phoff_outside_head)
{
	eh.e_phoff = HEAD_SIZE;
	assert_rejected("program headers");
}
END_TEST

START_TEST(phoff_last_header_straddles_head)
{
	eh.e_phoff = HEAD_SIZE - 3 * sizeof(Elf64_Phdr) + 1;
	assert_rejected("program headers");
}
END_TEST

START_TEST(phoff_wraps)
{
	eh.e_phoff = UINT64_MAX - 8;
	assert_rejected("program headers");
}
END_TEST

START_TEST(phnum_beyond_head)
{
	eh.e_phnum = UINT16_MAX;
	assert_rejected("program headers");
}
END_TEST

START_TEST(filesz_larger_than_memsz)
{
	ph[0].p_filesz = ph[0].p_memsz + 1;
	assert_rejected("larger in the file");
}
END_TEST

START_TEST(segment_past_end_of_file)
{
	ph[2].p_filesz = file_size - ph[2].p_offset + 1;
	assert_rejected("truncated");
}
END_TEST

START_TEST(segment_offset_past_end_of_file)
{
	ph[0].p_offset = file_size;
	assert_rejected("truncated");
}
END_TEST

START_TEST(segment_offset_plus_size_wraps)
{
	ph[0].p_offset = UINT64_MAX - 0x10;
	assert_rejected("truncated");
}
END_TEST

START_TEST(paddr_plus_memsz_wraps)
{
	ph[2].p_paddr = UINT64_MAX - 0xfff;
	assert_rejected("wraps");
}
END_TEST

START_TEST(no_load_segment)
{
	ph[0].p_type = PT_NOTE;
	ph[2].p_type = PT_GNU_STACK;
	assert_rejected("no loadable");
}
END_TEST

static void fill_load_segments(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		ph[i] = (Elf64_Phdr){.p_type = PT_LOAD,
				     .p_offset = 0x1000,
				     .p_filesz = 0x10,
				     .p_paddr = 0x100000 + i * 0x1000ULL,
				     .p_memsz = 0x10};
	eh.e_phnum = n;
}

START_TEST(max_segments_accepted)
{
	fill_load_segments(ELF_MAX_SEGMENTS);
	ck_assert_int_eq(parse(), 0);
	ck_assert_uint_eq(img.nr_segments, ELF_MAX_SEGMENTS);
	ck_assert_uint_eq(img.segments[ELF_MAX_SEGMENTS - 1].paddr,
			  0x100000 + (ELF_MAX_SEGMENTS - 1) * 0x1000ULL);
}
END_TEST

START_TEST(too_many_segments)
{
	fill_load_segments(ELF_MAX_SEGMENTS + 1);
	assert_rejected("too many");
}
END_TEST

Suite *elf_loader_suite(void)
{
	Suite *s = suite_create("elf_loader");
	TCase *good = tcase_create("accepted");
	TCase *bad = tcase_create("rejected");

	tcase_add_checked_fixture(good, well_formed_elf, NULL);
	tcase_add_test(good, well_formed);
	tcase_add_test(good, empty_load_segment_skipped);
	tcase_add_test(good, segment_beyond_head_inside_file);
	tcase_add_test(good, segment_ending_exactly_at_file_end);
	tcase_add_test(good, max_segments_accepted);
	suite_add_tcase(s, good);

	tcase_add_checked_fixture(bad, well_formed_elf, NULL);
	tcase_add_test(bad, too_short_for_header);
	tcase_add_test(bad, bad_magic);
	tcase_add_test(bad, elf32_class);
	tcase_add_test(bad, big_endian);
	tcase_add_test(bad, wrong_machine);
	tcase_add_test(bad, shared_object);
	tcase_add_test(bad, relocatable_object);
	tcase_add_test(bad, wrong_phentsize);
	tcase_add_test(bad, no_program_headers);
	tcase_add_test(bad, phoff_outside_head);
	tcase_add_test(bad, phoff_last_header_straddles_head);
	tcase_add_test(bad, phoff_wraps);
	tcase_add_test(bad, phnum_beyond_head);
	tcase_add_test(bad, filesz_larger_than_memsz);
	tcase_add_test(bad, segment_past_end_of_file);
	tcase_add_test(bad, segment_offset_past_end_of_file);
	tcase_add_test(bad, segment_offset_plus_size_wraps);
	tcase_add_test(bad, paddr_plus_memsz_wraps);
	tcase_add_test(bad, no_load_segment);
	tcase_add_test(bad, too_many_segments);
	suite_add_tcase(s, bad);
	return s;
}
