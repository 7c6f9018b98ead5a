/*
 * kvm-vmi: Linux processes, read from the kernel's own records
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The program a task runs (mm->exe_file, walked up its dentries and
 * across mounts), the argv the kernel copied at exec, a task's children
 * and what it left its parent, and the process list.  Every walk is
 * bounded in steps and bytes and every read checked: the structures are
 * the guest's, and hostile.
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "accel/vmi/os/linux/vmi-linux.h"

/*
 * Step from the root of mount @*mnt to where it is mounted; false at the
 * root of the tree (or without the mount layout).
 */
static bool cross_mount(const VmiLinux *l, VmiMem *m, uint64_t *mnt,
                        uint64_t *dentry)
{
    uint64_t mount = *mnt - l->mount_mnt, parent, mountpoint;

    if (!l->has_mounts ||
        !vmi_read_u64(m, mount + l->mount_mnt_parent, &parent) ||
        parent == mount ||
        !vmi_read_u64(m, mount + l->mount_mnt_mountpoint, &mountpoint)) {
        return false;
    }
    *mnt = parent + l->mount_mnt;
    *dentry = mountpoint;
    return true;
}

char *vmi_linux_exe_path(const VmiLinux *l, VmiMem *m, uint64_t task,
                         VmiWalkStatus *status)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    uint64_t mm, file, mnt, dentry;
    size_t bytes = 0;
    unsigned steps;
    GString *path;
    char *valid;

    *status = VMI_WALK_UNREADABLE;
    if (!l->has_exe_path || !l->has_tasks ||
        !vmi_read_u64(m, task + l->task_mm, &mm) || !mm ||
        !vmi_read_u64(m, mm + l->mm_exe_file, &file) || !file ||
        !vmi_read_u64(m, file + l->file_f_path + l->path_mnt, &mnt) ||
        !vmi_read_u64(m, file + l->file_f_path + l->path_dentry,
                      &dentry)) {
        return NULL;
    }
    /*
     * Every pass is a step, a mount crossing as much as a dentry: two
     * mounts that are each other's parent, each mounted on the other's
     * root, cross forever without adding a component.
     */
    for (steps = 0;; steps++) {
        uint64_t parent, root = 0, name_ptr;
        char name[256];
        bool truncated;
        ssize_t len;

        if (steps == VMI_PATH_STEPS) {
            *status = VMI_WALK_LIMIT;
            return NULL;
        }
        if (l->has_mounts) {
            vmi_read_u64(m, mnt + l->vfsmount_mnt_root, &root);
        }
        if (dentry == root && cross_mount(l, m, &mnt, &dentry)) {
            continue;
        }
        if (!vmi_read_u64(m, dentry + l->dentry_d_parent, &parent)) {
            return NULL;
        }
        if (parent == dentry) {
            break;      /* the root of the file system tree */
        }
        if (!vmi_read_u64(m, dentry + l->dentry_d_name + l->qstr_name,
                          &name_ptr)) {
            return NULL;
        }
        len = vmi_read_cstr(m, name_ptr, name, sizeof(name), &truncated);
        if (len < 0) {
            return NULL;
        }
        /* a path cut at either bound would name another file */
        bytes += 1 + len;
        if (names->len == VMI_PATH_DEPTH || bytes > VMI_STRING_MAX) {
            *status = VMI_WALK_LIMIT;
            return NULL;
        }
        g_ptr_array_add(names, g_strdup(name));
        dentry = parent;
    }
    *status = VMI_WALK_OK;
    path = g_string_sized_new(bytes + 1);
    for (guint i = names->len; i-- > 0;) {
        g_string_append_c(path, '/');
        g_string_append(path, g_ptr_array_index(names, i));
    }
    if (!path->len) {
        g_string_append_c(path, '/');
    }
    valid = g_utf8_make_valid(path->str, -1);
    g_string_free(path, true);
    return valid;
}

char **vmi_linux_exec_argv(const VmiLinux *l, VmiMem *m, uint64_t task,
                           bool *truncated, VmiWalkStatus *status)
{
    g_autofree char *buf = NULL;
    uint64_t mm, start, end, len;
    GPtrArray *v;
    size_t at = 0;

    *status = VMI_WALK_UNREADABLE;
    if (!l->has_exec_args || !l->has_tasks ||
        !vmi_read_u64(m, task + l->task_mm, &mm) || !mm ||
        !vmi_read_u64(m, mm + l->mm_arg_start, &start) ||
        !vmi_read_u64(m, mm + l->mm_arg_end, &end) || end <= start) {
        return NULL;
    }
    len = end - start;
    if (len > VMI_ARRAYS_TEXT_MAX) {
        len = VMI_ARRAYS_TEXT_MAX;
        *truncated = true;
    }
    buf = g_malloc(len + 1);
    if (!vmi_read(m, start, buf, len)) {
        return NULL;
    }
    buf[len] = 0;
    v = g_ptr_array_new();
    while (at < len) {
        size_t n = strnlen(buf + at, len - at);

        if (v->len == VMI_ARGV_MAX) {
            *truncated = true;
            break;
        }
        g_ptr_array_add(v, g_utf8_make_valid(buf + at, n));
        at += n + 1;
    }
    g_ptr_array_add(v, NULL);
    *status = VMI_WALK_OK;
    return (char **)g_ptr_array_free(v, false);
}

/* Linux's MAX_PID_NS_LEVEL */
#define VMI_PID_NS_LEVELS   32

/* The depth of @task's pid namespace (0: the initial one). */
static bool task_ns_level(const VmiLinux *l, VmiMem *m, uint64_t task,
                          uint32_t *level)
{
    uint64_t pid;

    *level = 0;
    if (!l->has_pid_ns) {
        return true;
    }
    return vmi_read_u64(m, task + l->task_thread_pid, &pid) && pid &&
           vmi_read_u32(m, pid + l->pid_level, level) &&
           *level <= VMI_PID_NS_LEVELS;
}

/* @task's pid as the namespace at depth @level sees it. */
static bool task_pid_at(const VmiLinux *l, VmiMem *m, uint64_t task,
                        uint32_t level, uint32_t *nr)
{
    uint64_t pid;
    uint32_t own;

    if (!l->has_pid_ns) {
        return level == 0 && vmi_read_u32(m, task + l->task_pid, nr);
    }
    return vmi_read_u64(m, task + l->task_thread_pid, &pid) && pid &&
           vmi_read_u32(m, pid + l->pid_level, &own) && level <= own &&
           vmi_read_u32(m, pid + l->pid_numbers + level * l->upid_size +
                        l->upid_nr, nr);
}

/* Children are added at the tail; a few cover concurrent forks. */
#define VMI_NEW_CHILDREN    8

/* Is @pid among @parent's newest children?  1 yes, 0 no, -1 unknown. */
static int newest_child(const VmiLinux *l, VmiMem *m, uint64_t parent,
                        uint32_t level, int32_t pid)
{
    uint64_t head = parent + l->task_children, node;

    if (!vmi_read_u64(m, head + 8, &node)) {
        return -1;
    }
    /* list_head is { next, prev }: walk back from prev */
    for (unsigned i = 0; node != head; i++) {
        uint32_t child_pid;

        if (!task_pid_at(l, m, node - l->task_sibling, level, &child_pid)) {
            return -1;
        }
        if ((int32_t)child_pid == pid) {
            return 1;
        }
        if (i + 1 == VMI_NEW_CHILDREN) {
            return -1;
        }
        if (!vmi_read_u64(m, node + 8, &node)) {
            return -1;
        }
    }
    return 0;
}

int vmi_linux_new_child(const VmiLinux *l, VmiMem *m, uint64_t caller,
                        int32_t pid)
{
    uint64_t parent;
    uint32_t level;
    int mine, parents;

    if (!l->has_children || !l->has_tasks ||
        !task_ns_level(l, m, caller, &level)) {
        return -1;
    }
    mine = newest_child(l, m, caller, level, pid);
    if (mine == 1) {
        return 1;
    }
    /*
     * CLONE_PARENT makes the child its caller's sibling; whatever the
     * flags in user memory say, which another thread can change
     */
    if (!vmi_read_u64(m, caller + l->task_real_parent, &parent)) {
        return -1;
    }
    parents = newest_child(l, m, parent, level, pid);
    if (parents == 1) {
        return 1;
    }
    return mine == 0 && parents == 0 ? 0 : -1;
}

unsigned vmi_linux_children(const VmiLinux *l, VmiMem *m, uint64_t task,
                            VmiChild *out, unsigned max)
{
    uint64_t head = task + l->task_children, node;
    uint32_t level;
    unsigned n = 0;

    if (!l->has_children || !task_ns_level(l, m, task, &level) ||
        !vmi_read_u64(m, head, &node)) {
        return 0;
    }
    while (n < max && node != head) {
        uint32_t pid, global;

        out[n].task = node - l->task_sibling;
        if (!task_pid_at(l, m, out[n].task, level, &pid) ||
            !vmi_read_u32(m, out[n].task + l->task_pid, &global) ||
            !vmi_read_u64(m, node, &node)) {
            break;
        }
        out[n].global_pid = global;
        out[n++].pid = pid;
    }
    return n;
}

/*
 * siginfo_t of a child: si_code (CLD_KILLED, CLD_DUMPED: POSIX, the
 * host's values are Linux's), and the _sigchld fields
 */
#define SI_CODE_OFFSET      8
#define SI_PID_OFFSET(abi)  ((abi) == VMI_ABI_IA32 ? 12 : 16)
#define SI_STATUS_OFFSET(abi) ((abi) == VMI_ABI_IA32 ? 20 : 24)

/* task_struct.exit_state: the task is dead, its exit_code final */
#define EXIT_ZOMBIE_STATE   16
#define EXIT_DEAD_STATE     32

/* A wait status's low 7 bits: 0 an exit, 0x7f a stop, else a signal */
static bool status_killed(uint32_t status)
{
    return (status & 0x7f) != 0 && (status & 0x7f) != 0x7f;
}

bool vmi_linux_reaped_by_signal(const VmiLinux *l, VmiMem *m, VmiAbi abi,
                                VmiWaitKind kind, uint64_t ptr, int64_t ret,
                                const VmiChild *children, unsigned n,
                                VmiTask *child, int *signal, bool *core)
{
    uint32_t pid = 0, status = 0, kstatus = 0, code, state;
    bool user_known = false, kernel_known = false;

    memset(child, 0, sizeof(*child));
    if (kind == VMI_WAIT_STATUS && ret > 0 && ret <= INT32_MAX) {
        pid = ret;
    } else if (kind != VMI_WAIT_SIGINFO || ret != 0 || !ptr ||
               !vmi_read_u32(m, ptr + SI_PID_OFFSET(abi), &pid) || !pid) {
        return false;
    }
    child->pid = child->tgid = pid;
    /* the parent's copy of the result */
    if (kind == VMI_WAIT_STATUS) {
        user_known = ptr && vmi_read_u32(m, ptr, &status);
    } else if (vmi_read_u32(m, ptr + SI_CODE_OFFSET, &code) &&
               vmi_read_u32(m, ptr + SI_STATUS_OFFSET(abi), &status)) {
        user_known = true;
        status = code == CLD_KILLED || code == CLD_DUMPED ?
                 (status & 0x7f) | (code == CLD_DUMPED ? 0x80 : 0) : 0;
    }
    /*
     * The kernel's own record of the child, which its parent's other
     * threads cannot rewrite: a reaped task_struct is freed only after
     * an RCU grace period, so at the wait's return it is still there.
     * Only a dead task's exit_code is its wait status (a stopped one
     * holds the stop signal), and the task must still be the one seen
     * at the entry.
     */
    for (unsigned i = 0; i < n && l->has_exit_code; i++) {
        VmiTask t;

        if (children[i].pid == (int32_t)pid &&
            vmi_linux_read_task(l, m, children[i].task, &t) &&
            t.pid == children[i].global_pid &&
            vmi_read_u32(m, children[i].task + l->task_exit_state, &state) &&
            (state & (EXIT_ZOMBIE_STATE | EXIT_DEAD_STATE)) &&
            vmi_read_u32(m, children[i].task + l->task_exit_code,
                         &kstatus)) {
            /* the global pid, as in every other event */
            child->pid = child->tgid = t.tgid;
            memcpy(child->comm, t.comm, sizeof(child->comm));
            kernel_known = true;
            break;
        }
    }
    if (kernel_known && status_killed(kstatus)) {
        status = kstatus;
    } else if (kernel_known && kstatus) {
        return false;   /* an exit status: what the parent's copy says */
    } else if (!user_known || !status_killed(status)) {
        /*
         * The leader's exit_code is 0 when it left first and the group
         * was killed later (the status is then the group's): only the
         * parent's copy tells.
         */
        return false;
    }
    *signal = status & 0x7f;
    *core = status & 0x80;
    return true;
}

void vmi_linux_read_process(const VmiLinux *l, VmiMem *m, uint64_t task,
                            VmiProcessInfo *p)
{
    VmiTask t;
    uint64_t parent, mm, cred;
    uint32_t ppid, uid;

    memset(p, 0, sizeof(*p));
    p->task = task;
    p->ppid = -1;
    p->uid = -1;
    if (vmi_linux_read_task(l, m, task, &t)) {
        p->pid = t.pid;
        p->tgid = t.tgid;
        memcpy(p->comm, t.comm, sizeof(p->comm));
    } else {
        p->pid = p->tgid = -1;
    }
    if (vmi_read_u64(m, task + l->task_real_parent, &parent) &&
        vmi_read_u32(m, parent + l->task_tgid, &ppid)) {
        p->ppid = ppid;
    }
    if (vmi_read_u64(m, task + l->task_mm, &mm) && mm &&
        !vmi_read_u64(m, mm + l->mm_pgd, &p->pgd)) {
        p->pgd = 0;
    }
    if (vmi_read_u64(m, task + l->task_cred, &cred) &&
        vmi_read_u32(m, cred + l->cred_uid, &uid)) {
        p->uid = uid;
    }
}

bool vmi_linux_processes(const VmiLinux *l, const VmiLinuxKernel *k, VmiMem *m,
                         bool (*fn)(const VmiProcessInfo *p, void *opaque),
                         void *opaque, char **err)
{
    uint64_t head, next;
    VmiProcessInfo p;
    unsigned n;

    if (!l->has_tasks) {
        *err = g_strdup_printf("profile '%s' lacks the task list (init_task, "
                               "task_struct.tasks/real_parent/mm/cred, "
                               "mm_struct.pgd or cred.uid)",
                               l->profile->path);
        return false;
    }
    head = l->init_task + k->common.slide + l->task_tasks;
    if (!vmi_read_u64(m, head, &next)) {
        *err = g_strdup_printf("init_task at 0x%" PRIx64 " is unreadable",
                               l->init_task + k->common.slide);
        return false;
    }
    /*
     * The list is the guest's: it may be changing under us, or be made
     * cyclic without passing the head again.  Every entry is a step, and
     * the bound ends both; a list cut there would look whole.
     */
    for (n = 0; next != head; n++) {
        uint64_t task = next - l->task_tasks;

        if (n == VMI_PROCESS_MAX) {
            *err = g_strdup_printf("the task list did not lead back to "
                                   "init_task within %d entries: it is "
                                   "cyclic or corrupt", VMI_PROCESS_MAX);
            return false;
        }
        vmi_linux_read_process(l, m, task, &p);
        if (!fn(&p, opaque) || !vmi_read_u64(m, next, &next)) {
            break;
        }
    }
    return true;
}
