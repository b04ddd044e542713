#include "vmm/guest_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/vm.h"

int guest_file_open(struct vm *vm, const char *what, const char *path, struct guest_file *f)
{
	struct stat st;

	*f = (struct guest_file){.what = what, .path = path, .fd = -1};
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return vm_input_error(vm, -errno, "%s %s: %s", what, path, strerror(errno));
	if (fstat(f->fd, &st) < 0) {
		int err = -errno;

		guest_file_close(f);
		return vm_input_error(vm, err, "%s %s: %s", what, path, strerror(-err));
	}
	if (S_ISDIR(st.st_mode)) {
		guest_file_close(f);
		return vm_input_error(vm, -EISDIR, "%s %s: is a directory, not a file", what, path);
	}
	if (!S_ISREG(st.st_mode)) {
		guest_file_close(f);
		return vm_input_error(vm, -EINVAL, "%s %s: not a regular file", what, path);
	}
	if (st.st_size == 0) {
		guest_file_close(f);
		return vm_input_error(vm, -EINVAL, "%s %s: the file is empty", what, path);
	}
	f->size = (uint64_t)st.st_size;
	return 0;
}

void guest_file_close(struct guest_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

int guest_file_read(struct vm *vm, struct guest_file *f, uint64_t offset, void *dst, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(f->fd, (char *)dst + done, len - done, (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vm_input_error(vm, -errno, "%s %s: read error: %s", f->what, f->path,
					      strerror(errno));
		if (n == 0)
			return vm_input_error(
				vm, -EINVAL,
				"%s %s: truncated (needs %llu bytes at offset %llu, file has %llu)",
				f->what, f->path, (unsigned long long)len,
				(unsigned long long)offset, (unsigned long long)f->size);
		done += (size_t)n;
	}
	return 0;
}

int guest_file_load(struct vm *vm, struct guest_file *f, uint64_t gpa)
{
	void *dst = guest_mem_ptr(&vm->mem, gpa, f->size);

	if (!dst)
		return vm_input_error(
			vm, -EFBIG,
			"%s %s: %llu bytes at 0x%llx do not fit in the guest's %llu MiB of RAM",
			f->what, f->path, (unsigned long long)f->size, (unsigned long long)gpa,
			(unsigned long long)(vm->cfg.mem_size >> 20));
	return guest_file_read(vm, f, 0, dst, f->size);
}
