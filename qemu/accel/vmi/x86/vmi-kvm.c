/*
 * kvm-vmi: system call traps on stock KVM
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Execute breakpoints in the guest's debug registers, programmed through
 * KVM_SET_GUEST_DEBUG, stop a vCPU at three kernel addresses:
 *
 *   DR3  MSR_LSTAR, the 64-bit system call entry (user registers loaded)
 *   DR2  syscall_exit_to_user_mode(regs), which every system call of
 *        either ABI passes on its way back to user space; on kernels
 *        that inline it (7.x), the return from do_syscall_64() in the
 *        64-bit entry code, which sees 64-bit calls only
 *   DR1  ia32_sys_call(regs, nr), where every 32-bit system call (int
 *        0x80, SYSENTER, compat SYSCALL) is dispatched
 *
 * DR0 stays with the gdbstub.  A kernel without syscall_exit_to_user_mode()
 * returns from 32-bit calls through three more entry paths (int 0x80,
 * SYSENTER, compat SYSCALL), more than the debug registers left can
 * cover: there only x86_64 calls are traced, and query-vmi says so.
 *
 * Guest code is never modified.  The debug exit is taken before the
 * gdbstub looks at it; the vCPU resumes with RFLAGS.RF set, so the
 * instruction under the breakpoint executes once without trapping again.
 * Where KVM offers synced registers the trap costs no ioctl besides the
 * KVM_RUN that resumes it.
 *
 * The guest writing MSR_LSTAR (boot, reboot, kexec) exits through KVM's
 * MSR filter: the kernel is identified again and the breakpoints move.
 */

#include "qemu/osdep.h"
#include <linux/kvm.h>
#include "qapi/error.h"
#include "qapi/qapi-types-vmi.h"
#include "qemu/error-report.h"
#include "qemu/host-utils.h"
#include "qemu/main-loop.h"
#include "hw/boards.h"
#include "hw/core/cpu.h"
#include "system/hw_accel.h"
#include "system/kvm.h"
#include "system/kvm_int.h"
#include "system/vmi.h"
#include "cpu.h"
#include "kvm/kvm_i386.h"
#include "accel/vmi/core/vmi-internal.h"
#include "accel/vmi/x86/vmi-regs.h"
#include "accel/vmi/trace.h"

enum {
    SLOT_IA32 = 1,
    SLOT_EXIT = 2,
    SLOT_ENTRY = 3,
    SLOTS_RESERVED = 3,
};

#define SLOTS_MASK  ((1u << SLOT_IA32) | (1u << SLOT_EXIT) | \
                     (1u << SLOT_ENTRY))
#define DR6_HITS    0xfu
#define DR7_FIXED   0x0600u     /* GE and the reserved bit 10 */
#define SYNC_REGS   (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)

/* Counters of a vCPU, by index, for query-vmi */
typedef struct VmiKvmCpu {
    uint64_t debug_exits;       /* written by the vCPU's thread only */
    uint64_t ioctls;
} VmiKvmCpu;

/*
 * What a vCPU's thread has cached about its vCPU.  Thread-local, so a
 * vCPU unplugged and plugged again (a new thread, same index) starts
 * afresh: its debug registers are programmed before its first run, and
 * its GS base is read again.
 */
static __thread struct {
    bool programmed;            /* debug_gen is valid */
    unsigned debug_gen;         /* vk.debug_gen when last programmed */
    uint64_t kernel_gs_base;    /* 0: not read since the kernel (re)booted */
    unsigned generation;
} vcpu_cache;

static struct {
    bool reserved;              /* debug registers 1-3 are ours */
    bool armed;
    uint64_t addr[4];           /* by slot */
    /* SLOT_EXIT is do_syscall_64's return: pt_regs at RSP, not in RDI */
    bool exit_regs_at_rsp;
    unsigned generation;        /* bumped whenever the kernel changes */
    unsigned debug_gen;         /* bumped whenever the breakpoints change */
    bool lstar_watched;
    bool sync_regs;
    VmiKvmCpu *cpus;
    unsigned nr_cpus;
} vk;

int vmi_kvm_reserved_hw_breakpoints(void)
{
    return qatomic_read(&vk.reserved) ? SLOTS_RESERVED : 0;
}

void vmi_kvm_merge_guest_debug(CPUState *cs, struct kvm_guest_debug *dbg)
{
    struct kvm_run *run = cs->kvm_run;

    if (!qatomic_read(&vk.armed)) {
        if (run) {
            run->kvm_valid_regs &= ~SYNC_REGS;
        }
        return;
    }
    dbg->control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
    dbg->arch.debugreg[7] |= DR7_FIXED;
    for (int slot = 0; slot < 4; slot++) {
        if ((SLOTS_MASK & (1u << slot)) && qatomic_read(&vk.addr[slot])) {
            /* global enable; type 00 (execute) and length 00 */
            dbg->arch.debugreg[slot] = qatomic_read(&vk.addr[slot]);
            dbg->arch.debugreg[7] |= 2u << (slot * 2);
            dbg->arch.debugreg[7] &= ~(0xfull << (16 + slot * 4));
        }
    }
    if (run && vk.sync_regs) {
        run->kvm_valid_regs |= SYNC_REGS;
    }
}

/* On @cs's own thread */
static void update_guest_debug(CPUState *cs, run_on_cpu_data unused)
{
    int ret;

    vcpu_cache.debug_gen = qatomic_read(&vk.debug_gen);
    vcpu_cache.programmed = true;
    ret = kvm_update_guest_debug(cs, 0);

    if (ret) {
        trace_vmi_kvm_set_guest_debug_failed(cs->cpu_index, ret);
        warn_report_once("vmi: KVM_SET_GUEST_DEBUG on vCPU %d failed: %s",
                         cs->cpu_index, strerror(-ret));
    }
}

/*
 * Reprogram every vCPU's debug registers.  A vCPU thread must not wait
 * for its peers (they may be waiting for it), so from one the others
 * catch up asynchronously.
 */
static void update_all_cpus(bool wait)
{
    CPUState *cs;

    CPU_FOREACH(cs) {
        if (qemu_cpu_is_self(cs)) {
            update_guest_debug(cs, RUN_ON_CPU_NULL);
        } else if (wait && !current_cpu) {
            run_on_cpu(cs, update_guest_debug, RUN_ON_CPU_NULL);
        } else {
            async_run_on_cpu(cs, update_guest_debug, RUN_ON_CPU_NULL);
        }
    }
}

static VmiKvmCpu *kvm_cpu(CPUState *cs)
{
    return cs->cpu_index < vk.nr_cpus ? &vk.cpus[cs->cpu_index] : NULL;
}

void vmi_kvm_pre_run(CPUState *cs)
{
    /* never started, or stopped after clearing every vCPU's registers */
    if (!qatomic_read(&vk.reserved)) {
        return;
    }
    if (!vcpu_cache.programmed ||
        vcpu_cache.debug_gen != qatomic_read(&vk.debug_gen)) {
        update_guest_debug(cs, RUN_ON_CPU_NULL);
    }
}

static void count(CPUState *cs, unsigned exits, unsigned ioctls)
{
    VmiKvmCpu *c = kvm_cpu(cs);

    if (c) {
        qatomic_set(&c->debug_exits, c->debug_exits + exits);
        qatomic_set(&c->ioctls, c->ioctls + ioctls);
    }
}

/* One MSR through KVM_GET_MSRS or KVM_SET_MSRS (@ioctl). */
static bool msr_ioctl(CPUState *cs, unsigned long ioctl, uint32_t index,
                      uint64_t *value)
{
    struct {
        struct kvm_msrs info;
        struct kvm_msr_entry entry;
    } msrs = {
        .info.nmsrs = 1,
        .entry.index = index,
        .entry.data = *value,
    };

    if (kvm_vcpu_ioctl(cs, ioctl, &msrs) != 1) {
        return false;
    }
    *value = msrs.entry.data;
    return true;
}

/* The register map's part that traps need, from what KVM gives */
static void regs_from_kvm(const struct kvm_regs *regs,
                          const struct kvm_sregs *sregs, VmiRegs *r)
{
    VmiRegisters x = {
        .rax = regs->rax, .rbx = regs->rbx, .rcx = regs->rcx,
        .rdx = regs->rdx, .rsi = regs->rsi, .rdi = regs->rdi,
        .rbp = regs->rbp, .rsp = regs->rsp, .r8 = regs->r8,
        .r9 = regs->r9, .r10 = regs->r10, .r11 = regs->r11,
        .r12 = regs->r12, .r13 = regs->r13, .r14 = regs->r14,
        .r15 = regs->r15, .rip = regs->rip, .rflags = regs->rflags,
        .cr0 = sregs->cr0, .cr2 = sregs->cr2, .cr3 = sregs->cr3,
        .cr4 = sregs->cr4, .efer = sregs->efer,
        .fs_base = sregs->fs.base, .gs_base = sregs->gs.base,
        .cpl = sregs->cs.selector & 3,
    };

    vmi_regs_at_syscall(&x, r);
}

/*
 * The kernel's per-cpu base while user GS is loaded, i.e. at the 64-bit
 * entry.  It only changes when the kernel boots again, so one
 * KVM_GET_MSRS per vCPU and boot.
 */
static uint64_t kernel_gs_base(CPUState *cs)
{
    unsigned gen = qatomic_read(&vk.generation);
    uint64_t base = 0;

    if (vcpu_cache.generation == gen && vcpu_cache.kernel_gs_base) {
        return vcpu_cache.kernel_gs_base;
    }
    count(cs, 0, 1);
    if (!msr_ioctl(cs, KVM_GET_MSRS, MSR_KERNELGSBASE, &base)) {
        return 0;
    }
    vcpu_cache.kernel_gs_base = base;
    vcpu_cache.generation = gen;
    return base;
}

static void trap(CPUState *cs, int slot, uint64_t pc,
                 const struct kvm_regs *regs, const struct kvm_sregs *sregs)
{
    VmiRegs r;

    if (!vmi_hooks_enabled() || pc != qatomic_read(&vk.addr[slot])) {
        return;     /* a breakpoint left from before the kernel moved */
    }
    regs_from_kvm(regs, sregs, &r);
    switch (slot) {
    case SLOT_ENTRY:
        r.lstar = pc;
        r.percpu_base = kernel_gs_base(cs);
        vmi_trap_syscall_enter(cs, &r);
        break;
    case SLOT_IA32:
        /* ia32_sys_call(struct pt_regs *regs, unsigned int nr) */
        r.abi = VMI_ABI_IA32;
        r.nr = (uint32_t)regs->rsi;
        r.args_in_saved_regs = true;
        r.saved_regs = regs->rdi;
        r.lstar = qatomic_read(&vk.addr[SLOT_ENTRY]);
        r.percpu_base = sregs->gs.base;
        vmi_trap_syscall_enter(cs, &r);
        break;
    case SLOT_EXIT:
        /*
         * syscall_exit_to_user_mode(struct pt_regs *regs), or where the
         * entry code resumes after do_syscall_64(regs); kernel GS
         */
        r.saved_regs = qatomic_read(&vk.exit_regs_at_rsp) ? regs->rsp
                                                        : regs->rdi;
        /* locates the kernel, to tell a KPTI user CR3 from a kernel one */
        r.lstar = qatomic_read(&vk.addr[SLOT_ENTRY]);
        r.percpu_base = sregs->gs.base;
        vmi_trap_return_to_user(cs, &r);
        break;
    }
}

bool vmi_kvm_handle_debug(CPUState *cs, struct kvm_debug_exit_arch *arch)
{
    struct kvm_run *run = cs->kvm_run;
    struct kvm_regs regs_buf, *regs;
    struct kvm_sregs sregs_buf, *sregs;
    unsigned hits;
    bool others;

    if (!qatomic_read(&vk.reserved) || arch->exception != EXCP01_DB) {
        return false;
    }
    hits = arch->dr6 & SLOTS_MASK;
    if (!hits) {
        return false;
    }
    others = (arch->dr6 & (DR6_HITS & ~SLOTS_MASK)) || (arch->dr6 & DR6_BS);

    if ((run->kvm_valid_regs & SYNC_REGS) == SYNC_REGS) {
        regs = &run->s.regs.regs;
        sregs = &run->s.regs.sregs;
    } else {
        count(cs, 0, 2);
        if (kvm_vcpu_ioctl(cs, KVM_GET_REGS, &regs_buf) ||
            kvm_vcpu_ioctl(cs, KVM_GET_SREGS, &sregs_buf)) {
            trace_vmi_kvm_regs_unreadable(cs->cpu_index);
            error_report_once("vmi: cannot read the registers of vCPU %d",
                              cs->cpu_index);
            return false;
        }
        regs = &regs_buf;
        sregs = &sregs_buf;
    }

    count(cs, 1, 0);
    trace_vmi_kvm_debug_exit(cs->cpu_index, ctz32(hits), arch->pc);
    trap(cs, ctz32(hits), arch->pc, regs, sregs);

    /* resume over the breakpoint: RF suppresses it for one instruction */
    regs->rflags |= RF_MASK;
    if (regs == &run->s.regs.regs && !others) {
        /* applied by the next KVM_RUN, which comes before anything else */
        run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
    } else {
        count(cs, 0, 1);
        if (kvm_vcpu_ioctl(cs, KVM_SET_REGS, regs)) {
            trace_vmi_kvm_resume_failed(cs->cpu_index);
            error_report_once("vmi: cannot resume vCPU %d past its "
                              "breakpoint", cs->cpu_index);
        }
    }
    if (others) {
        /* the gdbstub's breakpoint or single step: let it see the rest */
        arch->dr6 &= ~SLOTS_MASK;
        return false;
    }
    return true;
}

static bool wrmsr_lstar(X86CPU *cpu, uint32_t msr, uint64_t value)
{
    CPUState *cs = CPU(cpu);
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    VmiRegs r;

    /* the filter stopped the write: do it, as the CPU would have */
    if (!msr_ioctl(cs, KVM_SET_MSRS, MSR_LSTAR, &value)) {
        return false;
    }
    cpu->env.lstar = value;
    qatomic_inc(&vk.generation);
    if (!vmi_hooks_enabled()) {
        return true;
    }
    if (kvm_vcpu_ioctl(cs, KVM_GET_REGS, &regs) ||
        kvm_vcpu_ioctl(cs, KVM_GET_SREGS, &sregs)) {
        return true;
    }
    regs_from_kvm(&regs, &sregs, &r);
    r.lstar = value;
    r.percpu_base = 0;
    BQL_LOCK_GUARD();
    vmi_lstar_written(cs, &r);
    return true;
}

static bool kvm_hwbp_start(Error **errp)
{
    MachineState *ms = MACHINE(qdev_get_machine());
    int gdb = kvm_hw_breakpoints_in_use();

    if (!kvm_vm_check_extension(kvm_state, KVM_CAP_SET_GUEST_DEBUG)) {
        error_setg(errp, "this KVM cannot debug guests "
                   "(KVM_CAP_SET_GUEST_DEBUG)");
        return false;
    }
    if (gdb > 4 - SLOTS_RESERVED) {
        error_setg(errp, "the gdbstub holds %d hardware breakpoints; "
                   "introspection needs debug registers 1 to 3: remove "
                   "all but one of them first", gdb);
        return false;
    }
    if (!vk.lstar_watched) {
        int ret = -ENOTSUP;

        if (kvm_vm_check_extension(kvm_state, KVM_CAP_X86_USER_SPACE_MSR) &&
            kvm_vm_check_extension(kvm_state, KVM_CAP_X86_MSR_FILTER)) {
            ret = kvm_filter_msr(kvm_state, MSR_LSTAR, NULL, wrmsr_lstar);
        }
        if (ret) {
            error_setg(errp, "this KVM cannot report writes to MSR_LSTAR "
                       "(KVM_X86_SET_MSR_FILTER: %s); Linux 5.10 or later "
                       "is needed", strerror(-ret));
            return false;
        }
        vk.lstar_watched = true;
        vk.sync_regs = (kvm_vm_check_extension(kvm_state, KVM_CAP_SYNC_REGS) &
                        SYNC_REGS) == SYNC_REGS;
    }
    if (!vk.cpus) {
        vk.nr_cpus = ms->smp.max_cpus;
        vk.cpus = g_new0(VmiKvmCpu, vk.nr_cpus);
    }
    for (unsigned i = 0; i < vk.nr_cpus; i++) {
        qatomic_set(&vk.cpus[i].debug_exits, 0);
        qatomic_set(&vk.cpus[i].ioctls, 0);
    }
    qatomic_inc(&vk.generation);
    qatomic_set(&vk.reserved, true);
    return true;
}

static bool kvm_hwbp_traces_abi(const VmiTrapPoints *tp, VmiAbi abi)
{
    return abi == VMI_ABI_X86_64 ||
           (tp->exit_sees_ia32 && tp->ia32_dispatch);
}

static bool kvm_hwbp_arm(const VmiTrapPoints *tp, Error **errp)
{
    bool ok = true;

    /* after stop, nothing may arm the debug registers again */
    if (!qatomic_read(&vk.reserved)) {
        return true;
    }
    if (tp && !tp->syscall_exit) {
        ok = false;
        error_setg(errp, "cannot trap system call returns of '%s' under "
                   "KVM: %s", tp->kernel_name, tp->exit_missing);
        tp = NULL;
    }
    if (tp) {
        trace_vmi_kvm_arm(tp->syscall_entry, tp->syscall_exit,
                          tp->ia32_dispatch);
        qatomic_set(&vk.addr[SLOT_ENTRY], tp->syscall_entry);
        qatomic_set(&vk.exit_regs_at_rsp, tp->exit_regs_at_rsp);
        qatomic_set(&vk.addr[SLOT_EXIT], tp->syscall_exit);
        /* 0 (not traced) where 32-bit calls cannot be seen returning */
        qatomic_set(&vk.addr[SLOT_IA32],
                    kvm_hwbp_traces_abi(tp, VMI_ABI_IA32) ? tp->ia32_dispatch
                                                          : 0);
    }
    qatomic_set(&vk.armed, tp != NULL);
    qatomic_inc(&vk.debug_gen);
    update_all_cpus(false);
    return ok;
}

static bool kvm_hwbp_vcpu_stats(unsigned index, uint64_t *debug_exits,
                                uint64_t *ioctls)
{
    if (index >= vk.nr_cpus) {
        return false;
    }
    *debug_exits = qatomic_read(&vk.cpus[index].debug_exits);
    *ioctls = qatomic_read(&vk.cpus[index].ioctls);
    return true;
}

static void kvm_hwbp_reset(void)
{
    if (!qatomic_read(&vk.reserved)) {
        return;
    }
    /* per-vCPU GS bases and kernel addresses are the old kernel's */
    qatomic_inc(&vk.generation);
    /* until the next kernel writes MSR_LSTAR, which arms them again */
    kvm_hwbp_arm(NULL, NULL);
}

static void kvm_hwbp_stop(void)
{
    qatomic_set(&vk.armed, false);
    qatomic_inc(&vk.debug_gen);
    /* no breakpoint of ours may reach the gdbstub once we let go */
    update_all_cpus(true);
    qatomic_set(&vk.reserved, false);
}

const VmiMechanismOps vmi_mechanism_kvm_hwbp = {
    .id = VMI_MECHANISM_KVM_HWBP,
    .start = kvm_hwbp_start,
    .arm = kvm_hwbp_arm,
    .stop = kvm_hwbp_stop,
    .reset = kvm_hwbp_reset,
    .traces_abi = kvm_hwbp_traces_abi,
    .vcpu_stats = kvm_hwbp_vcpu_stats,
};
