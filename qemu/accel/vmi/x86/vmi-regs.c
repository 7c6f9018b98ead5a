/*
 * kvm-vmi: the x86-64 register map
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "system/vmi.h"
#include "cpu.h"
#include "accel/vmi/x86/vmi-regs.h"

void vmi_x86_regs_from_cpu(CPUState *cs, VmiRegisters *x)
{
    CPUX86State *env = cpu_env(cs);

    x->rax = env->regs[R_EAX];
    x->rbx = env->regs[R_EBX];
    x->rcx = env->regs[R_ECX];
    x->rdx = env->regs[R_EDX];
    x->rsi = env->regs[R_ESI];
    x->rdi = env->regs[R_EDI];
    x->rbp = env->regs[R_EBP];
    x->rsp = env->regs[R_ESP];
    x->r8 = env->regs[8];
    x->r9 = env->regs[9];
    x->r10 = env->regs[10];
    x->r11 = env->regs[11];
    x->r12 = env->regs[12];
    x->r13 = env->regs[13];
    x->r14 = env->regs[14];
    x->r15 = env->regs[15];
    x->rip = env->eip;
    x->rflags = cpu_compute_eflags(env);
    x->cr0 = env->cr[0];
    x->cr2 = env->cr[2];
    x->cr3 = env->cr[3];
    x->cr4 = env->cr[4];
    x->efer = env->efer;
    x->fs_base = env->segs[R_FS].base;
    x->gs_base = env->segs[R_GS].base;
    x->kernel_gs_base = env->kernelgsbase;
    x->lstar = env->lstar;
    x->cpl = env->hflags & HF_CPL_MASK;
}

void vmi_regs_at_syscall(const VmiRegisters *x, VmiRegs *r)
{
    memset(r, 0, sizeof(*r));
    r->abi = VMI_ABI_X86_64;
    r->nr = x->rax;
    r->args[0] = x->rdi;
    r->args[1] = x->rsi;
    r->args[2] = x->rdx;
    r->args[3] = x->r10;
    r->args[4] = x->r8;
    r->args[5] = x->r9;
    r->ret = x->rax;
    r->cr3 = x->cr3;
    r->la57 = (x->efer & MSR_EFER_LMA) && (x->cr4 & CR4_LA57_MASK);
    r->lstar = x->lstar;
    /* at the entry the user's GS is still loaded: the kernel's is here */
    r->percpu_base = x->kernel_gs_base;
}

void vmi_regs_at_syscall_ia32(const VmiRegisters *x, int how, VmiRegs *r)
{
    vmi_regs_at_syscall(x, r);
    r->abi = VMI_ABI_IA32;
    r->nr = (uint32_t)x->rax;
    r->args[0] = (uint32_t)x->rbx;
    r->args[1] = (uint32_t)x->rcx;
    r->args[2] = (uint32_t)x->rdx;
    r->args[3] = (uint32_t)x->rsi;
    r->args[4] = (uint32_t)x->rdi;
    r->args[5] = (uint32_t)x->rbp;
    /*
     * The vDSO's fast entries save ECX, EDX and EBP on the user stack;
     * SYSENTER passes that stack in EBP, SYSCALL keeps ESP and passes
     * ECX (which it clobbers) in EBP.
     */
    switch (how) {
    case VMI_IA32_SYSENTER:
        r->arg6_at = (uint32_t)x->rbp;
        break;
    case VMI_IA32_SYSCALL:
        r->args[1] = (uint32_t)x->rbp;
        r->arg6_at = (uint32_t)x->rsp;
        break;
    }
}

void vmi_regs_from_cpu(CPUState *cs, VmiRegs *r)
{
    VmiRegisters x;

    vmi_x86_regs_from_cpu(cs, &x);
    vmi_regs_at_syscall(&x, r);
}
