/*
 * kvm-vmi: virtual machine introspection hooks
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Upstream code calls these hooks.  Each call site tests
 * vmi_syscall_hooks_on first, so that with introspection off the cost
 * is one predictable branch.
 */

#ifndef SYSTEM_VMI_H
#define SYSTEM_VMI_H

#include "qemu/atomic.h"

extern QemuOptsList qemu_vmi_opts;

/* How a 32-bit process entered the kernel of a 64-bit guest */
enum {
    VMI_IA32_INT80,     /* int $0x80, just delivered */
    VMI_IA32_SYSENTER,  /* SYSENTER, before it loads the kernel's ESP */
    VMI_IA32_SYSCALL,   /* SYSCALL from compatibility mode, to MSR_CSTAR */
};

#ifdef CONFIG_USER_ONLY
/*
 * User-mode emulation runs no guest kernel, so there is nothing to
 * introspect: the TCG helpers it shares with system emulation call
 * these no-ops, which the compiler removes.
 */
static inline bool vmi_hooks_enabled(void)
{
    return false;
}

static inline void vmi_syscall_enter(CPUState *cs)
{
}

static inline void vmi_syscall_enter_ia32(CPUState *cs, int how)
{
}

static inline void vmi_return_to_user(CPUState *cs)
{
}
#else
extern bool vmi_syscall_hooks_on;

static inline bool vmi_hooks_enabled(void)
{
    return unlikely(qatomic_read(&vmi_syscall_hooks_on));
}

/* The guest executed SYSCALL; registers hold the caller's arguments. */
void vmi_syscall_enter(CPUState *cs);
/* A 32-bit process entered the kernel (@how: VMI_IA32_*). */
void vmi_syscall_enter_ia32(CPUState *cs, int how);
/*
 * The guest returns to user space: it is about to execute SYSRET, or an
 * IRET just moved it from CPL 0 to CPL 3.
 */
void vmi_return_to_user(CPUState *cs);
#endif

/*
 * KVM (target/i386/kvm/kvm.c).  A debug exit caused by introspection's
 * breakpoints is handled here, without the BQL, and true is returned;
 * anything else is left to the gdbstub.
 */
struct kvm_debug_exit_arch;
struct kvm_guest_debug;
bool vmi_kvm_handle_debug(CPUState *cs, struct kvm_debug_exit_arch *arch);
/* Add introspection's breakpoints to what the gdbstub programs. */
void vmi_kvm_merge_guest_debug(CPUState *cs, struct kvm_guest_debug *dbg);
/* Debug registers the gdbstub must leave alone (taken from the top). */
int vmi_kvm_reserved_hw_breakpoints(void);
/*
 * Before each KVM_RUN, on the vCPU's thread: program the breakpoints if
 * they changed since this vCPU last did (a vCPU hot-plugged while
 * tracing, one that missed an update).  A compare when nothing changed.
 */
void vmi_kvm_pre_run(CPUState *cs);

/*
 * The machine shuts down (before QEMU's SHUTDOWN event): deliver what
 * was traced before the stop, or report it lost.  Returns at once when
 * introspection is off.
 */
void vmi_shutdown(void);

/* Apply -vmi once the machine exists; exits on bad options. */
void vmi_cmdline_start(Error **errp);

#endif
