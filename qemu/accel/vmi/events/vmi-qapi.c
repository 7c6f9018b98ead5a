/*
 * kvm-vmi: decoded arguments in their QAPI form
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The trap path decodes into plain C structures (VmiParams);
 * delivery turns them into the QAPI objects that QMP and the chardev
 * sink serialise.  Strings are moved, not copied.
 */

#include "qemu/osdep.h"
#include "accel/vmi/events/vmi-qapi.h"

VmiSyscallParamList *vmi_params_to_qapi(VmiParams *ps)
{
    VmiSyscallParamList *list = NULL, **tail = &list;

    for (unsigned i = 0; i < ps->n; i++) {
        VmiParam *p = &ps->p[i];
        VmiSyscallParam *q = g_new0(VmiSyscallParam, 1);

        q->name = g_steal_pointer(&p->name);
        q->type = g_steal_pointer(&p->type);
        q->value = p->raw;
        if (p->has_int && p->int_signed) {
            q->has_q_int = true;
            q->q_int = (int64_t)p->int_value;
        } else if (p->has_int) {
            q->has_uint = true;
            q->uint = p->int_value;
        }
        switch (p->kind) {
        case VMI_PARAM_STRING:
            q->string = g_steal_pointer(&p->text);
            break;
        case VMI_PARAM_FD:
            q->fd = g_steal_pointer(&p->text);
            break;
        case VMI_PARAM_FLAGS:
            q->flags = g_steal_pointer(&p->text);
            break;
        case VMI_PARAM_STRINGS:
            if (p->strings) {
                strList **st = &q->strings;

                q->has_strings = true;
                for (char **s = p->strings; *s; s++) {
                    QAPI_LIST_APPEND(st, g_steal_pointer(s));
                }
            }
            break;
        case VMI_PARAM_SOCKADDR:
            if (p->sockaddr.family) {
                q->sockaddr = g_new0(VmiSockaddr, 1);
                q->sockaddr->family = g_steal_pointer(&p->sockaddr.family);
                q->sockaddr->address = g_steal_pointer(&p->sockaddr.address);
                q->sockaddr->path = g_steal_pointer(&p->sockaddr.path);
                if (p->sockaddr.port >= 0) {
                    q->sockaddr->has_port = true;
                    q->sockaddr->port = p->sockaddr.port;
                }
            }
            break;
        case VMI_PARAM_VALUE:
            break;
        }
        if (p->truncated) {
            q->has_truncated = q->truncated = true;
        }
        if (p->unreadable) {
            q->error = g_strdup("unreadable");
        }
        QAPI_LIST_APPEND(tail, q);
    }
    return list;
}

/*
 * The chardev sink: one JSON object per line, the same objects QMP would
 * carry.  What the chardev cannot take now waits in sink_buf; the drain
 * stops while that holds more than VMI_BACKLOG_MAX.
 */
