/*
 * kvm-vmi: the -vmi command line option
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Parses -vmi into a VmiStartupConfig, every bad value named, and hands
 * it to the core (vmi_startup).
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-types-vmi.h"
#include "qapi/util.h"
#include "qemu/config-file.h"
#include "qemu/cutils.h"
#include "qemu/host-utils.h"
#include "qemu/option.h"
#include "system/vmi.h"
#include "accel/vmi/core/vmi-core.h"
#include "accel/vmi/events/vmi-ring.h"

QemuOptsList qemu_vmi_opts = {
    .name = "vmi",
    .implied_opt_name = "profile",
    .merge_lists = true,
    .head = QTAILQ_HEAD_INITIALIZER(qemu_vmi_opts.head),
    .desc = {
        {
            .name = "profile",
            .type = QEMU_OPT_STRING,
            .help = "guest kernel profile (ISF JSON from vmi-profile)",
        }, {
            .name = "syscalls",
            .type = QEMU_OPT_BOOL,
            .help = "trace system calls from start-up (default: off)",
        }, {
            .name = "filter-syscalls",
            .type = QEMU_OPT_STRING,
            .help = "report only these system calls (name:name:...)",
        }, {
            .name = "filter-pids",
            .type = QEMU_OPT_STRING,
            .help = "report only these pids or tgids (pid:pid:...)",
        }, {
            .name = "filter-processes",
            .type = QEMU_OPT_STRING,
            .help = "report only these task names (comm:comm:...)",
        }, {
            .name = "filter-direction",
            .type = QEMU_OPT_STRING,
            .help = "enter, exit or both (default)",
        }, {
            .name = "overflow",
            .type = QEMU_OPT_STRING,
            .help = "a full event ring drops (default) or blocks the vCPU",
        }, {
            .name = "chardev",
            .type = QEMU_OPT_STRING,
            .help = "write events to this chardev (JSON lines), not to QMP",
        }, {
            .name = "ring-size",
            .type = QEMU_OPT_SIZE,
            .help = "events queued per vCPU, a power of 2 (default 65536)",
        }, {
            .name = "ring-bytes",
            .type = QEMU_OPT_SIZE,
            .help = "bytes of events queued per vCPU (default 64M)",
        },
        { /* end of list */ }
    },
};

/* "a:b:c" of -vmi @key as a list; false, with @errp set, if empty */
static bool opt_list(QemuOpts *opts, const char *key, bool *has,
                     strList **list, Error **errp)
{
    const char *value = qemu_opt_get(opts, key);
    g_auto(GStrv) items = NULL;
    strList **tail = list;

    *has = value != NULL;
    if (!value) {
        return true;
    }
    items = g_strsplit(value, ":", -1);
    for (char **i = items; *i; i++) {
        if (!**i) {
            error_setg(errp, "%s='%s' has an empty item; separate items "
                       "with ':'", key, value);
            return false;
        }
        QAPI_LIST_APPEND(tail, g_strdup(*i));
    }
    return true;
}

static VmiFilter *cmdline_filter(QemuOpts *opts, Error **errp)
{
    g_autoptr(VmiFilter) f = g_new0(VmiFilter, 1);
    g_autoptr(strList) pids = NULL;
    const char *direction = qemu_opt_get(opts, "filter-direction");
    bool has_pids;

    if (!opt_list(opts, "filter-syscalls", &f->has_syscalls, &f->syscalls,
                  errp) ||
        !opt_list(opts, "filter-processes", &f->has_processes,
                  &f->processes, errp) ||
        !opt_list(opts, "filter-pids", &has_pids, &pids, errp)) {
        return NULL;
    }
    f->has_pids = has_pids;
    for (strList *e = pids; e; e = e->next) {
        int64_t pid;

        if (qemu_strtoi64(e->value, NULL, 10, &pid)) {
            error_setg(errp, "filter-pids: '%s' is not a number", e->value);
            return NULL;
        }
        QAPI_LIST_PREPEND(f->pids, pid);
    }
    if (direction) {
        int d = qapi_enum_parse(&VmiFilterDirection_lookup, direction, -1,
                                NULL);

        if (d < 0) {
            error_setg(errp, "filter-direction: '%s' is not enter, exit or "
                       "both", direction);
            return NULL;
        }
        f->has_direction = true;
        f->direction = d;
    }
    return g_steal_pointer(&f);
}

void vmi_cmdline_start(Error **errp)
{
    QemuOpts *opts = qemu_opts_find(qemu_find_opts("vmi"), NULL);
    g_autoptr(VmiFilter) filter = NULL;
    VmiStartupConfig c = { .overflow = VMI_OVERFLOW_DROP };
    Error *err = NULL;

    if (!opts) {
        return;
    }
    c.profile = qemu_opt_get(opts, "profile");
    if (!c.profile) {
        error_setg(errp, "-vmi: profile=FILE is required");
        return;
    }
    c.chardev = qemu_opt_get(opts, "chardev");
    if (qemu_opt_get(opts, "overflow")) {
        const char *overflow = qemu_opt_get(opts, "overflow");
        int o = qapi_enum_parse(&VmiOverflow_lookup, overflow, -1, NULL);

        if (o < 0) {
            error_setg(errp, "-vmi: overflow: '%s' is not drop or block",
                       overflow);
            return;
        }
        c.overflow = o;
    }
    if (qemu_opt_get(opts, "ring-size")) {
        uint64_t size = qemu_opt_get_size(opts, "ring-size", 0);

        if (size < VMI_RING_SIZE_MIN || size > VMI_RING_SIZE_MAX ||
            !is_power_of_2(size)) {
            error_setg(errp, "-vmi: ring-size: %" PRIu64 " is not a power "
                       "of 2 from %u to %u", size, VMI_RING_SIZE_MIN,
                       VMI_RING_SIZE_MAX);
            return;
        }
        c.ring_size = size;
    }
    if (qemu_opt_get(opts, "ring-bytes")) {
        uint64_t bytes = qemu_opt_get_size(opts, "ring-bytes", 0);

        if (bytes < VMI_RING_BYTES_MIN || bytes > VMI_RING_BYTES_MAX) {
            error_setg(errp, "-vmi: ring-bytes: %" PRIu64 " is out of range "
                       "(%" PRIu64 " to %" PRIu64 ")", bytes,
                       (uint64_t)VMI_RING_BYTES_MIN,
                       (uint64_t)VMI_RING_BYTES_MAX);
            return;
        }
        c.ring_bytes = bytes;
    }
    filter = cmdline_filter(opts, &err);
    c.filter = filter;
    c.syscalls = qemu_opt_get_bool(opts, "syscalls", false);
    if (!filter || !vmi_startup(&c, &err)) {
        error_propagate_prepend(errp, err, "-vmi: ");
    }
}
