/*
 * kvm-vmi: delivery of events to their consumers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/compat-policy.h"
#include "qapi/error.h"
#include "qapi/qapi-emit-events.h"
#include "qapi/qapi-events-vmi.h"
#include "qapi/qapi-visit-vmi.h"
#include "qapi/qmp-event.h"
#include "qapi/qobject-output-visitor.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "chardev/char-fe.h"
#include "monitor/monitor.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "system/cpus.h"
#include "system/vmi.h"
#include "accel/vmi/events/vmi-delivery.h"
#include "accel/vmi/events/vmi-qapi.h"
#include "accel/vmi/events/vmi-ring.h"

/* Events emitted per bottom-half run, so the main loop stays responsive. */
#define VMI_DRAIN_BUDGET    4096
/*
 * A drain holds the BQL for at most this long, then leaves it free for
 * VMI_DRAIN_PAUSE_NS: vCPUs need it for interrupts and MMIO, and a
 * mutex handed straight back to the main loop would starve them.
 */
#define VMI_DRAIN_SLICE_NS  (500 * SCALE_US)
#define VMI_DRAIN_PAUSE_NS  (50 * SCALE_US)
/* Output a consumer may have queued before the rings stop draining */
#define VMI_BACKLOG_MAX     (4 * MiB)
/*
 * Output any other QMP client may have queued before it skips events:
 * above what the consumer waited for can reach (VMI_BACKLOG_MAX and one
 * event), so that one never skips.
 */
#define VMI_SKIP_BACKLOG    (2 * VMI_BACKLOG_MAX)
/* How often a stalled drain looks at its consumer again */
#define VMI_RETRY_MS        10
/* VMI_EVENTS_LOST at most this often */
#define VMI_LOST_PERIOD_MS  1000
/* how long a guest poweroff waits for consumers to read the last events */
#define VMI_SHUTDOWN_FLUSH_MS   10000

static struct {
    bool active;            /* between vmi_delivery_start() and _stop() */
    /* the QMP client that enabled tracing, which overflow=block follows */
    Monitor *follow;
    uint64_t skipped_base;  /* monitor_qmp_bulk_skipped() at the start */
    QEMUBH *bh;
    uint64_t events;
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
} vmi;

void vmi_delivery_kick(void)
{
    qemu_bh_schedule(vmi.bh);
}

void vmi_delivery_count_abandoned(uint64_t calls)
{
    qatomic_add(&vmi.abandoned, calls);
}

uint64_t vmi_delivery_abandoned(void)
{
    return qatomic_read(&vmi.abandoned);
}

uint64_t vmi_delivery_events(void)
{
    return vmi.events;
}

const char *vmi_delivery_chardev(void)
{
    return vmi.sink_id;
}

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
    e->abi = ev->abi == VMI_ABI_IA32 ? VMI_SYSCALL_ABI_IA32
                                     : VMI_SYSCALL_ABI_X86_64;
    e->cr3 = ev->cr3;
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
        uint64List **tail = &e->args;

        e->has_args = true;
        for (int i = 0; i < 6; i++) {
            QAPI_LIST_APPEND(tail, ev->args[i]);
        }
        if (ev->has_params) {
            e->has_params = true;
            e->params = vmi_params_to_qapi(&ev->params);
        }
    } else {
        e->has_ret = true;
        e->ret = ev->ret;
        e->has_elapsed_ns = true;
        e->elapsed_ns = ev->elapsed_ns;
        e->q_errno = g_strdup(ev->error_name);
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
    for (unsigned i = 0; i < vmi_rings_count(); i++) {
        uint64_t dropped = vmi_ring_take_new_drops(i);

        if (dropped) {
            VmiVcpuLost *v = g_new0(VmiVcpuLost, 1);

            v->vcpu = i;
            v->lost = dropped;
            lost += v->lost;
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
    if (vmi.active) {
        timer_mod(vmi.lost_timer, now + VMI_LOST_PERIOD_MS);
    }
}

/*
 * Whether the consumer the drain follows is behind: the chardev, else
 * the QMP client that enabled tracing, else the fastest QMP client.
 * Any other QMP client that falls behind skips events (VMI_SKIP_BACKLOG)
 * and never holds up the others or, with overflow=block, the guest.
 */
static bool consumer_backlogged(void)
{
    size_t backlog;

    if (sink_on()) {
        return vmi.sink_buf->len > VMI_BACKLOG_MAX;
    }
    /* a client that went away, or reconnected, is followed no more */
    if (vmi.follow && monitor_qmp_backlog_of(vmi.follow, &backlog)) {
        return backlog > VMI_BACKLOG_MAX;
    }
    return monitor_qmp_least_backlog() > VMI_BACKLOG_MAX;
}

/* VMI_EVENTS_SKIPPED, for the one QMP client that skipped events */
static QDict *skipped_event(uint64_t skipped, uint64_t total)
{
    QDict *event = qmp_event_build_dict("VMI_EVENTS_SKIPPED");
    QDict *data = qdict_new();

    qdict_put_int(data, "skipped", skipped);
    qdict_put_int(data, "total", total);
    qdict_put(event, "data", data);
    return event;
}

/*
 * Whether QMP clients that fall behind skip events.  Not while
 * everything trapped is drained at once (vmi-disable, shutdown): what
 * was produced then goes to every client, as buffered output that
 * QEMU writes out as they read (at shutdown, for a bounded time).  The
 * events stay bulk, so that a client that skipped some is still told
 * how many before the next.
 */
static void skip_slow_clients(bool on)
{
    size_t max = on ? VMI_SKIP_BACKLOG : SIZE_MAX;

    monitor_qapi_event_set_bulk(QAPI_EVENT_VMI_SYSCALL, max, skipped_event);
    monitor_qapi_event_set_bulk(QAPI_EVENT_VMI_PROCESS_START, max,
                                skipped_event);
    monitor_qapi_event_set_bulk(QAPI_EVENT_VMI_PROCESS_EXIT, max,
                                skipped_event);
}

uint64_t vmi_delivery_skipped(void)
{
    return monitor_qmp_bulk_skipped() - vmi.skipped_base;
}

static void emit_one(VmiEvent *ev)
{
    event_emit(ev);
    vmi_event_free(ev);
    vmi.events++;
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
    unsigned budget = VMI_DRAIN_BUDGET;
    bool stalled = false, more;
    unsigned emitted = 0;

    vmi_rings_consume_begin();
    while (budget) {
        VmiEvent *ev;

        if (consumer_backlogged()) {
            stalled = true;
            break;
        }
        ev = vmi_rings_pop(UINT64_MAX);
        if (!ev) {
            break;
        }
        emit_one(ev);
        budget--;
        if (++emitted % 64 == 0 &&
            qemu_clock_get_ns(QEMU_CLOCK_REALTIME) > end) {
            break;
        }
    }
    if (emitted) {
        vmi_rings_wake(false);
    }
    more = vmi_rings_pending();
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

/* Everything trapped so far, in order, regardless of the consumer's backlog */
static void drain_all(void)
{
    /* what was produced until now: a vCPU still running cannot prolong it */
    uint64_t last = vmi_rings_last_seq();
    VmiEvent *ev;

    skip_slow_clients(false);
    vmi_rings_consume_begin();
    while ((ev = vmi_rings_pop(last))) {
        emit_one(ev);
    }
    skip_slow_clients(true);
    vmi_rings_wake(true);
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

    if (!vmi.active) {
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

bool vmi_delivery_start(const char *chardev, Monitor *follow, Error **errp)
{
    if (chardev && !sink_open(chardev, errp)) {
        return false;
    }
    skip_slow_clients(true);
    if (!vmi.bh) {
        vmi.bh = qemu_bh_new(vmi_drain, NULL);
        vmi.retry = timer_new_ns(QEMU_CLOCK_REALTIME, drain_retry, NULL);
        vmi.lost_timer = timer_new_ms(QEMU_CLOCK_REALTIME, report_lost,
                                      NULL);
    }
    vmi_rings_reset_counters();
    vmi.events = 0;
    vmi.lost_total = 0;
    qatomic_set(&vmi.abandoned, 0);
    vmi.abandoned_reported = 0;
    vmi.lost_last_ms = 0;
    vmi.follow = follow;
    vmi.skipped_base = monitor_qmp_bulk_skipped();
    vmi.active = true;
    timer_mod(vmi.lost_timer,
              qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + VMI_LOST_PERIOD_MS);
    return true;
}

void vmi_delivery_stop(void)
{
    /* what was trapped goes where the session sent it, losses included */
    drain_all();
    vmi.active = false;
    vmi.lost_last_ms = 0;
    report_lost(NULL);
    timer_del(vmi.lost_timer);
    sink_close();
    vmi.follow = NULL;
}
