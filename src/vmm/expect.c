#include "vmm/expect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int expect_init(struct expect_matcher *m, const char *pattern)
{
	size_t len = pattern ? strlen(pattern) : 0;

	*m = (struct expect_matcher){0};
	if (len == 0)
		return -EINVAL;
	m->pattern = strdup(pattern);
	m->fail = calloc(len, sizeof(*m->fail));
	if (!m->pattern || !m->fail) {
		expect_destroy(m);
		return -ENOMEM;
	}
	m->len = len;
	/* fail[i]: length of the longest proper border of pattern[0..i]. */
	for (size_t i = 1, k = 0; i < len; i++) {
		while (k > 0 && pattern[i] != pattern[k])
			k = m->fail[k - 1];
		if (pattern[i] == pattern[k])
			k++;
		m->fail[i] = k;
	}
	return 0;
}

void expect_destroy(struct expect_matcher *m)
{
	free(m->pattern);
	free(m->fail);
	*m = (struct expect_matcher){0};
}

bool expect_feed(struct expect_matcher *m, const char *data, size_t len)
{
	size_t k = m->matched;

	if (m->seen || m->len == 0)
		return m->seen;
	for (size_t i = 0; i < len; i++) {
		while (k > 0 && data[i] != m->pattern[k])
			k = m->fail[k - 1];
		if (data[i] == m->pattern[k])
			k++;
		if (k == m->len) {
			m->seen = true;
			break;
		}
	}
	m->matched = k;
	return m->seen;
}
