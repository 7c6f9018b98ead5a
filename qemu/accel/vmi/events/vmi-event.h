/*
 * kvm-vmi: one event, from its trap to its consumer
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VMI_EVENT_H
#define VMI_EVENT_H

#include "qapi/qapi-types-vmi.h"
#include "accel/vmi/core/vmi-kernel.h"
#include "accel/vmi/core/vmi-params.h"

typedef enum VmiEventKind {
    VMI_EVENT_SYSCALL,
    VMI_EVENT_PROCESS_START,
    VMI_EVENT_PROCESS_EXIT,
} VmiEventKind;

typedef struct VmiEvent {
    uint64_t seq;           /* order of production, across vCPUs */
    size_t bytes;           /* its memory, for the ring's byte budget */
    VmiEventKind kind;
    VmiDirection direction;
    VmiAbi abi;
    int vcpu;
    uint64_t cr3;
    uint64_t nr;
    char *name;
    VmiTask task;
    bool task_known;
    uint64_t args[6];
    int64_t ret;
    int64_t elapsed_ns;     /* exit: guest time since the entry */
    VmiParams params;       /* decoded by the OS layer */
    bool has_params;
    const char *error_name; /* static: the OS's name of a failure */
    /* process events */
    VmiProcessStartKind start_kind;
    int32_t pid, ppid;
    int code;
    int signal;             /* exit: the signal that killed it, or 0 */
    bool core_dumped;
    char *path;
    char **argv;
    bool truncated;
    const char *error;      /* static: "unreadable", "walk-limit" */
} VmiEvent;

void vmi_event_free(VmiEvent *ev);
/* What @ev holds in memory, roughly, for the rings' byte budget */
size_t vmi_event_bytes(const VmiEvent *ev);

#endif
