#include "vmm/working_set.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/errbuf.h"
#include "vmm/fd_io.h"
#include "vmm/state.h"

#define MAGIC "KVMKITWS"
#define MAGIC_LEN 8
#define RECORD "working-set"
#define CRC_LEN 4
/* Beyond the two page sets: magic, record header, id, region table, CRC. */
#define OVERHEAD_MAX 4096

static size_t region_words(const struct dirty_set_region *r)
{
	return (size_t)((r->nr_pages + 63) / 64);
}

int working_set_init(struct working_set *ws, const uint8_t id[SNAPSHOT_ID_BYTES],
		     const struct guest_mem *mem)
{
	int ret;

	*ws = (struct working_set){0};
	memcpy(ws->snapshot_id, id, SNAPSHOT_ID_BYTES);
	ret = dirty_set_init(&ws->touched, mem);
	if (ret == 0) {
		ret = dirty_set_init(&ws->written, mem);
		if (ret < 0)
			dirty_set_free(&ws->touched);
	}
	return ret;
}

void working_set_free(struct working_set *ws)
{
	dirty_set_free(&ws->touched);
	dirty_set_free(&ws->written);
}

static void put_set(struct state_buf *b, const struct dirty_set *set)
{
	for (unsigned i = 0; i < set->nr_regions; i++)
		for (size_t w = 0; w < region_words(&set->regions[i]); w++)
			state_put_u64(b, set->regions[i].words[w]);
}

static int encode(const struct working_set *ws, struct state_buf *b)
{
	uint32_t crc;
	uint8_t le[CRC_LEN];

	state_put_bytes(b, MAGIC, MAGIC_LEN);
	state_begin(b, RECORD, WORKING_SET_VERSION);
	state_put_bytes(b, ws->snapshot_id, SNAPSHOT_ID_BYTES);
	state_put_u32(b, ws->touched.nr_regions);
	for (unsigned i = 0; i < ws->touched.nr_regions; i++) {
		state_put_u64(b, ws->touched.regions[i].gpa);
		state_put_u64(b, ws->touched.regions[i].nr_pages);
	}
	put_set(b, &ws->touched);
	put_set(b, &ws->written);
	state_end(b);
	if (b->err)
		return b->err;
	crc = snapshot_crc32c(0, b->data, b->len);
	for (int i = 0; i < CRC_LEN; i++)
		le[i] = (uint8_t)(crc >> (8 * i));
	state_put_bytes(b, le, CRC_LEN);
	return b->err;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int working_set_write(const char *dir, const struct working_set *ws, char *err, size_t errlen)
{
	struct state_buf b;
	char *path = NULL, *tmp = NULL;
	int fd = -1, ret;

	state_buf_init(&b);
	ret = encode(ws, &b);
	if (ret < 0) {
		errbuf_set(err, errlen, ret, "%s/%s: cannot encode it: %s", dir, WORKING_SET_FILE,
			   strerror(-ret));
		goto out;
	}
	if (asprintf(&path, "%s/%s", dir, WORKING_SET_FILE) < 0) {
		path = NULL;
		ret = errbuf_set(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0) {
		tmp = NULL;
		ret = errbuf_set(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = errbuf_set(err, errlen, -errno,
				 "%s: cannot create a temporary file there: %s", dir,
				 strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	ret = write_all(fd, b.data, b.len);
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0) {
		errbuf_set(err, errlen, ret, "%s: cannot write it: %s", path, strerror(-ret));
		unlink(tmp);
		goto out;
	}
	ret = fsync_dir(dir);
	if (ret < 0)
		errbuf_set(err, errlen, ret, "%s: written, but syncing %s failed: %s", path, dir,
			   strerror(-ret));
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(path);
	state_buf_free(&b);
	return ret;
}

/* Reads one page set's words from @rec into @set; -EINVAL for a bit past a
 * region's last page. */
static int get_set(struct state_reader *rec, struct dirty_set *set)
{
	for (unsigned i = 0; i < set->nr_regions; i++) {
		for (size_t w = 0; w < region_words(&set->regions[i]); w++) {
			uint64_t word = state_get_u64(rec);

			if (dirty_set_or_words(set, i, w, &word, 1) !=
			    (uint64_t)__builtin_popcountll(word))
				return -EINVAL;
		}
	}
	return rec->err;
}

static int decode(const char *path, const uint8_t *data, size_t len,
		  const uint8_t id[SNAPSHOT_ID_BYTES], struct working_set *ws, char *err,
		  size_t errlen)
{
	struct state_reader in, rec;
	uint8_t file_id[SNAPSHOT_ID_BYTES];
	uint32_t version, crc, nr_regions;

	if (len < MAGIC_LEN + CRC_LEN || memcmp(data, MAGIC, MAGIC_LEN))
		return errbuf_set(err, errlen, -EINVAL, "%s: not a kvmkit working set", path);
	crc = (uint32_t)data[len - 4] | (uint32_t)data[len - 3] << 8 |
	      (uint32_t)data[len - 2] << 16 | (uint32_t)data[len - 1] << 24;
	if (snapshot_crc32c(0, data, len - CRC_LEN) != crc)
		return errbuf_set(err, errlen, -EINVAL,
				  "%s: checksum mismatch (damaged or cut short)", path);
	state_reader_init(&in, data + MAGIC_LEN, len - MAGIC_LEN - CRC_LEN);
	if (state_expect(&in, RECORD, &version, &rec) < 0 || !state_reader_done(&in))
		return errbuf_set(err, errlen, -EINVAL, "%s: no working-set record", path);
	if (version != WORKING_SET_VERSION)
		return errbuf_set(err, errlen, -EINVAL,
				  "%s: format version %u, this kvmkit reads %u", path, version,
				  WORKING_SET_VERSION);
	state_get_bytes(&rec, file_id, sizeof(file_id));
	if (rec.err == 0 && memcmp(file_id, id, SNAPSHOT_ID_BYTES))
		return errbuf_set(err, errlen, -ESTALE,
				  "%s: recorded for another snapshot (its id is not this one's)",
				  path);
	nr_regions = state_get_u32(&rec);
	if (rec.err == 0 && nr_regions != ws->touched.nr_regions)
		return errbuf_set(err, errlen, -ESTALE, "%s: %u RAM regions, the snapshot has %u",
				  path, nr_regions, ws->touched.nr_regions);
	for (unsigned i = 0; rec.err == 0 && i < nr_regions; i++) {
		const struct dirty_set_region *r = &ws->touched.regions[i];
		uint64_t gpa = state_get_u64(&rec), pages = state_get_u64(&rec);

		if (rec.err == 0 && (gpa != r->gpa || pages != r->nr_pages))
			return errbuf_set(
				err, errlen, -ESTALE,
				"%s: RAM region %u is 0x%llx with %llu pages, the snapshot's "
				"0x%llx with %llu",
				path, i, (unsigned long long)gpa, (unsigned long long)pages,
				(unsigned long long)r->gpa, (unsigned long long)r->nr_pages);
	}
	if (rec.err || get_set(&rec, &ws->touched) < 0 || get_set(&rec, &ws->written) < 0 ||
	    state_finish(&rec) < 0)
		return errbuf_set(err, errlen, -EINVAL, "%s: damaged page sets", path);
	for (unsigned i = 0; i < ws->written.nr_regions; i++)
		for (size_t w = 0; w < region_words(&ws->written.regions[i]); w++)
			if (ws->written.regions[i].words[w] & ~ws->touched.regions[i].words[w])
				return errbuf_set(err, errlen, -EINVAL,
						  "%s: pages written that were never touched",
						  path);
	return 0;
}

int working_set_read(const char *dir, const uint8_t id[SNAPSHOT_ID_BYTES],
		     const struct guest_mem *mem, struct working_set *ws, char *err, size_t errlen)
{
	char *path = NULL;
	uint8_t *data = NULL;
	struct stat st;
	size_t max;
	int fd = -1, ret;

	ret = working_set_init(ws, id, mem);
	if (ret < 0)
		return errbuf_set(err, errlen, ret, "out of memory");
	max = 2 * ws->touched.nr_words * sizeof(uint64_t) + OVERHEAD_MAX;
	if (asprintf(&path, "%s/%s", dir, WORKING_SET_FILE) < 0) {
		path = NULL;
		ret = errbuf_set(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = errbuf_set(err, errlen, -errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		ret = errbuf_set(err, errlen, -errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > max) {
		ret = errbuf_set(err, errlen, -EINVAL,
				 "%s: %lld bytes, not a working set of this snapshot's RAM", path,
				 (long long)st.st_size);
		goto out;
	}
	data = malloc((size_t)st.st_size);
	if (!data) {
		ret = errbuf_set(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	ret = pread_exact(fd, data, (uint64_t)st.st_size, 0);
	if (ret < 0) {
		errbuf_set(err, errlen, ret, "%s: %s", path, strerror(-ret));
		goto out;
	}
	ret = decode(path, data, (size_t)st.st_size, id, ws, err, errlen);
out:
	if (fd >= 0)
		close(fd);
	free(data);
	free(path);
	if (ret < 0)
		working_set_free(ws);
	return ret;
}

bool working_set_next_run(const struct dirty_set *set, unsigned region, uint64_t from,
			  uint64_t *first, uint64_t *count)
{
	const struct dirty_set_region *r;
	uint64_t p;

	if (region >= set->nr_regions)
		return false;
	r = &set->regions[region];
	p = from;
	/* Find the first set bit, a word at a time. */
	while (p < r->nr_pages) {
		uint64_t word = r->words[p / 64] >> (p % 64);

		if (word) {
			p += (uint64_t)__builtin_ctzll(word);
			break;
		}
		p = (p / 64 + 1) * 64;
	}
	if (p >= r->nr_pages)
		return false;
	*first = p;
	/* Then its end: the first clear bit after it. */
	while (p < r->nr_pages) {
		uint64_t word = ~r->words[p / 64] >> (p % 64);

		if (word) {
			p += (uint64_t)__builtin_ctzll(word);
			break;
		}
		p = (p / 64 + 1) * 64;
	}
	if (p > r->nr_pages)
		p = r->nr_pages;
	*count = p - *first;
	return true;
}
