/*
 * kvm-vmi: QMP commands that switch tracing on and off and report on it
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-vmi.h"
#include "monitor/monitor.h"
#include "qemu/lockable.h"
#include "accel/vmi/core/vmi-core.h"
#include "accel/vmi/events/vmi-delivery.h"
#include "accel/vmi/events/vmi-ring.h"

void qmp_vmi_enable(const char *profile, VmiFilter *filter,
                    bool has_overflow, VmiOverflow overflow,
                    const char *chardev, Error **errp)
{
    /* overflow=block keeps pace with the client that asked */
    Monitor *follow = monitor_cur_is_qmp() ? monitor_cur() : NULL;

    vmi_session_enable(profile, filter, has_overflow, overflow, chardev,
                       follow, errp);
}

void qmp_vmi_set_filter(VmiFilter *filter, Error **errp)
{
    vmi_session_set_filter(filter, errp);
}

void qmp_vmi_disable(Error **errp)
{
    vmi_session_disable();
}

VmiInfo *qmp_query_vmi(Error **errp)
{
    VmiInfo *info = g_new0(VmiInfo, 1);
    VmiSession *s = vmi_session();
    VmiVcpuInfoList **tail = &info->vcpus;

    info->state = VMI_STATE_OFF;
    info->mechanism = s ? s->mech->id : VMI_MECHANISM_NONE;
    if (s) {
        QEMU_LOCK_GUARD(&s->lock);
        info->profile = g_strdup(s->profile);
        if (s->error) {
            info->state = VMI_STATE_ERROR;
            info->error = g_strdup(s->error);
        } else if (s->kernel) {
            info->state = VMI_STATE_TRACING;
        } else {
            info->state = VMI_STATE_ARMED;
        }
        if (s->kernel) {
            info->kernel = g_strdup(s->kernel->banner);
            info->has_kaslr_slide = true;
            info->kaslr_slide = s->kernel->slide;
            info->has_syscalls = true;
            info->syscalls = s->kernel->nr_syscalls;
            info->has_prototypes = true;
            info->prototypes = s->kernel->nr_protos;
            if (!vmi_session_traces_abi(s, s->kernel, VMI_ABI_IA32)) {
                info->has_untraced_abis = true;
                QAPI_LIST_PREPEND(info->untraced_abis, VMI_SYSCALL_ABI_IA32);
            }
        }
        info->pending = vmi_pending_count(&s->pending);
        info->pending_evicted = s->pending.evicted;
    }
    info->events = vmi_delivery_events();
    info->pending_abandoned = vmi_delivery_abandoned();
    info->skipped = vmi_delivery_skipped();
    info->overflow = vmi_rings_overflow();
    info->ring_size = vmi_rings_slots();
    info->ring_bytes = vmi_rings_byte_budget();
    info->chardev = g_strdup(vmi_delivery_chardev());
    for (unsigned i = 0; i < vmi_rings_count(); i++) {
        VmiVcpuInfo *v = g_new0(VmiVcpuInfo, 1);
        VmiRingStats st;

        vmi_ring_stats(i, &st);
        v->vcpu = i;
        v->trapped = st.trapped;
        v->dropped = st.dropped;
        v->filtered = st.filtered;
        v->emitted = st.emitted;
        v->produced = st.produced;
        if (s && s->mech->vcpu_stats) {
            uint64_t exits, ioctls;

            if (s->mech->vcpu_stats(i, &exits, &ioctls)) {
                v->has_debug_exits = v->has_ioctls = true;
                v->debug_exits = exits;
                v->ioctls = ioctls;
            }
        }
        info->dropped += v->dropped;
        QAPI_LIST_APPEND(tail, v);
    }
    return info;
}

