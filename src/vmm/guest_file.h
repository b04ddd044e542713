/* Input files destined for guest memory (kernel, initrd). Opening checks that
 * the path names a readable, non-empty regular file; reads go straight into
 * guest RAM, so a large kernel is never copied twice. Errors are input errors
 * that name the file. */
#ifndef KVMKIT_GUEST_FILE_H
#define KVMKIT_GUEST_FILE_H

#include <stddef.h>
#include <stdint.h>

struct vm;

struct guest_file {
	const char *what; /* "kernel", "initrd": for messages */
	const char *path;
	int fd;
	uint64_t size;
};

int guest_file_open(struct vm *vm, const char *what, const char *path, struct guest_file *f);
void guest_file_close(struct guest_file *f);

/* Reads exactly @len bytes at @offset into @dst; a short file is "truncated". */
int guest_file_read(struct vm *vm, struct guest_file *f, uint64_t offset, void *dst, size_t len);

/* Reads the whole file into guest RAM at @gpa; the range must be RAM. */
int guest_file_load(struct vm *vm, struct guest_file *f, uint64_t gpa);

#endif
