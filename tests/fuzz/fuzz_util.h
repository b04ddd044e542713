/* What the fuzz targets share: a contract check that aborts (so libFuzzer
 * keeps the input), and reading little-endian fields off the input. */
#ifndef KVMKIT_FUZZ_UTIL_H
#define KVMKIT_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                           \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "%s:%d: contract violated: %s\n", __FILE__, __LINE__, \
				#cond);                                                       \
			abort();                                                              \
		}                                                                             \
	} while (0)

struct input {
	const uint8_t *data;
	size_t left;
};

/* The next @bytes (at most 8) as a little-endian number; what the input
 * lacks reads as zero. */
static inline uint64_t take(struct input *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->left; i++, in->left--)
		v |= (uint64_t)*in->data++ << (8 * i);
	return v;
}

/* For the loaders' targets: the input is a u64 file size, then the head of
 * the file. Returns a heap copy of exactly the head's bytes (so ASan sees a
 * read past them) with its length in *@len, or NULL when the input is too
 * short. free() it. */
static inline uint8_t *take_file_head(const uint8_t *data, size_t size, uint64_t *file_size,
				      size_t *len)
{
	uint8_t *head;

	if (size < 8)
		return NULL;
	memcpy(file_size, data, 8);
	*len = size - 8;
	head = malloc(*len ? *len : 1);
	if (!head)
		abort();
	memcpy(head, data + 8, *len);
	return head;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
