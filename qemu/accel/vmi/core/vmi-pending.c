/*
 * kvm-vmi: system calls in flight, by task
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * An entry is made at a system call's entry and taken at its return. The
 * guest decides which calls return, so the table is bounded by evicting
 * its oldest entry, and a thread group's entries go when it exits.  Each
 * entry is also linked in its thread group's list, so that a group's exit
 * costs its own entries, not a walk of the whole table.
 * Callers serialise access.
 */

#include "qemu/osdep.h"
#include "accel/vmi/core/vmi-pending.h"

void vmi_pending_init(VmiPendingTable *t, unsigned max,
                      void (*free_entry)(VmiPendingEntry *e))
{
    t->by_task = g_hash_table_new(g_int64_hash, g_int64_equal);
    t->by_tgid = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    g_queue_init(&t->order);
    t->max = MAX(max, 1);
    t->evicted = 0;
    t->free_entry = free_entry;
}

/* Unlink @e from its thread group's list, and drop the list once empty. */
static void group_unlink(VmiPendingTable *t, VmiPendingEntry *e)
{
    gpointer key = GINT_TO_POINTER(e->tgid);
    GQueue *q = g_hash_table_lookup(t->by_tgid, key);

    g_queue_unlink(q, &e->group);
    if (g_queue_is_empty(q)) {
        g_hash_table_remove(t->by_tgid, key);
    }
}

/* Unlink @e from every index and free it. */
static void remove_entry(VmiPendingTable *t, VmiPendingEntry *e)
{
    g_hash_table_remove(t->by_task, &e->task);
    g_queue_unlink(&t->order, &e->order);
    group_unlink(t, e);
    t->free_entry(e);
}

void vmi_pending_clear(VmiPendingTable *t)
{
    GList *l;

    g_hash_table_remove_all(t->by_task);
    g_hash_table_remove_all(t->by_tgid);
    while ((l = g_queue_peek_head_link(&t->order))) {
        g_queue_unlink(&t->order, l);
        t->free_entry(l->data);
    }
}

void vmi_pending_destroy(VmiPendingTable *t)
{
    vmi_pending_clear(t);
    g_hash_table_destroy(t->by_task);
    g_hash_table_destroy(t->by_tgid);
    t->by_task = NULL;
    t->by_tgid = NULL;
}

void vmi_pending_add(VmiPendingTable *t, VmiPendingEntry *e)
{
    VmiPendingEntry *old = g_hash_table_lookup(t->by_task, &e->task);
    GQueue *group;

    if (old) {
        /* the task's earlier call never returned (killed, or exec'd) */
        remove_entry(t, old);
    }
    while (g_hash_table_size(t->by_task) >= t->max) {
        GList *l = g_queue_peek_head_link(&t->order);

        remove_entry(t, l->data);
        t->evicted++;
    }
    e->order.data = e;
    e->order.prev = e->order.next = NULL;
    g_queue_push_tail_link(&t->order, &e->order);
    g_hash_table_insert(t->by_task, &e->task, e);
    group = g_hash_table_lookup(t->by_tgid, GINT_TO_POINTER(e->tgid));
    if (!group) {
        /* g_free, not g_queue_free: the links belong to the entries */
        group = g_new0(GQueue, 1);
        g_hash_table_insert(t->by_tgid, GINT_TO_POINTER(e->tgid), group);
    }
    e->group.data = e;
    e->group.prev = e->group.next = NULL;
    g_queue_push_tail_link(group, &e->group);
}

VmiPendingEntry *vmi_pending_take(VmiPendingTable *t, uint64_t task)
{
    VmiPendingEntry *e = g_hash_table_lookup(t->by_task, &task);

    if (e) {
        g_queue_unlink(&t->order, &e->order);
        g_hash_table_steal(t->by_task, &task);
        group_unlink(t, e);
    }
    return e;
}

unsigned vmi_pending_drop_group(VmiPendingTable *t, int32_t tgid)
{
    GQueue *group = g_hash_table_lookup(t->by_tgid, GINT_TO_POINTER(tgid));
    unsigned dropped = 0;

    /* the last removal frees the group's list */
    for (unsigned n = group ? group->length : 0; n; n--) {
        remove_entry(t, g_queue_peek_head(group));
        dropped++;
    }
    return dropped;
}

unsigned vmi_pending_count(const VmiPendingTable *t)
{
    return g_hash_table_size(t->by_task);
}
