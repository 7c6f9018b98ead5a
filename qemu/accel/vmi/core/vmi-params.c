/*
 * kvm-vmi: a system call's parameters, named, typed and decoded
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "accel/vmi/core/vmi-params.h"

void vmi_params_clear(VmiParams *ps)
{
    for (unsigned i = 0; i < ps->n; i++) {
        VmiParam *p = &ps->p[i];

        g_free(p->name);
        g_free(p->type);
        g_free(p->text);
        g_strfreev(p->strings);
        g_free(p->sockaddr.family);
        g_free(p->sockaddr.address);
        g_free(p->sockaddr.path);
    }
    memset(ps, 0, sizeof(*ps));
}
