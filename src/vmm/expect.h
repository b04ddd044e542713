/* Streaming substring matcher for --expect: fed the console byte by byte (or in
 * chunks), it reports the first time the whole pattern has been seen, however
 * the output was split. O(1) amortized per byte (Knuth-Morris-Pratt). */
#ifndef KVMKIT_EXPECT_H
#define KVMKIT_EXPECT_H

#include <stdbool.h>
#include <stddef.h>

struct expect_matcher {
	char *pattern;
	size_t len;
	size_t *fail; /* KMP failure function */
	size_t matched;
	bool seen;
};

/* -EINVAL for an empty pattern, -ENOMEM. */
int expect_init(struct expect_matcher *m, const char *pattern);
void expect_destroy(struct expect_matcher *m);
/* Returns true once the pattern has been seen (and stays true). */
bool expect_feed(struct expect_matcher *m, const char *data, size_t len);

#endif
