/* The on-disk snapshot (snapshot_file.h): the state file's records and
 * checksum, the sparse memory file, and the directory's atomic replace. */
#include "vmm/snapshot_file.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vmm/errbuf.h"
#include "vmm/fd_io.h"
#include "vmm/state.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define STATE_MAGIC "KVMKSNAP"
#define MEMORY_MAGIC "KVMKMEM" /* with its NUL, 8 bytes */
#define MAGIC_LEN 8
#define CRC_LEN 4
/* The memory file's unit: its header page, and the page of a diff's bitmap
 * (guest_mem regions are 4 KiB aligned). */
#define FILE_PAGE 4096u
/* Where regions start in the memory file when written: a restore maps each
 * at its offset, which must be a multiple of the host's page size (64 KiB
 * on some arm64 hosts), and 2 MiB lets a file on a file system with huge
 * pages (tmpfs huge=) be mapped in 2 MiB blocks, which KVM then maps as
 * stage-2 blocks: a restored guest takes one fault for a block of kernel
 * text where it took one per page. The padding is a hole. (A reader takes
 * any 4 KiB multiple.) */
#define REGION_ALIGN 0x200000u
/* Every record's version. The "snapshot" record's first field is the format
 * version, read before anything else, so that field never moves. */
#define RECORD_VERSION 1
/* One pwrite() at most; Linux writes at most ~2 GiB per call anyway. */
#define WRITE_CHUNK (1u << 30)

/* The memory file's header, little-endian, at the start of page 0: the
 * magic, the format version, the region count, the snapshot id, the file's
 * size, then each region's gpa, size and offset. */
#define MH_VERSION 8
#define MH_NR_REGIONS 12
#define MH_ID 16
#define MH_MEMORY_SIZE (MH_ID + SNAPSHOT_ID_BYTES)
#define MH_REGIONS (MH_MEMORY_SIZE + 8)
#define MH_REGION_BYTES 24
_Static_assert(MH_REGIONS + GUEST_MEM_MAX_REGIONS * MH_REGION_BYTES <= FILE_PAGE,
	       "the memory file's header fits its page");

/* CRC-32C: the reflected Castagnoli polynomial, one table lookup a byte. */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int bit = 0; bit < 8; bit++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t snapshot_crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	pthread_once(&crc_once, crc_table_init);
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

void snapshot_info_free(struct snapshot_info *info)
{
	free(info->config);
	free(info->machine);
	info->config = NULL;
	info->config_len = 0;
	info->machine = NULL;
	info->machine_len = 0;
	free(info->layer.parent_path);
	free(info->layer.pages);
	info->layer.parent_path = NULL;
	info->layer.pages = NULL;
}

/* The flat layout's words of one region of @pages pages. */
static size_t region_words(uint64_t pages) { return (size_t)((pages + 63) / 64); }

size_t snapshot_layer_words(const struct guest_mem *mem)
{
	size_t words = 0;

	for (unsigned i = 0; i < mem->nr_regions; i++)
		words += region_words(mem->regions[i].size / FILE_PAGE);
	return words;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static char *join(const char *dir, const char *name)
{
	char *s;

	return asprintf(&s, "%s/%s", dir, name) < 0 ? NULL : s;
}

static int pwrite_all(int fd, const uint8_t *p, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len < WRITE_CHUNK ? len : WRITE_CHUNK, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (uint64_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Reads up to @len bytes at @off; returns how many (fewer only at the end of
 * the file) or a negative errno. */
static ssize_t pread_all(int fd, uint8_t *p, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Removes a snapshot directory the writer made or swapped out: its two files
 * and itself (nothing else is ever in it). */
/* The working set's file, or a temporary one of it left by a crash. */
static bool is_working_set_name(const char *name)
{
	size_t n = strlen(SNAPSHOT_WORKING_SET_FILE);

	return !strncmp(name, SNAPSHOT_WORKING_SET_FILE, n) &&
	       (name[n] == '\0' || !strncmp(name + n, ".tmp-", 5));
}

static void remove_snapshot_dir(const char *dir)
{
	char *state = join(dir, SNAPSHOT_STATE_FILE), *memory = join(dir, SNAPSHOT_MEMORY_FILE);
	DIR *d = opendir(dir);
	struct dirent *e;

	if (state)
		unlink(state);
	if (memory)
		unlink(memory);
	while (d && (e = readdir(d)))
		if (is_working_set_name(e->d_name))
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
	free(state);
	free(memory);
}

/* ---- writing ---- */

static int describe_memory(const struct guest_mem *mem, struct snapshot_info *info, char *err,
			   size_t errlen)
{
	uint64_t offset = REGION_ALIGN;

	if (mem->nr_regions == 0 || mem->nr_regions > GUEST_MEM_MAX_REGIONS)
		return errbuf_set(err, errlen, -EINVAL, "cannot save %u memory regions",
				  mem->nr_regions);
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];

		if (r->size == 0 || r->size % FILE_PAGE || r->gpa % FILE_PAGE)
			return errbuf_set(err, errlen, -EINVAL,
					  "memory region %u (0x%" PRIx64 "+0x%" PRIx64
					  ") is not page aligned",
					  i, r->gpa, r->size);
		info->regions[i] = (struct snapshot_region){r->gpa, r->size, offset};
		if (__builtin_add_overflow(offset, r->size, &offset) || offset > INT64_MAX)
			return errbuf_set(err, errlen, -EFBIG,
					  "the guest's memory is too large to save");
		if (i + 1 < mem->nr_regions)
			offset = (offset + REGION_ALIGN - 1) & ~(uint64_t)(REGION_ALIGN - 1);
	}
	info->nr_regions = mem->nr_regions;
	info->memory_size = offset;
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[FILE_PAGE];

	return memcmp(p, zero, FILE_PAGE) == 0;
}

static bool page_in(const uint64_t *words, uint64_t page)
{
	return !words || (words[page / 64] >> (page % 64)) & 1;
}

/* A cancelled write stops at the next run of this many pages (16 MiB). */
#define CANCEL_PAGES 4096u

static bool cancelled(const _Atomic bool *cancel) { return cancel && atomic_load(cancel); }

/* Writes each run of non-zero pages of @r (only those in @words, the
 * region's part of a layer's bitmap, unless it is NULL) with one pwrite;
 * zero pages stay holes of the file, which is already as long as all of
 * memory. A run is cut at CANCEL_PAGES, where @cancel is looked at. */
static int write_region(int fd, const struct guest_mem_region *r, const uint64_t *words,
			uint64_t offset, const _Atomic bool *cancel)
{
	uint64_t pages = r->size / FILE_PAGE, start = 0;
	bool in_run = false;

	for (uint64_t p = 0; p <= pages; p++) {
		bool data = p < pages && page_in(words, p) &&
			    !page_is_zero(r->host + p * FILE_PAGE);
		int ret;

		if (p % CANCEL_PAGES == 0 && cancelled(cancel))
			return -ECANCELED;
		if (data && in_run && p - start == CANCEL_PAGES) {
			ret = pwrite_all(fd, r->host + start * FILE_PAGE, (p - start) * FILE_PAGE,
					 offset + start * FILE_PAGE);
			if (ret < 0)
				return ret;
			start = p;
		}
		if (data && !in_run) {
			start = p;
			in_run = true;
		} else if (!data && in_run) {
			ret = pwrite_all(fd, r->host + start * FILE_PAGE, (p - start) * FILE_PAGE,
					 offset + start * FILE_PAGE);
			if (ret < 0)
				return ret;
			in_run = false;
		}
	}
	return 0;
}

static int write_memory_file(const char *file, const struct guest_mem *mem,
			     const struct snapshot_layer *layer, const struct snapshot_info *info,
			     const _Atomic bool *cancel, char *err, size_t errlen)
{
	uint8_t header[FILE_PAGE] = {0};
	size_t first_word = 0;
	int fd, ret;

	memcpy(header, MEMORY_MAGIC, MAGIC_LEN);
	put_le32(header + MH_VERSION, info->format_version);
	put_le32(header + MH_NR_REGIONS, info->nr_regions);
	memcpy(header + MH_ID, info->id, SNAPSHOT_ID_BYTES);
	put_le64(header + MH_MEMORY_SIZE, info->memory_size);
	for (unsigned i = 0; i < info->nr_regions; i++) {
		uint8_t *e = header + MH_REGIONS + i * MH_REGION_BYTES;

		put_le64(e, info->regions[i].gpa);
		put_le64(e + 8, info->regions[i].size);
		put_le64(e + 16, info->regions[i].offset);
	}

	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errbuf_set(err, errlen, -errno, "%s: cannot create: %s", file,
				  strerror(errno));
	if (ftruncate(fd, (off_t)info->memory_size) < 0) {
		ret = -errno;
		goto out;
	}
	ret = pwrite_all(fd, header, sizeof(header), 0);
	for (unsigned i = 0; ret == 0 && i < info->nr_regions; i++) {
		ret = write_region(fd, &mem->regions[i], layer ? layer->pages + first_word : NULL,
				   info->regions[i].offset, cancel);
		first_word += region_words(mem->regions[i].size / FILE_PAGE);
	}
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
out:
	close(fd);
	if (ret == -ECANCELED)
		return errbuf_set(err, errlen, ret, "%s: not written: cancelled", file);
	if (ret < 0)
		return errbuf_set(err, errlen, ret, "%s: cannot write: %s", file, strerror(-ret));
	return 0;
}

static void put_string(struct state_buf *b, const char *s)
{
	size_t n = strlen(s);

	state_put_u8(b, (uint8_t)n);
	state_put_bytes(b, s, n);
}

/* The whole state file: magic, records, CRC. */
static int build_state(struct state_buf *b, const struct snapshot_info *info, const char *config,
		       const struct snapshot_content *c)
{
	size_t config_size = strlen(config) + 1;

	state_put_bytes(b, STATE_MAGIC, MAGIC_LEN);

	state_begin(b, "snapshot", RECORD_VERSION);
	state_put_u32(b, info->format_version);
	put_string(b, info->arch);
	put_string(b, info->kvmkit_version);
	state_put_bytes(b, info->id, SNAPSHOT_ID_BYTES);
	state_put_u64(b, info->saved_realtime_ns);
	state_end(b);

	state_begin(b, "config", RECORD_VERSION);
	state_put_u32(b, (uint32_t)config_size);
	state_put_bytes(b, config, config_size);
	state_end(b);

	state_begin(b, "memory", RECORD_VERSION);
	state_put_u64(b, info->memory_size);
	state_put_u32(b, info->nr_regions);
	for (unsigned i = 0; i < info->nr_regions; i++) {
		state_put_u64(b, info->regions[i].gpa);
		state_put_u64(b, info->regions[i].size);
		state_put_u64(b, info->regions[i].offset);
	}
	state_end(b);

	if (c->layer) {
		size_t path_size = strlen(c->layer->parent_path) + 1;

		state_begin(b, "layer", RECORD_VERSION);
		state_put_bytes(b, c->layer->parent_id, SNAPSHOT_ID_BYTES);
		state_put_u32(b, (uint32_t)path_size);
		state_put_bytes(b, c->layer->parent_path, path_size);
		state_put_u64(b, c->layer->nr_pages);
		state_put_u64(b, c->layer->nr_words);
		for (size_t i = 0; i < c->layer->nr_words; i++)
			state_put_u64(b, c->layer->pages[i]);
		state_end(b);
	}

	state_begin(b, "machine", RECORD_VERSION);
	state_put_u32(b, (uint32_t)c->machine_len);
	state_put_bytes(b, c->machine, c->machine_len);
	state_end(b);

	if (b->err)
		return b->err;
	state_put_u32(b, snapshot_crc32c(0, b->data, b->len));
	return b->err;
}

static int write_state_file(const char *file, const struct snapshot_info *info,
			    const struct snapshot_content *c, char *err, size_t errlen)
{
	const char *config = c->config ? c->config : "";
	struct state_buf b;
	int fd, ret;

	if (strlen(config) >= SNAPSHOT_STATE_MAX || c->machine_len >= SNAPSHOT_STATE_MAX ||
	    (c->layer && c->layer->nr_words >= SNAPSHOT_STATE_MAX / 8))
		return errbuf_set(err, errlen, -EFBIG,
				  "%s: the machine's state is too large to save", file);
	state_buf_init(&b);
	ret = build_state(&b, info, config, c);
	if (ret < 0) {
		state_buf_free(&b);
		return errbuf_set(err, errlen, ret, "%s: cannot encode: %s", file, strerror(-ret));
	}
	if (b.len > SNAPSHOT_STATE_MAX) {
		state_buf_free(&b);
		return errbuf_set(
			err, errlen, -EFBIG,
			"%s: the machine's state would exceed %u bytes, more than a snapshot "
			"can hold",
			file, SNAPSHOT_STATE_MAX);
	}
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		state_buf_free(&b);
		return errbuf_set(err, errlen, ret, "%s: cannot create: %s", file, strerror(-ret));
	}
	ret = pwrite_all(fd, b.data, b.len, 0);
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	state_buf_free(&b);
	if (ret < 0)
		return errbuf_set(err, errlen, ret, "%s: cannot write: %s", file, strerror(-ret));
	return 0;
}

/* What is at @dir now: nothing (*exists false), or a snapshot the writer may
 * replace: a directory holding a regular "state" file and nothing but it and
 * a regular "memory" file. Anything else is the user's and is refused. */
static int check_target(const char *dir, bool *exists, char *err, size_t errlen)
{
	bool has_state = false, foreign = false;
	struct dirent *e;
	struct stat st;
	DIR *d;

	*exists = false;
	if (lstat(dir, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return errbuf_set(err, errlen, -errno, "%s: %s", dir, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return errbuf_set(err, errlen, -EEXIST,
				  "%s: exists and is not a snapshot directory; not replacing it",
				  dir);
	d = opendir(dir);
	if (!d)
		return errbuf_set(err, errlen, -errno, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		bool regular;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		regular = fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			  S_ISREG(st.st_mode);
		if (regular && !strcmp(e->d_name, SNAPSHOT_STATE_FILE))
			has_state = true;
		else if (!regular || (strcmp(e->d_name, SNAPSHOT_MEMORY_FILE) &&
				      !is_working_set_name(e->d_name)))
			foreign = true;
	}
	closedir(d);
	if (!has_state || foreign)
		return errbuf_set(
			err, errlen, -EEXIST,
			"%s: exists and is not a kvmkit snapshot (it should hold only \"%s\", "
			"\"%s\" and \"%s\"); not replacing it",
			dir, SNAPSHOT_STATE_FILE, SNAPSHOT_MEMORY_FILE, SNAPSHOT_WORKING_SET_FILE);
	*exists = true;
	return 0;
}

/* Moves the finished @tmp to @dir: a rename when @dir is free, else an
 * atomic exchange with the snapshot there, which is then removed. */
static int put_in_place(const char *dir, const char *tmp, const char *parent, char *err,
			size_t errlen)
{
	bool exists;
	int ret;

	ret = check_target(dir, &exists, err, errlen);
	if (ret < 0)
		return ret;
	if (!exists && rename(tmp, dir) < 0)
		return errbuf_set(err, errlen, -errno, "%s: cannot move %s there: %s", dir, tmp,
				  strerror(errno));
	if (exists) {
		if (syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) < 0)
			return errbuf_set(err, errlen, -errno,
					  "%s: cannot swap %s into its place: %s", dir, tmp,
					  strerror(errno));
		/* @tmp is now the old snapshot. Were this to fail, the new one is
		 * whole at @dir all the same. */
		remove_snapshot_dir(tmp);
	}
	ret = fsync_dir(parent);
	if (ret < 0)
		return errbuf_set(err, errlen, ret, "%s: saved, but syncing %s failed: %s", dir,
				  parent, strerror(-ret));
	return 0;
}

static int make_id(uint8_t id[SNAPSHOT_ID_BYTES])
{
	size_t got = 0;

	while (got < SNAPSHOT_ID_BYTES) {
		ssize_t n = getrandom(id + got, SNAPSHOT_ID_BYTES - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	return 0;
}

/* @path without trailing slashes, its parent directory, and the temporary
 * directory beside it named after the snapshot id. */
static int make_paths(const char *path, const uint8_t id[SNAPSHOT_ID_BYTES], char **dir,
		      char **parent, char **tmp)
{
	char hex[2 * SNAPSHOT_ID_BYTES + 1];
	size_t n = strlen(path);
	char *slash;

	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 0 || !strcmp(path, "/"))
		return -EINVAL;
	*dir = strndup(path, n);
	if (!*dir)
		return -ENOMEM;
	slash = strrchr(*dir, '/');
	if (!slash)
		*parent = strdup(".");
	else if (slash == *dir)
		*parent = strdup("/");
	else
		*parent = strndup(*dir, (size_t)(slash - *dir));
	for (unsigned i = 0; i < SNAPSHOT_ID_BYTES; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	if (asprintf(tmp, "%s.tmp-%s", *dir, hex) < 0)
		*tmp = NULL;
	return *parent && *tmp ? 0 : -ENOMEM;
}

static int fill_info(struct snapshot_info *info, const struct guest_mem *mem, const char *arch,
		     const char *version, char *err, size_t errlen)
{
	struct timespec now;
	int ret;

	if (strlen(arch) >= sizeof(info->arch) || strlen(version) >= sizeof(info->kvmkit_version))
		return errbuf_set(err, errlen, -EINVAL, "architecture or version name too long");
	info->format_version = SNAPSHOT_FORMAT_VERSION;
	strcpy(info->arch, arch);
	strcpy(info->kvmkit_version, version);
	ret = describe_memory(mem, info, err, errlen);
	if (ret < 0)
		return ret;
	ret = make_id(info->id);
	if (ret < 0)
		return errbuf_set(err, errlen, ret, "cannot make a snapshot id: %s",
				  strerror(-ret));
	clock_gettime(CLOCK_REALTIME, &now);
	info->saved_realtime_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	return 0;
}

/* A layer must fit the memory it describes and name its parent absolutely
 * (a restore finds it from anywhere). */
static int check_layer(const struct snapshot_content *c, char *err, size_t errlen)
{
	const struct snapshot_layer *l = c->layer;

	if (!l)
		return 0;
	if (!l->parent_path || l->parent_path[0] != '/' || strlen(l->parent_path) >= PATH_MAX)
		return errbuf_set(err, errlen, -EINVAL,
				  "a diff snapshot's parent needs an absolute path");
	if (!l->pages || l->nr_words != snapshot_layer_words(c->mem))
		return errbuf_set(err, errlen, -EINVAL,
				  "a diff snapshot's page bitmap has %zu words; the memory has %zu",
				  l->nr_words, snapshot_layer_words(c->mem));
	return 0;
}

int snapshot_write(const char *path, const struct snapshot_content *c,
		   struct snapshot_info *info_out, char *err, size_t errlen)
{
	struct snapshot_info info = {0};
	char *dir = NULL, *parent = NULL, *tmp = NULL, *state = NULL, *memory = NULL;
	bool exists;
	int ret;

	ret = fill_info(&info, c->mem, c->arch, c->version, err, errlen);
	if (ret == 0)
		ret = check_layer(c, err, errlen);
	if (ret < 0)
		return ret;
	if (c->layer) {
		info.is_layer = true;
		memcpy(info.layer.parent_id, c->layer->parent_id, SNAPSHOT_ID_BYTES);
		info.layer.nr_words = c->layer->nr_words;
		info.layer.nr_pages = c->layer->nr_pages;
	}
	ret = make_paths(path, info.id, &dir, &parent, &tmp);
	if (ret < 0) {
		ret = errbuf_set(err, errlen, ret, "%s: %s", path,
				 ret == -EINVAL ? "not a place for a snapshot" : strerror(-ret));
		goto out;
	}
	/* Refuse before writing gigabytes; checked again at the swap. */
	ret = check_target(dir, &exists, err, errlen);
	if (ret < 0)
		goto out;
	if (mkdir(tmp, 0700) < 0) {
		ret = errbuf_set(err, errlen, -errno,
				 "%s: cannot create its temporary directory %s: %s", dir, tmp,
				 strerror(errno));
		goto out;
	}
	state = join(tmp, SNAPSHOT_STATE_FILE);
	memory = join(tmp, SNAPSHOT_MEMORY_FILE);
	if (!state || !memory) {
		ret = errbuf_set(err, errlen, -ENOMEM, "%s: %s", path, strerror(ENOMEM));
		goto remove;
	}
	ret = write_memory_file(memory, c->mem, c->layer, &info, c->cancel, err, errlen);
	if (ret < 0)
		goto remove;
	/* The last point of return: from here the snapshot takes its place. */
	if (cancelled(c->cancel)) {
		ret = errbuf_set(err, errlen, -ECANCELED, "%s: not written: cancelled", dir);
		goto remove;
	}
	ret = write_state_file(state, &info, c, err, errlen);
	if (ret < 0)
		goto remove;
	ret = fsync_dir(tmp);
	if (ret < 0) {
		ret = errbuf_set(err, errlen, ret, "%s: cannot sync: %s", tmp, strerror(-ret));
		goto remove;
	}
	ret = put_in_place(dir, tmp, parent, err, errlen);
remove:
	/* After a successful rename nothing is left at @tmp; after an exchange
	 * the old snapshot was removed from there already. */
	if (ret < 0)
		remove_snapshot_dir(tmp);
out:
	if (ret == 0 && info_out)
		*info_out = info;
	free(dir);
	free(parent);
	free(tmp);
	free(state);
	free(memory);
	return ret;
}

/* ---- reading ---- */

/* A u8 length and that many printable characters, into @out of @cap bytes. */
static void get_string(struct state_reader *r, char *out, size_t cap)
{
	uint8_t n = state_get_u8(r);

	if (n >= cap) {
		r->err = -EINVAL;
		n = 0;
	}
	state_get_bytes(r, out, n);
	out[n] = '\0';
	for (unsigned i = 0; i < n; i++) {
		if (out[i] < 0x20 || out[i] > 0x7e) {
			r->err = -EINVAL;
			out[0] = '\0';
		}
	}
}

/* A u32 length and that many bytes, into a fresh buffer (NULL on error). */
static uint8_t *get_blob(struct state_reader *r, size_t *len)
{
	uint32_t n = state_get_u32(r);
	uint8_t *p;

	*len = 0;
	if (r->err || n > r->len - r->pos) {
		r->err = -EINVAL;
		return NULL;
	}
	p = malloc(n ? n : 1);
	if (!p) {
		r->err = -ENOMEM;
		return NULL;
	}
	state_get_bytes(r, p, n);
	*len = n;
	return p;
}

static int read_snapshot_record(const char *file, struct state_reader *r, const char *arch,
				const char *version, struct snapshot_info *info, char *err,
				size_t errlen)
{
	struct state_reader rec;
	uint32_t record_version;

	if (state_expect(r, "snapshot", &record_version, &rec) < 0)
		return errbuf_set(err, errlen, -EINVAL, "%s: no snapshot record", file);
	info->format_version = state_get_u32(&rec);
	if (rec.err)
		return errbuf_set(err, errlen, -EINVAL, "%s: the snapshot record is truncated",
				  file);
	if (info->format_version != SNAPSHOT_FORMAT_VERSION)
		return errbuf_set(err, errlen, -EPROTO,
				  "%s: snapshot format version %" PRIu32
				  "; this kvmkit reads version %u",
				  file, info->format_version, SNAPSHOT_FORMAT_VERSION);
	get_string(&rec, info->arch, sizeof(info->arch));
	get_string(&rec, info->kvmkit_version, sizeof(info->kvmkit_version));
	state_get_bytes(&rec, info->id, SNAPSHOT_ID_BYTES);
	info->saved_realtime_ns = state_get_u64(&rec);
	if (record_version != RECORD_VERSION || state_finish(&rec) < 0)
		return errbuf_set(err, errlen, -EINVAL, "%s: the snapshot record is corrupt", file);
	if (strcmp(info->arch, arch) || strcmp(info->kvmkit_version, version))
		return errbuf_set(
			err, errlen, -EPROTO,
			"%s: snapshot was made by kvmkit %s for %s; this is kvmkit %s for %s", file,
			info->kvmkit_version, info->arch, version, arch);
	return 0;
}

static int read_config_record(const char *file, struct state_reader *r, struct snapshot_info *info,
			      char *err, size_t errlen)
{
	struct state_reader rec;
	uint32_t record_version;
	size_t len;
	int ret;

	if (state_expect(r, "config", &record_version, &rec) < 0 ||
	    record_version != RECORD_VERSION)
		return errbuf_set(err, errlen, -EINVAL, "%s: no config record", file);
	info->config = (char *)get_blob(&rec, &len);
	ret = state_finish(&rec);
	if (ret == -ENOMEM)
		return errbuf_set(err, errlen, ret, "%s: %s", file, strerror(ENOMEM));
	/* Text: one NUL, at the end. */
	if (ret < 0 || len == 0 || info->config[len - 1] != '\0' || strlen(info->config) != len - 1)
		return errbuf_set(err, errlen, -EINVAL, "%s: the config record is corrupt", file);
	info->config_len = len - 1;
	return 0;
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Every region page aligned, not empty, not wrapping, inside the memory file
 * after its header page, and apart from every other in the guest and in the
 * file. */
static int check_regions(const char *file, const struct snapshot_info *info, char *err,
			 size_t errlen)
{
	if (info->memory_size < FILE_PAGE || info->memory_size % FILE_PAGE ||
	    info->memory_size > INT64_MAX)
		return errbuf_set(err, errlen, -EINVAL, "%s: bad memory file size %" PRIu64, file,
				  info->memory_size);
	for (unsigned i = 0; i < info->nr_regions; i++) {
		const struct snapshot_region *r = &info->regions[i];

		if (r->size == 0 || r->gpa % FILE_PAGE || r->size % FILE_PAGE ||
		    r->offset % FILE_PAGE || r->size > UINT64_MAX - r->gpa)
			return errbuf_set(err, errlen, -EINVAL,
					  "%s: memory region %u (0x%" PRIx64 "+0x%" PRIx64
					  ") is not page aligned or wraps",
					  file, i, r->gpa, r->size);
		if (r->offset < FILE_PAGE || r->offset > info->memory_size ||
		    r->size > info->memory_size - r->offset)
			return errbuf_set(err, errlen, -EINVAL,
					  "%s: memory region %u lies outside the memory file", file,
					  i);
		for (unsigned j = 0; j < i; j++) {
			const struct snapshot_region *o = &info->regions[j];

			if (overlap(r->gpa, r->size, o->gpa, o->size) ||
			    overlap(r->offset, r->size, o->offset, o->size))
				return errbuf_set(err, errlen, -EINVAL,
						  "%s: memory regions %u and %u overlap", file, j,
						  i);
		}
	}
	return 0;
}

static int read_memory_record(const char *file, struct state_reader *r, struct snapshot_info *info,
			      char *err, size_t errlen)
{
	struct state_reader rec;
	uint32_t record_version, nr;

	if (state_expect(r, "memory", &record_version, &rec) < 0 ||
	    record_version != RECORD_VERSION)
		return errbuf_set(err, errlen, -EINVAL, "%s: no memory record", file);
	info->memory_size = state_get_u64(&rec);
	nr = state_get_u32(&rec);
	if (rec.err || nr == 0 || nr > GUEST_MEM_MAX_REGIONS)
		return errbuf_set(err, errlen, -EINVAL, "%s: the memory record is corrupt", file);
	for (unsigned i = 0; i < nr; i++) {
		info->regions[i].gpa = state_get_u64(&rec);
		info->regions[i].size = state_get_u64(&rec);
		info->regions[i].offset = state_get_u64(&rec);
	}
	info->nr_regions = nr;
	if (state_finish(&rec) < 0)
		return errbuf_set(err, errlen, -EINVAL, "%s: the memory record is corrupt", file);
	return check_regions(file, info, err, errlen);
}

/* A layer's bitmap must be shaped like the memory record's regions, with
 * no bit past a region's last page, and count what it says it does. */
static int check_layer_pages(const char *file, const struct snapshot_info *info, char *err,
			     size_t errlen)
{
	const struct snapshot_layer *l = &info->layer;
	size_t word = 0;
	uint64_t set = 0;

	for (unsigned i = 0; i < info->nr_regions; i++)
		word += region_words(info->regions[i].size / FILE_PAGE);
	if (word != l->nr_words)
		return errbuf_set(
			err, errlen, -EINVAL,
			"%s: the layer's page bitmap has %zu words; the memory record needs %zu",
			file, l->nr_words, word);
	word = 0;
	for (unsigned i = 0; i < info->nr_regions; i++) {
		uint64_t pages = info->regions[i].size / FILE_PAGE;
		size_t n = region_words(pages);

		if (pages % 64 && l->pages[word + n - 1] >> (pages % 64))
			return errbuf_set(err, errlen, -EINVAL,
					  "%s: the layer's page bitmap marks pages past region %u",
					  file, i);
		for (size_t w = 0; w < n; w++)
			set += (uint64_t)__builtin_popcountll(l->pages[word + w]);
		word += n;
	}
	if (set != l->nr_pages)
		return errbuf_set(err, errlen, -EINVAL,
				  "%s: the layer says it holds %" PRIu64
				  " pages; its bitmap has %" PRIu64,
				  file, l->nr_pages, set);
	return 0;
}

/* The optional "layer" record (a diff snapshot), after the memory record. */
static int read_layer_record(const char *file, struct state_reader *r, struct snapshot_info *info,
			     char *err, size_t errlen)
{
	char kind[STATE_KIND_MAX];
	struct state_reader ahead = *r, rec;
	struct snapshot_layer *l = &info->layer;
	uint32_t record_version;
	size_t path_len;
	uint64_t words;

	if (state_next(&ahead, kind, &record_version, &rec) < 0 || strcmp(kind, "layer"))
		return 0;
	*r = ahead;
	info->is_layer = true;
	state_get_bytes(&rec, l->parent_id, SNAPSHOT_ID_BYTES);
	l->parent_path = (char *)get_blob(&rec, &path_len);
	l->nr_pages = state_get_u64(&rec);
	words = state_get_u64(&rec);
	if (rec.err == -ENOMEM)
		return errbuf_set(err, errlen, -ENOMEM, "%s: %s", file, strerror(ENOMEM));
	if (rec.err || record_version != RECORD_VERSION || path_len < 2 || path_len > PATH_MAX ||
	    l->parent_path[0] != '/' || l->parent_path[path_len - 1] != '\0' ||
	    strlen(l->parent_path) != path_len - 1 || words > (rec.len - rec.pos) / 8)
		return errbuf_set(err, errlen, -EINVAL, "%s: the layer record is corrupt", file);
	l->nr_words = (size_t)words;
	l->pages = calloc(l->nr_words ? l->nr_words : 1, sizeof(uint64_t));
	if (!l->pages)
		return errbuf_set(err, errlen, -ENOMEM, "%s: %s", file, strerror(ENOMEM));
	for (size_t i = 0; i < l->nr_words; i++)
		l->pages[i] = state_get_u64(&rec);
	if (state_finish(&rec) < 0)
		return errbuf_set(err, errlen, -EINVAL, "%s: the layer record is corrupt", file);
	return check_layer_pages(file, info, err, errlen);
}

static int read_machine_record(const char *file, struct state_reader *r, struct snapshot_info *info,
			       char *err, size_t errlen)
{
	struct state_reader rec;
	uint32_t record_version;
	int ret;

	if (state_expect(r, "machine", &record_version, &rec) < 0 ||
	    record_version != RECORD_VERSION)
		return errbuf_set(err, errlen, -EINVAL, "%s: no machine record", file);
	info->machine = get_blob(&rec, &info->machine_len);
	ret = state_finish(&rec);
	if (ret == -ENOMEM)
		return errbuf_set(err, errlen, ret, "%s: %s", file, strerror(ENOMEM));
	if (ret < 0)
		return errbuf_set(err, errlen, -EINVAL, "%s: the machine record is corrupt", file);
	return 0;
}

/* Checks and decodes the whole state file in @data. */
static int parse_state(const char *file, const uint8_t *data, size_t len, const char *arch,
		       const char *version, struct snapshot_info *info, char *err, size_t errlen)
{
	struct state_reader r;
	bool magic;
	int ret;

	if (len < MAGIC_LEN + CRC_LEN)
		return errbuf_set(err, errlen, -EINVAL, "%s: truncated (%zu bytes)", file, len);
	magic = memcmp(data, STATE_MAGIC, MAGIC_LEN) == 0;
	if (snapshot_crc32c(0, data, len - CRC_LEN) != get_le32(data + len - CRC_LEN))
		return errbuf_set(err, errlen, -EINVAL, "%s: %s", file,
				  magic ? "checksum mismatch: the file is corrupt or truncated"
					: "not a kvmkit snapshot state file (no KVMKSNAP magic, "
					  "checksum mismatch)");
	if (!magic)
		return errbuf_set(err, errlen, -EINVAL,
				  "%s: not a kvmkit snapshot state file (no KVMKSNAP magic)", file);

	state_reader_init(&r, data + MAGIC_LEN, len - MAGIC_LEN - CRC_LEN);
	ret = read_snapshot_record(file, &r, arch, version, info, err, errlen);
	if (ret == 0)
		ret = read_config_record(file, &r, info, err, errlen);
	if (ret == 0)
		ret = read_memory_record(file, &r, info, err, errlen);
	if (ret == 0)
		ret = read_layer_record(file, &r, info, err, errlen);
	if (ret == 0)
		ret = read_machine_record(file, &r, info, err, errlen);
	if (ret == 0 && (r.err || !state_reader_done(&r)))
		ret = errbuf_set(err, errlen, -EINVAL, "%s: data after the last record", file);
	return ret;
}

static int read_state_file(const char *file, const char *arch, const char *version,
			   struct snapshot_info *info, char *err, size_t errlen)
{
	uint8_t *data = NULL;
	struct stat st;
	ssize_t got;
	int fd, ret;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errbuf_set(err, errlen, -errno, "%s: cannot open: %s", file,
				  strerror(errno));
	if (fstat(fd, &st) < 0) {
		ret = errbuf_set(err, errlen, -errno, "%s: %s", file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = errbuf_set(err, errlen, -EINVAL, "%s: not a regular file", file);
		goto out;
	}
	if ((uint64_t)st.st_size > SNAPSHOT_STATE_MAX) {
		ret = errbuf_set(err, errlen, -EINVAL,
				 "%s: %jd bytes, larger than a snapshot state file can be (%u)",
				 file, (intmax_t)st.st_size, SNAPSHOT_STATE_MAX);
		goto out;
	}
	data = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!data) {
		ret = errbuf_set(err, errlen, -ENOMEM, "%s: %s", file, strerror(ENOMEM));
		goto out;
	}
	got = pread_all(fd, data, (size_t)st.st_size, 0);
	if (got < 0) {
		ret = errbuf_set(err, errlen, (int)got, "%s: cannot read: %s", file,
				 strerror((int)-got));
		goto out;
	}
	ret = parse_state(file, data, (size_t)got, arch, version, info, err, errlen);
out:
	free(data);
	close(fd);
	return ret;
}

/* The memory file's header must be this snapshot's, and its size the one
 * the state file records. */
static int check_memory_file(const char *file, int fd, const struct snapshot_info *info, char *err,
			     size_t errlen)
{
	uint8_t header[FILE_PAGE];
	struct stat st;
	ssize_t got;

	if (fstat(fd, &st) < 0)
		return errbuf_set(err, errlen, -errno, "%s: %s", file, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return errbuf_set(err, errlen, -EINVAL, "%s: not a regular file", file);
	got = pread_all(fd, header, sizeof(header), 0);
	if (got < 0)
		return errbuf_set(err, errlen, (int)got, "%s: cannot read: %s", file,
				  strerror((int)-got));
	if (got < (ssize_t)sizeof(header))
		return errbuf_set(err, errlen, -EINVAL,
				  "%s: truncated (%jd bytes, expected %" PRIu64 ")", file,
				  (intmax_t)st.st_size, info->memory_size);
	if (memcmp(header, MEMORY_MAGIC, MAGIC_LEN) ||
	    get_le32(header + MH_VERSION) != info->format_version)
		return errbuf_set(err, errlen, -EINVAL, "%s: not a kvmkit snapshot memory file",
				  file);
	if (memcmp(header + MH_ID, info->id, SNAPSHOT_ID_BYTES))
		return errbuf_set(
			err, errlen, -EINVAL,
			"%s: the memory file belongs to another snapshot (its id differs from "
			"the state file's)",
			file);
	if (get_le64(header + MH_MEMORY_SIZE) != info->memory_size ||
	    get_le32(header + MH_NR_REGIONS) != info->nr_regions)
		return errbuf_set(err, errlen, -EINVAL,
				  "%s: its header disagrees with the state file's memory record",
				  file);
	for (unsigned i = 0; i < info->nr_regions; i++) {
		const uint8_t *e = header + MH_REGIONS + i * MH_REGION_BYTES;

		if (get_le64(e) != info->regions[i].gpa ||
		    get_le64(e + 8) != info->regions[i].size ||
		    get_le64(e + 16) != info->regions[i].offset)
			return errbuf_set(err, errlen, -EINVAL,
					  "%s: its region %u disagrees with the state file's", file,
					  i);
	}
	if ((uint64_t)st.st_size != info->memory_size)
		return errbuf_set(
			err, errlen, -EINVAL, "%s: %s (%jd bytes, expected %" PRIu64 ")", file,
			(uint64_t)st.st_size < info->memory_size ? "truncated" : "wrong size",
			(intmax_t)st.st_size, info->memory_size);
	return 0;
}

int snapshot_open(const char *path, const char *arch, const char *version,
		  struct snapshot_info *info, int *mem_fd, char *err, size_t errlen)
{
	char *state = join(path, SNAPSHOT_STATE_FILE), *memory = join(path, SNAPSHOT_MEMORY_FILE);
	int fd = -1, ret;

	*info = (struct snapshot_info){0};
	*mem_fd = -1;
	if (!state || !memory) {
		ret = errbuf_set(err, errlen, -ENOMEM, "%s: %s", path, strerror(ENOMEM));
		goto out;
	}
	ret = read_state_file(state, arch, version, info, err, errlen);
	if (ret < 0)
		goto out;
	fd = open(memory, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = errbuf_set(err, errlen, -errno, "%s: cannot open: %s", memory,
				 strerror(errno));
		goto out;
	}
	ret = check_memory_file(memory, fd, info, err, errlen);
out:
	if (ret < 0) {
		if (fd >= 0)
			close(fd);
		snapshot_info_free(info);
		*info = (struct snapshot_info){0};
	} else {
		*mem_fd = fd;
	}
	free(state);
	free(memory);
	return ret;
}
