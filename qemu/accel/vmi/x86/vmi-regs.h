/*
 * kvm-vmi: the x86-64 register map
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * One map, whatever holds the registers: each accelerator fills the
 * schema's VmiRegisters (what vmi-read-registers returns), and the
 * system call conventions are read from that, in one place.
 */

#ifndef VMI_REGS_H
#define VMI_REGS_H

#include "qapi/qapi-types-vmi.h"
#include "hw/core/cpu.h"
#include "accel/vmi/core/vmi-internal.h"

/* @cs's registers, as QEMU holds them (TCG, or KVM once synchronized) */
void vmi_x86_regs_from_cpu(CPUState *cs, VmiRegisters *x);
/* What a trap at the 64-bit SYSCALL entry sees in @x */
void vmi_regs_at_syscall(const VmiRegisters *x, VmiRegs *r);
/*
 * What a trap at a 32-bit entry sees in @x (@how: VMI_IA32_* of
 * system/vmi.h)
 */
void vmi_regs_at_syscall_ia32(const VmiRegisters *x, int how, VmiRegs *r);
/* @cs's registers, as a trap at the 64-bit entry would see them */
void vmi_regs_from_cpu(CPUState *cs, VmiRegs *r);

#endif
