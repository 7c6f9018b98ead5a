/*
 * kvm-vmi: system calls in flight, by task
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VMI_PENDING_H
#define VMI_PENDING_H

/*
 * The table's part of a system call in flight; the caller embeds it as
 * the first member of its own record and gives the table a function to
 * free that record.
 */
typedef struct VmiPendingEntry {
    uint64_t task;      /* key: the guest's task_struct address */
    int32_t tgid;       /* the task's thread group */
    GList order;        /* link in the table's oldest-first list */
    GList group;        /* link in its thread group's list */
} VmiPendingEntry;

/*
 * Bounded: a guest can leave entries behind at will (a task killed inside
 * a call never returns), so when full the oldest entry is evicted, one at
 * a time and counted; the table is never cleared to make room.
 */
typedef struct VmiPendingTable {
    GHashTable *by_task;    /* &entry->task -> entry */
    GHashTable *by_tgid;    /* tgid -> GQueue of its entries */
    GQueue order;           /* entries, oldest first */
    unsigned max;
    uint64_t evicted;       /* entries dropped to make room */
    void (*free_entry)(VmiPendingEntry *e);
} VmiPendingTable;

void vmi_pending_init(VmiPendingTable *t, unsigned max,
                      void (*free_entry)(VmiPendingEntry *e));
void vmi_pending_destroy(VmiPendingTable *t);
/* Forget every entry (a new kernel: no call in flight can return). */
void vmi_pending_clear(VmiPendingTable *t);
/* Add @e, replacing @e->task's entry, evicting the oldest when full. */
void vmi_pending_add(VmiPendingTable *t, VmiPendingEntry *e);
/* Remove @task's entry and return it; NULL if there is none. */
VmiPendingEntry *vmi_pending_take(VmiPendingTable *t, uint64_t task);
/*
 * A thread group exits: its threads' calls in flight never return.
 * Returns how many were dropped.
 */
unsigned vmi_pending_drop_group(VmiPendingTable *t, int32_t tgid);
unsigned vmi_pending_count(const VmiPendingTable *t);

#endif
