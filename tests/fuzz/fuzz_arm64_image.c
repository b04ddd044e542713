/* libFuzzer target: the arm64 Image header parser (src/arch/arm64/image.c)
 * on hostile kernels. Input: u64 file size (little-endian), then the head of
 * the file. Besides the sanitizers it checks what a success promises: a
 * magic, a text offset and size that the boot code can add without
 * overflow, and, with an EFI stub, a file long enough for its sections. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arm64/image.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arm64_image_info info;
	uint64_t file_size;
	char err[256];
	uint8_t *head;
	int ret;

	head = take_file_head(data, size, &file_size, &size);
	if (!head)
		return -1;
	err[0] = '\0';
	ret = arm64_image_parse(head, size, file_size, &info, err, sizeof(err));
	CHECK(ret == 0 || ret == -ENOEXEC);
	if (ret == 0) {
		CHECK(size >= ARM64_IMAGE_HEADER_SIZE);
		CHECK(info.text_offset + info.image_size >= info.text_offset);
		CHECK(!info.efi_stub || info.min_file_size <= file_size);
	} else {
		CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
	}
	free(head);
	return 0;
}
