/* The unit suites: pure logic of kvmkit's modules, no /dev/kvm. Each test file
 * builds one Check suite; unit_main.c runs them, and meson runs one suite per
 * test through CK_RUN_SUITE. */
#ifndef KVMKIT_UNIT_H
#define KVMKIT_UNIT_H

#include <check.h>
#include <stdint.h>

Suite *guest_mem_suite(void);
Suite *dirty_bitmap_suite(void);
Suite *dirty_set_count_suite(void);
Suite *dirty_set_suite(void);
Suite *bus_suite(void);
Suite *expect_suite(void);
Suite *escape_suite(void);
Suite *config_suite(void);
Suite *cli_suite(void);
Suite *cli_regressions_suite(void);
Suite *config_file_suite(void);
Suite *elf_loader_suite(void);
Suite *fdt_builder_suite(void);
Suite *arm64_image_suite(void);
Suite *arm64_fdt_layout_suite(void);
Suite *virtqueue_suite(void);
Suite *disk_option_suite(void);
Suite *disk_mtime_suite(void);
Suite *adaptive_poll_suite(void);
Suite *ratelimit_suite(void);
Suite *state_suite(void);
Suite *snapshot_file_suite(void);
Suite *snapshot_chain_suite(void);
Suite *x86_ram_layout_suite(void);
Suite *vmgenid_suite(void);
Suite *working_set_suite(void);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A fixed-seed generator for randomised cases, so a failure reproduces. */
static inline uint32_t unit_rand(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state >> 8;
}

#endif
