/*
 * kvm-vmi: trap points, what an OS layer tells a mechanism to trap
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VMI_TRAP_POINTS_H
#define VMI_TRAP_POINTS_H

/*
 * Addresses a mechanism may trap, with what they mean; 0 where the
 * kernel has none.  Run-time (slid) addresses.
 */
typedef struct VmiTrapPoints {
    /* the 64-bit entry (MSR_LSTAR): user registers still loaded */
    uint64_t syscall_entry;
    /*
     * where system calls have returned, kernel GS loaded, with the
     * user's saved registers in RDI (a function's first argument) or,
     * if @exit_regs_at_rsp, at RSP; @exit_sees_ia32 if 32-bit calls
     * pass there too
     */
    uint64_t syscall_exit;
    bool exit_regs_at_rsp;
    bool exit_sees_ia32;
    /* why there is no @syscall_exit, in the OS's words, for errors */
    const char *exit_missing;
    /* the 32-bit dispatcher (regs, nr): saved registers in RDI, nr in ESI */
    uint64_t ia32_dispatch;
    /* the identified kernel, for messages */
    const char *kernel_name;
} VmiTrapPoints;

#endif
