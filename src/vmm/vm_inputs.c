#include "vmm/vm_inputs.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "arch/arch.h"
#include "vmm/device_type.h"
#include "vmm/guest_file.h"
#include "vmm/vm.h"

static int check_guest_file(struct vm *vm, const char *what, const char *path)
{
	struct guest_file f;
	int ret = guest_file_open(vm, what, path, &f);

	if (ret == 0)
		guest_file_close(&f);
	return ret;
}

/* The directory that would hold @path: it exists, is a directory and, when
 * @writable, lets kvmkit create files in it. */
static int check_parent(struct vm *vm, const char *flag, const char *path, bool writable)
{
	char copy[PATH_MAX];
	const char *dir;
	struct stat st;

	if (strlen(path) >= sizeof(copy))
		return vm_input_error(vm, -ENAMETOOLONG, "%s %s: path too long", flag, path);
	strcpy(copy, path);
	dir = dirname(copy);
	if (stat(dir, &st) < 0)
		return vm_input_error(vm, -errno, "%s %s: directory %s: %s", flag, path, dir,
				      strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return vm_input_error(vm, -ENOTDIR, "%s %s: %s is not a directory", flag, path,
				      dir);
	if (writable && access(dir, W_OK | X_OK) < 0)
		return vm_input_error(vm, -errno, "%s %s: directory %s: %s", flag, path, dir,
				      strerror(errno));
	return 0;
}

/* A file kvmkit will create or overwrite: a writable file, or none in a
 * directory that takes new ones. */
static int check_output(struct vm *vm, const char *flag, const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return vm_input_error(vm, -EISDIR, "%s %s: is a directory", flag, path);
		if (access(path, W_OK) < 0)
			return vm_input_error(vm, -errno, "%s %s: %s", flag, path, strerror(errno));
		return 0;
	}
	if (errno != ENOENT)
		return vm_input_error(vm, -errno, "%s %s: %s", flag, path, strerror(errno));
	return check_parent(vm, flag, path, true);
}

static int check_devices(struct vm *vm)
{
	const struct device_type *type;

	for (unsigned t = 0; (type = device_type_at(t)); t++) {
		unsigned count = vm_config_device_count(&vm->cfg, type);

		for (unsigned i = 0; type->check && i < count; i++) {
			int ret = type->check(&vm->host, vm_config_device(&vm->cfg, type, i));

			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

int vm_check_inputs(struct vm *vm)
{
	const struct vm_config *cfg = &vm->cfg;
	struct stat st;
	int ret;

	/* A restored guest loads no files of its own. */
	ret = arch_check_config(vm);
	if (ret == 0 && !cfg->restore)
		ret = check_guest_file(vm, "kernel", cfg->kernel_path);
	if (ret == 0 && cfg->initrd_path)
		ret = check_guest_file(vm, "initrd", cfg->initrd_path);
	if (ret == 0)
		ret = check_devices(vm);
	if (ret == 0 && cfg->console_log_path)
		ret = check_output(vm, "--console-log", cfg->console_log_path);
	if (ret == 0 && cfg->dump_dtb_path)
		ret = check_output(vm, "--dump-dtb", cfg->dump_dtb_path);
	if (ret == 0 && cfg->api_socket_path) {
		if (strlen(cfg->api_socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return vm_input_error(vm, -ENAMETOOLONG, "--api-socket %s: path too long",
					      cfg->api_socket_path);
		ret = check_parent(vm, "--api-socket", cfg->api_socket_path, true);
		/* A socket there may be stale (control_socket.c decides); any
		 * other file is the user's and stays. */
		if (ret == 0 && lstat(cfg->api_socket_path, &st) == 0 && !S_ISSOCK(st.st_mode))
			ret = vm_input_error(vm, -EADDRINUSE,
					     "--api-socket %s: in use (it is not a socket)",
					     cfg->api_socket_path);
	}
	return ret;
}
