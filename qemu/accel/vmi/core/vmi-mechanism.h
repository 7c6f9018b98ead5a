/*
 * kvm-vmi: the mechanism interface, how system calls are trapped
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A mechanism makes vCPUs stop at system call entries and returns and
 * calls the trap handlers of vmi-internal.h.  It knows addresses and
 * what each one means (VmiTrapPoints), never the guest OS: the OS layer
 * derives the trap points from the kernel it identified.  The core
 * chooses a mechanism once per session (vmi_mechanism_select) and only
 * goes through this table, in the manner of QEMU's AccelOpsClass.
 */

#ifndef VMI_MECHANISM_H
#define VMI_MECHANISM_H

#include "qapi/qapi-types-vmi.h"
#include "accel/vmi/x86/vmi-abi.h"
#include "accel/vmi/core/vmi-trap-points.h"


typedef struct VmiMechanismOps {
    /* required: what query-vmi reports */
    VmiMechanism id;
    /*
     * required: check the accelerator can trap for us and claim what
     * trapping needs; nothing is trapped yet
     */
    bool (*start)(Error **errp);
    /*
     * Trap at @tp on every vCPU, or nothing if @tp is NULL.  Callable
     * from any thread.  NULL for a mechanism that needs no addresses
     * (TCG traps the instructions themselves).
     */
    bool (*arm)(const VmiTrapPoints *tp, Error **errp);
    /* remove every trap, synchronously, and give back what start took */
    void (*stop)(void);
    /* the machine was reset: trap nothing until the next kernel */
    void (*reset)(void);
    /* whether calls of @abi can be trapped at @tp; NULL: all can */
    bool (*traces_abi)(const VmiTrapPoints *tp, VmiAbi abi);
    /* per-vCPU counters for query-vmi; NULL or false: none */
    bool (*vcpu_stats)(unsigned index, uint64_t *debug_exits,
                       uint64_t *ioctls);
} VmiMechanismOps;

/* TCG: translation hooks on the system call instructions (vmi-tcg.c) */
extern const VmiMechanismOps vmi_mechanism_tcg;
/* stock KVM: hardware breakpoints (vmi-kvm.c, or its stub) */
extern const VmiMechanismOps vmi_mechanism_kvm_hwbp;

/* The mechanism for the running accelerator, or an error. */
const VmiMechanismOps *vmi_mechanism_select(Error **errp);

#endif
