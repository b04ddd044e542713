#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "vmm/snapshot_file.h"
#include "vmm/vm_cpu_state.h"

#define PAGE 4096u
#define SMALL_GPA 0x0ULL
#define SMALL_SIZE (16 * PAGE)
#define BIG_GPA 0x40000000ULL
#define BIG_SIZE (64ULL << 20)
#define ARCH "arm64"
#define VERSION "0.1.0"
#define CONFIG "{\"cpus\": 2, \"memory\": \"64M\"}"
/* Where the writer puts the regions in the memory file: 2 MiB aligned
 * (the small region's end rounded up). */
#define R0 (2u << 20)
#define R1 (2 * R0)

static char dir[64];
static struct guest_mem mem;
static uint8_t *small; /* malloc'd: no particular alignment */
static uint8_t *big;   /* mmapped, mostly zero */
static uint8_t machine[300];
static char err[512];

static void fill_page(uint8_t *p, unsigned seed)
{
	for (unsigned i = 0; i < PAGE; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

static void setup(void)
{
	static const unsigned small_pages[] = {0, 1, 3, 15};
	static const unsigned big_pages[] = {0, 100, 101, 102, BIG_SIZE / PAGE - 1};

	strcpy(dir, "/tmp/kvmkit-snapfile-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	mem = (struct guest_mem){0};
	small = calloc(1, SMALL_SIZE);
	ck_assert_ptr_nonnull(small);
	big = mmap(NULL, BIG_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(big != MAP_FAILED);
	for (unsigned i = 0; i < ARRAY_SIZE(small_pages); i++)
		fill_page(small + small_pages[i] * PAGE, i + 1);
	/* A page that is zero but for its last byte is data. */
	small[8 * PAGE - 1] = 0x5a;
	for (unsigned i = 0; i < ARRAY_SIZE(big_pages); i++)
		fill_page(big + (uint64_t)big_pages[i] * PAGE, i + 100);
	ck_assert_int_eq(guest_mem_add(&mem, SMALL_GPA, SMALL_SIZE, small), 0);
	ck_assert_int_eq(guest_mem_add(&mem, BIG_GPA, BIG_SIZE, big), 0);
	for (unsigned i = 0; i < sizeof(machine); i++)
		machine[i] = (uint8_t)(i % 7 ? i : 0);
	err[0] = '\0';
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	guest_mem_release(&mem);
	free(small);
	munmap(big, BIG_SIZE);
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* @name in the test's directory; @sub, when given, a file inside it. Two
 * rotating buffers, so two paths can be live at once. */
static const char *at(const char *name, const char *sub)
{
	static char buf[2][256];
	static unsigned next;
	char *p = buf[next++ % 2];

	if (sub)
		snprintf(p, sizeof(buf[0]), "%s/%s/%s", dir, name, sub);
	else
		snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static int write_with(const char *path, const char *config, const uint8_t *m, size_t m_len,
		      struct snapshot_info *info)
{
	return snapshot_write(path,
			      &(struct snapshot_content){.mem = &mem,
							 .arch = ARCH,
							 .version = VERSION,
							 .config = config,
							 .machine = m,
							 .machine_len = m_len},
			      info, err, sizeof(err));
}

static void write_snapshot(const char *name, struct snapshot_info *info)
{
	int ret = write_with(at(name, NULL), CONFIG, machine, sizeof(machine), info);

	ck_assert_msg(ret == 0, "snapshot_write: %d: %s", ret, err);
}

/* Opens @name and expects it to fail with @want and a message holding
 * @word and @name's path; nothing may be returned. */
static void expect_open_fails(const char *name, const char *arch, const char *version, int want,
			      const char *word)
{
	struct snapshot_info info;
	int fd = 1234, ret;

	memset(&info, 0xa5, sizeof(info));
	err[0] = '\0';
	ret = snapshot_open(at(name, NULL), arch, version, &info, &fd, err, sizeof(err));
	ck_assert_msg(ret == want, "snapshot_open: %d (%s), expected %d", ret, err, want);
	ck_assert_msg(strstr(err, word), "\"%s\" lacks \"%s\"", err, word);
	ck_assert_msg(strstr(err, at(name, NULL)), "\"%s\" does not name the snapshot", err);
	ck_assert_int_eq(fd, -1);
	ck_assert_ptr_null(info.config);
	ck_assert_ptr_null(info.machine);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *data;
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	data = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_int_eq(read(fd, data, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return data;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Rewrites a state file's CRC after a test changed its contents, so that
 * what is checked next is the field, not the checksum. */
static void reseal(const char *path, uint8_t *data, size_t len)
{
	uint32_t crc = snapshot_crc32c(0, data, len - 4);

	for (unsigned i = 0; i < 4; i++)
		data[len - 4 + i] = (uint8_t)(crc >> (8 * i));
	write_file(path, data, len);
}

static void put64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Where the memory record's fields start in a state file: after its kind's
 * length, its kind, its version and its length. */
static size_t memory_fields(const uint8_t *data, size_t len)
{
	const uint8_t *kind = memmem(data, len, "\x06memory", 7);

	ck_assert_ptr_nonnull(kind);
	return (size_t)(kind - data) + 7 + 4 + 4;
}

/* How many entries the test directory holds, none of them temporary. */
static unsigned entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		ck_assert_msg(!strstr(e->d_name, ".tmp-"), "left behind: %s", e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

START_TEST(crc32c_check_value)
{
	ck_assert_uint_eq(snapshot_crc32c(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(snapshot_crc32c(snapshot_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
	ck_assert_uint_eq(snapshot_crc32c(0, "", 0), 0);
}
END_TEST

START_TEST(round_trip)
{
	struct snapshot_info saved, info;
	struct timespec now;
	uint64_t now_ns;
	int fd, ret;

	memset(&saved, 0, sizeof(saved));
	write_snapshot("s", &saved);
	clock_gettime(CLOCK_REALTIME, &now);
	now_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	ck_assert_uint_le(saved.saved_realtime_ns, now_ns);
	ck_assert_uint_gt(saved.saved_realtime_ns, now_ns - 60 * 1000000000ULL);
	ck_assert_ptr_null(saved.config);
	ck_assert_ptr_null(saved.machine);

	ret = snapshot_open(at("s", NULL), ARCH, VERSION, &info, &fd, err, sizeof(err));
	ck_assert_msg(ret == 0, "snapshot_open: %d: %s", ret, err);
	ck_assert_uint_eq(info.format_version, SNAPSHOT_FORMAT_VERSION);
	ck_assert_str_eq(info.arch, ARCH);
	ck_assert_str_eq(info.kvmkit_version, VERSION);
	ck_assert_mem_eq(info.id, saved.id, SNAPSHOT_ID_BYTES);
	ck_assert_uint_eq(info.saved_realtime_ns, saved.saved_realtime_ns);
	ck_assert_uint_eq(info.nr_regions, 2);
	ck_assert_uint_eq(saved.nr_regions, 2);
	ck_assert_uint_eq(info.regions[0].gpa, SMALL_GPA);
	ck_assert_uint_eq(info.regions[0].size, SMALL_SIZE);
	ck_assert_uint_eq(info.regions[0].offset, R0);
	ck_assert_uint_eq(info.regions[1].gpa, BIG_GPA);
	ck_assert_uint_eq(info.regions[1].size, BIG_SIZE);
	ck_assert_uint_eq(info.regions[1].offset, R1);
	ck_assert_uint_eq(info.memory_size, R1 + BIG_SIZE);
	ck_assert_mem_eq(info.regions, saved.regions, sizeof(info.regions));
	ck_assert_uint_eq(saved.memory_size, info.memory_size);
	ck_assert_str_eq(info.config, CONFIG);
	ck_assert_uint_eq(info.config_len, strlen(CONFIG));
	ck_assert_uint_eq(info.machine_len, sizeof(machine));
	ck_assert_mem_eq(info.machine, machine, sizeof(machine));

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	for (unsigned i = 0; i < info.nr_regions; i++) {
		const struct guest_mem_region *r = &mem.regions[i];
		void *m = mmap(NULL, info.regions[i].size, PROT_READ, MAP_PRIVATE, fd,
			       (off_t)info.regions[i].offset);

		ck_assert(m != MAP_FAILED);
		ck_assert_msg(memcmp(m, r->host, r->size) == 0, "region %u differs", i);
		munmap(m, info.regions[i].size);
	}
	close(fd);
	snapshot_info_free(&info);
	ck_assert_ptr_null(info.config);
	ck_assert_ptr_null(info.machine);

	/* Every snapshot has an id of its own. */
	write_snapshot("t", &info);
	ck_assert(memcmp(info.id, saved.id, SNAPSHOT_ID_BYTES) != 0);
}
END_TEST

START_TEST(empty_config_and_machine)
{
	struct snapshot_info info;
	int fd, ret;

	ret = write_with(at("s", NULL), NULL, NULL, 0, NULL);
	ck_assert_msg(ret == 0, "%s", err);
	ret = snapshot_open(at("s", NULL), ARCH, VERSION, &info, &fd, err, sizeof(err));
	ck_assert_msg(ret == 0, "%s", err);
	ck_assert_str_eq(info.config, "");
	ck_assert_uint_eq(info.config_len, 0);
	ck_assert_uint_eq(info.machine_len, 0);
	close(fd);
	snapshot_info_free(&info);
}
END_TEST

START_TEST(memory_file_is_sparse)
{
	struct snapshot_info info;
	struct stat st;

	write_snapshot("s", &info);
	ck_assert_int_eq(stat(at("s", SNAPSHOT_MEMORY_FILE), &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, info.memory_size);
	/* 11 pages of data and the header: 48 KiB, whatever the file
	 * system's block size rounds that to, against 64 MiB. */
	ck_assert_msg((uint64_t)st.st_blocks * 512 <= (1u << 20),
		      "%llu bytes allocated for a 64 MiB guest with 11 pages of data",
		      (unsigned long long)st.st_blocks * 512);
}
END_TEST

START_TEST(a_flipped_byte_fails_the_checksum)
{
	uint8_t *data;
	size_t len;

	write_snapshot("s", NULL);
	data = read_file(at("s", SNAPSHOT_STATE_FILE), &len);
	free(data);
	/* The magic, the first record's header, the middle, the last byte
	 * before the CRC, the CRC itself. */
	const size_t where[] = {0, 8, 20, len / 2, len - 5, len - 4, len - 1};

	for (unsigned i = 0; i < ARRAY_SIZE(where); i++) {
		write_snapshot("s", NULL);
		data = read_file(at("s", SNAPSHOT_STATE_FILE), &len);
		data[where[i]] ^= 0x10;
		write_file(at("s", SNAPSHOT_STATE_FILE), data, len);
		free(data);
		expect_open_fails("s", ARCH, VERSION, -EINVAL, "checksum");
	}
}
END_TEST

START_TEST(another_magic_is_refused)
{
	uint8_t *data;
	size_t len;

	write_snapshot("s", NULL);
	data = read_file(at("s", SNAPSHOT_STATE_FILE), &len);
	memcpy(data, "KVMKSNAQ", 8);
	reseal(at("s", SNAPSHOT_STATE_FILE), data, len);
	free(data);
	expect_open_fails("s", ARCH, VERSION, -EINVAL, "not a kvmkit snapshot state file");
}
END_TEST

START_TEST(truncated_state_file)
{
	uint8_t *data;
	size_t len;

	write_snapshot("s", NULL);
	data = read_file(at("s", SNAPSHOT_STATE_FILE), &len);
	const size_t lengths[] = {0, 1, 8, 11, 12, 30, len / 2, len - 4, len - 1};

	for (unsigned i = 0; i < ARRAY_SIZE(lengths); i++) {
		write_file(at("s", SNAPSHOT_STATE_FILE), data, lengths[i]);
		expect_open_fails("s", ARCH, VERSION, -EINVAL, SNAPSHOT_STATE_FILE);
	}
	free(data);
}
END_TEST

START_TEST(truncated_memory_file)
{
	struct snapshot_info info;
	char memory[256];

	strcpy(memory, at("s", SNAPSHOT_MEMORY_FILE));

	write_snapshot("s", &info);
	const off_t lengths[] = {(off_t)info.memory_size - PAGE, (off_t)info.memory_size - 1, PAGE,
				 100, 0};

	for (unsigned i = 0; i < ARRAY_SIZE(lengths); i++) {
		ck_assert_int_eq(truncate(memory, lengths[i]), 0);
		expect_open_fails("s", ARCH, VERSION, -EINVAL, "truncated");
	}
	/* Longer than recorded is wrong too. */
	write_snapshot("s", &info);
	ck_assert_int_eq(truncate(memory, (off_t)info.memory_size + PAGE), 0);
	expect_open_fails("s", ARCH, VERSION, -EINVAL, "size");
}
END_TEST

START_TEST(memory_file_of_another_snapshot)
{
	ck_assert_int_eq(mkdir(at("x", NULL), 0700), 0);
	write_snapshot("a", NULL);
	write_snapshot("b", NULL);
	ck_assert_int_eq(rename(at("a", SNAPSHOT_MEMORY_FILE), at("x", "memory")), 0);
	ck_assert_int_eq(rename(at("b", SNAPSHOT_MEMORY_FILE), at("a", SNAPSHOT_MEMORY_FILE)), 0);
	ck_assert_int_eq(rename(at("x", "memory"), at("b", SNAPSHOT_MEMORY_FILE)), 0);
	expect_open_fails("a", ARCH, VERSION, -EINVAL, "another snapshot");
	expect_open_fails("b", ARCH, VERSION, -EINVAL, "another snapshot");
}
END_TEST

START_TEST(another_architecture_or_version)
{
	write_snapshot("s", NULL);
	expect_open_fails("s", "x86_64", VERSION, -EPROTO,
			  "snapshot was made by kvmkit 0.1.0 for arm64; this is kvmkit 0.1.0 for "
			  "x86_64");
	expect_open_fails("s", ARCH, "0.2.0", -EPROTO,
			  "snapshot was made by kvmkit 0.1.0 for arm64; this is kvmkit 0.2.0 for "
			  "arm64");
}
END_TEST

START_TEST(another_format_version)
{
	/* The format version is the first field of the first record: after
	 * the magic, the kind's length and "snapshot", its version and its
	 * length. */
	const size_t at_version = 8 + 1 + 8 + 4 + 4;
	uint8_t *data;
	size_t len;

	write_snapshot("s", NULL);
	data = read_file(at("s", SNAPSHOT_STATE_FILE), &len);
	ck_assert_mem_eq(data + 9, "snapshot", 8);
	ck_assert_uint_eq(data[at_version], SNAPSHOT_FORMAT_VERSION);
	data[at_version] = SNAPSHOT_FORMAT_VERSION + 1;
	reseal(at("s", SNAPSHOT_STATE_FILE), data, len);
	free(data);
	expect_open_fails("s", ARCH, VERSION, -EPROTO,
			  "format version 2; this kvmkit reads version 1");
}
END_TEST

/* A state file whose checksum is right but whose region table is not: what
 * a bug or a hand-made file would give. Each edit changes the memory
 * record's fields: memory_size (u64), the region count (u32), then gpa,
 * size and offset (u64) per region. */
static void unaligned_offset(uint8_t *f) { put64(f + 12 + 24 + 16, R1 + 8); }
static void unaligned_gpa(uint8_t *f) { put64(f + 12, 0x800); }
static void offset_past_the_end(uint8_t *f) { put64(f + 12 + 24 + 16, R1 + PAGE); }
static void offset_in_the_header(uint8_t *f) { put64(f + 12 + 16, 0); }
static void gpas_overlap(uint8_t *f) { put64(f + 12 + 24, SMALL_GPA + PAGE); }
static void offsets_overlap(uint8_t *f) { put64(f + 12 + 24 + 16, R0 + SMALL_SIZE - PAGE); }
static void gpa_wraps(uint8_t *f) { put64(f + 12 + 24, 0xfffffffffff00000ULL); }
static void too_many_regions(uint8_t *f) { f[8] = GUEST_MEM_MAX_REGIONS + 1; }
static void no_regions(uint8_t *f) { f[8] = 0; }
static void huge_memory_size(uint8_t *f) { put64(f, 0xfffffffffffff000ULL); }

static const struct {
	void (*edit)(uint8_t *fields);
	const char *word; /* in the message */
} bad_regions[] = {
	{unaligned_offset, "not page aligned"},
	{unaligned_gpa, "not page aligned"},
	{offset_past_the_end, "outside the memory file"},
	{offset_in_the_header, "outside the memory file"},
	{gpas_overlap, "overlap"},
	{offsets_overlap, "overlap"},
	{gpa_wraps, "wraps"},
	{too_many_regions, "memory record is corrupt"},
	{no_regions, "memory record is corrupt"},
	{huge_memory_size, "bad memory file size"},
};

START_TEST(bad_region_tables)
{
	uint8_t *data;
	size_t len;

	write_snapshot("s", NULL);
	data = read_file(at("s", SNAPSHOT_STATE_FILE), &len);
	bad_regions[_i].edit(data + memory_fields(data, len));
	reseal(at("s", SNAPSHOT_STATE_FILE), data, len);
	free(data);
	expect_open_fails("s", ARCH, VERSION, -EINVAL, bad_regions[_i].word);
}
END_TEST

START_TEST(config_must_be_text)
{
	const uint8_t *text;
	uint8_t *data;
	size_t len;

	write_snapshot("s", NULL);
	data = read_file(at("s", SNAPSHOT_STATE_FILE), &len);
	text = memmem(data, len, CONFIG, strlen(CONFIG));
	ck_assert_ptr_nonnull(text);
	data[text - data + strlen(CONFIG)] = 'x'; /* its NUL */
	reseal(at("s", SNAPSHOT_STATE_FILE), data, len);
	expect_open_fails("s", ARCH, VERSION, -EINVAL, "config");

	data[text - data + strlen(CONFIG)] = '\0';
	data[text - data + 3] = '\0'; /* a NUL inside */
	reseal(at("s", SNAPSHOT_STATE_FILE), data, len);
	expect_open_fails("s", ARCH, VERSION, -EINVAL, "config");
	free(data);
}
END_TEST

START_TEST(missing_directory_or_file)
{
	expect_open_fails("nothing", ARCH, VERSION, -ENOENT, "state");
	write_snapshot("s", NULL);
	ck_assert_int_eq(unlink(at("s", SNAPSHOT_MEMORY_FILE)), 0);
	expect_open_fails("s", ARCH, VERSION, -ENOENT, SNAPSHOT_MEMORY_FILE);
	write_snapshot("t", NULL);
	ck_assert_int_eq(unlink(at("t", SNAPSHOT_STATE_FILE)), 0);
	expect_open_fails("t", ARCH, VERSION, -ENOENT, SNAPSHOT_STATE_FILE);
}
END_TEST

START_TEST(replacing_a_snapshot)
{
	struct snapshot_info first, second, info;
	int fd, ret;

	write_snapshot("s", &first);
	machine[0] ^= 0xff;
	small[5 * PAGE] = 0x77;
	write_snapshot("s/", &second); /* a trailing slash names the same */
	ck_assert_uint_eq(entries(), 1);
	ret = snapshot_open(at("s", NULL), ARCH, VERSION, &info, &fd, err, sizeof(err));
	ck_assert_msg(ret == 0, "%s", err);
	ck_assert_mem_eq(info.id, second.id, SNAPSHOT_ID_BYTES);
	ck_assert_mem_eq(info.machine, machine, sizeof(machine));
	uint8_t byte = 0;
	ck_assert_int_eq(pread(fd, &byte, 1, (off_t)(R0 + 5 * PAGE)), 1);
	ck_assert_uint_eq(byte, 0x77);
	close(fd);
	snapshot_info_free(&info);
}
END_TEST

static void expect_write_fails(const char *name, int want, const char *word)
{
	int ret = write_with(at(name, NULL), CONFIG, machine, sizeof(machine), NULL);

	ck_assert_msg(ret == want, "snapshot_write: %d (%s), expected %d", ret, err, want);
	ck_assert_msg(strstr(err, word), "\"%s\" lacks \"%s\"", err, word);
}

START_TEST(a_failed_write_changes_nothing)
{
	static const char precious[] = "the user's own file";
	struct snapshot_info first, info;
	uint8_t *data;
	size_t len;
	int fd, ret;

	/* No parent directory. */
	expect_write_fails("none/s", -ENOENT, "none");
	ck_assert_uint_eq(entries(), 0);

	/* Something at @path that is not a snapshot. */
	write_file(at("file", NULL), precious, sizeof(precious));
	expect_write_fails("file", -EEXIST, "not replacing");
	data = read_file(at("file", NULL), &len);
	ck_assert_uint_eq(len, sizeof(precious));
	ck_assert_mem_eq(data, precious, len);
	free(data);
	ck_assert_int_eq(mkdir(at("d", NULL), 0700), 0);
	expect_write_fails("d", -EEXIST, "not replacing");
	write_file(at("d", SNAPSHOT_STATE_FILE), precious, sizeof(precious));
	write_file(at("d", "notes"), precious, sizeof(precious));
	expect_write_fails("d", -EEXIST, "not replacing");
	ck_assert_int_eq(access(at("d", "notes"), F_OK), 0);
	ck_assert_uint_eq(entries(), 2);

	/* A failure after the memory file was written: the state is more
	 * than a state file may hold. The snapshot there stays. */
	write_snapshot("s", &first);
	size_t huge = SNAPSHOT_STATE_MAX + 1;
	uint8_t *big_machine = calloc(1, huge);

	ck_assert_ptr_nonnull(big_machine);
	ret = write_with(at("s", NULL), CONFIG, big_machine, huge, NULL);
	free(big_machine);
	ck_assert_int_eq(ret, -EFBIG);
	ck_assert_uint_eq(entries(), 3);
	ret = snapshot_open(at("s", NULL), ARCH, VERSION, &info, &fd, err, sizeof(err));
	ck_assert_msg(ret == 0, "%s", err);
	ck_assert_mem_eq(info.id, first.id, SNAPSHOT_ID_BYTES);
	close(fd);
	snapshot_info_free(&info);
}
END_TEST

START_TEST(oversized_state_file_is_refused_unread)
{
	/* Both sparse: a reader that read them would take their size in
	 * memory; 1 TiB would fail with -ENOMEM, not -EINVAL. */
	const off_t sizes[] = {(off_t)SNAPSHOT_STATE_MAX + 1, (off_t)1 << 40};

	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		write_snapshot("s", NULL);
		ck_assert_int_eq(truncate(at("s", SNAPSHOT_STATE_FILE), sizes[i]), 0);
		expect_open_fails("s", ARCH, VERSION, -EINVAL, "larger than");
	}
}
END_TEST

/* --restore-clock advance: the time since the save in counter ticks, for
 * the counters KVM has (arm64's 62.5 MHz to 1 GHz, TSCs of some GHz). */
START_TEST(advance_in_counter_ticks)
{
	const uint64_t sec = 1000000000u;

	ck_assert_uint_eq(clock_ns_to_ticks(0, 62500000), 0);
	ck_assert_uint_eq(clock_ns_to_ticks(sec, 62500000), 62500000);
	ck_assert_uint_eq(clock_ns_to_ticks(1500 * 1000000ull, 62500000), 93750000);
	ck_assert_uint_eq(clock_ns_to_ticks(15, 62500000), 0); /* rounded down: 0.94 tick */
	ck_assert_uint_eq(clock_ns_to_ticks(16, 62500000), 1);
	ck_assert_uint_eq(clock_ns_to_ticks(sec - 1, 1000000000), 999999999);
	/* A year at 4.2 GHz, a century at 5 GHz: past what ns * hz holds. */
	ck_assert_uint_eq(clock_ns_to_ticks(365ull * 86400 * sec + 1, 4200000000ull),
			  365ull * 86400 * 4200000000ull + 4);
	ck_assert_uint_eq(clock_ns_to_ticks(100ull * 365 * 86400 * sec, 5000000000ull),
			  100ull * 365 * 86400 * 5000000000ull);
	/* Too much for 64 bits of ticks: the most there is, not a wrap. */
	ck_assert_uint_eq(clock_ns_to_ticks(UINT64_MAX, 5000000000ull), UINT64_MAX);
	ck_assert_uint_eq(clock_ns_to_ticks(sec, UINT64_MAX), UINT64_MAX);
	ck_assert_uint_eq(clock_ns_to_ticks(UINT64_MAX, 0), 0);
}
END_TEST

Suite *snapshot_file_suite(void)
{
	Suite *s = suite_create("snapshot_file");
	TCase *tc = tcase_create("files");
	TCase *clock = tcase_create("restore_clock");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, crc32c_check_value);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, empty_config_and_machine);
	tcase_add_test(tc, memory_file_is_sparse);
	tcase_add_test(tc, a_flipped_byte_fails_the_checksum);
	tcase_add_test(tc, another_magic_is_refused);
	tcase_add_test(tc, truncated_state_file);
	tcase_add_test(tc, truncated_memory_file);
	tcase_add_test(tc, memory_file_of_another_snapshot);
	tcase_add_test(tc, another_architecture_or_version);
	tcase_add_test(tc, another_format_version);
	tcase_add_loop_test(tc, bad_region_tables, 0, ARRAY_SIZE(bad_regions));
	tcase_add_test(tc, config_must_be_text);
	tcase_add_test(tc, missing_directory_or_file);
	tcase_add_test(tc, replacing_a_snapshot);
	tcase_add_test(tc, a_failed_write_changes_nothing);
	tcase_add_test(tc, oversized_state_file_is_refused_unread);
	suite_add_tcase(s, tc);
	tcase_add_test(clock, advance_in_counter_ticks);
	suite_add_tcase(s, clock);
	return s;
}
