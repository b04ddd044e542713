#include "arch/x86_64/elf_loader.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int bad(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -ENOEXEC;
}

int elf_parse(const uint8_t *buf, size_t len, uint64_t file_size, struct elf_image *img, char *err,
	      size_t errlen)
{
	Elf64_Ehdr eh;
	uint64_t ph_end;

	*img = (struct elf_image){0};
	if (len < sizeof(eh) || file_size < sizeof(eh))
		return bad(err, errlen, "too short for an ELF header");
	memcpy(&eh, buf, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return bad(err, errlen, "not an ELF file (x86_64 kvmkit boots ELF64 test kernels)");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return bad(err, errlen, "not a little-endian ELF64 file");
	if (eh.e_machine != EM_X86_64)
		return bad(err, errlen, "ELF file is not for x86_64");
	if (eh.e_type != ET_EXEC)
		return bad(err, errlen, "ELF file is not an executable");
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0)
		return bad(err, errlen, "ELF file has no usable program headers");
	if (__builtin_mul_overflow((uint64_t)eh.e_phnum, sizeof(Elf64_Phdr), &ph_end) ||
	    __builtin_add_overflow(ph_end, eh.e_phoff, &ph_end) || ph_end > len)
		return bad(err, errlen, "ELF program headers lie outside the file header area");
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint64_t end;

		memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz)
			return bad(err, errlen, "ELF segment larger in the file than in memory");
		if (__builtin_add_overflow(ph.p_offset, ph.p_filesz, &end) || end > file_size)
			return bad(err, errlen,
				   "ELF segment extends past the end of the file (truncated?)");
		if (__builtin_add_overflow(ph.p_paddr, ph.p_memsz, &end))
			return bad(err, errlen, "ELF segment address wraps around");
		if (img->nr_segments == ELF_MAX_SEGMENTS)
			return bad(err, errlen, "ELF file has too many loadable segments");
		img->segments[img->nr_segments++] = (struct elf_segment){
			.file_offset = ph.p_offset,
			.file_size = ph.p_filesz,
			.paddr = ph.p_paddr,
			.mem_size = ph.p_memsz,
		};
	}
	if (img->nr_segments == 0)
		return bad(err, errlen, "ELF file has no loadable segment");
	img->entry = eh.e_entry;
	return 0;
}
