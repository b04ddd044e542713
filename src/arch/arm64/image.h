/* The arm64 Linux Image header (Documentation/arch/arm64/booting.rst): 64
 * bytes with a magic at 0x38, text_offset and image_size. Images with an EFI
 * stub also carry a PE header whose section table says how long the file must
 * be, which is how a truncated kernel is caught before it is booted. */
#ifndef KVMKIT_ARM64_IMAGE_H
#define KVMKIT_ARM64_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARM64_IMAGE_HEADER_SIZE 64
#define ARM64_IMAGE_MAGIC 0x644d5241u /* "ARM\x64" */

struct arm64_image_info {
	uint64_t text_offset; /* load at a 2 MiB aligned base plus this */
	uint64_t image_size;  /* bytes the kernel occupies once running, BSS included */
	bool efi_stub;
	uint64_t min_file_size; /* from the PE sections, 0 without an EFI stub */
};

/* Parses the first @len bytes (pass at least 4 KiB when the file has them) of
 * a file of @file_size bytes. Returns 0, or -ENOEXEC with the reason in @err. */
int arm64_image_parse(const uint8_t *head, size_t len, uint64_t file_size,
		      struct arm64_image_info *info, char *err, size_t errlen);

/* A raw kernel (--kernel-format raw) of @file_size bytes: no header to read,
 * so it goes at ARM64_RAW_KERNEL_OFFSET from the start of RAM and takes its
 * file's size (its BSS, if any, is the rest of RAM below the DTB). Returns
 * 0, or -ENOEXEC for an empty file with the reason in @err. */
int arm64_raw_image_info(uint64_t file_size, struct arm64_image_info *info, char *err,
			 size_t errlen);

/* Whether the kernel @info describes, at RAM base + text_offset, ends below
 * the device tree's last 2 MiB of @mem_size bytes of RAM. Safe against a
 * huge image_size from a header. */
bool arm64_kernel_fits(const struct arm64_image_info *info, uint64_t mem_size);

#endif
