/*
 * kvm-vmi: the OS interface, what a guest OS's semantics give the core
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The core traps system calls and delivers events; what a kernel is,
 * where its current task is, what a system call is called, what its
 * parameters mean and which calls make or end processes is the OS
 * layer's.  The core reaches it through this table only, in the manner
 * of LibVMI's os_interface: os/linux/ fills one, a second OS would fill
 * another.  Every member runs on the thread its caller names and reads
 * guest memory through bounded, checked walks: guest data is hostile.
 */

#ifndef VMI_OS_H
#define VMI_OS_H

#include "qapi/qapi-types-vmi.h"
#include "accel/vmi/core/vmi-internal.h"
#include "accel/vmi/core/vmi-kernel.h"
#include "accel/vmi/core/vmi-params.h"
#include "accel/vmi/core/vmi-profile.h"
#include "accel/vmi/core/vmi-trap-points.h"
#include "accel/vmi/x86/vmi-mem.h"

/* What a profile tells an OS layer about one kernel build (opaque) */
typedef struct VmiOsImage VmiOsImage;
/* An OS layer's record of one system call in flight (opaque) */
typedef struct VmiOsCall VmiOsCall;
/* Where a trap's events go; see the vmi_trap_process_* functions */
typedef struct VmiTrapOut VmiTrapOut;

/* A process that started: VMI_PROCESS_START's members */
typedef struct VmiProcessStartInfo {
    VmiProcessStartKind kind;
    int32_t pid;
    int32_t ppid;           /* -1 if unknown */
    char *path;             /* exec: the program; taken */
    char **argv;            /* exec: its argv; taken */
    bool truncated;         /* argv was cut at its bound */
    const char *error;      /* static: "unreadable", "walk-limit" */
} VmiProcessStartInfo;

/*
 * For OS layers, from the lifecycle members below: a process started
 * (@task made it, or runs the new program); a process exited; the calls
 * in flight of thread group @tgid will never return.
 */
void vmi_trap_process_start(VmiTrapOut *out, const VmiTask *task,
                            VmiProcessStartInfo *start);
void vmi_trap_process_exit(VmiTrapOut *out, const VmiTask *task, int code,
                           int signal, bool core_dumped);
void vmi_trap_forget_group(VmiTrapOut *out, int32_t tgid);

typedef struct VmiOsOps {
    /* MANDATORY NON-NULL: the OS's name, for messages */
    const char *name;

    /*
     * MANDATORY NON-NULL: take @profile and check it describes a kernel
     * of this OS with everything tracing needs; NULL with *@err naming
     * the profile and what it lacks.  Main loop.
     */
    VmiOsImage *(*load)(VmiProfile *profile, char **err);
    /* MANDATORY NON-NULL: free what load() made.  Any thread. */
    void (*unload)(VmiOsImage *img);

    /*
     * MANDATORY NON-NULL: identify the kernel whose system call entry
     * is @lstar in memory @m (which maps the kernel) and check it is
     * @img's; NULL with *@err saying why.  Once per boot, any thread.
     */
    VmiKernel *(*identify)(const VmiOsImage *img, VmiMem *m, uint64_t lstar,
                           char **err);
    /* MANDATORY NON-NULL: free what identify() made */
    void (*kernel_free)(VmiKernel *k);
    /*
     * Point @m, set up with a vCPU's CR3, at page tables that map the
     * kernel (a user CR3 may not); NULL if every CR3 maps it.
     */
    void (*kernel_view)(const VmiOsImage *img, VmiMem *m, uint64_t lstar);
    /* MANDATORY NON-NULL: where a mechanism that traps addresses traps */
    void (*trap_points)(const VmiKernel *k, VmiTrapPoints *tp);

    /*
     * MANDATORY NON-NULL: the name of system call @nr of @abi, never
     * NULL ("unknown" past the table).  vCPU thread, on every trap.
     */
    const char *(*syscall_name)(const VmiKernel *k, VmiAbi abi,
                                uint64_t nr);
    /* MANDATORY NON-NULL: whether @img's kernel has a call @name */
    bool (*has_syscall)(const VmiOsImage *img, const char *name);
    /* whether call @name starts or ends processes; NULL: none does */
    bool (*is_lifecycle_syscall)(const char *name);
    /* whether call @name never returns to its caller; NULL: all do */
    bool (*syscall_noreturn)(const char *name);
    /*
     * MANDATORY NON-NULL: the six arguments of the call trapped with
     * @r (for some conventions saved in kernel memory).  vCPU thread.
     */
    void (*entry_args)(const VmiOsImage *img, VmiMem *m, const VmiRegs *r,
                       uint64_t args[VMI_MAX_ARGS]);
    /*
     * MANDATORY NON-NULL: the value a return trapped with @r gives user
     * space; false if it cannot be read.  vCPU thread.
     */
    bool (*return_value)(const VmiOsImage *img, VmiMem *m,
                         const VmiRegs *r, uint64_t *ret);
    /*
     * MANDATORY NON-NULL: decode the parameters of call @nr (@name) of
     * @abi into @out; false, with @out empty, if the kernel does not
     * say what they are.  Bounded by the event's byte budget.
     */
    bool (*decode)(const VmiKernel *k, VmiAbi abi, uint64_t nr,
                   const char *name, const uint64_t args[VMI_MAX_ARGS],
                   VmiMem *m, VmiParams *out);
    /* "ENOENT" for the error a return value stands for; NULL if none */
    const char *(*error_name)(int64_t ret);

    /*
     * MANDATORY NON-NULL: the task running on a vCPU whose kernel
     * per-cpu base is @percpu_base; in two steps, its address then its
     * fields (a return looks up its call by address first).
     */
    bool (*current_task)(const VmiOsImage *img, const VmiKernel *k,
                         VmiMem *m, uint64_t percpu_base, VmiTask *task);
    bool (*current_task_addr)(const VmiKernel *k, VmiMem *m,
                              uint64_t percpu_base, uint64_t *addr);
    bool (*read_task)(const VmiOsImage *img, VmiMem *m, uint64_t addr,
                      VmiTask *task);

    /*
     * Process events, for the calls is_lifecycle_syscall() names.  At
     * the entry of @task's call @name: events the entry makes, and what
     * its return will need (NULL if nothing).  vCPU thread.
     */
    VmiOsCall *(*lifecycle_enter)(const VmiOsImage *img, VmiMem *m,
                                  VmiTrapOut *out, const VmiTask *task,
                                  const char *name,
                                  const uint64_t args[VMI_MAX_ARGS]);
    /* At its return with @ret: the events the return makes */
    void (*lifecycle_return)(const VmiOsImage *img, VmiMem *m,
                             VmiTrapOut *out, VmiAbi abi,
                             const VmiTask *task, VmiOsCall *call,
                             int64_t ret);
    /*
     * Whether the task returning from @call may show another pid than
     * it entered with, as its thread group's id (an exec from a thread
     * other than the leader takes the leader's pid)
     */
    bool (*call_takes_group_pid)(const VmiOsCall *call);
    void (*call_free)(VmiOsCall *call);

    /*
     * MANDATORY NON-NULL: call @fn for every process until it returns
     * false; false with *@err if the list cannot be walked.  Main loop.
     */
    bool (*processes)(const VmiOsImage *img, const VmiKernel *k, VmiMem *m,
                      bool (*fn)(const VmiProcessInfo *p, void *opaque),
                      void *opaque, char **err);
} VmiOsOps;

/* Linux (os/linux/vmi-linux-os.c) */
extern const VmiOsOps vmi_os_linux;

#endif
