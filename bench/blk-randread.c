/* blk-randread PATH COUNT: COUNT reads of 4 KiB at random 4 KiB-aligned
 * offsets of PATH (a block device or a file), with O_DIRECT where the file
 * system allows it so that no page cache answers in the reader's place.
 * bench/blk puts the static aarch64 build in the nested L1 and L2 guests and
 * times it from the host; the reader's own clock is printed for reference. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint64_t state = 0x9e3779b97f4a7c15ULL, blocks;
	unsigned long count;
	int fd, direct = 1;
	void *buf;
	off_t size;
	double start;

	if (argc != 3 || (count = strtoul(argv[2], NULL, 10)) == 0) {
		fprintf(stderr, "usage: %s PATH COUNT\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0 && errno == EINVAL) {
		direct = 0; /* tmpfs: no O_DIRECT, and no cache beyond the file itself */
		fd = open(argv[1], O_RDONLY);
	}
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	size = lseek(fd, 0, SEEK_END);
	blocks = size > 0 ? (uint64_t)size / BLOCK : 0;
	if (blocks == 0 || posix_memalign(&buf, BLOCK, BLOCK) != 0) {
		fprintf(stderr, "%s: empty, or out of memory\n", argv[1]);
		return 1;
	}
	start = now_sec();
	for (unsigned long i = 0; i < count; i++) {
		/* xorshift64: cheap, and the same sequence in every run */
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		if (pread(fd, buf, BLOCK, (off_t)((state % blocks) * BLOCK)) != BLOCK) {
			fprintf(stderr, "%s: read %lu failed: %s\n", argv[1], i, strerror(errno));
			return 1;
		}
	}
	printf("reads=%lu direct=%d own_clock_seconds=%.3f\n", count, direct, now_sec() - start);
	free(buf);
	close(fd);
	return 0;
}
