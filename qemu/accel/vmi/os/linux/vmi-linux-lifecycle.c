/*
 * kvm-vmi: Linux process events, from the system calls that make them
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * fork, vfork, clone and clone3 start processes, execve and execveat
 * replace their program, exit and exit_group end them, and wait4,
 * waitpid and waitid reap those a signal killed (which run no exit
 * call).  What a call's return needs is read at its entry; what the
 * process became is read from the kernel at the return, never from user
 * memory that a racing thread can rewrite.
 */

#include "qemu/osdep.h"
#include "accel/vmi/core/vmi-os.h"
#include "accel/vmi/os/linux/vmi-linux.h"
#include "accel/vmi/os/linux/vmi-linux-os.h"

#define CLONE_THREAD_FLAG   0x00010000
#define WNOWAIT_FLAG        0x01000000

/* What a lifecycle call's return needs */
struct VmiOsCall {
    bool makes_child;   /* fork, vfork, clone, clone3 */
    VmiProcessStartKind child_kind;
    uint64_t clone_flags;
    /*
     * clone3's flags are in user memory, which the caller's other
     * threads can rewrite after we read them: check with the kernel.
     */
    bool flags_in_memory, flags_unreadable;
    bool exec;          /* execve, execveat */
    /* wait4, waitpid, waitid: where the result goes, children seen */
    VmiWaitKind wait_kind;
    uint64_t wait_result;
    VmiChild *children;
    unsigned nr_children;
};

VmiOsCall *vmi_linux_lifecycle_enter(const VmiOsImage *img, VmiMem *m,
                                     VmiTrapOut *out, const VmiTask *task,
                                     const char *name,
                                     const uint64_t args[VMI_MAX_ARGS])
{
    const VmiLinux *l = vmi_linux_of(img);
    bool group_exit = !strcmp(name, "exit_group");
    VmiOsCall *p;

    if (group_exit || !strcmp(name, "exit")) {
        if (group_exit || task->pid == task->tgid) {
            vmi_trap_process_exit(out, task, args[0] & 0xff, 0, false);
        }
        /* the group's threads blocked in a call never return */
        if (group_exit) {
            vmi_trap_forget_group(out, task->tgid);
        }
        return NULL;
    }

    p = g_new0(VmiOsCall, 1);
    if (!strcmp(name, "fork")) {
        p->makes_child = true;
        p->child_kind = VMI_PROCESS_START_KIND_FORK;
    } else if (!strcmp(name, "vfork")) {
        p->makes_child = true;
        p->child_kind = VMI_PROCESS_START_KIND_VFORK;
    } else if (!strcmp(name, "clone")) {
        p->makes_child = true;
        p->child_kind = VMI_PROCESS_START_KIND_CLONE;
        p->clone_flags = args[0];
    } else if (!strcmp(name, "clone3")) {
        p->makes_child = true;
        p->child_kind = VMI_PROCESS_START_KIND_CLONE;
        /* struct clone_args starts with the u64 flags */
        p->flags_in_memory = true;
        p->flags_unreadable = !vmi_read_u64(m, args[0], &p->clone_flags);
    } else if (!strcmp(name, "execve") || !strcmp(name, "execveat")) {
        /*
         * Nothing is read here: what a successful exec runs is read
         * from the kernel at its return, not from user memory that a
         * racing thread can rewrite (or that a child fresh from fork
         * does not map yet).
         */
        p->exec = true;
    } else if (!strcmp(name, "wait4") || !strcmp(name, "waitpid")) {
        p->wait_kind = VMI_WAIT_STATUS;
        p->wait_result = args[1];
    } else if (!strcmp(name, "waitid") && !(args[3] & WNOWAIT_FLAG)) {
        p->wait_kind = VMI_WAIT_SIGINFO;
        p->wait_result = args[2];
    }
    if (p->wait_kind) {
        /* a child killed while its parent waits is among these */
        p->children = g_new(VmiChild, VMI_CHILDREN_SEEN);
        p->nr_children = vmi_linux_children(l, m, task->addr, p->children,
                                            VMI_CHILDREN_SEEN);
    }
    if (!p->makes_child && !p->exec && !p->wait_kind) {
        g_free(p);
        return NULL;
    }
    return p;
}

/*
 * Did the fork or clone that returned @child to @task make a process (not
 * a thread)?  clone's flags come from a register; clone3's from user
 * memory, so the kernel's lists of children decide.
 */
static bool new_process(const VmiLinux *l, VmiMem *m, const VmiOsCall *p,
                        const VmiTask *task, int64_t child)
{
    int known;

    if (!p->flags_in_memory) {
        return !(p->clone_flags & CLONE_THREAD_FLAG);
    }
    known = child <= INT32_MAX ?
            vmi_linux_new_child(l, m, task->addr, child) : -1;
    if (known >= 0) {
        return known;
    }
    return !p->flags_unreadable && !(p->clone_flags & CLONE_THREAD_FLAG);
}

void vmi_linux_lifecycle_return(const VmiOsImage *img, VmiMem *m,
                                VmiTrapOut *out, VmiAbi abi,
                                const VmiTask *task, VmiOsCall *p,
                                int64_t ret)
{
    const VmiLinux *l = vmi_linux_of(img);

    if (p->exec && ret == 0) {
        VmiProcessInfo info = { .ppid = -1 };
        VmiWalkStatus path_status, argv_status;
        VmiProcessStartInfo start = {
            .kind = VMI_PROCESS_START_KIND_EXEC,
            .pid = task->tgid,
        };

        if (l->has_tasks) {
            vmi_linux_read_process(l, m, task->addr, &info);
        }
        start.ppid = info.ppid;
        /* the file the kernel runs, and the argv it copied */
        start.path = vmi_linux_exe_path(l, m, task->addr, &path_status);
        start.argv = vmi_linux_exec_argv(l, m, task->addr, &start.truncated,
                                         &argv_status);
        if (!start.argv) {
            start.argv = g_new0(char *, 1);
        }
        /* a walk that reached its bound is not missing memory */
        start.error = vmi_walk_error(path_status != VMI_WALK_OK ?
                                     path_status : argv_status);
        vmi_trap_process_start(out, task, &start);
    } else if (p->wait_kind) {
        VmiTask child;
        int signal;
        bool core;

        if (vmi_linux_reaped_by_signal(l, m, abi, p->wait_kind,
                                       p->wait_result, ret, p->children,
                                       p->nr_children, &child, &signal,
                                       &core)) {
            vmi_trap_process_exit(out, &child, 128 + signal, signal, core);
            /* its threads' calls in flight never return */
            vmi_trap_forget_group(out, child.tgid);
        }
    } else if (ret > 0 && p->makes_child && new_process(l, m, p, task, ret)) {
        VmiProcessStartInfo start = {
            .kind = p->child_kind,
            .pid = ret,
            .ppid = task->tgid,
        };

        vmi_trap_process_start(out, task, &start);
    }
}

bool vmi_linux_call_takes_group_pid(const VmiOsCall *p)
{
    return p->exec;
}

void vmi_linux_call_free(VmiOsCall *p)
{
    g_free(p->children);
    g_free(p);
}
