/*
 * kvm-vmi: decoded arguments in their QAPI form
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VMI_QAPI_H
#define VMI_QAPI_H

#include "qapi/qapi-types-vmi.h"
#include "accel/vmi/core/vmi-params.h"

/* @ps in the QAPI form ("params"), its strings moved */
VmiSyscallParamList *vmi_params_to_qapi(VmiParams *ps);

#endif
