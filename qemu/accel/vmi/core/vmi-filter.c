/*
 * kvm-vmi: trace filters
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A filter from QMP or -vmi is checked against the profile's kernel once,
 * then bound to each identified kernel as one byte per system call
 * number, so that the vCPU's decision is a table lookup.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "accel/vmi/core/vmi-filter.h"

static bool strv_has(char **v, const char *s)
{
    return v && g_strv_contains((const gchar *const *)v, s);
}

void vmi_filter_free(VmiTraceFilter *f)
{
    if (!f) {
        return;
    }
    g_strfreev(f->syscalls);
    g_free(f->pids);
    g_strfreev(f->processes);
    for (int abi = 0; abi < VMI_ABI_COUNT; abi++) {
        g_free(f->select[abi]);
    }
    g_free(f);
}

static uint8_t select_by_name(const VmiTraceFilter *f, const char *name)
{
    uint8_t sel = 0;

    if (!f->syscalls || strv_has(f->syscalls, name)) {
        sel |= VMI_SELECT_REPORT;
    }
    if (f->os->is_lifecycle_syscall && f->os->is_lifecycle_syscall(name)) {
        sel |= VMI_SELECT_LIFECYCLE;
    }
    return sel;
}

/* Precompute, per system call number of @k, what @f wants of it. */
void vmi_filter_bind(VmiTraceFilter *f, const VmiKernel *k)
{
    for (int abi = 0; abi < VMI_ABI_COUNT; abi++) {
        g_clear_pointer(&f->select[abi], g_free);
    }
    f->kernel = k;
    if (!k) {
        return;
    }
    for (int abi = 0; abi < VMI_ABI_COUNT; abi++) {
        unsigned n = k->abi_syscalls[abi];

        f->select[abi] = g_new0(uint8_t, n);
        for (unsigned nr = 0; nr < n; nr++) {
            f->select[abi][nr] =
                select_by_name(f, f->os->syscall_name(k, abi, nr));
        }
    }
}

VmiTraceFilter *vmi_filter_copy(const VmiTraceFilter *f)
{
    VmiTraceFilter *c = g_new0(VmiTraceFilter, 1);

    c->os = f->os;
    c->syscalls = g_strdupv(f->syscalls);
    c->pids = g_memdup2(f->pids, f->nr_pids * sizeof(*f->pids));
    c->nr_pids = f->nr_pids;
    c->processes = g_strdupv(f->processes);
    c->enter = f->enter;
    c->exit = f->exit;
    return c;
}

/* vCPU thread: the fast path is one table lookup. */
uint8_t vmi_filter_select(const VmiTraceFilter *f, const VmiKernel *k,
                          VmiAbi abi, uint64_t nr, const char *name)
{
    if (likely(f->kernel == k && nr < k->abi_syscalls[abi])) {
        return f->select[abi][nr];
    }
    return select_by_name(f, name);
}

bool vmi_filter_task(const VmiTraceFilter *f, const VmiTask *t, bool known)
{
    if (!f->nr_pids && !f->processes) {
        return true;
    }
    if (!known) {
        return false;
    }
    if (f->nr_pids) {
        size_t i;

        for (i = 0; i < f->nr_pids; i++) {
            if (f->pids[i] == t->pid || f->pids[i] == t->tgid) {
                break;
            }
        }
        if (i == f->nr_pids) {
            return false;
        }
    }
    return !f->processes || strv_has(f->processes, t->comm);
}

/* A filter from its QMP form, checked against the profile's kernel. */
VmiTraceFilter *vmi_filter_new(const VmiFilter *q, const VmiOsOps *os,
                               const VmiOsImage *img, Error **errp)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) comms = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) pids = g_array_new(false, false, sizeof(int64_t));
    const strList *name;
    const intList *pid;
    VmiTraceFilter *f;

    if (q && q->has_syscalls) {
        if (!q->syscalls) {
            error_setg(errp, "filter: 'syscalls' is empty; leave it out to "
                       "report every system call");
            return NULL;
        }
        for (name = q->syscalls; name; name = name->next) {
            if (!os->has_syscall(img, name->value)) {
                error_setg(errp, "filter: the guest kernel has no system "
                           "call '%s' (names are the kernel's, e.g. "
                           "'openat', 'newstat')", name->value);
                return NULL;
            }
            g_ptr_array_add(names, g_strdup(name->value));
        }
    }
    if (q && q->has_pids) {
        if (!q->pids) {
            error_setg(errp, "filter: 'pids' is empty; leave it out to "
                       "report every task");
            return NULL;
        }
        for (pid = q->pids; pid; pid = pid->next) {
            if (pid->value < 0 || pid->value > INT32_MAX) {
                error_setg(errp, "filter: pid %" PRId64 " is out of range "
                           "(0 to %d)", pid->value, INT32_MAX);
                return NULL;
            }
            g_array_append_val(pids, pid->value);
        }
    }
    if (q && q->has_processes) {
        if (!q->processes) {
            error_setg(errp, "filter: 'processes' is empty; leave it out "
                       "to report every task");
            return NULL;
        }
        for (name = q->processes; name; name = name->next) {
            if (!*name->value || strlen(name->value) >= VMI_COMM_LEN) {
                error_setg(errp, "filter: process name '%s' can never "
                           "match: the kernel keeps 1 to %d characters of "
                           "a task's name", name->value, VMI_COMM_LEN - 1);
                return NULL;
            }
            g_ptr_array_add(comms, g_strdup(name->value));
        }
    }
    f = g_new0(VmiTraceFilter, 1);
    f->os = os;
    if (names->len) {
        g_ptr_array_add(names, NULL);
        f->syscalls = (char **)g_ptr_array_steal(names, NULL);
    }
    if (comms->len) {
        g_ptr_array_add(comms, NULL);
        f->processes = (char **)g_ptr_array_steal(comms, NULL);
    }
    f->nr_pids = pids->len;
    f->pids = (int64_t *)g_array_free(g_steal_pointer(&pids), false);
    f->enter = f->exit = true;
    if (q && q->has_direction) {
        f->enter = q->direction != VMI_FILTER_DIRECTION_EXIT;
        f->exit = q->direction != VMI_FILTER_DIRECTION_ENTER;
    }
    return f;
}
