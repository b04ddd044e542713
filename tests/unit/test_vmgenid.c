/* The VM generation ID device behind a fake host: its page is shown to the
 * guest as memory at its base, the ID is random and new in every machine and
 * every load, and a load (a restore) is told to the guest by exactly one
 * edge on its line, at the next unquiesce, never at load. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "devices/vmgenid.h"
#include "unit.h"
#include "vmm/device.h"
#include "vmm/device_desc.h"
#include "vmm/device_host.h"
#include "vmm/state.h"

#define BASE 0x09040000ULL
#define IRQ 3

struct fake_host {
	struct device *dev;
	uint64_t mapped_gpa;
	uint64_t mapped_size;
	uint8_t *mapped;
	int levels[8]; /* the line's levels, in order */
	unsigned nr_levels;
	bool map_fails;
};

static int fake_add_device(void *ctx, struct device *dev)
{
	struct fake_host *h = ctx;

	h->dev = dev;
	return 0;
}

static int fake_set_irq(void *ctx, unsigned irq, bool level)
{
	struct fake_host *h = ctx;

	ck_assert_uint_eq(irq, IRQ);
	ck_assert_uint_lt(h->nr_levels, ARRAY_SIZE(h->levels));
	h->levels[h->nr_levels++] = level;
	return 0;
}

static int fake_map_memory(void *ctx, uint64_t gpa, uint64_t size, void *host)
{
	struct fake_host *h = ctx;

	if (h->map_fails)
		return -EEXIST;
	h->mapped_gpa = gpa;
	h->mapped_size = size;
	h->mapped = host;
	return 0;
}

static void fake_report(void *ctx, bool input, const char *msg)
{
	(void)ctx;
	(void)input;
	ck_assert(msg && msg[0]);
}

static const struct device_host_ops fake_ops = {
	.add_device = fake_add_device,
	.set_irq = fake_set_irq,
	.map_memory = fake_map_memory,
	.report = fake_report,
};

static struct device_host host_of(struct fake_host *h)
{
	return (struct device_host){.ops = &fake_ops, .ctx = h};
}

static void read_id(struct device *dev, uint8_t id[VMGENID_ID_LEN])
{
	ck_assert_int_eq(device_read(dev, 0, id, 8), 0);
	ck_assert_int_eq(device_read(dev, 8, id + 8, 8), 0);
}

START_TEST(page_is_guest_memory)
{
	struct fake_host h = {0};
	struct device_host host = host_of(&h);
	uint8_t id[VMGENID_ID_LEN], zero[VMGENID_ID_LEN] = {0};

	ck_assert_int_eq(vmgenid_create(&host, BASE, IRQ), 0);
	ck_assert_ptr_nonnull(h.dev);
	ck_assert_uint_eq(h.dev->base, BASE);
	ck_assert_uint_eq(h.dev->size, VMGENID_SIZE);
	ck_assert_uint_eq(h.dev->irq, IRQ);
	ck_assert_str_eq(h.dev->ops->desc->compatible[0], "microsoft,vmgenid");
	ck_assert_uint_eq(h.mapped_gpa, BASE);
	ck_assert_uint_eq(h.mapped_size, VMGENID_SIZE);
	/* What the guest reads through the memslot is what an exit would read. */
	read_id(h.dev, id);
	ck_assert_mem_eq(h.mapped, id, VMGENID_ID_LEN);
	ck_assert(memcmp(id, zero, sizeof(id)) != 0);
	ck_assert_uint_eq(h.nr_levels, 0);
	/* The ID is the host's: the guest cannot write it, nor read past the page. */
	ck_assert_int_eq(device_write(h.dev, 0, zero, 8), -EINVAL);
	ck_assert_int_eq(device_read(h.dev, VMGENID_SIZE - 4, id, 8), -EINVAL);
	h.dev->ops->destroy(h.dev);
}
END_TEST

START_TEST(each_machine_its_own_id)
{
	struct fake_host a = {0}, b = {0};
	struct device_host ha = host_of(&a), hb = host_of(&b);

	ck_assert_int_eq(vmgenid_create(&ha, BASE, IRQ), 0);
	ck_assert_int_eq(vmgenid_create(&hb, BASE, IRQ), 0);
	ck_assert(memcmp(a.mapped, b.mapped, VMGENID_ID_LEN) != 0);
	a.dev->ops->destroy(a.dev);
	b.dev->ops->destroy(b.dev);
}
END_TEST

/* Two clones restored from one record: each a new ID, unlike the saved one
 * and unlike each other, each told once, at its first unquiesce. */
START_TEST(load_is_a_new_generation)
{
	struct fake_host saved = {0}, c1 = {0}, c2 = {0};
	struct device_host hs = host_of(&saved), h1 = host_of(&c1), h2 = host_of(&c2);
	struct fake_host *clones[] = {&c1, &c2};
	struct device_host *hosts[] = {&h1, &h2};
	uint8_t old_id[VMGENID_ID_LEN];
	struct state_buf buf;

	ck_assert_int_eq(vmgenid_create(&hs, BASE, IRQ), 0);
	memcpy(old_id, saved.mapped, sizeof(old_id));
	state_buf_init(&buf);
	ck_assert_int_eq(saved.dev->ops->save(saved.dev, &buf), 0);
	for (unsigned i = 0; i < 2; i++) {
		struct fake_host *c = clones[i];
		struct state_reader in;

		ck_assert_int_eq(vmgenid_create(hosts[i], BASE, IRQ), 0);
		state_reader_init(&in, buf.data, buf.len);
		ck_assert_int_eq(c->dev->ops->load(c->dev, &in), 0);
		ck_assert(state_reader_done(&in));
		ck_assert(memcmp(c->mapped, old_id, sizeof(old_id)) != 0);
		/* Not at load: the interrupt controller's state comes after. */
		ck_assert_uint_eq(c->nr_levels, 0);
		c->dev->ops->unquiesce(c->dev);
		ck_assert_uint_eq(c->nr_levels, 2);
		ck_assert_int_eq(c->levels[0], 1);
		ck_assert_int_eq(c->levels[1], 0);
		/* A pause and resume later is no new generation. */
		c->dev->ops->unquiesce(c->dev);
		ck_assert_uint_eq(c->nr_levels, 2);
	}
	ck_assert(memcmp(c1.mapped, c2.mapped, VMGENID_ID_LEN) != 0);
	/* The booted machine's resume tells nothing either. */
	saved.dev->ops->unquiesce(saved.dev);
	ck_assert_uint_eq(saved.nr_levels, 0);
	state_buf_free(&buf);
	saved.dev->ops->destroy(saved.dev);
	c1.dev->ops->destroy(c1.dev);
	c2.dev->ops->destroy(c2.dev);
}
END_TEST

START_TEST(bad_records_refused)
{
	struct fake_host h = {0};
	struct device_host host = host_of(&h);
	uint8_t before[VMGENID_ID_LEN];
	struct state_buf buf;
	struct state_reader in;

	ck_assert_int_eq(vmgenid_create(&host, BASE, IRQ), 0);
	memcpy(before, h.mapped, sizeof(before));
	/* Too short, a wrong version, another device's record. */
	state_buf_init(&buf);
	state_begin(&buf, "vmgenid", 1);
	state_put_bytes(&buf, before, 8);
	ck_assert_int_eq(state_end(&buf), 0);
	state_begin(&buf, "vmgenid", 2);
	state_put_bytes(&buf, before, VMGENID_ID_LEN);
	ck_assert_int_eq(state_end(&buf), 0);
	state_begin(&buf, "pl031", 1);
	state_put_bytes(&buf, before, VMGENID_ID_LEN);
	ck_assert_int_eq(state_end(&buf), 0);
	state_reader_init(&in, buf.data, buf.len);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(h.dev->ops->load(h.dev, &in), -EINVAL);
	ck_assert_mem_eq(h.mapped, before, sizeof(before));
	h.dev->ops->unquiesce(h.dev);
	ck_assert_uint_eq(h.nr_levels, 0);
	state_buf_free(&buf);
	h.dev->ops->destroy(h.dev);
}
END_TEST

START_TEST(map_failure_reported)
{
	struct fake_host h = {.map_fails = true};
	struct device_host host = host_of(&h);

	ck_assert_int_eq(vmgenid_create(&host, BASE, IRQ), -EEXIST);
	/* Placed on the bus first, so the host owns it and frees it. */
	ck_assert_ptr_nonnull(h.dev);
	h.dev->ops->destroy(h.dev);
}
END_TEST

Suite *vmgenid_suite(void)
{
	Suite *s = suite_create("vmgenid");
	TCase *tc = tcase_create("device");

	tcase_add_test(tc, page_is_guest_memory);
	tcase_add_test(tc, each_machine_its_own_id);
	tcase_add_test(tc, load_is_a_new_generation);
	tcase_add_test(tc, bad_records_refused);
	tcase_add_test(tc, map_failure_reported);
	suite_add_tcase(s, tc);
	return s;
}
