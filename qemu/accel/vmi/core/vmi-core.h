/*
 * kvm-vmi: what the core's files share
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VMI_CORE_H
#define VMI_CORE_H

#include "qemu/rcu.h"
#include "qemu/thread.h"
#include "qemu/units.h"
#include "qapi/qapi-types-vmi.h"
#include "accel/vmi/core/vmi-internal.h"
#include "accel/vmi/core/vmi-os.h"
#include "accel/vmi/core/vmi-kernels.h"
#include "accel/vmi/core/vmi-pending.h"

typedef struct VmiTraceFilter VmiTraceFilter;

/* A parsed profile, shared by the sessions made from it */
typedef struct VmiOsRef VmiOsRef;

typedef struct VmiSession {
    struct rcu_head rcu;
    VmiOsRef *osref;
    const VmiOsOps *os;     /* the guest OS's layer */
    const VmiOsImage *image;    /* osref's: what the profile says */
    const char *profile;    /* osref's: the profile's path */
    const VmiMechanismOps *mech;
    VmiKernel *kernel;      /* RCU-published, replaced on reboot */
    VmiTraceFilter *filter; /* RCU-published; never NULL when enabled */
    QemuMutex lock;         /* protects the members below */
    VmiKernelsKept kept;            /* earlier kernels of this session */
    VmiRateLimit identify_rate;     /* of identifications of new kernels */
    uint64_t failed_lstar;
    char *error;
    VmiPendingTable pending;    /* of VmiPending */
    uint32_t nr_pending;    /* its size, also read without the lock */
} VmiSession;

/* The session, or NULL when introspection is off; RCU read side. */
VmiSession *vmi_session(void);

/* Guest memory as @r's page tables map it, with the kernel reachable */
void vmi_mem_for_regs(VmiMem *m, const VmiSession *s, CPUState *cs,
                      const VmiRegs *r);

/*
 * The kernel running behind @lstar, identified on first sight (a boot);
 * NULL if it is not the profile's.  vCPU thread, RCU read side.
 */
const VmiKernel *vmi_session_kernel(VmiSession *s, VmiMem *m,
                                    uint64_t lstar);
/* Whether @s's mechanism traps calls of @abi on @k. */
bool vmi_session_traces_abi(VmiSession *s, const VmiKernel *k, VmiAbi abi);
/*
 * Start tracing; unset arguments take -vmi's values.  Delivery keeps
 * pace with QMP client @follow, if not NULL.  Main loop, BQL held, as
 * are the two below.
 */
bool vmi_session_enable(const char *profile, VmiFilter *filter,
                        bool has_overflow, VmiOverflow overflow,
                        const char *chardev, Monitor *follow, Error **errp);
bool vmi_session_set_filter(VmiFilter *filter, Error **errp);
/* Stop tracing: what was trapped is still delivered. */
void vmi_session_disable(void);

/* The table of system calls in flight, made for the trap handlers */
void vmi_trap_pending_init(VmiPendingTable *t);
/*
 * A reset or a new kernel ended every call in flight: count and forget
 * them.  s->lock held.
 */
void vmi_trap_abandon_calls(VmiSession *s);

/* What -vmi asks for at start-up */
typedef struct VmiStartupConfig {
    const char *profile;
    const char *chardev;    /* events go there, not to QMP; or NULL */
    VmiOverflow overflow;
    uint64_t ring_size;     /* 0: the default */
    uint64_t ring_bytes;    /* 0: the default */
    VmiFilter *filter;
    bool syscalls;          /* trace from start-up */
} VmiStartupConfig;

bool vmi_startup(const VmiStartupConfig *c, Error **errp);

#endif
