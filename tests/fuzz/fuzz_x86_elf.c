/* libFuzzer target: the x86_64 ELF64 test-kernel parser
 * (src/arch/x86_64/elf_loader.c) on hostile files. Input: u64 file size
 * (little-endian), then the head of the file. Besides the sanitizers it
 * checks what a success promises: every segment's file bytes inside the
 * file and its sizes and address free of overflow. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/elf_loader.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_image img;
	uint64_t file_size;
	char err[256];
	uint8_t *head;
	int ret;

	head = take_file_head(data, size, &file_size, &size);
	if (!head)
		return -1;
	err[0] = '\0';
	ret = elf_parse(head, size, file_size, &img, err, sizeof(err));
	CHECK(ret == 0 || ret == -ENOEXEC);
	if (ret == 0) {
		CHECK(img.nr_segments <= ELF_MAX_SEGMENTS);
		for (unsigned i = 0; i < img.nr_segments; i++) {
			const struct elf_segment *s = &img.segments[i];

			CHECK(s->file_offset + s->file_size >= s->file_offset);
			CHECK(s->file_offset + s->file_size <= file_size);
			CHECK(s->file_size <= s->mem_size);
			CHECK(s->paddr + s->mem_size >= s->paddr);
		}
	} else {
		CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
	}
	free(head);
	return 0;
}
