/*
 * kvm-vmi: the TCG mechanism
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * TCG traps the system call instructions themselves, through hooks in
 * the translated code (SYSCALL, SYSRET, IRET, int $0x80, SYSENTER):
 * there is nothing to claim and no address to arm, and every convention
 * is traced on every kernel.
 */

#include "qemu/osdep.h"
#include "hw/core/cpu.h"
#include "system/vmi.h"
#include "cpu.h"
#include "accel/vmi/core/vmi-internal.h"
#include "accel/vmi/x86/vmi-regs.h"

static bool tcg_start(Error **errp)
{
    return true;
}

const VmiMechanismOps vmi_mechanism_tcg = {
    .id = VMI_MECHANISM_TCG,
    .start = tcg_start,
};

void vmi_syscall_enter(CPUState *cs)
{
    VmiRegs r;

    vmi_regs_from_cpu(cs, &r);
    vmi_trap_syscall_enter(cs, &r);
}

void vmi_syscall_enter_ia32(CPUState *cs, int how)
{
    VmiRegisters x;
    VmiRegs r;

    vmi_x86_regs_from_cpu(cs, &x);
    vmi_regs_at_syscall_ia32(&x, how, &r);
    vmi_trap_syscall_enter(cs, &r);
}

void vmi_return_to_user(CPUState *cs)
{
    VmiRegs r;

    vmi_regs_from_cpu(cs, &r);
    vmi_trap_return_to_user(cs, &r);
}
