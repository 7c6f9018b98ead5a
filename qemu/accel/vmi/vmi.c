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
#include "qapi/clone-visitor.h"
#include "qapi/compat-policy.h"
#include "qapi/error.h"
#include "qapi/qapi-visit-vmi.h"
#include "qapi/qmp-event.h"
#include "qapi/util.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "chardev/char-fe.h"
#include "migration/blocker.h"
#include "monitor/monitor.h"
#include "qemu/units.h"
#include "qapi/qapi-commands-vmi.h"
#include "qapi/qapi-events-vmi.h"
#include "qemu/config-file.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/host-utils.h"
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
#include "system/reset.h"
#include "hw/resettable.h"
#include "qom/object.h"
#include "system/cpus.h"
#include "system/tcg.h"
#include "system/vmi.h"
#include "cpu.h"
#include "vmi-core.h"
#include "vmi-filter.h"
#include "vmi-qapi.h"
#include "trace.h"
#include "vmi-pending.h"
#include "vmi-kernels.h"

/* Events emitted per bottom-half run, so the main loop stays responsive. */
#define VMI_DRAIN_BUDGET    4096
/*
 * A drain holds the BQL for at most this long, then leaves it free for
 * VMI_DRAIN_PAUSE_NS: vCPUs need it for interrupts and MMIO, and a
 * mutex handed straight back to the main loop would starve them.
 */
#define VMI_DRAIN_SLICE_NS  (500 * SCALE_US)
#define VMI_DRAIN_PAUSE_NS  (50 * SCALE_US)
/* System calls in flight tracked at once; a guest can't grow it further. */
#define VMI_PENDING_MAX     65536
/* at most this many identifications of a new MSR_LSTAR per second */
#define VMI_IDENTIFY_PER_S  8
/* Output a consumer may have queued before the rings stop draining */
#define VMI_BACKLOG_MAX     (4 * MiB)
/* How often a stalled drain looks at its consumer again */
#define VMI_RETRY_MS        10
/* VMI_EVENTS_LOST at most this often */
#define VMI_LOST_PERIOD_MS  1000
/* overflow=block: how long a vCPU waits before it looks around again */
#define VMI_ROOM_WAIT_MS    100
/* how long a guest poweroff waits for consumers to read the last events */
#define VMI_SHUTDOWN_FLUSH_MS   10000

typedef enum VmiEventKind {
    VMI_EVENT_SYSCALL,
    VMI_EVENT_PROCESS_START,
    VMI_EVENT_PROCESS_EXIT,
} VmiEventKind;

typedef struct VmiEvent {
    uint64_t seq;           /* order of production, across vCPUs */
    size_t bytes;           /* its memory, for the ring's byte budget */
    VmiEventKind kind;
    VmiDirection direction;
    VmiAbi abi;
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
    /* process events */
    VmiProcessStartKind start_kind;
    int32_t pid, ppid;
    int code;
    int signal;             /* exit: the signal that killed it, or 0 */
    bool core_dumped;
    char *path;
    char **argv;
    bool truncated;
    const char *error;      /* static: "unreadable", "walk-limit" */
} VmiEvent;

/* Single producer (the vCPU's thread), single consumer (the main loop). */
typedef struct VmiRing {
    VmiEvent **slots;
    uint32_t head;
    uint32_t tail;
    /* bytes of the events pushed (by the vCPU) and emitted (by the drain) */
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t trapped;
    uint64_t dropped;
    uint64_t filtered;
    uint64_t produced;          /* events built: emitted + dropped + queued */
    uint64_t emitted;
    uint64_t lost_reported;     /* @dropped at the last VMI_EVENTS_LOST */
    /*
     * overflow=block: events queued while the vCPU could not wait (the
     * VM stopping), at most vmi.ring_size, drained after the ring; under
     * vmi.room_lock.
     */
    GQueue overflow;
    uint32_t overflow_len;      /* also read without the lock */
    uint64_t overflow_bytes;
} VmiRing;

/* What a system call in flight needs at its exit */
typedef struct VmiPending {
    VmiPendingEntry e;  /* the table's part: task address, tgid */
    int32_t pid;
    VmiAbi abi;
    uint64_t nr;
    int64_t entered_ns; /* QEMU_CLOCK_VIRTUAL: guest time */
    bool report_exit;   /* the filter wants its exit */
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
} VmiPending;




bool vmi_syscall_hooks_on;

static struct {
    VmiSession *session;    /* RCU-published; NULL when off */
    char *default_profile;  /* from -vmi profile= */
    VmiFilter *default_filter;  /* from -vmi filter-...= */
    VmiOverflow default_overflow;   /* from -vmi overflow= */
    char *default_chardev;      /* from -vmi chardev= */
    VmiRing *rings;
    unsigned nr_rings;
    uint32_t *drain_heads;  /* the drain's view of each ring's head */
    uint32_t ring_size;     /* a power of 2, fixed once the rings exist */
    uint64_t ring_bytes;    /* per vCPU; 0 until -vmi or vmi-enable */
    QEMUBH *bh;
    uint64_t events;
    VmiOverflow overflow;
    QemuMutex room_lock;    /* with @room, full rings' vCPUs wait for space */
    QemuCond room;
    unsigned waiters;
    QEMUTimer *retry;       /* a paused or stalled drain goes on */
    QEMUTimer *lost_timer;  /* VMI_EVENTS_LOST */
    int64_t lost_last_ms;
    uint64_t lost_total;
    /*
     * calls in flight a reset or a new kernel ended, whose exits will never
     * come (any thread adds); how many VMI_EVENTS_LOST has reported
     */
    uint64_t abandoned;
    uint64_t abandoned_reported;
    /* -vmi chardev= / vmi-enable chardev: events go there, not to QMP */
    CharBackend sink;
    char *sink_id;
    GString *sink_buf;
    guint sink_watch;
    Error *migration_blocker;
    /*
     * The last sequence number given to an event, lost ones included;
     * its own cache line, as every vCPU bumps it.
     */
    QEMU_ALIGNED(64) uint64_t seq;
} vmi;

VmiSession *vmi_session(void)
{
    return qatomic_rcu_read(&vmi.session);
}


/*
 * Guest page tables may point anywhere: read RAM only, never MMIO, so a
 * hostile guest cannot make introspection poke devices.
 */
bool vmi_read_guest_ram(void *opaque, uint64_t pa, void *buf, size_t len)
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

void vmi_mem_for_regs(VmiMem *m, const VmiSession *s, CPUState *cs,
                         const VmiRegs *r)
{
    vmi_mem_init(m, vmi_read_guest_ram, cs->as, r->cr3, r->la57);
    vmi_linux_kernel_view(s->os, m, r->lstar);
}

void vmi_regs_from_cpu(CPUState *cs, VmiRegs *r)
{
    CPUX86State *env = cpu_env(cs);

    memset(r, 0, sizeof(*r));
    r->abi = VMI_ABI_X86_64;
    r->nr = env->regs[R_EAX];
    r->args[0] = env->regs[R_EDI];
    r->args[1] = env->regs[R_ESI];
    r->args[2] = env->regs[R_EDX];
    r->args[3] = env->regs[10];
    r->args[4] = env->regs[8];
    r->args[5] = env->regs[9];
    r->ret = env->regs[R_EAX];
    r->cr3 = env->cr[3];
    r->la57 = (env->hflags & HF_LMA_MASK) && (env->cr[4] & CR4_LA57_MASK);
    r->lstar = env->lstar;
    /* every hook runs while the user's GS is loaded */
    r->percpu_base = env->kernelgsbase;
}

static void event_free(VmiEvent *ev)
{
    g_free(ev->name);
    g_free(ev->path);
    g_strfreev(ev->argv);
    vmi_decoded_clear(&ev->decoded);
    vmi_params_clear(&ev->params);
    g_free(ev);
}

/* Filter */

#define CLONE_THREAD_FLAG   0x00010000


#define WNOWAIT_FLAG        0x01000000

/* Publish @f for the session's current kernel; s->lock held. */
static void filter_publish(VmiSession *s, VmiTraceFilter *f)
{
    VmiTraceFilter *old = s->filter;

    vmi_filter_bind(f, s->kernel);
    qatomic_rcu_set(&s->filter, f);
    if (old) {
        call_rcu(old, vmi_filter_free, rcu);
    }
}

/* Session */

static void pending_free(VmiPendingEntry *e)
{
    VmiPending *p = container_of(e, VmiPending, e);

    g_free(p->children);
    g_free(p);
}

/*
 * A parsed profile, shared by the sessions made from it and kept for the
 * next vmi-enable: parsing a profile takes far longer than enabling.
 */
struct VmiOs {
    VmiLinux *os;
    int refs;
    char *path;
    struct stat st;
};

static VmiOs *os_cache;

static void os_put(VmiOs *o)
{
    /* sessions are freed after an RCU grace period, on the RCU thread */
    if (o && qatomic_fetch_dec(&o->refs) == 1) {
        vmi_linux_free(o->os);
        g_free(o->path);
        g_free(o);
    }
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The profile at @path, parsed once while the file stays the same. */
static VmiOs *os_get(const char *path, Error **errp)
{
    g_autofree char *err = NULL;
    struct stat st;
    VmiProfile *p;
    VmiLinux *l;
    VmiOs *o;

    if (stat(path, &st) == 0 && os_cache && !strcmp(os_cache->path, path) &&
        same_file(&st, &os_cache->st)) {
        qatomic_inc(&os_cache->refs);
        return os_cache;
    }
    p = vmi_profile_load(path, &err);
    if (!p) {
        error_setg(errp, "%s", err);
        return NULL;
    }
    l = vmi_linux_new(p, &err);
    if (!l) {
        error_setg(errp, "%s", err);
        return NULL;
    }
    o = g_new0(VmiOs, 1);
    o->os = l;
    o->refs = 1;
    o->path = g_strdup(path);
    if (stat(path, &o->st) == 0) {
        os_put(os_cache);
        os_cache = o;
        o->refs++;
    }
    return o;
}

static void session_free(VmiSession *s)
{
    vmi_kernels_free(&s->kept);
    vmi_kernel_free(s->kernel);
    os_put(s->osref);
    vmi_filter_free(s->filter);
    vmi_pending_destroy(&s->pending);
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
    VmiOs *o = os_get(profile, errp);
    VmiSession *s;

    if (!o) {
        return NULL;
    }
    s = g_new0(VmiSession, 1);
    s->osref = o;
    s->os = o->os;
    qemu_mutex_init(&s->lock);
    s->identify_rate.per_s = VMI_IDENTIFY_PER_S;
    vmi_pending_init(&s->pending, VMI_PENDING_MAX, pending_free);
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

/* s->lock held */
static bool identify_allowed(VmiSession *s)
{
    switch (vmi_rate_check(&s->identify_rate,
                           qemu_clock_get_ms(QEMU_CLOCK_REALTIME))) {
    case VMI_RATE_ALLOWED:
        return true;
    case VMI_RATE_REFUSED_FIRST:
        g_free(s->error);
        s->error = g_strdup_printf("the guest changed MSR_LSTAR more than "
                                   "%d times in a second: identification "
                                   "paused", VMI_IDENTIFY_PER_S);
        return false;
    default:
        return false;
    }
}

/*
 * A machine reset or a new kernel ended every call in flight: their exits
 * will never come.  Count the ones whose exit would have been reported
 * (VMI_EVENTS_LOST's in-flight), then forget them.  s->lock held.
 */
static void pending_abandon(VmiSession *s)
{
    uint64_t n = 0;

    for (GList *l = s->pending.order.head; l; l = l->next) {
        VmiPendingEntry *e = container_of(l, VmiPendingEntry, order);

        n += container_of(e, VmiPending, e)->report_exit;
    }
    qatomic_add(&vmi.abandoned, n);
    vmi_pending_clear(&s->pending);
    qatomic_set(&s->nr_pending, 0);
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
    k = vmi_kernels_take(&s->kept, lstar);
    if (!k) {
        if (!identify_allowed(s)) {
            return NULL;
        }
        k = vmi_linux_identify(s->os, m, lstar, &err);
        trace_vmi_identify(lstar, k != NULL);
    }
    if (!k) {
        g_free(s->error);
        s->error = g_steal_pointer(&err);
        s->failed_lstar = lstar;
        return NULL;
    }
    g_clear_pointer(&s->error, g_free);
    s->failed_lstar = 0;
    /* the other kernel's calls in flight never return to this one */
    pending_abandon(s);
    qatomic_rcu_set(&s->kernel, k);
    if (s->filter) {
        filter_publish(s, vmi_filter_copy(s->filter));
    }
    if (old) {
        VmiKernel *gone = vmi_kernels_put(&s->kept, old);

        /* after every reader of it is done */
        if (gone) {
            VmiKernelRcu *r = g_new0(VmiKernelRcu, 1);

            r->kernel = gone;
            call_rcu(r, kernel_rcu_cb, rcu);
        }
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

/* Takes @p, which holds the task, its syscall and what its exit needs. */
/* Arm @s's mechanism at @k's trap points, or disarm it if @k is NULL. */
static bool mechanism_arm(VmiSession *s, const VmiKernel *k, Error **errp)
{
    VmiTrapPoints tp;

    if (!s->mech->arm) {
        return true;
    }
    if (!k) {
        return s->mech->arm(NULL, errp);
    }
    vmi_linux_trap_points(k, &tp);
    return s->mech->arm(&tp, errp);
}

/* Whether @s's mechanism traps calls of @abi on @k. */
static bool mechanism_traces_abi(VmiSession *s, const VmiKernel *k,
                                 VmiAbi abi)
{
    VmiTrapPoints tp;

    if (!s->mech->traces_abi) {
        return true;
    }
    vmi_linux_trap_points(k, &tp);
    return s->mech->traces_abi(&tp, abi);
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

/* Event rings */

/*
 * The rings, made once: ring-size slots for every vCPU the machine may
 * have (maxcpus, for hotplug).  maxcpus x ring-size can be more than the
 * host gives: fail vmi-enable or -vmi with the sizes, not abort QEMU.
 */
static bool rings_init(Error **errp)
{
    MachineState *ms = MACHINE(qdev_get_machine());
    unsigned n = ms->smp.max_cpus;
    uint32_t size = vmi.ring_size ? vmi.ring_size : VMI_RING_SIZE;
    uint64_t bytes = (uint64_t)n * size * sizeof(VmiEvent *);
    VmiRing *rings = NULL;
    unsigned i = 0;

    if (vmi.rings) {
        return true;
    }
    if (bytes <= SIZE_MAX) {
        rings = g_try_new0(VmiRing, n);
    }
    for (; rings && i < n; i++) {
        rings[i].slots = g_try_new0(VmiEvent *, size);
        if (!rings[i].slots) {
            break;
        }
        g_queue_init(&rings[i].overflow);
    }
    if (!rings || i < n) {
        while (rings && i-- > 0) {
            g_free(rings[i].slots);
        }
        g_free(rings);
        error_setg(errp, "cannot allocate the event rings: %u vCPUs "
                   "(maxcpus) x %" PRIu32 " events (ring-size) x %zu "
                   "bytes = %" PRIu64 " MiB; lower ring-size or maxcpus",
                   n, size, sizeof(VmiEvent *), bytes / MiB);
        return false;
    }
    vmi.ring_size = size;
    if (!vmi.ring_bytes) {
        vmi.ring_bytes = VMI_RING_BYTES;
    }
    vmi.rings = rings;
    vmi.nr_rings = n;
    vmi.drain_heads = g_new0(uint32_t, n);
    qemu_mutex_init(&vmi.room_lock);
    qemu_cond_init(&vmi.room);
    return true;
}

static VmiRing *ring_for(CPUState *cs)
{
    return cs->cpu_index < vmi.nr_rings ? &vmi.rings[cs->cpu_index] : NULL;
}

/* Bytes of @r's events not yet emitted */
static uint64_t ring_bytes_used(VmiRing *r)
{
    return qatomic_read(&r->bytes_in) - qatomic_read(&r->bytes_out);
}

/*
 * Full when its slots are, or its byte budget: an event is taken while
 * the ring is under budget, so the ring holds at most the budget plus
 * one event.
 */
static bool ring_full(VmiRing *r)
{
    return r->head - qatomic_load_acquire(&r->tail) >= vmi.ring_size ||
           ring_bytes_used(r) >= vmi.ring_bytes;
}

/* What @ev holds on the heap, roughly: its strings and their arrays */
static size_t strv_bytes(char **v)
{
    size_t n = 0;

    for (char **p = v; p && *p; p++) {
        n += strlen(*p) + 1 + sizeof(char *);
    }
    return v ? n + sizeof(char *) : 0;
}

static size_t str_bytes(const char *str)
{
    return str ? strlen(str) + 1 : 0;
}

static size_t event_bytes(const VmiEvent *ev)
{
    size_t n = sizeof(*ev) + str_bytes(ev->name) + str_bytes(ev->path) +
               strv_bytes(ev->argv) + strv_bytes(ev->decoded.argv);

    for (unsigned i = 0; i < ev->decoded.n; i++) {
        n += str_bytes(ev->decoded.value[i]);
    }
    for (unsigned i = 0; i < ev->params.n; i++) {
        const VmiParam *p = &ev->params.p[i];

        n += str_bytes(p->name) + str_bytes(p->type) + str_bytes(p->text) +
             strv_bytes(p->strings) + str_bytes(p->sockaddr.family) +
             str_bytes(p->sockaddr.address) + str_bytes(p->sockaddr.path);
    }
    return n;
}

static bool blocking(void)
{
    return qatomic_read(&vmi.overflow) == VMI_OVERFLOW_BLOCK;
}

/* True if an event offered now would be dropped: skip building it. */
static bool ring_would_drop(VmiRing *r)
{
    return ring_full(r) && !blocking();
}

static void ring_push(VmiRing *r, VmiEvent *ev)
{
    uint32_t head = r->head;

    r->slots[head & (vmi.ring_size - 1)] = ev;
    qatomic_set(&r->bytes_in, r->bytes_in + ev->bytes);
    qatomic_store_release(&r->head, head + 1);
    /*
     * Wake the consumer only when it may have gone idle (the ring was
     * empty); otherwise it sees this event when it looks at the head
     * again after publishing its tail.  Pairs with vmi_drain().
     */
    smp_mb();
    if (qatomic_read(&r->tail) == head) {
        qemu_bh_schedule(vmi.bh);
    }
}

static void ring_count_trap(VmiRing *r)
{
    qatomic_set(&r->trapped, r->trapped + 1);
}

static void ring_count_drop(VmiRing *r)
{
    qatomic_set(&r->dropped, r->dropped + 1);
}

static void ring_count_produced(VmiRing *r)
{
    qatomic_set(&r->produced, r->produced + 1);
}

static void ring_count_filtered(VmiRing *r)
{
    qatomic_set(&r->filtered, r->filtered + 1);
}

/*
 * overflow=block: wait until the ring has room and nothing is left in
 * its overflow queue.  A vCPU must not wait while the main loop waits
 * for it (the VM stopping, work queued for it, a kick: the main loop may
 * be waiting for an RCU grace period, and the vCPU is in a read-side
 * section), nor while it holds the BQL, which the drain needs (TCG
 * delivers int $0x80 with it held): false then.
 */
static bool ring_wait_room(CPUState *cs, VmiRing *r)
{
    bool room;

    if (bql_locked()) {
        return !ring_full(r) && !qatomic_read(&r->overflow_len);
    }

    QEMU_LOCK_GUARD(&vmi.room_lock);
    vmi.waiters++;
    for (;;) {
        room = !ring_full(r) && !r->overflow_len;
        if (room || !vmi_hooks_enabled() || qatomic_read(&cs->stop) ||
            qatomic_read(&cs->exit_request) || !cpu_work_list_empty(cs)) {
            break;
        }
        qemu_bh_schedule(vmi.bh);
        qemu_cond_timedwait(&vmi.room, &vmi.room_lock, VMI_ROOM_WAIT_MS);
    }
    vmi.waiters--;
    return room;
}

static bool overflow_push(VmiRing *r, VmiEvent *ev)
{
    QEMU_LOCK_GUARD(&vmi.room_lock);
    if (r->overflow_len >= vmi.ring_size ||
        r->overflow_bytes >= vmi.ring_bytes) {
        return false;
    }
    g_queue_push_tail(&r->overflow, ev);
    r->overflow_bytes += ev->bytes;
    qatomic_set(&r->overflow_len, r->overflow_len + 1);
    qemu_bh_schedule(vmi.bh);
    return true;
}

/* Queue @ev; if the ring is full, wait or count it lost (overflow=). */
static void ring_offer(CPUState *cs, VmiRing *r, VmiEvent *ev)
{
    ev->seq = qatomic_fetch_inc(&vmi.seq) + 1;
    ev->bytes = event_bytes(ev);
    ring_count_produced(r);
    if (!ring_full(r) && !qatomic_read(&r->overflow_len)) {
        ring_push(r, ev);
        return;
    }
    trace_vmi_ring_full(cs->cpu_index, blocking());
    if (blocking()) {
        if (ring_wait_room(cs, r)) {
            ring_push(r, ev);
            return;
        }
        if (overflow_push(r, ev)) {
            return;
        }
    }
    ring_count_drop(r);
    event_free(ev);
}

/* Trap handlers (vCPU thread) */

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

static void outbox_add(VmiOutbox *o, VmiEvent *ev)
{
    assert(o->n < ARRAY_SIZE(o->ev));
    o->ev[o->n++] = ev;
}

static void outbox_offer(CPUState *cs, VmiOutbox *o)
{
    for (unsigned i = 0; i < o->n; i++) {
        ring_offer(cs, o->ring, o->ev[i]);
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

static void entry_args(const VmiSession *s, VmiMem *m, const VmiRegs *r,
                       uint64_t args[6])
{
    memcpy(args, r->args, sizeof(r->args));
    if (r->args_in_pt_regs) {
        for (int i = 0; i < 6; i++) {
            uint64_t v = 0;

            if (s->os->has_pt_regs_args32) {
                vmi_read_u64(m, r->pt_regs + s->os->pt_regs_args32[i], &v);
            }
            args[i] = (uint32_t)v;
        }
    } else if (r->arg6_at) {
        uint32_t v;

        args[5] = vmi_read_u32(m, r->arg6_at, &v) ? v : 0;
    }
}

/* What the exit of a fork or exec needs, read at its entry. */
static void lifecycle_enter(const VmiSession *s, VmiMem *m,
                            const VmiTask *task, const char *name,
                            const uint64_t args[6], VmiPending *p)
{
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
        p->nr_children = vmi_linux_children(s->os, m, task->addr,
                                            p->children, VMI_CHILDREN_SEEN);
    }
}

/* The events of a system call entry, into @out */
static void trap_enter(CPUState *cs, const VmiRegs *r, VmiOutbox *out)
{
    const VmiSyscallProto *proto;
    const VmiTraceFilter *f;
    const VmiKernel *k;
    VmiSession *s;
    VmiRing *ring;
    VmiEvent *ev;
    VmiTask task;
    VmiMem m;
    uint64_t args[6];
    const char *name;
    bool task_known, report;
    uint8_t select;

    RCU_READ_LOCK_GUARD();
    s = qatomic_rcu_read(&vmi.session);
    ring = ring_for(cs);
    if (!s || !ring) {
        return;
    }
    out->ring = ring;
    vmi_mem_for_regs(&m, s, cs, r);
    k = session_kernel(s, &m, r->lstar);
    if (!k) {
        return;
    }
    ring_count_trap(ring);
    name = vmi_kernel_syscall_name(k, r->abi, r->nr);
    f = qatomic_rcu_read(&s->filter);
    select = vmi_filter_select(f, k, r->abi, r->nr, name);
    if (!select) {
        ring_count_filtered(ring);
        return;
    }
    task_known = vmi_linux_current(s->os, k, &m, r->percpu_base, &task);
    if (!vmi_filter_task(f, &task, task_known)) {
        ring_count_filtered(ring);
        return;
    }
    report = select & VMI_SELECT_REPORT;
    if (!report) {
        ring_count_filtered(ring);
    }
    entry_args(s, &m, r, args);

    if (task_known && !vmi_linux_syscall_noreturn(name) &&
        ((report && f->exit) || (select & VMI_SELECT_LIFECYCLE))) {
        VmiPending *p = g_new0(VmiPending, 1);

        p->e.task = task.addr;
        p->e.tgid = task.tgid;
        p->pid = task.pid;
        p->abi = r->abi;
        p->nr = r->nr;
        p->report_exit = report && f->exit;
        if (select & VMI_SELECT_LIFECYCLE) {
            lifecycle_enter(s, &m, &task, name, args, p);
        }
        pending_add(s, p);
    }
    if (report && f->enter && ring_would_drop(ring)) {
        /* lost like an offered one: its number makes the gap */
        qatomic_inc(&vmi.seq);
        ring_count_produced(ring);
        ring_count_drop(ring);
    } else if (report && f->enter) {
        ev = syscall_event_new(cs, r, VMI_DIRECTION_ENTER, r->abi, r->nr,
                               name, &task, task_known);
        memcpy(ev->args, args, sizeof(args));
        proto = vmi_kernel_syscall_proto(k, r->abi, r->nr);
        ev->has_proto = proto != NULL;
        if (proto) {
            vmi_params_decode(proto, name, ev->args,
                              r->abi == VMI_ABI_IA32 ? 4 : 8, &m,
                              &ev->params);
        } else if (r->abi == VMI_ABI_X86_64) {
            vmi_linux_decode(name, ev->args, &m, &ev->decoded);
        }
        outbox_add(out, ev);
    }
    if ((select & VMI_SELECT_LIFECYCLE) && task_known) {
        bool group_exit = !strcmp(name, "exit_group");

        if (group_exit || (!strcmp(name, "exit") && task.pid == task.tgid)) {
            ev = event_new(cs, VMI_EVENT_PROCESS_EXIT, r->cr3, &task, true);
            ev->code = args[0] & 0xff;
            outbox_add(out, ev);
        }
        /* the group's threads blocked in a call never return */
        if (group_exit && qatomic_load_acquire(&s->nr_pending)) {
            pending_drop_group(s, task.tgid);
        }
    }
}

void vmi_trap_syscall_enter(CPUState *cs, const VmiRegs *r)
{
    VmiOutbox out = { 0 };

    trace_vmi_trap_enter(cs->cpu_index, r->abi, r->nr, r->cr3);
    trap_enter(cs, r, &out);
    outbox_offer(cs, &out);
}

/*
 * Did the fork or clone that returned @child to @task make a process (not
 * a thread)?  clone's flags come from a register; clone3's from user
 * memory, so the kernel's lists of children decide.
 */
static bool new_process(const VmiSession *s, VmiMem *m, const VmiPending *p,
                        const VmiTask *task, int64_t child)
{
    int known;

    if (!p->flags_in_memory) {
        return !(p->clone_flags & CLONE_THREAD_FLAG);
    }
    known = child <= INT32_MAX ?
            vmi_linux_new_child(s->os, m, task->addr, child) : -1;
    if (known >= 0) {
        return known;
    }
    return !p->flags_unreadable && !(p->clone_flags & CLONE_THREAD_FLAG);
}

/* The process events a successful fork or exec makes at its return. */
static void lifecycle_exit(CPUState *cs, VmiOutbox *out, VmiSession *s,
                           VmiMem *m, const VmiRegs *r, VmiPending *p,
                           const VmiTask *task, int64_t ret)
{
    VmiEvent *ev;

    if (p->exec && ret == 0) {
        VmiProcessInfo info = { .ppid = -1 };
        VmiWalkStatus path_status, argv_status;

        ev = event_new(cs, VMI_EVENT_PROCESS_START, r->cr3, task, true);
        ev->start_kind = VMI_PROCESS_START_KIND_EXEC;
        ev->pid = task->tgid;
        if (s->os->has_tasks) {
            vmi_linux_read_process(s->os, m, task->addr, &info);
        }
        ev->ppid = info.ppid;
        /* the file the kernel runs, and the argv it copied */
        ev->path = vmi_linux_exe_path(s->os, m, task->addr, &path_status);
        ev->argv = vmi_linux_exec_argv(s->os, m, task->addr, &ev->truncated,
                                       &argv_status);
        if (!ev->argv) {
            ev->argv = g_new0(char *, 1);
        }
        /* a walk that reached its bound is not missing memory */
        ev->error = vmi_walk_error(path_status != VMI_WALK_OK ?
                                   path_status : argv_status);
        outbox_add(out, ev);
    } else if (p->wait_kind) {
        VmiTask child;
        int signal;
        bool core;

        if (vmi_linux_reaped_by_signal(s->os, m, p->abi, p->wait_kind,
                                       p->wait_result, ret, p->children,
                                       p->nr_children, &child, &signal,
                                       &core)) {
            ev = event_new(cs, VMI_EVENT_PROCESS_EXIT, r->cr3, &child, true);
            ev->signal = signal;
            ev->core_dumped = core;
            ev->code = 128 + signal;
            outbox_add(out, ev);
            /* its threads' calls in flight never return */
            pending_drop_group(s, child.tgid);
        }
    } else if (ret > 0 && p->makes_child && new_process(s, m, p, task, ret)) {
        ev = event_new(cs, VMI_EVENT_PROCESS_START, r->cr3, task, true);
        ev->start_kind = p->child_kind;
        ev->pid = ret;
        ev->ppid = task->tgid;
        outbox_add(out, ev);
    }
}

/* The events of a return to user space, into @out */
static void trap_return(CPUState *cs, const VmiRegs *r, VmiOutbox *out)
{
    const VmiKernel *k;
    VmiPending *p;
    VmiSession *s;
    VmiRing *ring;
    VmiTask task;
    VmiMem m;
    uint64_t addr, ret = r->ret;

    RCU_READ_LOCK_GUARD();
    s = qatomic_rcu_read(&vmi.session);
    ring = ring_for(cs);
    if (!s || !ring) {
        return;
    }
    out->ring = ring;
    k = qatomic_rcu_read(&s->kernel);
    /* with nothing in flight (e.g. all filtered out) nothing to read */
    if (!k || !qatomic_load_acquire(&s->nr_pending)) {
        return;
    }
    vmi_mem_for_regs(&m, s, cs, r);
    if (!vmi_linux_current_addr(k, &m, r->percpu_base, &addr)) {
        return;
    }
    p = pending_take(s, addr);
    if (!p) {
        return;
    }
    /*
     * A freed task_struct may have been reused by a new task.  An exec
     * from a thread other than the leader takes the leader's pid.
     */
    if (!vmi_linux_read_task(s->os, &m, addr, &task) ||
        (task.pid != p->pid && !(p->exec && task.pid == p->e.tgid))) {
        pending_free(&p->e);
        return;
    }
    if (r->pt_regs && !vmi_read_u64(&m, r->pt_regs + s->os->pt_regs_ax,
                                    &ret)) {
        ret = -EFAULT;   /* the kernel stack must be mapped: can't happen */
    }
    if (p->abi == VMI_ABI_IA32) {
        ret = (int64_t)(int32_t)ret;
    }
    if (p->report_exit) {
        const char *name = vmi_kernel_syscall_name(k, p->abi, p->nr);
        VmiEvent *ev;

        ring_count_trap(ring);
        ev = syscall_event_new(cs, r, VMI_DIRECTION_EXIT, p->abi, p->nr, name,
                               &task, true);
        ev->ret = ret;
        ev->elapsed_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) -
                         p->entered_ns;
        outbox_add(out, ev);
    }
    if (p->makes_child || p->exec || p->wait_kind) {
        lifecycle_exit(cs, out, s, &m, r, p, &task, ret);
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
    VmiOutbox out = { 0 };

    trace_vmi_trap_return(cs->cpu_index, r->ret);
    trap_return(cs, r, &out);
    outbox_offer(cs, &out);
}

void vmi_syscall_enter(CPUState *cs)
{
    VmiRegs r;

    vmi_regs_from_cpu(cs, &r);
    vmi_trap_syscall_enter(cs, &r);
}

void vmi_syscall_enter_ia32(CPUState *cs, int how)
{
    CPUX86State *env = cpu_env(cs);
    VmiRegs r;

    vmi_regs_from_cpu(cs, &r);
    r.abi = VMI_ABI_IA32;
    r.nr = (uint32_t)env->regs[R_EAX];
    r.args[0] = (uint32_t)env->regs[R_EBX];
    r.args[1] = (uint32_t)env->regs[R_ECX];
    r.args[2] = (uint32_t)env->regs[R_EDX];
    r.args[3] = (uint32_t)env->regs[R_ESI];
    r.args[4] = (uint32_t)env->regs[R_EDI];
    r.args[5] = (uint32_t)env->regs[R_EBP];
    /*
     * The vDSO's fast entries save ECX, EDX and EBP on the user stack;
     * SYSENTER passes that stack in EBP, SYSCALL keeps ESP and passes
     * ECX (which it clobbers) in EBP.
     */
    switch (how) {
    case VMI_IA32_SYSENTER:
        r.arg6_at = (uint32_t)env->regs[R_EBP];
        break;
    case VMI_IA32_SYSCALL:
        r.args[1] = (uint32_t)env->regs[R_EBP];
        r.arg6_at = (uint32_t)env->regs[R_ESP];
        break;
    }
    vmi_trap_syscall_enter(cs, &r);
}

void vmi_return_to_user(CPUState *cs)
{
    VmiRegs r;

    vmi_regs_from_cpu(cs, &r);
    vmi_trap_return_to_user(cs, &r);
}

/* Takes part in system resets, to learn their type (RESET_TYPE_*). */
#define TYPE_VMI_RESETTER "vmi-resetter"

typedef struct VmiResetter {
    Object parent_obj;
    ResettableState reset_state;
} VmiResetter;

static void vmi_reset_hold(Object *obj, ResetType type);

static ResettableState *vmi_resetter_state(Object *obj)
{
    return &((VmiResetter *)obj)->reset_state;
}

static void vmi_resetter_class_init(ObjectClass *oc, void *data)
{
    ResettableClass *rc = RESETTABLE_CLASS(oc);

    rc->get_state = vmi_resetter_state;
    rc->phases.hold = vmi_reset_hold;
}

static const TypeInfo vmi_resetter_info = {
    .name = TYPE_VMI_RESETTER,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(VmiResetter),
    .class_init = vmi_resetter_class_init,
    .interfaces = (InterfaceInfo[]) {
        { TYPE_RESETTABLE_INTERFACE },
        { }
    },
};

static void vmi_register_types(void)
{
    type_register_static(&vmi_resetter_info);
}

type_init(vmi_register_types)

/*
 * A system reset: no call in flight will return, even if the kernel that
 * boots next has the same entry point (nokaslr) and reuses task addresses.
 * A wakeup from suspend to RAM is a reset too, for the machine, but the
 * same kernel goes on and its sleeping calls return: nothing to do then.
 */
static void vmi_reset_hold(Object *obj, ResetType type)
{
    VmiSession *s;

    if (type == RESET_TYPE_WAKEUP) {
        return;
    }

    RCU_READ_LOCK_GUARD();
    s = qatomic_rcu_read(&vmi.session);
    if (s) {
        /*
         * A snapshot's CPUs are loaded, not booted: no MSR_LSTAR write
         * follows to arm the traps again, and its kernel is the one the
         * traps are on.
         */
        if (s->mech->reset && type != RESET_TYPE_SNAPSHOT_LOAD) {
            s->mech->reset();
        }
        QEMU_LOCK_GUARD(&s->lock);
        pending_abandon(s);
    }
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
    vmi_mem_for_regs(&m, s, cs, r);
    k = session_kernel(s, &m, r->lstar);
    if (s->mech->arm) {
        Error *err = NULL;

        if (!mechanism_arm(s, k, &err)) {
            QEMU_LOCK_GUARD(&s->lock);
            g_free(s->error);
            s->error = g_strdup(error_get_pretty(err));
            error_free(err);
        }
    }
}

/* Delivery (main loop, BQL held) */

static void sink_flush(void);

static gboolean sink_writable(void *do_not_use, GIOCondition cond,
                              void *opaque)
{
    vmi.sink_watch = 0;
    sink_flush();
    if (vmi.bh) {
        qemu_bh_schedule(vmi.bh);
    }
    return G_SOURCE_REMOVE;
}

static void sink_flush(void)
{
    while (vmi.sink_buf->len) {
        int n = qemu_chr_fe_write(&vmi.sink, (uint8_t *)vmi.sink_buf->str,
                                  MIN(vmi.sink_buf->len, INT_MAX));

        if (n < 0 && errno != EAGAIN) {
            /* the chardev is gone or broken: nothing will drain it */
            g_string_truncate(vmi.sink_buf, 0);
            return;
        }
        if (n <= 0) {
            break;
        }
        g_string_erase(vmi.sink_buf, 0, n);
    }
    if (vmi.sink_buf->len && !vmi.sink_watch) {
        vmi.sink_watch = qemu_chr_fe_add_watch(&vmi.sink,
                                               G_IO_OUT | G_IO_HUP,
                                               sink_writable, NULL);
    }
}

static bool sink_on(void)
{
    return vmi.sink_id != NULL;
}

/* Wrap @data (the event's members) as QMP does, and write it out. */
static void sink_event(const char *name, QObject *data)
{
    QDict *qmp = qmp_event_build_dict(name);
    GString *json;

    qdict_put_obj(qmp, "data", data);
    json = qobject_to_json(QOBJECT(qmp));
    g_string_append(vmi.sink_buf, json->str);
    g_string_append_c(vmi.sink_buf, '\n');
    g_string_free(json, true);
    qobject_unref(qmp);
    sink_flush();
}

#define EMIT_EVENT(Type, NAME, send, e) do {                        \
        if (sink_on()) {                                            \
            QObject *data_;                                         \
            Visitor *v_ = qobject_output_visitor_new_qmp(&data_);   \
                                                                    \
            visit_type_##Type(v_, NAME, &(e), &error_abort);        \
            visit_complete(v_, &data_);                             \
            visit_free(v_);                                         \
            sink_event(NAME, data_);                                \
        } else {                                                    \
            send(e);                                                \
        }                                                           \
    } while (0)

static void process_event_emit(VmiEvent *ev)
{
    g_autofree char *name = g_utf8_make_valid(ev->task.comm, -1);

    if (ev->kind == VMI_EVENT_PROCESS_EXIT) {
        VmiProcessExitEvent *e = g_new0(VmiProcessExitEvent, 1);

        e->seq = ev->seq;
        e->vcpu = ev->vcpu;
        e->pid = ev->task.tgid;
        e->name = g_steal_pointer(&name);
        e->code = ev->code;
        e->has_signal = ev->signal != 0;
        e->signal = ev->signal;
        e->has_core_dumped = ev->core_dumped;
        e->core_dumped = ev->core_dumped;
        EMIT_EVENT(VmiProcessExitEvent, "VMI_PROCESS_EXIT",
                   qapi_event_send_vmi_process_exit, e);
        qapi_free_VmiProcessExitEvent(e);
    } else {
        VmiProcessStartEvent *e = g_new0(VmiProcessStartEvent, 1);
        strList **tail = &e->argv;

        e->seq = ev->seq;
        e->vcpu = ev->vcpu;
        e->kind = ev->start_kind;
        e->pid = ev->pid;
        e->ppid = ev->ppid;
        e->name = g_steal_pointer(&name);
        e->path = g_steal_pointer(&ev->path);
        e->has_argv = ev->argv != NULL;
        for (char **a = ev->argv; a && *a; a++) {
            QAPI_LIST_APPEND(tail, g_steal_pointer(a));
        }
        e->has_truncated = e->truncated = ev->truncated;
        e->error = g_strdup(ev->error);
        EMIT_EVENT(VmiProcessStartEvent, "VMI_PROCESS_START",
                   qapi_event_send_vmi_process_start, e);
        qapi_free_VmiProcessStartEvent(e);
    }
}

static void event_emit(VmiEvent *ev)
{
    VmiSyscallEvent *e;

    if (ev->kind != VMI_EVENT_SYSCALL) {
        process_event_emit(ev);
        return;
    }
    e = g_new0(VmiSyscallEvent, 1);
    e->seq = ev->seq;
    e->vcpu = ev->vcpu;
    e->direction = ev->direction;
    e->abi = g_strdup(ev->abi == VMI_ABI_IA32 ? "ia32" : "x86_64");
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
            e->decoded = vmi_decoded_from_params(&ev->params);
            e->has_params = true;
            e->params = vmi_params_to_qapi(&ev->params);
        } else {
            e->decoded = vmi_decoded_to_qapi(&ev->decoded);
        }
    } else {
        const char *errname = vmi_linux_errno_name(ev->ret);

        e->has_ret = true;
        e->ret = ev->ret;
        e->has_elapsed_ns = true;
        e->elapsed_ns = ev->elapsed_ns;
        e->q_errno = g_strdup(errname);
    }
    EMIT_EVENT(VmiSyscallEvent, "VMI_SYSCALL", qapi_event_send_vmi_syscall,
               e);
    qapi_free_VmiSyscallEvent(e);
}

/*
 * Report what the rings dropped since the last report, at most once per
 * VMI_LOST_PERIOD_MS; the timer makes sure the last losses are reported.
 */
static void report_lost(void *opaque)
{
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    VmiVcpuLostList *vcpus = NULL, **tail = &vcpus;
    uint64_t abandoned = qatomic_read(&vmi.abandoned);
    uint64_t in_flight = abandoned - vmi.abandoned_reported;
    uint64_t lost = 0;

    if (now - vmi.lost_last_ms < VMI_LOST_PERIOD_MS) {
        timer_mod(vmi.lost_timer, vmi.lost_last_ms + VMI_LOST_PERIOD_MS);
        return;
    }
    for (unsigned i = 0; i < vmi.nr_rings; i++) {
        VmiRing *r = &vmi.rings[i];
        uint64_t dropped = qatomic_read(&r->dropped);

        if (dropped > r->lost_reported) {
            VmiVcpuLost *v = g_new0(VmiVcpuLost, 1);

            v->vcpu = i;
            v->lost = dropped - r->lost_reported;
            lost += v->lost;
            r->lost_reported = dropped;
            QAPI_LIST_APPEND(tail, v);
        }
    }
    if (lost || in_flight) {
        vmi.lost_total += lost;
        vmi.lost_last_ms = now;
        vmi.abandoned_reported = abandoned;
        qapi_event_send_vmi_events_lost(lost, vmi.lost_total, vcpus,
                                        in_flight != 0, in_flight);
        if (sink_on()) {
            QDict *data = qdict_new();
            QObject *list;
            Visitor *v = qobject_output_visitor_new_qmp(&list);

            visit_type_VmiVcpuLostList(v, "vcpus", &vcpus, &error_abort);
            visit_complete(v, &list);
            visit_free(v);
            qdict_put_int(data, "lost", lost);
            qdict_put_int(data, "total", vmi.lost_total);
            qdict_put_obj(data, "vcpus", list);
            if (in_flight) {
                qdict_put_int(data, "in-flight", in_flight);
            }
            sink_event("VMI_EVENTS_LOST", QOBJECT(data));
        }
    }
    qapi_free_VmiVcpuLostList(vcpus);
    if (vmi.session) {
        timer_mod(vmi.lost_timer, now + VMI_LOST_PERIOD_MS);
    }
}

static bool consumer_backlogged(void)
{
    if (sink_on()) {
        return vmi.sink_buf->len > VMI_BACKLOG_MAX;
    }
    return monitor_qmp_output_backlog() > VMI_BACKLOG_MAX;
}

static void emit_one(VmiRing *r, VmiEvent *ev)
{
    event_emit(ev);
    event_free(ev);
    qatomic_set(&r->emitted, r->emitted + 1);
    vmi.events++;
}

/*
 * The next event of @r to emit, if any: the ring's oldest (up to @head,
 * the producer's position the drain last read), then, once the ring is
 * empty, the oldest of its overflow queue (overflow=block: what its vCPU
 * queued while it could not wait), which is newer than anything in the
 * ring.
 */
static VmiEvent *ring_next(VmiRing *r, uint32_t head)
{
    if (r->tail != head) {
        return r->slots[r->tail & (vmi.ring_size - 1)];
    }
    if (qatomic_read(&r->overflow_len)) {
        QEMU_LOCK_GUARD(&vmi.room_lock);
        return g_queue_peek_head(&r->overflow);
    }
    return NULL;
}

/* Emit and remove ring_next(@r, @head). */
static void ring_emit_next(VmiRing *r, uint32_t head)
{
    VmiEvent *ev;

    if (r->tail != head) {
        ev = r->slots[r->tail & (vmi.ring_size - 1)];
        /* the slot and the bytes are the producer's again */
        qatomic_set(&r->bytes_out, r->bytes_out + ev->bytes);
        qatomic_store_release(&r->tail, r->tail + 1);
    } else {
        WITH_QEMU_LOCK_GUARD(&vmi.room_lock) {
            ev = g_queue_pop_head(&r->overflow);
            r->overflow_bytes -= ev->bytes;
            qatomic_set(&r->overflow_len, r->overflow_len - 1);
        }
    }
    emit_one(r, ev);
}

/*
 * The ring whose next event has the lowest sequence number: each vCPU's
 * ring is in order, and merging them by number delivers every task's
 * events in the order they happened, even when its entry and its exit
 * were trapped on different vCPUs.  @heads are the producers' positions
 * as last read; a ring that looks empty is read again.
 */
static VmiRing *ring_lowest(uint32_t *heads, uint32_t **head)
{
    VmiRing *best = NULL;
    uint64_t best_seq = UINT64_MAX;

    for (unsigned i = 0; i < vmi.nr_rings; i++) {
        VmiRing *r = &vmi.rings[i];
        VmiEvent *ev;

        if (r->tail == heads[i]) {
            heads[i] = qatomic_load_acquire(&r->head);
        }
        ev = ring_next(r, heads[i]);
        if (ev && ev->seq < best_seq) {
            best = r;
            best_seq = ev->seq;
            *head = &heads[i];
        }
    }
    return best;
}

/* Whether any ring has events left (after the drain published its tails) */
static bool rings_pending(void)
{
    /* pairs with ring_push(): see its head, or it sees our tail */
    smp_mb();
    for (unsigned i = 0; i < vmi.nr_rings; i++) {
        VmiRing *r = &vmi.rings[i];

        if (r->tail != qatomic_read(&r->head) ||
            qatomic_read(&r->overflow_len)) {
            return true;
        }
    }
    return false;
}

static void wake_waiters(void)
{
    QEMU_LOCK_GUARD(&vmi.room_lock);
    if (vmi.waiters) {
        qemu_cond_broadcast(&vmi.room);
    }
}

/*
 * Main loop: move events from the rings to QMP or the chardev in the
 * order they were produced, a budget at a time so the monitor stays
 * responsive, and only while the consumer keeps up, so that one that
 * stops reading cannot make QEMU grow: the rings fill and overflow=
 * decides.
 */
static void vmi_drain(void *opaque)
{
    int64_t end = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + VMI_DRAIN_SLICE_NS;
    uint32_t *heads = vmi.drain_heads;
    unsigned budget = VMI_DRAIN_BUDGET;
    bool stalled = false, more;
    unsigned emitted = 0;

    for (unsigned i = 0; i < vmi.nr_rings; i++) {
        heads[i] = qatomic_load_acquire(&vmi.rings[i].head);
    }
    while (budget) {
        uint32_t *head;
        VmiRing *r;

        if (consumer_backlogged()) {
            stalled = true;
            break;
        }
        r = ring_lowest(heads, &head);
        if (!r) {
            break;
        }
        ring_emit_next(r, *head);
        budget--;
        if (++emitted % 64 == 0 &&
            qemu_clock_get_ns(QEMU_CLOCK_REALTIME) > end) {
            break;
        }
    }
    if (emitted) {
        wake_waiters();
    }
    more = rings_pending();
    if (stalled || (more && emitted >= VMI_DRAIN_BUDGET) ||
        (more && qemu_clock_get_ns(QEMU_CLOCK_REALTIME) > end)) {
        timer_mod_ns(vmi.retry, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) +
                     (stalled ? VMI_RETRY_MS * SCALE_MS : VMI_DRAIN_PAUSE_NS));
    } else if (more) {
        qemu_bh_schedule(vmi.bh);
    }
}

static void drain_retry(void *opaque)
{
    qemu_bh_schedule(vmi.bh);
}

/* -vmi chardev= and vmi-enable's chardev: take @id for the events */
static bool sink_open(const char *id, Error **errp)
{
    Chardev *chr = qemu_chr_find(id);

    if (!chr) {
        error_setg(errp, "chardev '%s' does not exist", id);
        return false;
    }
    if (!qemu_chr_fe_init(&vmi.sink, chr, errp)) {
        error_prepend(errp, "chardev '%s': ", id);
        return false;
    }
    vmi.sink_id = g_strdup(id);
    if (!vmi.sink_buf) {
        vmi.sink_buf = g_string_new("");
    }
    return true;
}

static void sink_close(void)
{
    if (!sink_on()) {
        return;
    }
    if (vmi.sink_watch) {
        g_source_remove(vmi.sink_watch);
        vmi.sink_watch = 0;
    }
    /* what the chardev takes now; the rest has nowhere to go */
    sink_flush();
    if (vmi.sink_watch) {
        g_source_remove(vmi.sink_watch);
        vmi.sink_watch = 0;
    }
    g_string_truncate(vmi.sink_buf, 0);
    qemu_chr_fe_deinit(&vmi.sink, false);
    g_clear_pointer(&vmi.sink_id, g_free);
}

/* Lifecycle */

/* Everything trapped so far, in order, regardless of the consumer's backlog */
static void drain_all(void)
{
    uint32_t *heads = vmi.drain_heads;
    /* what was produced until now: a vCPU still running cannot prolong it */
    uint64_t last = qatomic_read(&vmi.seq);
    uint32_t *head;
    VmiRing *r;

    for (unsigned i = 0; i < vmi.nr_rings; i++) {
        heads[i] = qatomic_load_acquire(&vmi.rings[i].head);
    }
    while ((r = ring_lowest(heads, &head)) &&
           ring_next(r, *head)->seq <= last) {
        ring_emit_next(r, *head);
    }
    if (vmi.nr_rings) {
        QEMU_LOCK_GUARD(&vmi.room_lock);
        qemu_cond_broadcast(&vmi.room);
    }
}

/*
 * The guest powered off (or QEMU was asked to quit): the vCPUs stop
 * first, so that "before the stop" is well defined, then everything they
 * produced is delivered, and a last VMI_EVENTS_LOST counts what was not,
 * all before SHUTDOWN.  QEMU exits right after SHUTDOWN and its monitors
 * make only one attempt to write what clients have not read yet: wait
 * (bounded) until they have.
 */
void vmi_shutdown(void)
{
    int64_t deadline;

    if (!vmi.session) {
        return;
    }
    pause_all_vcpus();
    drain_all();
    vmi.lost_last_ms = 0;
    report_lost(NULL);
    deadline = qemu_clock_get_ms(QEMU_CLOCK_REALTIME) +
               VMI_SHUTDOWN_FLUSH_MS;
    while (sink_on() && vmi.sink_buf->len &&
           qemu_clock_get_ms(QEMU_CLOCK_REALTIME) < deadline) {
        sink_flush();
        g_usleep(1000);
    }
    if (!monitor_qmp_flush_output(deadline) ||
        (sink_on() && vmi.sink_buf->len)) {
        warn_report("vmi: consumers did not read the last events within "
                    "%d s of the shutdown", VMI_SHUTDOWN_FLUSH_MS / 1000);
    }
}

static bool vmi_enable(const char *profile, const VmiFilter *filter,
                       VmiOverflow overflow, const char *chardev,
                       Error **errp)
{
    CPUState *cs = first_cpu;
    const VmiMechanismOps *mech;
    VmiTraceFilter *f;
    VmiSession *s;

    if (vmi.session) {
        error_setg(errp, "introspection is already enabled (profile '%s'); "
                   "use vmi-disable first",
                   vmi.session->os->profile->path);
        return false;
    }
    mech = vmi_mechanism_select(errp);
    if (!mech) {
        return false;
    }
    s = session_new(profile, errp);
    if (!s) {
        return false;
    }
    f = vmi_filter_new(filter, s->os, errp);
    if (!f) {
        session_free(s);
        return false;
    }
    s->filter = f;
    s->mech = mech;
    if (!mech->start(errp)) {
        session_free(s);
        return false;
    }
    if (cs) {
        cpu_synchronize_state(cs);
    }

    /* a running guest must match the profile now, not at its next syscall */
    if (cs && cpu_env(cs)->lstar) {
        VmiRegs r;
        VmiMem m;

        vmi_regs_from_cpu(cs, &r);
        vmi_mem_for_regs(&m, s, cs, &r);
        session_identify(s, &m, r.lstar);
        if (!s->kernel) {
            error_setg(errp, "%s", s->error);
            goto fail;
        }
    }

    vmi_filter_bind(s->filter, s->kernel);
    /* before anything is registered or published: nothing to undo */
    if (!rings_init(errp)) {
        goto fail;
    }

    /* pending calls and queued events are not part of the VM's state */
    error_setg(&vmi.migration_blocker, "introspection is enabled: its "
               "system calls in flight and queued events cannot migrate; "
               "use vmi-disable first");
    if (migrate_add_blocker(&vmi.migration_blocker, errp) < 0) {
        goto fail;
    }
    if (chardev && !sink_open(chardev, errp)) {
        migrate_del_blocker(&vmi.migration_blocker);
        goto fail;
    }
    if (!vmi.bh) {
        qemu_register_resettable(object_new(TYPE_VMI_RESETTER));
        vmi.bh = qemu_bh_new(vmi_drain, NULL);
        vmi.retry = timer_new_ns(QEMU_CLOCK_REALTIME, drain_retry, NULL);
        vmi.lost_timer = timer_new_ms(QEMU_CLOCK_REALTIME, report_lost,
                                      NULL);
    }
    for (unsigned i = 0; i < vmi.nr_rings; i++) {
        VmiRing *r = &vmi.rings[i];

        qatomic_set(&r->trapped, 0);
        qatomic_set(&r->dropped, 0);
        qatomic_set(&r->filtered, 0);
        qatomic_set(&r->emitted, 0);
        qatomic_set(&r->produced, 0);
        r->lost_reported = 0;
    }
    vmi.events = 0;
    qatomic_set(&vmi.seq, 0);
    vmi.lost_total = 0;
    qatomic_set(&vmi.abandoned, 0);
    vmi.abandoned_reported = 0;
    vmi.lost_last_ms = 0;
    qatomic_set(&vmi.overflow, overflow);
    qatomic_rcu_set(&vmi.session, s);
    qatomic_set(&vmi_syscall_hooks_on, true);
    timer_mod(vmi.lost_timer,
              qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + VMI_LOST_PERIOD_MS);
    /* before the guest installs its entry point, its write arms the traps */
    if (s->kernel && !mechanism_arm(s, s->kernel, errp)) {
        qmp_vmi_disable(NULL);
        return false;
    }
    return true;

fail:
    if (s->mech->stop) {
        s->mech->stop();
    }
    session_free(s);
    return false;
}

void qmp_vmi_enable(const char *profile, VmiFilter *filter,
                    bool has_overflow, VmiOverflow overflow,
                    const char *chardev, Error **errp)
{
    if (!profile) {
        profile = vmi.default_profile;
    }
    if (!profile) {
        error_setg(errp, "no profile: pass 'profile' or start QEMU with "
                   "-vmi profile=FILE");
        return;
    }
    vmi_enable(profile, filter ? filter : vmi.default_filter,
               has_overflow ? overflow : vmi.default_overflow,
               chardev ? chardev : vmi.default_chardev, errp);
}

void qmp_vmi_set_filter(VmiFilter *filter, Error **errp)
{
    VmiSession *s = vmi.session;
    VmiTraceFilter *f;

    if (!s) {
        error_setg(errp, "introspection is not enabled");
        return;
    }
    f = vmi_filter_new(filter, s->os, errp);
    if (f) {
        QEMU_LOCK_GUARD(&s->lock);
        filter_publish(s, f);
    }
}

void qmp_vmi_disable(Error **errp)
{
    VmiSession *s = vmi.session;

    if (!s) {
        return;
    }
    /* unpublished first: an LSTAR write after this cannot arm anything */
    qatomic_set(&vmi_syscall_hooks_on, false);
    qatomic_rcu_set(&vmi.session, NULL);
    if (s->mech->stop) {
        s->mech->stop();
    }
    call_rcu(s, session_free_rcu, rcu);
    /* what was trapped goes where the session sent it, losses included */
    drain_all();
    vmi.lost_last_ms = 0;
    report_lost(NULL);
    timer_del(vmi.lost_timer);
    sink_close();
    migrate_del_blocker(&vmi.migration_blocker);
}

VmiInfo *qmp_query_vmi(Error **errp)
{
    VmiInfo *info = g_new0(VmiInfo, 1);
    VmiSession *s = vmi.session;
    VmiVcpuInfoList **tail = &info->vcpus;

    info->enabled = s != NULL;
    info->state = VMI_STATE_OFF;
    info->mechanism = s ? s->mech->id : VMI_MECHANISM_NONE;
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
            if (!mechanism_traces_abi(s, s->kernel, VMI_ABI_IA32)) {
                info->has_untraced_abis = true;
                QAPI_LIST_PREPEND(info->untraced_abis, g_strdup("ia32"));
            }
        }
        info->pending = vmi_pending_count(&s->pending);
        info->pending_evicted = s->pending.evicted;
    }
    info->events = vmi.events;
    info->pending_abandoned = qatomic_read(&vmi.abandoned);
    info->overflow = qatomic_read(&vmi.overflow);
    info->ring_size = vmi.ring_size ? vmi.ring_size : VMI_RING_SIZE;
    info->ring_bytes = vmi.ring_bytes ? vmi.ring_bytes : VMI_RING_BYTES;
    info->chardev = g_strdup(vmi.sink_id);
    for (unsigned i = 0; i < vmi.nr_rings; i++) {
        VmiVcpuInfo *v = g_new0(VmiVcpuInfo, 1);

        v->vcpu = i;
        v->trapped = qatomic_read(&vmi.rings[i].trapped);
        v->dropped = qatomic_read(&vmi.rings[i].dropped);
        v->filtered = qatomic_read(&vmi.rings[i].filtered);
        v->emitted = qatomic_read(&vmi.rings[i].emitted);
        v->produced = qatomic_read(&vmi.rings[i].produced);
        if (s && s->mech->vcpu_stats) {
            uint64_t exits, ioctls;

            if (s->mech->vcpu_stats(i, &exits, &ioctls)) {
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

/*
 * -vmi's settings, checked: they become the defaults of vmi-enable, and
 * tracing starts at once with syscalls=on.  A bad profile or filter is
 * refused now, not at the first vmi-enable.
 */
bool vmi_startup(const VmiStartupConfig *c, Error **errp)
{
    vmi.default_profile = g_strdup(c->profile);
    vmi.default_chardev = g_strdup(c->chardev);
    vmi.default_overflow = c->overflow;
    if (c->ring_size) {
        vmi.ring_size = c->ring_size;
    }
    if (c->ring_bytes) {
        vmi.ring_bytes = c->ring_bytes;
    }
    if (vmi.default_chardev && !qemu_chr_find(vmi.default_chardev)) {
        error_setg(errp, "chardev '%s' does not exist", vmi.default_chardev);
        return false;
    }
    if (c->syscalls) {
        if (!vmi_enable(c->profile, c->filter, vmi.default_overflow,
                        vmi.default_chardev, errp)) {
            return false;
        }
    } else {
        VmiSession *s = session_new(c->profile, errp);
        VmiTraceFilter *f;
        bool ok;

        if (!s) {
            return false;
        }
        f = vmi_filter_new(c->filter, s->os, errp);
        ok = f != NULL;
        vmi_filter_free(f);
        session_free(s);
        if (!ok) {
            return false;
        }
    }
    /* the default of a later vmi-enable without its own filter */
    vmi.default_filter = QAPI_CLONE(VmiFilter, c->filter);
    return true;
}
