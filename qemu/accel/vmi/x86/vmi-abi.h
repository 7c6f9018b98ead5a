/*
 * kvm-vmi: the system call conventions of x86-64 guests
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * An architecture's fact, shared by mechanisms (which trap each one)
 * and OS layers (which name and decode their calls).
 */

#ifndef VMI_ABI_H
#define VMI_ABI_H

typedef enum VmiAbi {
    VMI_ABI_X86_64,     /* SYSCALL from 64-bit code */
    VMI_ABI_IA32,       /* int 0x80, SYSENTER, SYSCALL from 32-bit code */
    VMI_ABI_COUNT,
} VmiAbi;

#endif
