/*
 * kvm-vmi: system calls in flight, by task
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * An entry is made at a system call's entry and taken at its return. The
 * guest decides which calls return, so the table is bounded by evicting
 * its oldest entry, and a thread group's entries go when it exits.
 * Callers serialise access.
 */

#ifdef VMI_STANDALONE
#include "vmi-standalone.h"
#else
#include "qemu/osdep.h"
#endif
#include "vmi-pending.h"

void vmi_pending_init(VmiPendingTable *t, unsigned max,
                      void (*free_entry)(VmiPendingEntry *e))
{
    t->by_task = g_hash_table_new(g_int64_hash, g_int64_equal);
    g_queue_init(&t->order);
    t->max = MAX(max, 1);
    t->evicted = 0;
    t->free_entry = free_entry;
}

/* Unlink @e from both indexes and free it. */
static void remove_entry(VmiPendingTable *t, VmiPendingEntry *e)
{
    g_hash_table_remove(t->by_task, &e->task);
    g_queue_unlink(&t->order, &e->order);
    t->free_entry(e);
}

void vmi_pending_clear(VmiPendingTable *t)
{
    GList *l;

    g_hash_table_remove_all(t->by_task);
    while ((l = g_queue_peek_head_link(&t->order))) {
        g_queue_unlink(&t->order, l);
        t->free_entry(l->data);
    }
}

void vmi_pending_destroy(VmiPendingTable *t)
{
    vmi_pending_clear(t);
    g_hash_table_destroy(t->by_task);
    t->by_task = NULL;
}

void vmi_pending_add(VmiPendingTable *t, VmiPendingEntry *e)
{
    VmiPendingEntry *old = g_hash_table_lookup(t->by_task, &e->task);

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
}

VmiPendingEntry *vmi_pending_take(VmiPendingTable *t, uint64_t task)
{
    VmiPendingEntry *e = g_hash_table_lookup(t->by_task, &task);

    if (e) {
        g_queue_unlink(&t->order, &e->order);
        g_hash_table_steal(t->by_task, &task);
    }
    return e;
}

unsigned vmi_pending_drop_group(VmiPendingTable *t, int32_t tgid)
{
    GList *l = g_queue_peek_head_link(&t->order);
    unsigned dropped = 0;

    while (l) {
        GList *next = l->next;
        VmiPendingEntry *e = l->data;

        if (e->tgid == tgid) {
            remove_entry(t, e);
            dropped++;
        }
        l = next;
    }
    return dropped;
}

unsigned vmi_pending_count(const VmiPendingTable *t)
{
    return g_hash_table_size(t->by_task);
}
