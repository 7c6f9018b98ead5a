/*
 * kvm-vmi: what the core's files share
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VMI_CORE_H
#define VMI_CORE_H

#include "vmi-internal.h"
#include "vmi-kernels.h"
#include "vmi-pending.h"

typedef struct VmiTraceFilter VmiTraceFilter;

typedef struct VmiOs VmiOs;

typedef struct VmiSession {
    struct rcu_head rcu;
    VmiOs *osref;
    VmiLinux *os;           /* osref's */
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

/*
 * Read guest RAM at @pa (@opaque: the CPU's AddressSpace); device memory
 * is refused, so a hostile page table cannot make us poke devices.
 */
bool vmi_read_guest_ram(void *opaque, uint64_t pa, void *buf, size_t len);
/* Guest memory as @r's page tables map it, with the kernel reachable */
void vmi_mem_for_regs(VmiMem *m, const VmiSession *s, CPUState *cs,
                      const VmiRegs *r);
/* @cs's registers, as a trap at the 64-bit entry would see them (TCG) */
void vmi_regs_from_cpu(CPUState *cs, VmiRegs *r);

#endif
