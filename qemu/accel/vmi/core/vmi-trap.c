/*
 * kvm-vmi: the trap handlers, from a trapped system call to its events
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Mechanisms call these on the vCPU's thread, without the BQL, with the
 * registers of a system call entry or of a return to user space.  The
 * filter runs before anything is decoded; finished events go into the
 * vCPU's ring once the handler has left its RCU read-side section.
 */

#include "qemu/osdep.h"
#include "qemu/lockable.h"
#include "qemu/rcu.h"
#include "qemu/timer.h"
#include "hw/core/cpu.h"
#include "accel/vmi/core/vmi-core.h"
#include "accel/vmi/core/vmi-filter.h"
#include "accel/vmi/events/vmi-delivery.h"
#include "accel/vmi/events/vmi-ring.h"
#include "accel/vmi/trace.h"

/* System calls in flight tracked at once; a guest can't grow it further. */
#define VMI_PENDING_MAX     65536

/* What a system call in flight needs at its exit */
typedef struct VmiPending {
    VmiPendingEntry e;  /* the table's part: task address, tgid */
    int32_t pid;
    VmiAbi abi;
    uint64_t nr;
    int64_t entered_ns; /* QEMU_CLOCK_VIRTUAL: guest time */
    bool report_exit;   /* the filter wants its exit */
    const VmiOsOps *os;
    VmiOsCall *call;    /* the OS layer's, for process events; or NULL */
} VmiPending;

/*
 * The events one trap makes, offered to the ring only after the trap has
 * left its RCU read-side section: with overflow=block offering may wait
 * for room, and a vCPU waiting inside the section would hold up every
 * grace period, drain_call_rcu() in the main loop (a failed device_add)
 * included, while the drain it waits for runs in that main loop.  (TCG
 * runs its helpers inside cpu_exec()'s section anyway; its waits give
 * way to the kick that RCU sends.)  Events hold no session memory.
 */
typedef struct VmiOutbox {
    VmiRing *ring;
    unsigned n;
    VmiEvent *ev[2];    /* a call's event and the process event it makes */
} VmiOutbox;

/* What the OS layer's lifecycle members add events through */
struct VmiTrapOut {
    CPUState *cs;
    uint64_t cr3;
    VmiSession *s;
    VmiOutbox box;
};

static void pending_free(VmiPendingEntry *e)
{
    VmiPending *p = container_of(e, VmiPending, e);

    if (p->call) {
        p->os->call_free(p->call);
    }
    g_free(p);
}

void vmi_trap_pending_init(VmiPendingTable *t)
{
    vmi_pending_init(t, VMI_PENDING_MAX, pending_free);
}

/*
 * A machine reset or a new kernel ended every call in flight: their exits
 * will never come.  Count the ones whose exit would have been reported
 * (VMI_EVENTS_LOST's in-flight), then forget them.  s->lock held.
 */
void vmi_trap_abandon_calls(VmiSession *s)
{
    uint64_t n = 0;

    for (GList *l = s->pending.order.head; l; l = l->next) {
        VmiPendingEntry *e = container_of(l, VmiPendingEntry, order);

        n += container_of(e, VmiPending, e)->report_exit;
    }
    vmi_delivery_count_abandoned(n);
    vmi_pending_clear(&s->pending);
    qatomic_set(&s->nr_pending, 0);
}

static void pending_add(VmiSession *s, VmiPending *p)
{
    p->entered_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    QEMU_LOCK_GUARD(&s->lock);
    vmi_pending_add(&s->pending, &p->e);
    qatomic_store_release(&s->nr_pending, vmi_pending_count(&s->pending));
}

/* Thread group @tgid exits: its threads' calls in flight never return. */
static void pending_drop_group(VmiSession *s, int32_t tgid)
{
    QEMU_LOCK_GUARD(&s->lock);
    vmi_pending_drop_group(&s->pending, tgid);
    qatomic_store_release(&s->nr_pending, vmi_pending_count(&s->pending));
}

/* Remove @task's system call in flight and return it; NULL if none. */
static VmiPending *pending_take(VmiSession *s, uint64_t task)
{
    VmiPendingEntry *e;

    QEMU_LOCK_GUARD(&s->lock);
    e = vmi_pending_take(&s->pending, task);
    if (!e) {
        return NULL;
    }
    qatomic_store_release(&s->nr_pending, vmi_pending_count(&s->pending));
    return container_of(e, VmiPending, e);
}

/* Trap handlers (vCPU thread) */

static void outbox_add(VmiOutbox *o, VmiEvent *ev)
{
    assert(o->n < ARRAY_SIZE(o->ev));
    o->ev[o->n++] = ev;
}

static void outbox_offer(CPUState *cs, VmiOutbox *o)
{
    for (unsigned i = 0; i < o->n; i++) {
        vmi_ring_offer(cs, o->ring, o->ev[i]);
    }
}

static VmiEvent *event_new(CPUState *cs, VmiEventKind kind, uint64_t cr3,
                           const VmiTask *task, bool task_known)
{
    VmiEvent *ev = g_new0(VmiEvent, 1);

    ev->kind = kind;
    ev->vcpu = cs->cpu_index;
    ev->cr3 = cr3;
    ev->task = *task;
    ev->task_known = task_known;
    return ev;
}

static VmiEvent *syscall_event_new(CPUState *cs, const VmiRegs *r,
                                   VmiDirection dir, VmiAbi abi, uint64_t nr,
                                   const char *name, const VmiTask *task,
                                   bool task_known)
{
    VmiEvent *ev = event_new(cs, VMI_EVENT_SYSCALL, r->cr3, task,
                             task_known);

    ev->direction = dir;
    ev->abi = abi;
    ev->nr = nr;
    ev->name = g_strdup(name);
    return ev;
}

void vmi_trap_process_start(VmiTrapOut *out, const VmiTask *task,
                            VmiProcessStartInfo *start)
{
    VmiEvent *ev = event_new(out->cs, VMI_EVENT_PROCESS_START, out->cr3,
                             task, true);

    ev->start_kind = start->kind;
    ev->pid = start->pid;
    ev->ppid = start->ppid;
    ev->path = g_steal_pointer(&start->path);
    ev->argv = g_steal_pointer(&start->argv);
    ev->truncated = start->truncated;
    ev->error = start->error;
    outbox_add(&out->box, ev);
}

void vmi_trap_process_exit(VmiTrapOut *out, const VmiTask *task, int code,
                           int signal, bool core_dumped)
{
    VmiEvent *ev = event_new(out->cs, VMI_EVENT_PROCESS_EXIT, out->cr3,
                             task, true);

    ev->code = code;
    ev->signal = signal;
    ev->core_dumped = core_dumped;
    outbox_add(&out->box, ev);
}

void vmi_trap_forget_group(VmiTrapOut *out, int32_t tgid)
{
    if (qatomic_load_acquire(&out->s->nr_pending)) {
        pending_drop_group(out->s, tgid);
    }
}

/* The session and the vCPU's ring, if tracing; RCU read side */
static bool trap_begin(VmiTrapOut *out)
{
    out->s = vmi_session();
    out->box.ring = vmi_ring_for(out->cs);
    return out->s && out->box.ring;
}

/* The events of a system call entry, into @out */
static void trap_enter(const VmiRegs *r, VmiTrapOut *out)
{
    const VmiTraceFilter *f;
    const VmiKernel *k;
    const VmiOsOps *os;
    VmiSession *s;
    VmiRing *ring;
    VmiEvent *ev;
    VmiTask task;
    VmiMem m;
    uint64_t args[VMI_MAX_ARGS];
    const char *name;
    bool task_known, report;
    uint8_t select;
    VmiOsCall *call = NULL;

    RCU_READ_LOCK_GUARD();
    if (!trap_begin(out)) {
        return;
    }
    s = out->s;
    ring = out->box.ring;
    os = s->os;
    vmi_mem_for_regs(&m, s, out->cs, r);
    k = vmi_session_kernel(s, &m, r->lstar);
    if (!k) {
        return;
    }
    vmi_ring_count_trap(ring);
    name = os->syscall_name(k, r->abi, r->nr);
    f = qatomic_rcu_read(&s->filter);
    select = vmi_filter_select(f, k, r->abi, r->nr, name);
    if (!select) {
        vmi_ring_count_filtered(ring);
        return;
    }
    task_known = os->current_task(s->image, k, &m, r->percpu_base, &task);
    if (!vmi_filter_task(f, &task, task_known)) {
        vmi_ring_count_filtered(ring);
        return;
    }
    report = select & VMI_SELECT_REPORT;
    if (!report) {
        vmi_ring_count_filtered(ring);
    }
    os->entry_args(s->image, &m, r, args);

    if (report && f->enter && vmi_ring_would_drop(ring)) {
        vmi_ring_lose(ring);
    } else if (report && f->enter) {
        ev = syscall_event_new(out->cs, r, VMI_DIRECTION_ENTER, r->abi,
                               r->nr, name, &task, task_known);
        memcpy(ev->args, args, sizeof(args));
        ev->has_params = os->decode(k, r->abi, r->nr, name, ev->args, &m,
                                    &ev->params);
        outbox_add(&out->box, ev);
    }
    if ((select & VMI_SELECT_LIFECYCLE) && task_known) {
        call = os->lifecycle_enter(s->image, &m, out, &task, name, args);
    }
    if (task_known && !(os->syscall_noreturn && os->syscall_noreturn(name)) &&
        ((report && f->exit) || call)) {
        VmiPending *p = g_new0(VmiPending, 1);

        p->e.task = task.addr;
        p->e.tgid = task.tgid;
        p->pid = task.pid;
        p->abi = r->abi;
        p->nr = r->nr;
        p->report_exit = report && f->exit;
        p->os = os;
        p->call = g_steal_pointer(&call);
        pending_add(s, p);
    }
    if (call) {
        os->call_free(call);
    }
}

void vmi_trap_syscall_enter(CPUState *cs, const VmiRegs *r)
{
    VmiTrapOut out = { .cs = cs, .cr3 = r->cr3 };

    trace_vmi_trap_enter(cs->cpu_index, r->abi, r->nr, r->cr3);
    trap_enter(r, &out);
    outbox_offer(cs, &out.box);
}

/* The events of a return to user space, into @out */
static void trap_return(const VmiRegs *r, VmiTrapOut *out)
{
    const VmiKernel *k;
    const VmiOsOps *os;
    VmiPending *p;
    VmiSession *s;
    VmiRing *ring;
    VmiTask task;
    VmiMem m;
    uint64_t addr, ret;

    RCU_READ_LOCK_GUARD();
    if (!trap_begin(out)) {
        return;
    }
    s = out->s;
    ring = out->box.ring;
    os = s->os;
    k = qatomic_rcu_read(&s->kernel);
    /* with nothing in flight (e.g. all filtered out) nothing to read */
    if (!k || !qatomic_load_acquire(&s->nr_pending)) {
        return;
    }
    vmi_mem_for_regs(&m, s, out->cs, r);
    if (!os->current_task_addr(k, &m, r->percpu_base, &addr)) {
        return;
    }
    p = pending_take(s, addr);
    if (!p) {
        return;
    }
    /* A freed task's record may have been reused by a new task. */
    if (!os->read_task(s->image, &m, addr, &task) ||
        (task.pid != p->pid &&
         !(p->call && os->call_takes_group_pid(p->call) &&
           task.pid == p->e.tgid))) {
        pending_free(&p->e);
        return;
    }
    if (!os->return_value(s->image, &m, r, &ret)) {
        ret = -EFAULT;   /* the kernel stack must be mapped: can't happen */
    }
    if (p->abi == VMI_ABI_IA32) {
        ret = (int64_t)(int32_t)ret;
    }
    if (p->report_exit) {
        const char *name = os->syscall_name(k, p->abi, p->nr);
        VmiEvent *ev;

        vmi_ring_count_trap(ring);
        ev = syscall_event_new(out->cs, r, VMI_DIRECTION_EXIT, p->abi, p->nr,
                               name, &task, true);
        ev->ret = ret;
        ev->error_name = os->error_name ? os->error_name(ret) : NULL;
        ev->elapsed_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) -
                         p->entered_ns;
        outbox_add(&out->box, ev);
    }
    if (p->call) {
        os->lifecycle_return(s->image, &m, out, p->abi, &task, p->call, ret);
    }
    pending_free(&p->e);
}

/*
 * Called for every return to user space the mechanism sees: only a task
 * with a system call in flight reports an exit, so look that up before
 * reading anything else.
 */
void vmi_trap_return_to_user(CPUState *cs, const VmiRegs *r)
{
    VmiTrapOut out = { .cs = cs, .cr3 = r->cr3 };

    trace_vmi_trap_return(cs->cpu_index, r->ret);
    trap_return(r, &out);
    outbox_offer(cs, &out.box);
}
