/*
 * kvm-vmi: trace filters
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VMI_FILTER_H
#define VMI_FILTER_H

#include "qemu/rcu.h"
#include "qapi/qapi-types-vmi.h"
#include "accel/vmi/core/vmi-os.h"

/* Per system call number: what the filter wants of it */
enum {
    VMI_SELECT_REPORT = 1,      /* its VMI_SYSCALL events */
    VMI_SELECT_LIFECYCLE = 2,   /* it makes process events */
};

typedef struct VmiTraceFilter VmiTraceFilter;

/* Immutable once published; replaced by vmi-set-filter and on reboot. */
struct VmiTraceFilter {
    struct rcu_head rcu;
    const VmiOsOps *os;     /* names and process calls are its */
    char **syscalls;        /* NULL: every one */
    int64_t *pids;
    size_t nr_pids;         /* 0: every task */
    char **processes;       /* NULL: every task */
    bool enter, exit;
    const VmiKernel *kernel;    /* @select was built for it */
    uint8_t *select[VMI_ABI_COUNT];
};

/* A filter from its QMP form, checked against the profile's kernel. */
VmiTraceFilter *vmi_filter_new(const VmiFilter *q, const VmiOsOps *os,
                               const VmiOsImage *img, Error **errp);
/* A copy of @f's settings, not bound to any kernel */
VmiTraceFilter *vmi_filter_copy(const VmiTraceFilter *f);
void vmi_filter_free(VmiTraceFilter *f);
/* Precompute, per system call number of @k, what @f wants of it. */
void vmi_filter_bind(VmiTraceFilter *f, const VmiKernel *k);
/* vCPU thread: VMI_SELECT_* for a call; one table lookup when bound */
uint8_t vmi_filter_select(const VmiTraceFilter *f, const VmiKernel *k,
                          VmiAbi abi, uint64_t nr, const char *name);
/* Whether @f reports task @t (@known: @t could be read) */
bool vmi_filter_task(const VmiTraceFilter *f, const VmiTask *t, bool known);

#endif
