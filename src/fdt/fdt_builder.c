#include "fdt/fdt_builder.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void keep_first(struct fdt_builder *fb, int ret)
{
	if (ret < 0 && fb->err == 0)
		fb->err = ret;
}

int fb_init(struct fdt_builder *fb, size_t size)
{
	*fb = (struct fdt_builder){0};
	fb->blob = calloc(1, size);
	if (!fb->blob)
		return -ENOMEM;
	fb->size = size;
	keep_first(fb, fdt_create(fb->blob, (int)size));
	keep_first(fb, fdt_finish_reservemap(fb->blob));
	return 0;
}

void fb_free(struct fdt_builder *fb)
{
	free(fb->blob);
	fb->blob = NULL;
}

void fb_begin_node(struct fdt_builder *fb, const char *name)
{
	if (!fb->err)
		keep_first(fb, fdt_begin_node(fb->blob, name));
}

void fb_begin_node_at(struct fdt_builder *fb, const char *name, uint64_t base)
{
	char full[64];

	snprintf(full, sizeof(full), "%s@%llx", name, (unsigned long long)base);
	fb_begin_node(fb, full);
}

void fb_end_node(struct fdt_builder *fb)
{
	if (!fb->err)
		keep_first(fb, fdt_end_node(fb->blob));
}

void fb_prop_empty(struct fdt_builder *fb, const char *name)
{
	if (!fb->err)
		keep_first(fb, fdt_property(fb->blob, name, NULL, 0));
}

void fb_prop_u32(struct fdt_builder *fb, const char *name, uint32_t value)
{
	if (!fb->err)
		keep_first(fb, fdt_property_u32(fb->blob, name, value));
}

void fb_prop_u64(struct fdt_builder *fb, const char *name, uint64_t value)
{
	if (!fb->err)
		keep_first(fb, fdt_property_u64(fb->blob, name, value));
}

void fb_prop_string(struct fdt_builder *fb, const char *name, const char *value)
{
	if (!fb->err)
		keep_first(fb, fdt_property_string(fb->blob, name, value));
}

void fb_prop_strings(struct fdt_builder *fb, const char *name, const char *const *values)
{
	char buf[256];
	size_t len = 0;

	for (const char *const *v = values; *v; v++) {
		size_t n = strlen(*v) + 1;

		if (len + n > sizeof(buf)) {
			keep_first(fb, -FDT_ERR_NOSPACE);
			return;
		}
		memcpy(buf + len, *v, n);
		len += n;
	}
	if (!fb->err)
		keep_first(fb, fdt_property(fb->blob, name, buf, (int)len));
}

void fb_prop_cells(struct fdt_builder *fb, const char *name, const uint32_t *cells, unsigned n)
{
	fdt32_t be[16];

	if (n > sizeof(be) / sizeof(be[0])) {
		keep_first(fb, -FDT_ERR_NOSPACE);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		be[i] = cpu_to_fdt32(cells[i]);
	if (!fb->err)
		keep_first(fb, fdt_property(fb->blob, name, be, (int)(n * sizeof(be[0]))));
}

void fb_prop_reg(struct fdt_builder *fb, uint64_t base, uint64_t size)
{
	uint32_t cells[4] = {
		(uint32_t)(base >> 32),
		(uint32_t)base,
		(uint32_t)(size >> 32),
		(uint32_t)size,
	};

	fb_prop_cells(fb, "reg", cells, 4);
}

static void prop_irq(struct fdt_builder *fb, unsigned irq, bool edge)
{
	uint32_t cells[4];
	unsigned n;

	if (!fb->encode_irq) {
		keep_first(fb, -FDT_ERR_BADSTATE);
		return;
	}
	n = fb->encode_irq(fb, irq, edge, cells);
	fb_prop_cells(fb, "interrupts", cells, n);
}

void fb_prop_irq(struct fdt_builder *fb, unsigned irq) { prop_irq(fb, irq, false); }

void fb_prop_irq_edge(struct fdt_builder *fb, unsigned irq) { prop_irq(fb, irq, true); }

int fb_finish(struct fdt_builder *fb)
{
	if (!fb->err)
		keep_first(fb, fdt_finish(fb->blob));
	if (!fb->err)
		keep_first(fb, fdt_pack(fb->blob));
	return fb->err;
}

const char *fb_strerror(int err) { return fdt_strerror(err); }

size_t fb_total_size(const struct fdt_builder *fb) { return fdt_totalsize(fb->blob); }
