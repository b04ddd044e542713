/* What the fuzz targets share: a contract check that aborts (so libFuzzer
 * keeps the input), and reading little-endian fields off the input. */
#ifndef KVMKIT_FUZZ_UTIL_H
#define KVMKIT_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
