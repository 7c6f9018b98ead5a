/*
 * kvm-vmi: builds without KVM trap under TCG only
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "accel/vmi/core/vmi-mechanism.h"

static bool kvm_hwbp_start(Error **errp)
{
    error_setg(errp, "this QEMU was built without KVM");
    return false;
}

const VmiMechanismOps vmi_mechanism_kvm_hwbp = {
    .id = VMI_MECHANISM_KVM_HWBP,
    .start = kvm_hwbp_start,
};
