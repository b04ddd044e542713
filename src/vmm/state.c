#include "vmm/state.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void state_buf_init(struct state_buf *b) { *b = (struct state_buf){0}; }

void state_buf_free(struct state_buf *b)
{
	free(b->data);
	state_buf_init(b);
}

static bool reserve(struct state_buf *b, size_t more)
{
	size_t cap;
	uint8_t *p;

	if (b->err)
		return false;
	if (more <= b->cap - b->len)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < more) {
		if (cap > SIZE_MAX / 2) {
			b->err = -ENOMEM;
			return false;
		}
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p) {
		b->err = -ENOMEM;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void state_put_bytes(struct state_buf *b, const void *p, size_t len)
{
	if (len == 0 || !reserve(b, len))
		return;
	memcpy(b->data + b->len, p, len);
	b->len += len;
}

void state_put_u8(struct state_buf *b, uint8_t v) { state_put_bytes(b, &v, 1); }

void state_put_u16(struct state_buf *b, uint16_t v)
{
	v = htole16(v);
	state_put_bytes(b, &v, sizeof(v));
}

void state_put_u32(struct state_buf *b, uint32_t v)
{
	v = htole32(v);
	state_put_bytes(b, &v, sizeof(v));
}

void state_put_u64(struct state_buf *b, uint64_t v)
{
	v = htole64(v);
	state_put_bytes(b, &v, sizeof(v));
}

void state_put_bool(struct state_buf *b, bool v) { state_put_u8(b, v ? 1 : 0); }

/* Header: kind length (u8), kind bytes, version (u32), field length (u32). */
void state_begin(struct state_buf *b, const char *kind, uint32_t version)
{
	size_t n = strlen(kind);

	if (b->err)
		return;
	if (b->depth == STATE_NEST_MAX || n == 0 || n >= STATE_KIND_MAX) {
		b->err = -EINVAL;
		return;
	}
	state_put_u8(b, (uint8_t)n);
	state_put_bytes(b, kind, n);
	state_put_u32(b, version);
	b->open[b->depth++] = b->len;
	state_put_u32(b, 0);
}

int state_end(struct state_buf *b)
{
	size_t start, fields;
	uint32_t len;

	if (b->err)
		return b->err;
	if (!b->depth)
		return b->err = -EINVAL;
	start = b->open[--b->depth];
	fields = b->len - start - sizeof(uint32_t);
	if (fields > UINT32_MAX)
		return b->err = -E2BIG;
	len = htole32((uint32_t)fields);
	memcpy(b->data + start, &len, sizeof(len));
	return 0;
}

void state_reader_init(struct state_reader *r, const void *data, size_t len)
{
	*r = (struct state_reader){.data = data, .len = len};
}

bool state_reader_done(const struct state_reader *r) { return r->err || r->pos == r->len; }

void state_get_bytes(struct state_reader *r, void *p, size_t len)
{
	if (r->err || len > r->len - r->pos) {
		r->err = -EINVAL;
		memset(p, 0, len);
		return;
	}
	memcpy(p, r->data + r->pos, len);
	r->pos += len;
}

uint8_t state_get_u8(struct state_reader *r)
{
	uint8_t v;

	state_get_bytes(r, &v, 1);
	return v;
}

uint16_t state_get_u16(struct state_reader *r)
{
	uint16_t v;

	state_get_bytes(r, &v, sizeof(v));
	return le16toh(v);
}

uint32_t state_get_u32(struct state_reader *r)
{
	uint32_t v;

	state_get_bytes(r, &v, sizeof(v));
	return le32toh(v);
}

uint64_t state_get_u64(struct state_reader *r)
{
	uint64_t v;

	state_get_bytes(r, &v, sizeof(v));
	return le64toh(v);
}

bool state_get_bool(struct state_reader *r)
{
	uint8_t v = state_get_u8(r);

	if (v > 1)
		r->err = -EINVAL;
	return v == 1;
}

int state_next(struct state_reader *r, char kind[STATE_KIND_MAX], uint32_t *version,
	       struct state_reader *rec)
{
	uint8_t n = state_get_u8(r);
	uint32_t len;

	if (!r->err && (n == 0 || n >= STATE_KIND_MAX))
		r->err = -EINVAL;
	if (r->err)
		return r->err;
	state_get_bytes(r, kind, n);
	kind[n] = '\0';
	*version = state_get_u32(r);
	len = state_get_u32(r);
	if (!r->err && (len > r->len - r->pos || strlen(kind) != n))
		r->err = -EINVAL;
	if (r->err)
		return r->err;
	state_reader_init(rec, r->data + r->pos, len);
	r->pos += len;
	return 0;
}

int state_expect(struct state_reader *r, const char *kind, uint32_t *version,
		 struct state_reader *rec)
{
	char got[STATE_KIND_MAX];
	int ret = state_next(r, got, version, rec);

	if (ret == 0 && strcmp(got, kind) != 0)
		ret = -EINVAL;
	return ret;
}

int state_finish(struct state_reader *r)
{
	if (!r->err && r->pos != r->len)
		r->err = -EINVAL;
	return r->err;
}
