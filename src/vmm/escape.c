#include "vmm/escape.h"

size_t escape_filter(struct escape_state *st, const char *in, size_t len, char *out, bool *quit)
{
	size_t n = 0;

	*quit = false;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (!st->pending) {
			if (c == ESCAPE_CHAR)
				st->pending = true;
			else
				out[n++] = c;
			continue;
		}
		st->pending = false;
		if (c == 'x' || c == 'X') {
			*quit = true;
			return n;
		}
		if (c == ESCAPE_CHAR) {
			out[n++] = ESCAPE_CHAR;
		} else {
			out[n++] = ESCAPE_CHAR;
			out[n++] = c;
		}
	}
	return n;
}
