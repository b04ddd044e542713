#include "arch/arm64/image.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/arm64/layout.h"

#define FLAG_BIG_ENDIAN 0x1ULL
#define PE_OFFSET_FIELD 0x3c
#define PE_SECTION_SIZE 40

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static int bad(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -ENOEXEC;
}

/* The file must hold every PE section's raw data. */
static int pe_min_size(const uint8_t *head, size_t len, uint64_t *min_size, char *err,
		       size_t errlen)
{
	uint32_t pe = le32(head + PE_OFFSET_FIELD);
	uint64_t table, end;
	uint16_t nsect, opt_size;

	if ((uint64_t)pe + 24 > len || memcmp(head + pe, "PE\0\0", 4) != 0)
		return bad(err, errlen, "corrupt EFI stub: no PE header where the Image points");
	nsect = le16(head + pe + 6);
	opt_size = le16(head + pe + 20);
	table = (uint64_t)pe + 24 + opt_size;
	if (nsect == 0 || table + (uint64_t)nsect * PE_SECTION_SIZE > len)
		return bad(err, errlen, "corrupt EFI stub: PE section table out of range");
	*min_size = 0;
	for (unsigned i = 0; i < nsect; i++) {
		const uint8_t *s = head + table + (uint64_t)i * PE_SECTION_SIZE;

		end = (uint64_t)le32(s + 20) + le32(s + 16); /* PointerToRawData + SizeOfRawData */
		if (end > *min_size)
			*min_size = end;
	}
	return 0;
}

int arm64_image_parse(const uint8_t *head, size_t len, uint64_t file_size,
		      struct arm64_image_info *info, char *err, size_t errlen)
{
	uint64_t flags;
	int ret;

	*info = (struct arm64_image_info){0};
	if (len < ARM64_IMAGE_HEADER_SIZE || file_size < ARM64_IMAGE_HEADER_SIZE)
		return bad(err, errlen, "too short to be an arm64 Image (under 64 bytes)");
	if (le32(head + 0x38) != ARM64_IMAGE_MAGIC)
		return bad(err, errlen,
			   "not an arm64 Image (no \"ARM\\x64\" magic at offset 0x38; "
			   "a compressed vmlinuz must be decompressed first, a raw binary "
			   "needs --kernel-format raw)");
	info->text_offset = le64(head + 0x08);
	info->image_size = le64(head + 0x10);
	flags = le64(head + 0x18);
	if (flags & FLAG_BIG_ENDIAN)
		return bad(err, errlen,
			   "big-endian arm64 Image: kvmkit boots little-endian kernels");
	if (info->image_size == 0)
		return bad(err, errlen,
			   "Image header has no image_size (a kernel older than 3.17)");
	if (info->image_size > (1ULL << 40))
		return bad(err, errlen, "corrupt Image: image_size is larger than any guest's RAM");
	if (info->text_offset >= 0x200000 || (info->text_offset & 0xfff))
		return bad(err, errlen, "Image text_offset is not a 4 KiB multiple below 2 MiB");
	if (file_size > info->image_size)
		return bad(err, errlen,
			   "corrupt Image: the file is larger than its header's image_size");
	if (head[0] == 'M' && head[1] == 'Z') {
		info->efi_stub = true;
		ret = pe_min_size(head, len, &info->min_file_size, err, errlen);
		if (ret < 0)
			return ret;
		if (file_size < info->min_file_size) {
			snprintf(err, errlen,
				 "truncated Image: its sections need %llu bytes, the file has %llu",
				 (unsigned long long)info->min_file_size,
				 (unsigned long long)file_size);
			return -ENOEXEC;
		}
	}
	return 0;
}

int arm64_raw_image_info(uint64_t file_size, struct arm64_image_info *info, char *err,
			 size_t errlen)
{
	*info = (struct arm64_image_info){0};
	if (file_size == 0)
		return bad(err, errlen, "empty raw kernel");
	info->text_offset = ARM64_RAW_KERNEL_OFFSET;
	info->image_size = file_size;
	return 0;
}

bool arm64_kernel_fits(const struct arm64_image_info *info, uint64_t mem_size)
{
	return info->image_size <= mem_size &&
	       mem_size - info->image_size >= info->text_offset + ARM64_FDT_MAX_SIZE;
}
