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
#include "vmi-internal.h"
#include "vmi-kernels.h"
#include "vmi-pending.h"

/*
 * Bytes of events queued per vCPU by default (and in its overflow queue),
 * and the bounds of -vmi ring-bytes=: with events of up to 64 KiB of
 * guest text, a count of slots alone bounds nothing.
 */
#define VMI_RING_BYTES      (64 * MiB)
#define VMI_RING_BYTES_MIN  (1 * MiB)
#define VMI_RING_BYTES_MAX  (64 * GiB)
/* Events queued per vCPU by default, and the bounds of -vmi ring-size= */
#define VMI_RING_SIZE       65536
#define VMI_RING_SIZE_MIN   64
#define VMI_RING_SIZE_MAX   (1u << 20)

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
