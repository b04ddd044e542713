/* The console's escape key: Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A,
 * Ctrl-A followed by anything else sends both bytes. Pure state machine. */
#ifndef KVMKIT_ESCAPE_H
#define KVMKIT_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

#define ESCAPE_CHAR 0x01 /* Ctrl-A */

struct escape_state {
	bool pending; /* the previous byte was an unconsumed Ctrl-A */
};

/* Filters @len input bytes into @out (room for 2 * len bytes). Returns the
 * number of bytes for the guest; sets *quit when Ctrl-A x was typed (bytes
 * after it are dropped). */
size_t escape_filter(struct escape_state *st, const char *in, size_t len, char *out, bool *quit);

#endif
