/*
 * kvm-vmi: kernels a session identified, and how often it may identify
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Identifying a kernel reads its banner, symbols and hundreds of
 * prototypes from guest memory.  A guest decides when that happens (every
 * write of a new MSR_LSTAR), so earlier kernels are kept for a switch
 * back and new identifications are rate-limited.  Callers serialise
 * access.
 */

#include "qemu/osdep.h"
#include "accel/vmi/core/vmi-kernels.h"

VmiKernel *vmi_kernels_take(VmiKernelsKept *kept, uint64_t lstar)
{
    for (unsigned i = 0; i < VMI_KERNELS_KEPT; i++) {
        VmiKernel *k = kept->kernel[i];

        if (k && k->lstar == lstar) {
            memmove(&kept->kernel[i], &kept->kernel[i + 1],
                    (VMI_KERNELS_KEPT - 1 - i) * sizeof(kept->kernel[0]));
            kept->kernel[VMI_KERNELS_KEPT - 1] = NULL;
            return k;
        }
    }
    return NULL;
}

VmiKernel *vmi_kernels_put(VmiKernelsKept *kept, VmiKernel *old)
{
    VmiKernel *gone = kept->kernel[VMI_KERNELS_KEPT - 1];

    memmove(&kept->kernel[1], &kept->kernel[0],
            (VMI_KERNELS_KEPT - 1) * sizeof(kept->kernel[0]));
    kept->kernel[0] = old;
    return gone;
}

void vmi_kernels_free(VmiKernelsKept *kept, void (*free_kernel)(VmiKernel *))
{
    for (unsigned i = 0; i < VMI_KERNELS_KEPT; i++) {
        if (kept->kernel[i]) {
            free_kernel(kept->kernel[i]);
        }
        kept->kernel[i] = NULL;
    }
}

VmiRate vmi_rate_check(VmiRateLimit *rl, int64_t now_ms)
{
    /* a clock that went back starts a new window too */
    if (now_ms - rl->window_start_ms >= 1000 ||
        now_ms < rl->window_start_ms) {
        rl->window_start_ms = now_ms;
        rl->count = 0;
    }
    if (rl->count < rl->per_s) {
        rl->count++;
        return VMI_RATE_ALLOWED;
    }
    /* saturating: a guest may hammer for as long as it likes */
    if (rl->count == rl->per_s) {
        rl->count++;
        return VMI_RATE_REFUSED_FIRST;
    }
    return VMI_RATE_REFUSED;
}
