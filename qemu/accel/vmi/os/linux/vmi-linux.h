/*
 * kvm-vmi: Linux guest semantics
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VMI_LINUX_H
#define VMI_LINUX_H

#include "accel/vmi/core/vmi-kernel.h"
#include "accel/vmi/x86/vmi-abi.h"
#include "accel/vmi/x86/vmi-mem.h"
#include "accel/vmi/core/vmi-profile.h"
#include "accel/vmi/os/linux/vmi-syscall.h"
#include "accel/vmi/core/vmi-trap-points.h"

#define VMI_MAX_SYSCALLS        1024
#define VMI_BANNER_MAX          512


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
     * Functions every system call passes through, for traps that cannot
     * see the instructions (KVM breakpoints); 0 if the profile lacks them.
     */
    uint64_t syscall_exit;      /* syscall_exit_to_user_mode(regs) */
    uint64_t do_syscall_64;     /* do_syscall_64(regs, nr) */
    uint64_t ia32_dispatch;     /* ia32_sys_call(regs, nr) */
    /* offsets in struct pt_regs; pt_regs_ax is 0 if unknown */
    uint64_t pt_regs_ax;
    uint64_t pt_regs_args32[6]; /* bx, cx, dx, si, di, bp */
    bool has_pt_regs_args32;
    /* the task list, for the process list; has_tasks if known */
    bool has_tasks;
    uint64_t init_task;
    uint64_t task_tasks, task_real_parent, task_mm, task_cred, mm_pgd;
    uint64_t cred_uid;
    /* mm->exe_file's path, for exec events; has_exe_path if known */
    bool has_exe_path;
    uint64_t mm_exe_file, file_f_path, path_mnt, path_dentry;
    uint64_t dentry_d_parent, dentry_d_name, qstr_name;
    /* mm->arg_start..arg_end: an exec's argv as the kernel copied it */
    bool has_exec_args;
    uint64_t mm_arg_start, mm_arg_end;
    /* a task's children, newest last; has_children if known */
    bool has_children;
    uint64_t task_children, task_sibling;
    /* the wait status a zombie leaves its parent; has_exit_code if known */
    bool has_exit_code;
    uint64_t task_exit_code, task_exit_state;
    /*
     * pids as a pid namespace sees them (what clone and wait return in a
     * container): thread_pid->numbers[level].nr; has_pid_ns if known
     */
    bool has_pid_ns;
    uint64_t task_thread_pid, pid_level, pid_numbers, upid_nr, upid_size;
    /* crossing mount points; has_mounts if known */
    bool has_mounts;
    uint64_t mount_mnt, mount_mnt_parent, mount_mnt_mountpoint;
    uint64_t vfsmount_mnt_root;
    /* struct syscall_metadata, to read prototypes; has_meta if known */
    bool has_meta;
    VmiSyscallMetaLayout meta;
    GHashTable *syscall_by_addr; /* __x64_sys_* address -> name */
} VmiLinux;

/* One running instance of that kernel, found in guest memory. */
typedef struct VmiLinuxKernel {
    VmiKernel common;           /* what the core reads */
    uint64_t syscall_exit;      /* run-time addresses; 0 when unknown */
    /*
     * Where the 64-bit entry code resumes after do_syscall_64(): the
     * system call has returned, RSP points at its pt_regs and GS is the
     * kernel's.  Found in the entry code, for kernels that have no
     * syscall_exit_to_user_mode() to trap (7.x inlines it).
     */
    uint64_t syscall_return;
    uint64_t ia32_dispatch;
    /*
     * current_task's per-cpu address: an offset from the per-cpu base
     * where x86_64 per-cpu symbols are absolute (up to 6.12), else a
     * kernel address that moves with the slide
     */
    uint64_t current_task;
    char **syscall_names;       /* nr -> name, nr_syscalls entries */
    VmiSyscallProto *protos;    /* nr -> prototype, nr_syscalls entries */
    /* ia32 prototypes: those of the x86_64 system calls of the same name */
    const VmiSyscallProto **ia32_protos;
} VmiLinuxKernel;

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
VmiLinuxKernel *vmi_linux_identify(const VmiLinux *l, VmiMem *m, uint64_t lstar,
                                   char **err);
void vmi_linux_kernel_free(VmiLinuxKernel *k);

/*
 * Where a mechanism that traps addresses should trap @k: its entry, the
 * return point every call passes (syscall_exit_to_user_mode, or after
 * do_syscall_64's call in the entry code) and the 32-bit dispatcher.
 * Valid while @k is.
 */
void vmi_linux_trap_points(const VmiLinuxKernel *k, VmiTrapPoints *tp);

/* Whether system call @name makes process events (fork, exec, exit...) */
bool vmi_linux_is_lifecycle_syscall(const char *name);

/*
 * Point @m, set up with a vCPU's CR3, at page tables that map the kernel
 * (KPTI's user CR3 does not); @lstar locates the kernel.
 */
void vmi_linux_kernel_view(const VmiLinux *l, VmiMem *m, uint64_t lstar);

/*
 * Read the task running on a vCPU.  @kernel_gs_base is the kernel's
 * per-cpu base, i.e. KERNEL_GS_BASE while the vCPU runs user GS.
 */
bool vmi_linux_current(const VmiLinux *l, const VmiLinuxKernel *k, VmiMem *m,
                       uint64_t kernel_gs_base, VmiTask *task);
/* The same in two steps: the task_struct's address, then its fields. */
bool vmi_linux_current_addr(const VmiLinuxKernel *k, VmiMem *m,
                            uint64_t kernel_gs_base, uint64_t *addr);
bool vmi_linux_read_task(const VmiLinux *l, VmiMem *m, uint64_t addr,
                         VmiTask *task);

/* The name of system call @nr of @abi; "unknown" past the table. */
const char *vmi_linux_syscall_name(const VmiLinuxKernel *k, VmiAbi abi,
                                   uint64_t nr);
/* The kernel's prototype of system call @nr of @abi, or NULL. */
const VmiSyscallProto *vmi_linux_syscall_proto(const VmiLinuxKernel *k,
                                               VmiAbi abi, uint64_t nr);
/* True if the profile's kernel has system call @name in either ABI */
bool vmi_linux_has_syscall(const VmiLinux *l, const char *name);
/* How many system calls @abi numbers */
unsigned vmi_linux_nr_syscalls(const VmiLinuxKernel *k, VmiAbi abi);

/*
 * Bounds of the walk from a file up to the root: components of the path,
 * steps (a dentry or a mount crossing each, so that a cycle of mounts
 * ends too) and, for the whole path, VMI_STRING_MAX bytes.
 */
#define VMI_PATH_DEPTH      64
#define VMI_PATH_STEPS      128

/*
 * The path of the program the task at @task runs (mm->exe_file), walked
 * up its dentries and across its mounts.  NULL, with *@status
 * VMI_WALK_UNREADABLE if a read failed or the task is a kernel thread,
 * or VMI_WALK_LIMIT if the walk reached a bound.
 */
char *vmi_linux_exe_path(const VmiLinux *l, VmiMem *m, uint64_t task,
                         VmiWalkStatus *status);

/* Read what the process list shows of the task at @task. */
/*
 * The argv of the program @task runs, as the kernel copied it onto the
 * new stack at exec (mm->arg_start..arg_end): after a successful exec
 * this is what runs, whatever user memory said at the entry.  At most
 * VMI_ARGV_MAX strings and VMI_ARRAYS_TEXT_MAX bytes (*@truncated);
 * NULL, with *@status, if it could not be read.
 */
char **vmi_linux_exec_argv(const VmiLinux *l, VmiMem *m, uint64_t task,
                           bool *truncated, VmiWalkStatus *status);

/*
 * Did clone return @pid (as @caller's pid namespace sees it) for a new
 * process?  A process is among the newest children of @caller, or of its
 * parent (CLONE_PARENT); a thread is in neither list.  1 yes, 0 no, -1
 * unknown.
 */
int vmi_linux_new_child(const VmiLinux *l, VmiMem *m, uint64_t caller,
                        int32_t pid);

/* A child seen when its parent entered a wait. */
typedef struct VmiChild {
    uint64_t task;
    int32_t pid;        /* as its parent's pid namespace sees it */
    int32_t global_pid; /* task_struct.pid, to tell a reused task */
} VmiChild;

#define VMI_CHILDREN_SEEN   16

/*
 * Up to @max of @task's children (oldest first), with their pids as
 * @task's pid namespace sees them; how many were read.
 */
unsigned vmi_linux_children(const VmiLinux *l, VmiMem *m, uint64_t task,
                            VmiChild *out, unsigned max);

typedef enum VmiWaitKind {
    VMI_WAIT_NONE,
    VMI_WAIT_STATUS,    /* wait4, waitpid: an int wait status */
    VMI_WAIT_SIGINFO,   /* waitid: a siginfo_t */
} VmiWaitKind;

/*
 * A process killed by a signal runs no exit system call: it is seen when
 * its parent reaps it.  Did the wait of @kind that returned @ret (its
 * result at @ptr) reap such a process?  The kernel's own record of the
 * child (its exit_code), among @children seen at the wait's entry, is
 * preferred; the parent's copy of the result is the fallback.  Fills
 * @child (pid, name when known), the signal and whether it dumped core.
 */
bool vmi_linux_reaped_by_signal(const VmiLinux *l, VmiMem *m, VmiAbi abi,
                                VmiWaitKind kind, uint64_t ptr, int64_t ret,
                                const VmiChild *children, unsigned n,
                                VmiTask *child, int *signal, bool *core);

void vmi_linux_read_process(const VmiLinux *l, VmiMem *m, uint64_t task,
                            VmiProcessInfo *p);

/*
 * Walk the task list from init_task, calling @fn for every process
 * (thread group leader) until it returns false.  An unreadable link ends
 * the walk.  Returns false, with *@err set, if the list cannot be walked
 * at all, or if it did not lead back to init_task within VMI_PROCESS_MAX
 * entries (a cycle that avoids init_task, or a corrupt list).
 */
bool vmi_linux_processes(const VmiLinux *l, const VmiLinuxKernel *k, VmiMem *m,
                         bool (*fn)(const VmiProcessInfo *p, void *opaque),
                         void *opaque, char **err);

/* "ENOENT" for -2; NULL for non-errors and unknown numbers. */
const char *vmi_linux_errno_name(int64_t ret);

/* True for system calls that do not return to their caller on success. */
bool vmi_linux_syscall_noreturn(const char *name);

#endif
