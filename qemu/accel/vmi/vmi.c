/*
 * kvm-vmi: agentless virtual machine introspection
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Lifecycle shared by -vmi and QMP, the per-vCPU trap handlers and event
 * delivery.  Trap handlers run on the vCPU thread without the BQL: they
 * read guest memory, build a finished event and push it into the vCPU's
 * bounded ring.  A main-loop bottom half drains the rings into QMP.
 *
 * The session (profile, identified kernel, pending system calls) is
 * RCU-protected: vmi-disable unpublishes it and frees it after a grace
 * period, so a vCPU still inside a handler never sees freed memory.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-vmi.h"
#include "qapi/qapi-events-vmi.h"
#include "qemu/config-file.h"
#include "qemu/main-loop.h"
#include "qemu/option.h"
#include "qemu/rcu.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "hw/boards.h"
#include "hw/core/cpu.h"
#include "system/hw_accel.h"
#include "system/kvm.h"
#include "system/tcg.h"
#include "system/vmi.h"
#include "cpu.h"
#include "vmi-internal.h"

/* Events queued per vCPU before further ones are dropped (power of 2). */
#define VMI_RING_SIZE       65536
/* Events emitted per bottom-half run, so the main loop stays responsive. */
#define VMI_DRAIN_BUDGET    4096
/* System calls in flight tracked at once; a guest can't grow it further. */
#define VMI_PENDING_MAX     65536

typedef struct VmiEvent {
    VmiDirection direction;
    int vcpu;
    uint64_t cr3;
    uint64_t nr;
    char *name;
    VmiTask task;
    bool task_known;
    uint64_t args[6];
    int64_t ret;
    int64_t elapsed_ns;     /* exit: guest time since the entry */
    VmiDecoded decoded;     /* by our table, for kernels without prototypes */
    VmiParams params;       /* by the kernel's prototype */
    bool has_proto;
} VmiEvent;

/* Single producer (the vCPU's thread), single consumer (the main loop). */
typedef struct VmiRing {
    VmiEvent **slots;
    uint32_t head;
    uint32_t tail;
    uint64_t trapped;
    uint64_t dropped;
} VmiRing;

typedef struct VmiPending {
    uint64_t task;      /* hash key: the task_struct's address */
    int32_t pid;
    uint64_t nr;
    int64_t entered_ns; /* QEMU_CLOCK_VIRTUAL: guest time */
} VmiPending;

typedef struct VmiSession {
    struct rcu_head rcu;
    VmiLinux *os;
    VmiMechanism mechanism;
    VmiKernel *kernel;      /* RCU-published, replaced on reboot */
    QemuMutex lock;         /* protects the members below */
    uint64_t failed_lstar;
    char *error;
    GHashTable *pending;    /* task address -> VmiPending */
} VmiSession;

bool vmi_syscall_hooks_on;

static struct {
    VmiSession *session;    /* RCU-published; NULL when off */
    char *default_profile;  /* from -vmi profile= */
    VmiRing *rings;
    unsigned nr_rings;
    QEMUBH *bh;
    uint64_t events;
} vmi;

QemuOptsList qemu_vmi_opts = {
    .name = "vmi",
    .implied_opt_name = "profile",
    .merge_lists = true,
    .head = QTAILQ_HEAD_INITIALIZER(qemu_vmi_opts.head),
    .desc = {
        {
            .name = "profile",
            .type = QEMU_OPT_STRING,
            .help = "guest kernel profile (ISF JSON from vmi-profile)",
        }, {
            .name = "syscalls",
            .type = QEMU_OPT_BOOL,
            .help = "trace system calls from start-up (default: off)",
        },
        { /* end of list */ }
    },
};

/*
 * Guest page tables may point anywhere: read RAM only, never MMIO, so a
 * hostile guest cannot make introspection poke devices.
 */
static bool read_guest_ram(void *opaque, uint64_t pa, void *buf, size_t len)
{
    AddressSpace *as = opaque;
    uint8_t *out = buf;

    RCU_READ_LOCK_GUARD();
    while (len) {
        hwaddr xlat, chunk = len;
        MemoryRegion *mr = address_space_translate(as, pa, &xlat, &chunk,
                                                   false,
                                                   MEMTXATTRS_UNSPECIFIED);

        if (!memory_region_is_ram(mr) || memory_region_is_ram_device(mr) ||
            chunk == 0) {
            return false;
        }
        memcpy(out, (uint8_t *)memory_region_get_ram_ptr(mr) + xlat, chunk);
        pa += chunk;
        out += chunk;
        len -= chunk;
    }
    return true;
}

static void mem_for_regs(VmiMem *m, const VmiSession *s, CPUState *cs,
                         const VmiRegs *r)
{
    vmi_mem_init(m, read_guest_ram, cs->as,
                 vmi_linux_kernel_cr3(s->os, r->cr3), r->la57);
}

/* TCG: the registers are QEMU's own */
static void regs_from_env(CPUState *cs, VmiRegs *r)
{
    CPUX86State *env = cpu_env(cs);

    r->rax = env->regs[R_EAX];
    r->rdi = env->regs[R_EDI];
    r->rsi = env->regs[R_ESI];
    r->rdx = env->regs[R_EDX];
    r->r10 = env->regs[10];
    r->r8 = env->regs[8];
    r->r9 = env->regs[9];
    r->cr3 = env->cr[3];
    r->la57 = (env->hflags & HF_LMA_MASK) && (env->cr[4] & CR4_LA57_MASK);
    r->lstar = env->lstar;
    /* both hooks run while the user's GS is loaded */
    r->percpu_base = env->kernelgsbase;
    r->pt_regs = 0;
}

static void event_free(VmiEvent *ev)
{
    g_free(ev->name);
    vmi_decoded_clear(&ev->decoded);
    vmi_params_clear(&ev->params);
    g_free(ev);
}

/* Session */

static void session_free(VmiSession *s)
{
    vmi_kernel_free(s->kernel);
    vmi_linux_free(s->os);
    g_hash_table_destroy(s->pending);
    g_free(s->error);
    qemu_mutex_destroy(&s->lock);
    g_free(s);
}

static void session_free_rcu(VmiSession *s)
{
    session_free(s);
}

static VmiSession *session_new(const char *profile, Error **errp)
{
    g_autofree char *err = NULL;
    VmiProfile *p = vmi_profile_load(profile, &err);
    VmiLinux *l;
    VmiSession *s;

    if (!p) {
        error_setg(errp, "%s", err);
        return NULL;
    }
    l = vmi_linux_new(p, &err);
    if (!l) {
        error_setg(errp, "%s", err);
        return NULL;
    }
    s = g_new0(VmiSession, 1);
    s->os = l;
    qemu_mutex_init(&s->lock);
    s->pending = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                       g_free);
    return s;
}

typedef struct VmiKernelRcu {
    struct rcu_head rcu;
    VmiKernel *kernel;
} VmiKernelRcu;

static void kernel_rcu_cb(VmiKernelRcu *r)
{
    vmi_kernel_free(r->kernel);
    g_free(r);
}

/*
 * Identify the kernel behind @lstar; called when the guest (re)wrote
 * MSR_LSTAR, i.e. once per boot.  A kernel that does not match is
 * remembered so it is not re-examined on every system call.
 */
static const VmiKernel *session_identify(VmiSession *s, VmiMem *m,
                                         uint64_t lstar)
{
    g_autofree char *err = NULL;
    VmiKernel *k, *old;

    QEMU_LOCK_GUARD(&s->lock);
    old = qatomic_rcu_read(&s->kernel);
    if (old && old->lstar == lstar) {
        return old;
    }
    if (lstar == 0 || lstar == s->failed_lstar) {
        return NULL;
    }
    k = vmi_linux_identify(s->os, m, lstar, &err);
    if (!k) {
        g_free(s->error);
        s->error = g_steal_pointer(&err);
        s->failed_lstar = lstar;
        return NULL;
    }
    g_clear_pointer(&s->error, g_free);
    s->failed_lstar = 0;
    g_hash_table_remove_all(s->pending);
    qatomic_rcu_set(&s->kernel, k);
    if (old) {
        VmiKernelRcu *r = g_new0(VmiKernelRcu, 1);

        r->kernel = old;
        call_rcu(r, kernel_rcu_cb, rcu);
    }
    return k;
}

static const VmiKernel *session_kernel(VmiSession *s, VmiMem *m,
                                       uint64_t lstar)
{
    const VmiKernel *k = qatomic_rcu_read(&s->kernel);

    if (likely(k && k->lstar == lstar)) {
        return k;
    }
    return session_identify(s, m, lstar);
}

static void pending_add(VmiSession *s, const VmiTask *task, uint64_t nr)
{
    VmiPending *p = g_new(VmiPending, 1);

    p->task = task->addr;
    p->pid = task->pid;
    p->nr = nr;
    p->entered_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    QEMU_LOCK_GUARD(&s->lock);
    if (g_hash_table_size(s->pending) >= VMI_PENDING_MAX) {
        /* tasks killed inside a system call never return: forget them */
        g_hash_table_remove_all(s->pending);
    }
    g_hash_table_replace(s->pending, &p->task, p);
}

/* Remove @task's system call in flight; false if it has none. */
static bool pending_take(VmiSession *s, uint64_t task, int32_t *pid,
                         uint64_t *nr, int64_t *entered_ns)
{
    VmiPending *p;

    QEMU_LOCK_GUARD(&s->lock);
    p = g_hash_table_lookup(s->pending, &task);
    if (!p) {
        return false;
    }
    *pid = p->pid;
    *nr = p->nr;
    *entered_ns = p->entered_ns;
    g_hash_table_remove(s->pending, &task);
    return true;
}

/* Event rings */

static void rings_init(void)
{
    MachineState *ms = MACHINE(qdev_get_machine());
    unsigned n = ms->smp.max_cpus;

    if (vmi.rings) {
        return;
    }
    vmi.rings = g_new0(VmiRing, n);
    for (unsigned i = 0; i < n; i++) {
        vmi.rings[i].slots = g_new0(VmiEvent *, VMI_RING_SIZE);
    }
    vmi.nr_rings = n;
}

static VmiRing *ring_for(CPUState *cs)
{
    return cs->cpu_index < vmi.nr_rings ? &vmi.rings[cs->cpu_index] : NULL;
}

static bool ring_full(VmiRing *r)
{
    return r->head - qatomic_load_acquire(&r->tail) >= VMI_RING_SIZE;
}

static void ring_push(VmiRing *r, VmiEvent *ev)
{
    r->slots[r->head % VMI_RING_SIZE] = ev;
    qatomic_store_release(&r->head, r->head + 1);
    qemu_bh_schedule(vmi.bh);
}

static void ring_count_trap(VmiRing *r)
{
    qatomic_set(&r->trapped, r->trapped + 1);
}

static void ring_count_drop(VmiRing *r)
{
    qatomic_set(&r->dropped, r->dropped + 1);
}

/* Trap handlers (vCPU thread) */

static VmiEvent *event_new(CPUState *cs, const VmiRegs *r, VmiDirection dir,
                           uint64_t nr, const char *name, const VmiTask *task,
                           bool task_known)
{
    VmiEvent *ev = g_new0(VmiEvent, 1);

    ev->direction = dir;
    ev->vcpu = cs->cpu_index;
    ev->cr3 = r->cr3;
    ev->nr = nr;
    ev->name = g_strdup(name);
    ev->task = *task;
    ev->task_known = task_known;
    return ev;
}

void vmi_trap_syscall_enter(CPUState *cs, const VmiRegs *r)
{
    const VmiSyscallProto *proto;
    const VmiKernel *k;
    VmiSession *s;
    VmiRing *ring;
    VmiEvent *ev;
    VmiTask task;
    VmiMem m;
    uint64_t nr;
    const char *name;
    bool task_known;

    RCU_READ_LOCK_GUARD();
    s = qatomic_rcu_read(&vmi.session);
    ring = ring_for(cs);
    if (!s || !ring) {
        return;
    }
    mem_for_regs(&m, s, cs, r);
    k = session_kernel(s, &m, r->lstar);
    if (!k) {
        return;
    }
    ring_count_trap(ring);
    nr = r->rax;
    name = vmi_kernel_syscall_name(k, nr);
    task_known = vmi_linux_current(s->os, &m, r->percpu_base, &task);
    if (task_known && !vmi_linux_syscall_noreturn(name)) {
        pending_add(s, &task, nr);
    }
    if (ring_full(ring)) {
        ring_count_drop(ring);
        return;
    }
    ev = event_new(cs, r, VMI_DIRECTION_ENTER, nr, name, &task, task_known);
    ev->args[0] = r->rdi;
    ev->args[1] = r->rsi;
    ev->args[2] = r->rdx;
    ev->args[3] = r->r10;
    ev->args[4] = r->r8;
    ev->args[5] = r->r9;
    proto = vmi_kernel_syscall_proto(k, nr);
    ev->has_proto = proto != NULL;
    if (proto) {
        vmi_params_decode(proto, name, ev->args, &m, &ev->params);
    } else {
        vmi_linux_decode(name, ev->args, &m, &ev->decoded);
    }
    ring_push(ring, ev);
}

/*
 * Called for every return to user space, most of them from interrupts and
 * page faults: only a task with a system call in flight reports an exit,
 * so look that up before reading anything else.
 */
void vmi_trap_return_to_user(CPUState *cs, const VmiRegs *r)
{
    const VmiKernel *k;
    VmiSession *s;
    VmiRing *ring;
    VmiEvent *ev;
    VmiTask task;
    VmiMem m;
    uint64_t addr, nr, ret = r->rax;
    int64_t entered_ns;
    int32_t pid;

    RCU_READ_LOCK_GUARD();
    s = qatomic_rcu_read(&vmi.session);
    ring = ring_for(cs);
    if (!s || !ring) {
        return;
    }
    k = qatomic_rcu_read(&s->kernel);
    if (!k) {
        return;
    }
    mem_for_regs(&m, s, cs, r);
    if (!vmi_linux_current_addr(s->os, &m, r->percpu_base, &addr) ||
        !pending_take(s, addr, &pid, &nr, &entered_ns) ||
        !vmi_linux_read_task(s->os, &m, addr, &task) ||
        task.pid != pid) {
        /* a freed task_struct may have been reused by a new task */
        return;
    }
    ring_count_trap(ring);
    if (ring_full(ring)) {
        ring_count_drop(ring);
        return;
    }
    if (r->pt_regs && !vmi_read_u64(&m, r->pt_regs + s->os->pt_regs_ax,
                                    &ret)) {
        ret = -EFAULT;   /* the kernel stack must be mapped: can't happen */
    }
    ev = event_new(cs, r, VMI_DIRECTION_EXIT, nr,
                   vmi_kernel_syscall_name(k, nr), &task, true);
    ev->ret = ret;
    ev->elapsed_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) - entered_ns;
    ring_push(ring, ev);
}

void vmi_syscall_enter(CPUState *cs)
{
    VmiRegs r;

    regs_from_env(cs, &r);
    vmi_trap_syscall_enter(cs, &r);
}

void vmi_return_to_user(CPUState *cs)
{
    VmiRegs r;

    regs_from_env(cs, &r);
    vmi_trap_return_to_user(cs, &r);
}

void vmi_lstar_written(CPUState *cs, const VmiRegs *r)
{
    const VmiKernel *k;
    VmiSession *s;
    VmiMem m;

    RCU_READ_LOCK_GUARD();
    s = qatomic_rcu_read(&vmi.session);
    if (!s) {
        return;
    }
    mem_for_regs(&m, s, cs, r);
    k = session_kernel(s, &m, r->lstar);
    if (s->mechanism == VMI_MECHANISM_KVM_HWBP) {
        Error *err = NULL;

        if (!vmi_kvm_arm(k, &err)) {
            QEMU_LOCK_GUARD(&s->lock);
            g_free(s->error);
            s->error = g_strdup(error_get_pretty(err));
            error_free(err);
        }
    }
}

/* Delivery (main loop, BQL held) */

static void decoded_set(VmiSyscallDecoded *d, const char *key, char *value)
{
    char **slot = NULL;

    if (!strcmp(key, "dfd")) {
        slot = &d->dfd;
    } else if (!strcmp(key, "olddfd")) {
        slot = &d->olddfd;
    } else if (!strcmp(key, "newdfd")) {
        slot = &d->newdfd;
    } else if (!strcmp(key, "filename")) {
        slot = &d->filename;
    } else if (!strcmp(key, "pathname")) {
        slot = &d->pathname;
    } else if (!strcmp(key, "path")) {
        slot = &d->path;
    } else if (!strcmp(key, "oldname")) {
        slot = &d->oldname;
    } else if (!strcmp(key, "newname")) {
        slot = &d->newname;
    }
    if (slot && !*slot) {
        *slot = value;
    } else {
        g_free(value);
    }
}

static VmiSyscallDecoded *decoded_to_qapi(VmiDecoded *in)
{
    VmiSyscallDecoded *d;

    if (!in->n && !in->argv && !in->unreadable) {
        return NULL;
    }
    d = g_new0(VmiSyscallDecoded, 1);
    for (unsigned i = 0; i < in->n; i++) {
        decoded_set(d, in->key[i], g_steal_pointer(&in->value[i]));
    }
    in->n = 0;
    if (in->argv) {
        strList **tail = &d->argv;

        d->has_argv = true;
        for (char **a = in->argv; *a; a++) {
            QAPI_LIST_APPEND(tail, g_steal_pointer(a));
        }
        g_clear_pointer(&in->argv, g_free);
    }
    if (in->truncated) {
        d->has_truncated = true;
        d->truncated = true;
    }
    if (in->unreadable) {
        d->error = g_strdup("unreadable");
    }
    return d;
}

/* The paths and argv of @ps, under the members VmiSyscallDecoded has. */
static VmiSyscallDecoded *decoded_from_params(const VmiParams *ps)
{
    VmiSyscallDecoded *d = g_new0(VmiSyscallDecoded, 1);
    bool any = false;

    for (unsigned i = 0; i < ps->n; i++) {
        const VmiParam *p = &ps->p[i];

        if (p->kind != VMI_PARAM_STRING && p->kind != VMI_PARAM_FD &&
            !(p->kind == VMI_PARAM_STRINGS && !strcmp(p->name, "argv"))) {
            continue;
        }
        any = true;
        if (p->text) {
            decoded_set(d, p->name, g_strdup(p->text));
        }
        if (p->strings && !d->argv) {
            strList **tail = &d->argv;

            d->has_argv = true;
            for (char **s = p->strings; *s; s++) {
                QAPI_LIST_APPEND(tail, g_strdup(*s));
            }
        }
        if (p->truncated) {
            d->has_truncated = d->truncated = true;
        }
        if (p->unreadable && !d->error) {
            d->error = g_strdup("unreadable");
        }
    }
    if (!any || (!d->dfd && !d->olddfd && !d->newdfd && !d->filename &&
                 !d->pathname && !d->path && !d->oldname && !d->newname &&
                 !d->has_argv && !d->has_truncated && !d->error)) {
        qapi_free_VmiSyscallDecoded(d);
        return NULL;
    }
    return d;
}

static VmiSyscallParamList *params_to_qapi(VmiParams *ps)
{
    VmiSyscallParamList *list = NULL, **tail = &list;

    for (unsigned i = 0; i < ps->n; i++) {
        VmiParam *p = &ps->p[i];
        VmiSyscallParam *q = g_new0(VmiSyscallParam, 1);

        q->name = g_steal_pointer(&p->name);
        q->type = g_steal_pointer(&p->type);
        q->value = g_strdup_printf("0x%" PRIx64, p->raw);
        switch (p->kind) {
        case VMI_PARAM_STRING:
            q->string = g_steal_pointer(&p->text);
            break;
        case VMI_PARAM_FD:
            q->fd = g_steal_pointer(&p->text);
            break;
        case VMI_PARAM_FLAGS:
            q->flags = g_steal_pointer(&p->text);
            break;
        case VMI_PARAM_STRINGS:
            if (p->strings) {
                strList **st = &q->strings;

                q->has_strings = true;
                for (char **s = p->strings; *s; s++) {
                    QAPI_LIST_APPEND(st, g_steal_pointer(s));
                }
            }
            break;
        case VMI_PARAM_SOCKADDR:
            if (p->sockaddr.family) {
                q->sockaddr = g_new0(VmiSockaddr, 1);
                q->sockaddr->family = g_steal_pointer(&p->sockaddr.family);
                q->sockaddr->address = g_steal_pointer(&p->sockaddr.address);
                q->sockaddr->path = g_steal_pointer(&p->sockaddr.path);
                if (p->sockaddr.port >= 0) {
                    q->sockaddr->has_port = true;
                    q->sockaddr->port = p->sockaddr.port;
                }
            }
            break;
        case VMI_PARAM_VALUE:
            break;
        }
        if (p->truncated) {
            q->has_truncated = q->truncated = true;
        }
        if (p->unreadable) {
            q->error = g_strdup("unreadable");
        }
        QAPI_LIST_APPEND(tail, q);
    }
    return list;
}

static void event_emit(VmiEvent *ev)
{
    VmiSyscallEvent *e = g_new0(VmiSyscallEvent, 1);

    e->vcpu = ev->vcpu;
    e->direction = ev->direction;
    e->abi = g_strdup("x86_64");
    e->cr3 = g_strdup_printf("0x%" PRIx64, ev->cr3);
    e->nr = ev->nr;
    e->name = g_steal_pointer(&ev->name);
    e->process = g_new0(VmiProcess, 1);
    if (ev->task_known) {
        e->process->pid = ev->task.pid;
        e->process->tgid = ev->task.tgid;
        e->process->name = g_utf8_make_valid(ev->task.comm, -1);
    } else {
        e->process->pid = -1;
        e->process->tgid = -1;
        e->process->name = g_strdup("");
    }
    if (ev->direction == VMI_DIRECTION_ENTER) {
        strList **tail = &e->args;

        e->has_args = true;
        for (int i = 0; i < 6; i++) {
            QAPI_LIST_APPEND(tail, g_strdup_printf("0x%" PRIx64,
                                                   ev->args[i]));
        }
        if (ev->has_proto) {
            e->decoded = decoded_from_params(&ev->params);
            e->has_params = true;
            e->params = params_to_qapi(&ev->params);
        } else {
            e->decoded = decoded_to_qapi(&ev->decoded);
        }
    } else {
        const char *errname = vmi_linux_errno_name(ev->ret);

        e->has_ret = true;
        e->ret = ev->ret;
        e->has_elapsed_ns = true;
        e->elapsed_ns = ev->elapsed_ns;
        e->q_errno = g_strdup(errname);
    }
    qapi_event_send_vmi_syscall(e);
    qapi_free_VmiSyscallEvent(e);
}

static void vmi_drain(void *opaque)
{
    unsigned budget = VMI_DRAIN_BUDGET;
    bool more = false;

    for (unsigned i = 0; i < vmi.nr_rings; i++) {
        VmiRing *r = &vmi.rings[i];
        uint32_t head = qatomic_load_acquire(&r->head);
        uint32_t tail = r->tail;

        while (tail != head && budget) {
            VmiEvent *ev = r->slots[tail % VMI_RING_SIZE];

            event_emit(ev);
            event_free(ev);
            tail++;
            budget--;
            vmi.events++;
        }
        qatomic_store_release(&r->tail, tail);
        more |= tail != head;
    }
    if (more) {
        qemu_bh_schedule(vmi.bh);
    }
}

/* Lifecycle */

static bool vmi_enable(const char *profile, Error **errp)
{
    CPUState *cs = first_cpu;
    VmiSession *s;

    if (vmi.session) {
        error_setg(errp, "introspection is already enabled (profile '%s'); "
                   "use vmi-disable first",
                   vmi.session->os->profile->path);
        return false;
    }
    if (!tcg_enabled() && !kvm_enabled()) {
        error_setg(errp, "introspection needs the TCG or KVM accelerator");
        return false;
    }
    s = session_new(profile, errp);
    if (!s) {
        return false;
    }
    s->mechanism = kvm_enabled() ? VMI_MECHANISM_KVM_HWBP : VMI_MECHANISM_TCG;
    if (kvm_enabled()) {
        if (!vmi_kvm_start(errp)) {
            session_free(s);
            return false;
        }
        if (cs) {
            cpu_synchronize_state(cs);
        }
    }

    /* a running guest must match the profile now, not at its next syscall */
    if (cs && cpu_env(cs)->lstar) {
        VmiRegs r;
        VmiMem m;

        regs_from_env(cs, &r);
        mem_for_regs(&m, s, cs, &r);
        session_identify(s, &m, r.lstar);
        if (!s->kernel) {
            error_setg(errp, "%s", s->error);
            goto fail;
        }
    }

    if (!vmi.bh) {
        vmi.bh = qemu_bh_new(vmi_drain, NULL);
    }
    rings_init();
    for (unsigned i = 0; i < vmi.nr_rings; i++) {
        qatomic_set(&vmi.rings[i].trapped, 0);
        qatomic_set(&vmi.rings[i].dropped, 0);
    }
    vmi.events = 0;
    qatomic_rcu_set(&vmi.session, s);
    qatomic_set(&vmi_syscall_hooks_on, true);
    /* before the guest installs its entry point, its write arms the traps */
    if (s->mechanism == VMI_MECHANISM_KVM_HWBP && s->kernel &&
        !vmi_kvm_arm(s->kernel, errp)) {
        qmp_vmi_disable(NULL);
        return false;
    }
    return true;

fail:
    if (s->mechanism == VMI_MECHANISM_KVM_HWBP) {
        vmi_kvm_stop();
    }
    session_free(s);
    return false;
}

void qmp_vmi_enable(const char *profile, Error **errp)
{
    if (!profile) {
        profile = vmi.default_profile;
    }
    if (!profile) {
        error_setg(errp, "no profile: pass 'profile' or start QEMU with "
                   "-vmi profile=FILE");
        return;
    }
    vmi_enable(profile, errp);
}

void qmp_vmi_disable(Error **errp)
{
    VmiSession *s = vmi.session;

    if (!s) {
        return;
    }
    if (s->mechanism == VMI_MECHANISM_KVM_HWBP) {
        vmi_kvm_stop();
    }
    qatomic_set(&vmi_syscall_hooks_on, false);
    qatomic_rcu_set(&vmi.session, NULL);
    call_rcu(s, session_free_rcu, rcu);
}

VmiInfo *qmp_query_vmi(Error **errp)
{
    VmiInfo *info = g_new0(VmiInfo, 1);
    VmiSession *s = vmi.session;
    VmiVcpuInfoList **tail = &info->vcpus;

    info->enabled = s != NULL;
    info->state = VMI_STATE_OFF;
    info->mechanism = s ? s->mechanism : VMI_MECHANISM_NONE;
    if (s) {
        QEMU_LOCK_GUARD(&s->lock);
        info->profile = g_strdup(s->os->profile->path);
        if (s->error) {
            info->state = VMI_STATE_ERROR;
            info->error = g_strdup(s->error);
        } else if (s->kernel) {
            info->state = VMI_STATE_TRACING;
        } else {
            info->state = VMI_STATE_ARMED;
        }
        if (s->kernel) {
            info->kernel = g_strdup(s->kernel->banner);
            info->kaslr_slide = g_strdup_printf("0x%" PRIx64,
                                                (uint64_t)s->kernel->slide);
            info->has_syscalls = true;
            info->syscalls = s->kernel->nr_syscalls;
            info->has_prototypes = true;
            info->prototypes = s->kernel->nr_protos;
        }
    }
    info->events = vmi.events;
    for (unsigned i = 0; i < vmi.nr_rings; i++) {
        VmiVcpuInfo *v = g_new0(VmiVcpuInfo, 1);

        v->vcpu = i;
        v->trapped = qatomic_read(&vmi.rings[i].trapped);
        v->dropped = qatomic_read(&vmi.rings[i].dropped);
        if (s && s->mechanism == VMI_MECHANISM_KVM_HWBP) {
            uint64_t exits, ioctls;

            if (vmi_kvm_vcpu_stats(i, &exits, &ioctls)) {
                v->has_debug_exits = v->has_ioctls = true;
                v->debug_exits = exits;
                v->ioctls = ioctls;
            }
        }
        info->dropped += v->dropped;
        QAPI_LIST_APPEND(tail, v);
    }
    return info;
}

void vmi_cmdline_start(Error **errp)
{
    QemuOpts *opts = qemu_opts_find(qemu_find_opts("vmi"), NULL);
    const char *profile;
    Error *err = NULL;

    if (!opts) {
        return;
    }
    profile = qemu_opt_get(opts, "profile");
    if (!profile) {
        error_setg(errp, "-vmi: profile=FILE is required");
        return;
    }
    vmi.default_profile = g_strdup(profile);
    if (qemu_opt_get_bool(opts, "syscalls", false)) {
        vmi_enable(profile, &err);
    } else {
        /* refuse a bad profile at start-up, not at the first vmi-enable */
        VmiSession *s = session_new(profile, &err);

        if (s) {
            session_free(s);
        }
    }
    if (err) {
        error_propagate_prepend(errp, err, "-vmi: ");
    }
}

/* libvmi-style primitives: need no profile, only guest RAM */

#define VMI_READ_MAX    65536

static CPUState *vcpu_or_error(bool has_vcpu, uint32_t vcpu, Error **errp)
{
    CPUState *cs = qemu_get_cpu(has_vcpu ? vcpu : 0);

    if (!cs) {
        error_setg(errp, "no vCPU %" PRIu32, has_vcpu ? vcpu : 0);
    }
    return cs;
}

/* The page tables to walk: @cr3 if given, else the vCPU's own. */
static bool mem_for_query(VmiMem *m, bool has_cr3, uint64_t *cr3,
                          bool has_vcpu, uint32_t vcpu, Error **errp)
{
    CPUState *cs = vcpu_or_error(has_vcpu, vcpu, errp);
    CPUX86State *env;

    if (!cs) {
        return false;
    }
    cpu_synchronize_state(cs);
    env = cpu_env(cs);
    if (!has_cr3) {
        *cr3 = env->cr[3];
    }
    vmi_mem_init(m, read_guest_ram, cs->as, *cr3,
                 (env->hflags & HF_LMA_MASK) &&
                 (env->cr[4] & CR4_LA57_MASK));
    return true;
}

static bool check_size(uint32_t size, Error **errp)
{
    if (size == 0 || size > VMI_READ_MAX) {
        error_setg(errp, "size %" PRIu32 " is out of range (1 to %d)", size,
                   VMI_READ_MAX);
        return false;
    }
    return true;
}

static VmiMemory *memory_result(uint64_t address, const uint8_t *buf,
                                size_t size)
{
    VmiMemory *r = g_new0(VmiMemory, 1);

    r->address = address;
    r->data = g_base64_encode(buf, size);
    return r;
}

VmiMemory *qmp_vmi_read_virtual(uint64_t address, uint32_t size,
                                bool has_cr3, uint64_t cr3, bool has_vcpu,
                                uint32_t vcpu, Error **errp)
{
    g_autofree uint8_t *buf = NULL;
    VmiMem m;

    if (!check_size(size, errp) ||
        !mem_for_query(&m, has_cr3, &cr3, has_vcpu, vcpu, errp)) {
        return NULL;
    }
    buf = g_malloc(size);
    if (!vmi_read(&m, address, buf, size)) {
        error_setg(errp, "0x%" PRIx64 "+%" PRIu32 " is not mapped to guest "
                   "RAM by CR3 0x%" PRIx64, address, size, cr3);
        return NULL;
    }
    return memory_result(address, buf, size);
}

VmiMemory *qmp_vmi_read_physical(uint64_t address, uint32_t size,
                                 Error **errp)
{
    g_autofree uint8_t *buf = NULL;

    if (!check_size(size, errp)) {
        return NULL;
    }
    buf = g_malloc(size);
    if (address + size < address ||
        !read_guest_ram(&address_space_memory, address, buf, size)) {
        error_setg(errp, "physical 0x%" PRIx64 "+%" PRIu32 " is not guest "
                   "RAM", address, size);
        return NULL;
    }
    return memory_result(address, buf, size);
}

VmiTranslation *qmp_vmi_translate(uint64_t address, bool has_cr3,
                                  uint64_t cr3, bool has_vcpu, uint32_t vcpu,
                                  Error **errp)
{
    VmiTranslation *t;
    uint64_t pa;
    VmiMem m;

    if (!mem_for_query(&m, has_cr3, &cr3, has_vcpu, vcpu, errp)) {
        return NULL;
    }
    if (!vmi_translate(&m, address, &pa)) {
        error_setg(errp, "0x%" PRIx64 " is not mapped by CR3 0x%" PRIx64,
                   address, cr3);
        return NULL;
    }
    t = g_new0(VmiTranslation, 1);
    t->physical = pa;
    return t;
}

VmiRegisters *qmp_vmi_read_registers(bool has_vcpu, uint32_t vcpu,
                                     Error **errp)
{
    CPUState *cs = vcpu_or_error(has_vcpu, vcpu, errp);
    CPUX86State *env;
    VmiRegisters *r;

    if (!cs) {
        return NULL;
    }
    cpu_synchronize_state(cs);
    env = cpu_env(cs);
    r = g_new0(VmiRegisters, 1);
    r->rax = env->regs[R_EAX];
    r->rbx = env->regs[R_EBX];
    r->rcx = env->regs[R_ECX];
    r->rdx = env->regs[R_EDX];
    r->rsi = env->regs[R_ESI];
    r->rdi = env->regs[R_EDI];
    r->rbp = env->regs[R_EBP];
    r->rsp = env->regs[R_ESP];
    r->r8 = env->regs[8];
    r->r9 = env->regs[9];
    r->r10 = env->regs[10];
    r->r11 = env->regs[11];
    r->r12 = env->regs[12];
    r->r13 = env->regs[13];
    r->r14 = env->regs[14];
    r->r15 = env->regs[15];
    r->rip = env->eip;
    r->rflags = cpu_compute_eflags(env);
    r->cr0 = env->cr[0];
    r->cr2 = env->cr[2];
    r->cr3 = env->cr[3];
    r->cr4 = env->cr[4];
    r->efer = env->efer;
    r->fs_base = env->segs[R_FS].base;
    r->gs_base = env->segs[R_GS].base;
    r->kernel_gs_base = env->kernelgsbase;
    r->lstar = env->lstar;
    r->cpl = env->hflags & HF_CPL_MASK;
    return r;
}
