#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

static Suite *(*const all_suites[])(void) = {
	guest_mem_suite,
	bus_suite,
	expect_suite,
	escape_suite,
	adaptive_poll_suite,
	config_suite,
	cli_suite,
	cli_regressions_suite,
	config_file_suite,
	elf_loader_suite,
	fdt_builder_suite,
	arm64_image_suite,
	arm64_fdt_layout_suite,
	virtqueue_suite,
	disk_option_suite,
	disk_mtime_suite,
	state_suite,
	x86_ram_layout_suite,
	ratelimit_suite,
	dirty_bitmap_suite,
	dirty_set_suite,
	dirty_set_count_suite,
	snapshot_file_suite,
	snapshot_chain_suite,
	vmgenid_suite,
	working_set_suite,
};

int main(void)
{
	SRunner *runner = srunner_create(NULL);
	int nr_run, nr_failed;

	for (size_t i = 0; i < ARRAY_SIZE(all_suites); i++)
		srunner_add_suite(runner, all_suites[i]());
	/* TAP on stdout lets meson report every case; CK_RUN_SUITE and
	 * CK_RUN_CASE from the environment pick what runs. */
	srunner_set_tap(runner, "-");
	srunner_run_all(runner, CK_SILENT);
	nr_run = srunner_ntests_run(runner);
	nr_failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	/* A misspelt CK_RUN_SUITE would otherwise pass by running nothing. */
	if (nr_run == 0) {
		fprintf(stderr, "unit-tests: no test matches CK_RUN_SUITE/CK_RUN_CASE\n");
		return EXIT_FAILURE;
	}
	return nr_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
