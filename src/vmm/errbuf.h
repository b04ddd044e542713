/* The error message buffers that pure modules fill for their caller, who
 * reports it once, with context. */
#ifndef KVMKIT_ERRBUF_H
#define KVMKIT_ERRBUF_H

#include <stddef.h>

/* Formats into @err (when it is not NULL and @errlen is not 0) and returns
 * @ret, so that a failure is one statement: return errbuf_set(...). */
int errbuf_set(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
