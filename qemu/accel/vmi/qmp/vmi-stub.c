/*
 * kvm-vmi: what other targets link instead of introspection
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Introspection is built for x86_64 system emulation only.  Common code
 * (the command line, QMP, shutdown) and target/i386 (also built for
 * i386) call into it unconditionally; on every other system target these
 * definitions answer instead, in the manner of accel/stubs.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-vmi.h"
#include "qemu/config-file.h"
#include "qemu/option.h"
#include "system/vmi.h"

#define NOT_HERE "this QEMU has no virtual machine introspection (it is in " \
                 "qemu-system-x86_64 configured with --enable-vmi)"

bool vmi_syscall_hooks_on;

/* -vmi is accepted as an option group, then refused with a reason */
QemuOptsList qemu_vmi_opts = {
    .name = "vmi",
    .implied_opt_name = "profile",
    .merge_lists = true,
    .head = QTAILQ_HEAD_INITIALIZER(qemu_vmi_opts.head),
    .desc = {
        { /* end of list: any parameter, all refused below */ }
    },
};

void vmi_cmdline_start(Error **errp)
{
    if (qemu_opts_find(qemu_find_opts("vmi"), NULL)) {
        error_setg(errp, "-vmi: " NOT_HERE);
    }
}

void vmi_shutdown(void)
{
}

/* The TCG helpers of i386 system emulation: never called, hooks are off */
void vmi_syscall_enter(CPUState *cs)
{
}

void vmi_syscall_enter_ia32(CPUState *cs, int how)
{
}

void vmi_return_to_user(CPUState *cs)
{
}

bool vmi_kvm_handle_debug(CPUState *cs, struct kvm_debug_exit_arch *arch)
{
    return false;
}

void vmi_kvm_merge_guest_debug(CPUState *cs, struct kvm_guest_debug *dbg)
{
}

int vmi_kvm_reserved_hw_breakpoints(void)
{
    return 0;
}

void vmi_kvm_pre_run(CPUState *cs)
{
}

void qmp_vmi_enable(const char *profile, VmiFilter *filter,
                    bool has_overflow, VmiOverflow overflow,
                    const char *chardev, Error **errp)
{
    error_setg(errp, NOT_HERE);
}

void qmp_vmi_set_filter(VmiFilter *filter, Error **errp)
{
    error_setg(errp, NOT_HERE);
}

void qmp_vmi_disable(Error **errp)
{
    error_setg(errp, NOT_HERE);
}

VmiInfo *qmp_query_vmi(Error **errp)
{
    error_setg(errp, NOT_HERE);
    return NULL;
}

VmiProcessEntryList *qmp_query_vmi_processes(Error **errp)
{
    error_setg(errp, NOT_HERE);
    return NULL;
}

VmiMemory *qmp_vmi_read_virtual(uint64_t address, uint32_t size,
                                bool has_cr3, uint64_t cr3, bool has_pid,
                                int64_t pid, bool has_vcpu, uint32_t vcpu,
                                Error **errp)
{
    error_setg(errp, NOT_HERE);
    return NULL;
}

VmiMemory *qmp_vmi_read_physical(uint64_t address, uint32_t size,
                                 Error **errp)
{
    error_setg(errp, NOT_HERE);
    return NULL;
}

VmiTranslation *qmp_vmi_translate(uint64_t address, bool has_cr3,
                                  uint64_t cr3, bool has_pid, int64_t pid,
                                  bool has_vcpu, uint32_t vcpu, Error **errp)
{
    error_setg(errp, NOT_HERE);
    return NULL;
}

VmiRegisters *qmp_vmi_read_registers(bool has_vcpu, uint32_t vcpu,
                                     Error **errp)
{
    error_setg(errp, NOT_HERE);
    return NULL;
}
