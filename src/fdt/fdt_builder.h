/* A small layer over libfdt's sequential-write API, the tool of a platform
 * that renders its machine as a device tree (arch/arm64/fdt_layout.c). Errors
 * are sticky: callers emit a whole node and check fb->err (or fb_finish())
 * once. Interrupts are encoded by a hook the platform installs for its
 * interrupt controller. */
#ifndef KVMKIT_FDT_BUILDER_H
#define KVMKIT_FDT_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fdt_builder;

/* Writes the "interrupts" cells for platform interrupt @irq, level-high or
 * rising-edge, into @cells and returns how many (at most 4). */
typedef unsigned (*fdt_irq_encoder)(const struct fdt_builder *fb, unsigned irq, bool edge,
				    uint32_t *cells);

struct fdt_builder {
	void *blob;
	size_t size;
	int err; /* first libfdt error (negative FDT_ERR_*), 0 if none */
	fdt_irq_encoder encode_irq;
};

/* Starts a tree in a new buffer of @size bytes. Returns 0 or -ENOMEM. */
int fb_init(struct fdt_builder *fb, size_t size);
void fb_free(struct fdt_builder *fb);

void fb_begin_node(struct fdt_builder *fb, const char *name);
/* "name@<hex base>" */
void fb_begin_node_at(struct fdt_builder *fb, const char *name, uint64_t base);
void fb_end_node(struct fdt_builder *fb);

void fb_prop_empty(struct fdt_builder *fb, const char *name);
void fb_prop_u32(struct fdt_builder *fb, const char *name, uint32_t value);
void fb_prop_u64(struct fdt_builder *fb, const char *name, uint64_t value);
void fb_prop_string(struct fdt_builder *fb, const char *name, const char *value);
/* A string list, e.g. compatible = "arm,pl031", "arm,primecell". NULL-terminated. */
void fb_prop_strings(struct fdt_builder *fb, const char *name, const char *const *values);
void fb_prop_cells(struct fdt_builder *fb, const char *name, const uint32_t *cells, unsigned n);
/* reg = <base size> with #address-cells = #size-cells = 2. */
void fb_prop_reg(struct fdt_builder *fb, uint64_t base, uint64_t size);
/* interrupts = <...> through the architecture's encoder: a level-high line,
 * or (fb_prop_irq_edge) a rising edge, for sources that signal by pulses such
 * as an irqfd. */
void fb_prop_irq(struct fdt_builder *fb, unsigned irq);
void fb_prop_irq_edge(struct fdt_builder *fb, unsigned irq);

/* Closes the tree and packs it. Returns 0 or a negative FDT_ERR_* code;
 * fb_strerror() explains it. */
int fb_finish(struct fdt_builder *fb);
const char *fb_strerror(int err);
size_t fb_total_size(const struct fdt_builder *fb);

#endif
