/*
 * kvm-vmi: one event, from its trap to its consumer
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "accel/vmi/events/vmi-event.h"

void vmi_event_free(VmiEvent *ev)
{
    g_free(ev->name);
    g_free(ev->path);
    g_strfreev(ev->argv);
    vmi_params_clear(&ev->params);
    g_free(ev);
}

/* What @ev holds on the heap, roughly: its strings and their arrays */
static size_t strv_bytes(char **v)
{
    size_t n = 0;

    for (char **p = v; p && *p; p++) {
        n += strlen(*p) + 1 + sizeof(char *);
    }
    return v ? n + sizeof(char *) : 0;
}

static size_t str_bytes(const char *str)
{
    return str ? strlen(str) + 1 : 0;
}

size_t vmi_event_bytes(const VmiEvent *ev)
{
    size_t n = sizeof(*ev) + str_bytes(ev->name) + str_bytes(ev->path) +
               strv_bytes(ev->argv);

    for (unsigned i = 0; i < ev->params.n; i++) {
        const VmiParam *p = &ev->params.p[i];

        n += str_bytes(p->name) + str_bytes(p->type) + str_bytes(p->text) +
             strv_bytes(p->strings) + str_bytes(p->sockaddr.family) +
             str_bytes(p->sockaddr.address) + str_bytes(p->sockaddr.path);
    }
    return n;
}
