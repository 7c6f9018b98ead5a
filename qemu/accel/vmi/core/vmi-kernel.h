/*
 * kvm-vmi: what the core knows of a guest kernel and its tasks
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain types, whatever the guest OS: an OS layer (os/linux/) fills them
 * and keeps the rest of what it knows in its own records, which begin
 * with these.
 */

#ifndef VMI_KERNEL_H
#define VMI_KERNEL_H

#include "accel/vmi/x86/vmi-abi.h"

#define VMI_COMM_LEN            16
#define VMI_PROCESS_MAX         65536

/*
 * One running kernel, identified in guest memory by its system call
 * entry point; immutable once made.  An OS layer's record of a running
 * kernel starts with this.
 */
typedef struct VmiKernel {
    uint64_t lstar;             /* the entry point it was identified by */
    int64_t slide;              /* KASLR: run-time minus link-time */
    char *banner;               /* the kernel's version string */
    unsigned nr_syscalls;       /* system calls of the native ABI */
    unsigned nr_protos;         /* of those, with a known prototype */
    /* how many system calls each ABI numbers (the filter's table size) */
    unsigned abi_syscalls[VMI_ABI_COUNT];
} VmiKernel;

/* A task (thread) as events show it */
typedef struct VmiTask {
    uint64_t addr;              /* the OS's record of it, in guest memory */
    int32_t pid;
    int32_t tgid;
    char comm[VMI_COMM_LEN];    /* its name, NUL-terminated */
} VmiTask;

/* One entry of the process list */
typedef struct VmiProcessInfo {
    int32_t pid;
    int32_t tgid;
    int32_t ppid;           /* -1 if unreadable */
    int64_t uid;            /* -1 if unreadable */
    uint64_t task;
    uint64_t pgd;           /* 0 for kernel threads */
    char comm[VMI_COMM_LEN];
} VmiProcessInfo;

#endif
