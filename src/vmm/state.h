/* Saved state: a sequence of records, each a kind name, a format version and
 * its fields, all little-endian. A device, a vCPU or an interrupt controller
 * writes one record; the reader checks the kind, hands the version to the
 * owner and never reads past the record, so a truncated or corrupt record is
 * an error (-EINVAL), never a crash. A record may hold records among its
 * fields (a part of a device that has a format of its own, such as a virtio
 * backend inside its transport's record): they are read with state_next() on
 * the outer record's reader and are bounded by it. The snapshot file format
 * (issue #11) wraps these records; nothing here is a file. */
#ifndef KVMKIT_STATE_H
#define KVMKIT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATE_KIND_MAX 32
/* How deep records nest when written. */
#define STATE_NEST_MAX 4

/* Growable output. The first failure (-ENOMEM, a bad record nesting) sticks
 * in err and every later put is ignored, so a writer checks once at the end. */
struct state_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t open[STATE_NEST_MAX]; /* the open records' length fields, outermost first */
	unsigned depth;              /* how many records are open */
	int err;
};

void state_buf_init(struct state_buf *b);
void state_buf_free(struct state_buf *b);

/* Opens a record of @kind (at most STATE_KIND_MAX - 1 characters) and
 * @version; inside an open record, the new one is among its fields (at most
 * STATE_NEST_MAX deep). */
void state_begin(struct state_buf *b, const char *kind, uint32_t version);
/* Closes the innermost open record; returns b->err. */
int state_end(struct state_buf *b);

void state_put_u8(struct state_buf *b, uint8_t v);
void state_put_u16(struct state_buf *b, uint16_t v);
void state_put_u32(struct state_buf *b, uint32_t v);
void state_put_u64(struct state_buf *b, uint64_t v);
void state_put_bool(struct state_buf *b, bool v);
void state_put_bytes(struct state_buf *b, const void *p, size_t len);

/* Input: a bounded view. Reading past the end sets err to -EINVAL and yields
 * zeros; as with the writer, check err once at the end. */
struct state_reader {
	const uint8_t *data;
	size_t len;
	size_t pos;
	int err;
};

void state_reader_init(struct state_reader *r, const void *data, size_t len);
bool state_reader_done(const struct state_reader *r);

/* Reads the next record's header from @r into @kind and @version and points
 * @rec at its fields; @r moves past the record. -EINVAL when the header or
 * the length is bad. */
int state_next(struct state_reader *r, char kind[STATE_KIND_MAX], uint32_t *version,
	       struct state_reader *rec);
/* The same, but the record must be of @kind (-EINVAL naming nothing else:
 * the caller reports it with its context). */
int state_expect(struct state_reader *r, const char *kind, uint32_t *version,
		 struct state_reader *rec);

uint8_t state_get_u8(struct state_reader *r);
uint16_t state_get_u16(struct state_reader *r);
uint32_t state_get_u32(struct state_reader *r);
uint64_t state_get_u64(struct state_reader *r);
/* Only 0 and 1 are booleans; anything else is an error. */
bool state_get_bool(struct state_reader *r);
void state_get_bytes(struct state_reader *r, void *p, size_t len);
/* A record's reader must be consumed exactly: -EINVAL if fields are left
 * over (a record written by a different layout), else r->err. */
int state_finish(struct state_reader *r);

#endif
