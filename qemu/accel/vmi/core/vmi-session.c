/*
 * kvm-vmi: the tracing session
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Enabling and disabling, shared by -vmi and QMP: the mechanism and the
 * profile are chosen, the running kernel identified (again at every
 * MSR_LSTAR write, i.e. boot), the traps armed, the migration blocker
 * held.  The session (profile, identified kernel, pending system calls)
 * is RCU-protected: vmi-disable unpublishes it and frees it after a grace
 * period, so a vCPU still inside a trap handler never sees freed memory.
 */

#include "qemu/osdep.h"
#include "qapi/clone-visitor.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-vmi.h"
#include "qapi/qapi-visit-vmi.h"
#include "chardev/char-fe.h"
#include "migration/blocker.h"
#include "qemu/error-report.h"
#include "qemu/lockable.h"
#include "qemu/rcu.h"
#include "qemu/timer.h"
#include "hw/core/cpu.h"
#include "hw/resettable.h"
#include "qom/object.h"
#include "system/hw_accel.h"
#include "system/reset.h"
#include "system/vmi.h"
#include "cpu.h"
#include "accel/vmi/core/vmi-core.h"
#include "accel/vmi/core/vmi-filter.h"
#include "accel/vmi/events/vmi-delivery.h"
#include "accel/vmi/events/vmi-ring.h"
#include "accel/vmi/trace.h"
#include "accel/vmi/x86/vmi-regs.h"

/* at most this many identifications of a new MSR_LSTAR per second */
#define VMI_IDENTIFY_PER_S  8

bool vmi_syscall_hooks_on;

static struct {
    VmiSession *session;    /* RCU-published; NULL when off */
    char *default_profile;  /* from -vmi profile= */
    VmiFilter *default_filter;  /* from -vmi filter-...= */
    VmiOverflow default_overflow;   /* from -vmi overflow= */
    char *default_chardev;      /* from -vmi chardev= */
    bool resetter_registered;
    Error *migration_blocker;
} vmi;

VmiSession *vmi_session(void)
{
    return qatomic_rcu_read(&vmi.session);
}

void vmi_mem_for_regs(VmiMem *m, const VmiSession *s, CPUState *cs,
                      const VmiRegs *r)
{
    vmi_mem_init(m, vmi_read_guest_ram, cs->as, r->cr3, r->la57);
    if (s->os->kernel_view) {
        s->os->kernel_view(s->image, m, r->lstar);
    }
}

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

/* The OS layers a profile may describe, tried in turn */
static const VmiOsOps *const os_layers[] = {
    &vmi_os_linux,
};

/*
 * A parsed profile, shared by the sessions made from it and kept for the
 * next vmi-enable: parsing a profile takes far longer than enabling.
 */
struct VmiOsRef {
    const VmiOsOps *os;
    VmiOsImage *image;
    int refs;
    char *path;
    struct stat st;
};

static VmiOsRef *os_cache;

static void os_put(VmiOsRef *o)
{
    /* sessions are freed after an RCU grace period, on the RCU thread */
    if (o && qatomic_fetch_dec(&o->refs) == 1) {
        o->os->unload(o->image);
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

/*
 * The profile at @path, parsed once while the file stays the same, and
 * taken by the first OS layer that finds in it what it needs.
 */
static VmiOsRef *os_get(const char *path, Error **errp)
{
    g_autofree char *err = NULL;
    VmiOsImage *image = NULL;
    const VmiOsOps *os = NULL;
    struct stat st;
    VmiOsRef *o;

    if (stat(path, &st) == 0 && os_cache && !strcmp(os_cache->path, path) &&
        same_file(&st, &os_cache->st)) {
        qatomic_inc(&os_cache->refs);
        return os_cache;
    }
    for (size_t i = 0; !image && i < ARRAY_SIZE(os_layers); i++) {
        VmiProfile *p = vmi_profile_load(path, &err);

        if (!p) {
            error_setg(errp, "%s", err);
            return NULL;
        }
        os = os_layers[i];
        g_clear_pointer(&err, g_free);
        image = os->load(p, &err);
    }
    if (!image) {
        error_setg(errp, "%s", err);
        return NULL;
    }
    o = g_new0(VmiOsRef, 1);
    o->os = os;
    o->image = image;
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
    vmi_kernels_free(&s->kept, s->os->kernel_free);
    if (s->kernel) {
        s->os->kernel_free(s->kernel);
    }
    vmi_filter_free(s->filter);
    vmi_pending_destroy(&s->pending);
    os_put(s->osref);
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
    VmiOsRef *o = os_get(profile, errp);
    VmiSession *s;

    if (!o) {
        return NULL;
    }
    s = g_new0(VmiSession, 1);
    s->osref = o;
    s->os = o->os;
    s->image = o->image;
    s->profile = o->path;
    qemu_mutex_init(&s->lock);
    s->identify_rate.per_s = VMI_IDENTIFY_PER_S;
    vmi_trap_pending_init(&s->pending);
    return s;
}

typedef struct VmiKernelRcu {
    struct rcu_head rcu;
    const VmiOsOps *os;
    VmiKernel *kernel;
} VmiKernelRcu;

static void kernel_rcu_cb(VmiKernelRcu *r)
{
    r->os->kernel_free(r->kernel);
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
        k = s->os->identify(s->image, m, lstar, &err);
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
    vmi_trap_abandon_calls(s);
    qatomic_rcu_set(&s->kernel, k);
    if (s->filter) {
        filter_publish(s, vmi_filter_copy(s->filter));
    }
    if (old) {
        VmiKernel *gone = vmi_kernels_put(&s->kept, old);

        /* after every reader of it is done */
        if (gone) {
            VmiKernelRcu *r = g_new0(VmiKernelRcu, 1);

            r->os = s->os;
            r->kernel = gone;
            call_rcu(r, kernel_rcu_cb, rcu);
        }
    }
    return k;
}

const VmiKernel *vmi_session_kernel(VmiSession *s, VmiMem *m,
                                       uint64_t lstar)
{
    const VmiKernel *k = qatomic_rcu_read(&s->kernel);

    if (likely(k && k->lstar == lstar)) {
        return k;
    }
    return session_identify(s, m, lstar);
}

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
    s->os->trap_points(k, &tp);
    return s->mech->arm(&tp, errp);
}

/* Whether @s's mechanism traps calls of @abi on @k. */
bool vmi_session_traces_abi(VmiSession *s, const VmiKernel *k,
                                 VmiAbi abi)
{
    VmiTrapPoints tp;

    if (!s->mech->traces_abi) {
        return true;
    }
    s->os->trap_points(k, &tp);
    return s->mech->traces_abi(&tp, abi);
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
    s = vmi_session();
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
        vmi_trap_abandon_calls(s);
    }
}

void vmi_lstar_written(CPUState *cs, const VmiRegs *r)
{
    const VmiKernel *k;
    VmiSession *s;
    VmiMem m;

    RCU_READ_LOCK_GUARD();
    s = vmi_session();
    if (!s) {
        return;
    }
    vmi_mem_for_regs(&m, s, cs, r);
    k = vmi_session_kernel(s, &m, r->lstar);
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

static bool vmi_enable(const char *profile, const VmiFilter *filter,
                       VmiOverflow overflow, const char *chardev,
                       Monitor *follow, Error **errp)
{
    CPUState *cs = first_cpu;
    const VmiMechanismOps *mech;
    VmiTraceFilter *f;
    VmiSession *s;

    if (vmi.session) {
        error_setg(errp, "introspection is already enabled (profile '%s'); "
                   "use vmi-disable first",
                   vmi.session->profile);
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
    f = vmi_filter_new(filter, s->os, s->image, errp);
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
    if (!vmi_rings_init(errp)) {
        goto fail;
    }

    /* pending calls and queued events are not part of the VM's state */
    error_setg(&vmi.migration_blocker, "introspection is enabled: its "
               "system calls in flight and queued events cannot migrate; "
               "use vmi-disable first");
    if (migrate_add_blocker(&vmi.migration_blocker, errp) < 0) {
        goto fail;
    }
    if (!vmi_delivery_start(chardev, follow, errp)) {
        migrate_del_blocker(&vmi.migration_blocker);
        goto fail;
    }
    if (!vmi.resetter_registered) {
        qemu_register_resettable(object_new(TYPE_VMI_RESETTER));
        vmi.resetter_registered = true;
    }
    vmi_rings_set_overflow(overflow);
    qatomic_rcu_set(&vmi.session, s);
    qatomic_set(&vmi_syscall_hooks_on, true);
    /* before the guest installs its entry point, its write arms the traps */
    if (s->kernel && !mechanism_arm(s, s->kernel, errp)) {
        vmi_session_disable();
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

bool vmi_session_enable(const char *profile, VmiFilter *filter,
                        bool has_overflow, VmiOverflow overflow,
                        const char *chardev, Monitor *follow, Error **errp)
{
    if (!profile) {
        profile = vmi.default_profile;
    }
    if (!profile) {
        error_setg(errp, "no profile: pass 'profile' or start QEMU with "
                   "-vmi profile=FILE");
        return false;
    }
    return vmi_enable(profile, filter ? filter : vmi.default_filter,
                      has_overflow ? overflow : vmi.default_overflow,
                      chardev ? chardev : vmi.default_chardev, follow,
                      errp);
}

bool vmi_session_set_filter(VmiFilter *filter, Error **errp)
{
    VmiSession *s = vmi.session;
    VmiTraceFilter *f;

    if (!s) {
        error_setg(errp, "introspection is not enabled");
        return false;
    }
    f = vmi_filter_new(filter, s->os, s->image, errp);
    if (!f) {
        return false;
    }
    QEMU_LOCK_GUARD(&s->lock);
    filter_publish(s, f);
    return true;
}

void vmi_session_disable(void)
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
    vmi_delivery_stop();
    migrate_del_blocker(&vmi.migration_blocker);
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
    vmi_rings_configure(c->ring_size, c->ring_bytes);
    if (vmi.default_chardev && !qemu_chr_find(vmi.default_chardev)) {
        error_setg(errp, "chardev '%s' does not exist", vmi.default_chardev);
        return false;
    }
    if (c->syscalls) {
        if (!vmi_enable(c->profile, c->filter, vmi.default_overflow,
                        vmi.default_chardev, NULL, errp)) {
            return false;
        }
    } else {
        VmiSession *s = session_new(c->profile, errp);
        VmiTraceFilter *f;
        bool ok;

        if (!s) {
            return false;
        }
        f = vmi_filter_new(c->filter, s->os, s->image, errp);
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
