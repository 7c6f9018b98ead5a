/*
 * kvm-vmi: what the accelerator-specific traps share with the core
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VMI_INTERNAL_H
#define VMI_INTERNAL_H

#include "hw/core/cpu.h"
#include "accel/vmi/core/vmi-mechanism.h"
#include "accel/vmi/x86/vmi-abi.h"

/* The vCPU state a trap needs, however the accelerator obtained it. */
typedef struct VmiRegs {
    VmiAbi abi;             /* entry: the convention of the call */
    uint64_t nr;            /* entry: the system call number */
    uint64_t args[6];       /* entry: its arguments, in ABI order */
    /*
     * ia32 entry: read the arguments from the user's registers saved at
     * @saved_regs (the OS layer knows their layout) instead, or only the
     * sixth from the user stack at arg6_at.
     */
    bool args_in_saved_regs;
    uint64_t arg6_at;
    uint64_t ret;           /* return: the value user space gets */
    uint64_t cr3;
    bool la57;
    uint64_t lstar;         /* the system call entry the kernel installed */
    uint64_t percpu_base;   /* the kernel's per-cpu base (its GS base) */
    /*
     * Non-zero when the user's registers are still saved on the kernel
     * stack at this address rather than loaded.
     */
    uint64_t saved_regs;
} VmiRegs;

/* Trap handlers, called on the vCPU's thread without the BQL. */
void vmi_trap_syscall_enter(CPUState *cs, const VmiRegs *r);
void vmi_trap_return_to_user(CPUState *cs, const VmiRegs *r);

/*
 * The guest installed a system call entry point (boot, reboot, kexec):
 * identify the kernel again and move the traps.  vCPU thread.
 */
void vmi_lstar_written(CPUState *cs, const VmiRegs *r);

#endif
