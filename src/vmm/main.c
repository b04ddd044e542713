/* The kvmkit command: parse, build the VM, run it, map the outcome to an exit
 * code. Everything else lives in the library. */
#include <stdio.h>
#include <unistd.h>

#include "vmm/cli.h"
#include "vmm/log.h"
#include "vmm/vm.h"

static int exit_code_for(struct vm *vm, enum vm_exit_reason reason)
{
	switch (reason) {
	case VM_EXIT_POWEROFF:
	case VM_EXIT_EXPECT_SEEN:
	case VM_EXIT_QUIT:
		return EXIT_CODE_POWEROFF;
	case VM_EXIT_RESET:
		return EXIT_CODE_RESET;
	case VM_EXIT_CRASH:
		return EXIT_CODE_CRASH;
	case VM_EXIT_TIMEOUT:
		return EXIT_CODE_TIMEOUT;
	case VM_EXIT_SIGNAL:
		return 128 + vm->exit_signal;
	case VM_EXIT_NONE:
	case VM_EXIT_ERROR:
		break;
	}
	return EXIT_CODE_INTERNAL;
}

int main(int argc, char **argv)
{
	struct cli_options opts;
	enum vm_exit_reason reason;
	struct vm *vm;
	char err[512];
	bool input_error;
	int code;

	if (cli_parse(argc, argv, &opts, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvmkit: %s\n", err);
		return EXIT_CODE_USAGE;
	}
	if (opts.action == CLI_HELP) {
		char usage[4096] = "";

		cli_usage(usage, sizeof(usage));
		fputs(usage, stdout);
		return 0;
	}
	if (opts.action == CLI_VERSION) {
		printf("kvmkit %s\n", KVMKIT_VERSION);
		return 0;
	}
	log_set_level(opts.run.log_level);
	if (vm_create(&opts.run.vm, &vm, err, sizeof(err), &input_error) < 0) {
		fprintf(stderr, "kvmkit: %s\n", err);
		return input_error ? EXIT_CODE_USAGE : EXIT_CODE_INTERNAL;
	}
	reason = vm_run(vm);
	code = exit_code_for(vm, reason);
	if (reason == VM_EXIT_ERROR)
		fprintf(stderr, "kvmkit: %s\n", vm->error[0] ? vm->error : "the VM failed");
	log_info("guest ended: %s (exit code %d)", vm_exit_reason_name(reason), code);
	if (opts.run.vm.print_stats)
		vm_print_stats(vm, STDERR_FILENO);
	vm_destroy(vm);
	return code;
}
