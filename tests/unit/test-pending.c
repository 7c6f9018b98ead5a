/*
 * Unit tests: the table of system calls in flight.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "accel/vmi/core/vmi-pending.h"

typedef struct Call {
    VmiPendingEntry e;
    int nr;
} Call;

static unsigned freed;

static void call_free(VmiPendingEntry *e)
{
    freed++;
    g_free(e);
}

static Call *call_new(uint64_t task, int32_t tgid, int nr)
{
    Call *c = g_new0(Call, 1);

    c->e.task = task;
    c->e.tgid = tgid;
    c->nr = nr;
    return c;
}

static void test_take(void)
{
    VmiPendingTable t;
    Call *c;

    freed = 0;
    vmi_pending_init(&t, 16, call_free);
    vmi_pending_add(&t, &call_new(0x1000, 1, 0)->e);
    vmi_pending_add(&t, &call_new(0x2000, 2, 1)->e);
    g_assert_cmpuint(vmi_pending_count(&t), ==, 2);
    c = (Call *)vmi_pending_take(&t, 0x2000);
    g_assert_nonnull(c);
    g_assert_cmpint(c->nr, ==, 1);
    g_free(c);
    g_assert_null(vmi_pending_take(&t, 0x2000));
    /* a task's new call replaces the one that never returned */
    vmi_pending_add(&t, &call_new(0x1000, 1, 59)->e);
    g_assert_cmpuint(vmi_pending_count(&t), ==, 1);
    g_assert_cmpuint(freed, ==, 1);
    c = (Call *)vmi_pending_take(&t, 0x1000);
    g_assert_cmpint(c->nr, ==, 59);
    g_free(c);
    vmi_pending_destroy(&t);
}

/*
 * Full: the oldest entry goes, one at a time and counted; every other
 * task keeps its call, so a guest cannot flush the table to hide one.
 */
static void test_evict_oldest(void)
{
    VmiPendingTable t;
    uint64_t i;

    freed = 0;
    vmi_pending_init(&t, 8, call_free);
    for (i = 0; i < 8; i++) {
        vmi_pending_add(&t, &call_new(0x1000 * (i + 1), i + 1, i)->e);
    }
    for (i = 8; i < 20; i++) {
        vmi_pending_add(&t, &call_new(0x1000 * (i + 1), i + 1, i)->e);
        g_assert_cmpuint(vmi_pending_count(&t), ==, 8);
        g_assert_cmpuint(t.evicted, ==, i - 7);
        /* the victim was the oldest: the next one still answers */
        g_assert_null(vmi_pending_take(&t, 0x1000 * (i - 7)));
    }
    for (i = 12; i < 20; i++) {
        Call *c = (Call *)vmi_pending_take(&t, 0x1000 * (i + 1));

        g_assert_nonnull(c);
        g_assert_cmpint(c->nr, ==, i);
        g_free(c);
    }
    g_assert_cmpuint(vmi_pending_count(&t), ==, 0);
    vmi_pending_destroy(&t);
}

/* exit_group: blocked threads of the group never return */
static void test_drop_group(void)
{
    VmiPendingTable t;
    uint64_t i;
    Call *c;

    freed = 0;
    vmi_pending_init(&t, 64, call_free);
    for (i = 0; i < 32; i++) {
        vmi_pending_add(&t, &call_new(0x1000 * (i + 1), i % 2 ? 7 : 9, i)->e);
    }
    g_assert_cmpuint(vmi_pending_drop_group(&t, 7), ==, 16);
    g_assert_cmpuint(vmi_pending_count(&t), ==, 16);
    g_assert_cmpuint(freed, ==, 16);
    g_assert_cmpuint(t.evicted, ==, 0);
    g_assert_cmpuint(vmi_pending_drop_group(&t, 7), ==, 0);
    c = (Call *)vmi_pending_take(&t, 0x1000);
    g_assert_nonnull(c);
    g_free(c);
    g_assert_null(vmi_pending_take(&t, 0x2000));
    /* the age order survives removals from its middle */
    vmi_pending_clear(&t);
    g_assert_cmpuint(vmi_pending_count(&t), ==, 0);
    g_assert_cmpuint(freed, ==, 31);
    vmi_pending_destroy(&t);
}

/*
 * The groups' lists follow every way out of the table (take, replace,
 * evict), so a group's exit drops exactly its remaining entries.
 */
static void test_group_index(void)
{
    VmiPendingTable t;
    Call *c;

    freed = 0;
    vmi_pending_init(&t, 4, call_free);
    vmi_pending_add(&t, &call_new(0x10, 5, 0)->e);
    vmi_pending_add(&t, &call_new(0x20, 5, 1)->e);
    vmi_pending_add(&t, &call_new(0x30, 6, 2)->e);
    /* a task's new call replaces its old one, which leaves the group */
    vmi_pending_add(&t, &call_new(0x20, 5, 3)->e);
    c = (Call *)vmi_pending_take(&t, 0x10);
    g_free(c);
    /* full: 0x30 (group 6) is the oldest and is evicted */
    vmi_pending_add(&t, &call_new(0x40, 8, 4)->e);
    vmi_pending_add(&t, &call_new(0x50, 8, 5)->e);
    vmi_pending_add(&t, &call_new(0x60, 8, 6)->e);
    g_assert_cmpuint(t.evicted, ==, 1);
    g_assert_cmpuint(vmi_pending_drop_group(&t, 6), ==, 0);
    g_assert_cmpuint(vmi_pending_drop_group(&t, 5), ==, 1);
    g_assert_cmpuint(vmi_pending_drop_group(&t, 8), ==, 3);
    g_assert_cmpuint(vmi_pending_count(&t), ==, 0);
    g_assert_cmpuint(g_hash_table_size(t.by_tgid), ==, 0);
    /* a group's list is made again for its next entry */
    vmi_pending_add(&t, &call_new(0x70, 8, 7)->e);
    g_assert_cmpuint(vmi_pending_drop_group(&t, 8), ==, 1);
    vmi_pending_destroy(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmi/pending/take", test_take);
    g_test_add_func("/vmi/pending/evict-oldest", test_evict_oldest);
    g_test_add_func("/vmi/pending/drop-group", test_drop_group);
    g_test_add_func("/vmi/pending/group-index", test_group_index);
    return g_test_run();
}
