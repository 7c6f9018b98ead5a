/*
 * kvm-vmi: choosing the mechanism, and the TCG one
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "system/kvm.h"
#include "system/tcg.h"
#include "vmi-mechanism.h"

static bool tcg_start(Error **errp)
{
    return true;
}

/*
 * TCG traps the system call instructions themselves, through hooks in
 * the translated code (SYSCALL, SYSRET, IRET, int $0x80, SYSENTER):
 * there is nothing to claim and no address to arm, and every convention
 * is traced on every kernel.
 */
const VmiMechanismOps vmi_mechanism_tcg = {
    .id = VMI_MECHANISM_TCG,
    .start = tcg_start,
};

const VmiMechanismOps *vmi_mechanism_select(Error **errp)
{
    if (kvm_enabled()) {
        return &vmi_mechanism_kvm_hwbp;
    }
    if (tcg_enabled()) {
        return &vmi_mechanism_tcg;
    }
    error_setg(errp, "introspection needs the TCG or KVM accelerator");
    return NULL;
}
