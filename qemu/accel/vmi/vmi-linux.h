/*
 * kvm-vmi: Linux guest semantics
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VMI_LINUX_H
#define VMI_LINUX_H

#include "vmi-mem.h"
#include "vmi-profile.h"
#include "vmi-syscall.h"

#define VMI_COMM_LEN            16
#define VMI_MAX_SYSCALLS        1024
#define VMI_BANNER_MAX          512
#define VMI_DECODED_MAX         4

/* What a profile tells us about one kernel build; immutable once made. */
typedef struct VmiLinux {
    VmiProfile *profile;
    uint64_t entry_syscall_64;  /* link-time addresses */
    uint64_t sys_call_table;
    uint64_t linux_banner;
    uint64_t current_task;      /* per-cpu offset of the current task pointer */
    uint64_t task_pid, task_tgid, task_comm;
    bool pti;                   /* kernel built with page table isolation */
    /*
     * Where system calls return to user space, for traps that cannot see
     * SYSRET/IRET themselves (KVM breakpoints); 0 if the profile lacks them.
     */
    uint64_t sysretq;           /* the SYSRETQ of entry_SYSCALL_64 */
    uint64_t return_via_iret;   /* common path back to user by IRET */
    /* offset of ax in struct pt_regs; 0 if unknown */
    uint64_t pt_regs_ax;
    /* struct syscall_metadata, to read prototypes; has_meta if known */
    bool has_meta;
    uint64_t meta_nb_args, meta_types, meta_args;
    GHashTable *syscall_by_addr; /* __x64_sys_* address -> name */
} VmiLinux;

/* One running instance of that kernel, found in guest memory. */
typedef struct VmiKernel {
    uint64_t lstar;
    int64_t slide;
    char *banner;
    unsigned nr_syscalls;
    uint64_t sysretq;           /* run-time addresses; 0 when unknown */
    uint64_t return_via_iret;
    char **syscall_names;       /* nr -> name, nr_syscalls entries */
    VmiSyscallProto *protos;    /* nr -> prototype, nr_syscalls entries */
    unsigned nr_protos;         /* how many are known */
} VmiKernel;

typedef struct VmiTask {
    uint64_t addr;
    int32_t pid;
    int32_t tgid;
    char comm[VMI_COMM_LEN];
} VmiTask;

/* Decoded pointer arguments of one system call. */
typedef struct VmiDecoded {
    unsigned n;
    const char *key[VMI_DECODED_MAX];   /* static strings */
    char *value[VMI_DECODED_MAX];
    char **argv;                        /* NULL-terminated, or NULL */
    bool truncated;
    bool unreadable;
} VmiDecoded;

/*
 * Take ownership of @profile and check it has everything tracing needs;
 * on failure *@err names the profile and what it lacks.
 */
VmiLinux *vmi_linux_new(VmiProfile *profile, char **err);
void vmi_linux_free(VmiLinux *l);

/*
 * Identify the running kernel from its system call entry point (MSR_LSTAR)
 * and check it is the profile's kernel.  @m must map kernel memory.
 */
VmiKernel *vmi_linux_identify(const VmiLinux *l, VmiMem *m, uint64_t lstar,
                              char **err);
void vmi_kernel_free(VmiKernel *k);

/* CR3 whose page tables map the kernel (KPTI's user CR3 does not). */
uint64_t vmi_linux_kernel_cr3(const VmiLinux *l, uint64_t cr3);

/*
 * Read the task running on a vCPU.  @kernel_gs_base is the kernel's
 * per-cpu base, i.e. KERNEL_GS_BASE while the vCPU runs user GS.
 */
bool vmi_linux_current(const VmiLinux *l, VmiMem *m, uint64_t kernel_gs_base,
                       VmiTask *task);
/* The same in two steps: the task_struct's address, then its fields. */
bool vmi_linux_current_addr(const VmiLinux *l, VmiMem *m,
                            uint64_t kernel_gs_base, uint64_t *addr);
bool vmi_linux_read_task(const VmiLinux *l, VmiMem *m, uint64_t addr,
                         VmiTask *task);

const char *vmi_kernel_syscall_name(const VmiKernel *k, uint64_t nr);
/* The kernel's prototype of system call @nr, or NULL. */
const VmiSyscallProto *vmi_kernel_syscall_proto(const VmiKernel *k,
                                                uint64_t nr);

/* Decode the pointer arguments of system call @name; never fails. */
void vmi_linux_decode(const char *name, const uint64_t args[6], VmiMem *m,
                      VmiDecoded *d);
void vmi_decoded_clear(VmiDecoded *d);

/* "ENOENT" for -2; NULL for non-errors and unknown numbers. */
const char *vmi_linux_errno_name(int64_t ret);

/* True for system calls that do not return to their caller on success. */
bool vmi_linux_syscall_noreturn(const char *name);

#endif
