/*
 * kvm-vmi: builds without KVM trap under TCG only
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "vmi-internal.h"

bool vmi_kvm_start(Error **errp)
{
    error_setg(errp, "this QEMU was built without KVM");
    return false;
}

bool vmi_kvm_arm(const VmiKernel *k, Error **errp)
{
    return true;
}

void vmi_kvm_stop(void)
{
}

void vmi_kvm_reset(void)
{
}

bool vmi_kvm_traces_abi(const VmiKernel *k, VmiAbi abi)
{
    return false;
}

bool vmi_kvm_vcpu_stats(unsigned index, uint64_t *debug_exits,
                        uint64_t *ioctls)
{
    return false;
}
