/*
 * kvm-vmi: choosing the mechanism
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "system/kvm.h"
#include "system/tcg.h"
#include "accel/vmi/core/vmi-mechanism.h"

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
