/*
 * kvm-vmi: Linux behind the OS interface
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VMI_LINUX_OS_H
#define VMI_LINUX_OS_H

#include "accel/vmi/core/vmi-os.h"
#include "accel/vmi/os/linux/vmi-linux.h"

/* The OS interface's opaque handles are these Linux records */
static inline const VmiLinux *vmi_linux_of(const VmiOsImage *img)
{
    return (const VmiLinux *)img;
}

static inline const VmiLinuxKernel *vmi_linux_kernel_of(const VmiKernel *k)
{
    return container_of(k, VmiLinuxKernel, common);
}

/* Process events (vmi-linux-lifecycle.c), as VmiOsOps describes them */
VmiOsCall *vmi_linux_lifecycle_enter(const VmiOsImage *img, VmiMem *m,
                                     VmiTrapOut *out, const VmiTask *task,
                                     const char *name,
                                     const uint64_t args[VMI_MAX_ARGS]);
void vmi_linux_lifecycle_return(const VmiOsImage *img, VmiMem *m,
                                VmiTrapOut *out, VmiAbi abi,
                                const VmiTask *task, VmiOsCall *p,
                                int64_t ret);
bool vmi_linux_call_takes_group_pid(const VmiOsCall *p);
void vmi_linux_call_free(VmiOsCall *p);

#endif
