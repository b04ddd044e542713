/* What the dirty-writer guests (x86_64: tests/host/guests/dirty_writer.S,
 * arm64: tests/arm64/guests/dirty_writer.S) and the dirty-log tests agree on.
 * Only #defines: included by assembly and by C. Addresses are offsets from
 * the start of guest RAM (TEST_RAM_BASE of each architecture's
 * guests/layout.h: 0 on x86_64, 1 GiB on arm64).
 *
 * The guest loops forever: it reads the generation g from the mailbox,
 * picks a page of the area with xorshift64 (seed DIRTY_SEED), writes g to
 * the page's first and last 8 bytes, and counts the write in the mailbox.
 * Every DIRTY_UCALL_EVERY writes it reports the count to the test device
 * (one MMIO write to ECHO), so the host sees progress without polling RAM. */
#ifndef KVMKIT_DIRTY_LAYOUT_H
#define KVMKIT_DIRTY_LAYOUT_H

#define DIRTY_MAILBOX_OFFSET 0xa00000 /* qword 0: generation (host); 1: writes (guest) */
#define DIRTY_AREA_OFFSET 0x1000000   /* 16 MiB */
#define DIRTY_AREA_PAGES 4096         /* a power of two: 16 MiB */
#define DIRTY_SEED 88172645463325252
#define DIRTY_UCALL_EVERY 65536 /* a power of two */

#endif
