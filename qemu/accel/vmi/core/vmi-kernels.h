/*
 * kvm-vmi: kernels a session identified, and how often it may identify
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VMI_KERNELS_H
#define VMI_KERNELS_H

#include "accel/vmi/core/vmi-kernel.h"

/*
 * Kernels identified earlier in a session, kept for a guest that switches
 * back (kexec, a hostile kernel alternating MSR_LSTAR): identifying one
 * reads hundreds of prototypes.
 */
#define VMI_KERNELS_KEPT    4

typedef struct VmiKernelsKept {
    VmiKernel *kernel[VMI_KERNELS_KEPT];    /* newest first */
} VmiKernelsKept;

/* The kept kernel behind @lstar, taken out; NULL if there is none. */
VmiKernel *vmi_kernels_take(VmiKernelsKept *kept, uint64_t lstar);
/*
 * Keep @old, no longer current.  Returns the oldest kept kernel when it
 * no longer fits, for the caller to free once no reader can hold it.
 */
VmiKernel *vmi_kernels_put(VmiKernelsKept *kept, VmiKernel *old);
void vmi_kernels_free(VmiKernelsKept *kept, void (*free_kernel)(VmiKernel *));

/*
 * A guest that keeps writing new MSR_LSTAR values would make every system
 * call a full identification: at most @per_s of them in a second.
 */
typedef struct VmiRateLimit {
    unsigned per_s;
    int64_t window_start_ms;
    unsigned count;             /* in this window, refusals included */
} VmiRateLimit;

typedef enum VmiRate {
    VMI_RATE_ALLOWED,
    VMI_RATE_REFUSED_FIRST,     /* the window's first refusal: report it */
    VMI_RATE_REFUSED,
} VmiRate;

VmiRate vmi_rate_check(VmiRateLimit *rl, int64_t now_ms);

#endif
