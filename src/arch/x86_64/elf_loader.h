/* ELF64 test kernels: PT_LOAD segments go to their physical addresses and the
 * vCPU starts at e_entry in 64-bit mode. Parsing is separate from loading so
 * the unit tests can feed it hostile headers. */
#ifndef KVMKIT_X86_ELF_LOADER_H
#define KVMKIT_X86_ELF_LOADER_H

#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_SEGMENTS 16

struct elf_segment {
	uint64_t file_offset;
	uint64_t file_size;
	uint64_t paddr;
	uint64_t mem_size;
};

struct elf_image {
	uint64_t entry;
	unsigned nr_segments;
	struct elf_segment segments[ELF_MAX_SEGMENTS];
};

/* Parses the first @len bytes of a file of @file_size bytes. Returns 0, or
 * -ENOEXEC with the reason in @err. Checks every offset and size against the
 * file and for overflow; placement in RAM is the caller's check. */
int elf_parse(const uint8_t *buf, size_t len, uint64_t file_size, struct elf_image *img, char *err,
	      size_t errlen);

#endif
