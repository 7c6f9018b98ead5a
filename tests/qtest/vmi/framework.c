/*
 * kvm-vmi qtest: what the tests of every area share
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QMP commands that must succeed or fail, the accelerator check, and
 * the events a guest produced: their fields, those of one task, the
 * per-vCPU counters of query-vmi and waiting until all are delivered.
 */

#include "qemu/osdep.h"
#include "qobject/qjson.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"
#include "vmi/framework.h"

QDict *qmp_ok(Guest *g, const char *fmt, ...)
{
    va_list ap;
    QDict *resp, *ret;

    va_start(ap, fmt);
    resp = qtest_vqmp(g->qts, fmt, ap);
    va_end(ap);
    if (!qdict_haskey(resp, "return")) {
        g_autoptr(GString) json = qobject_to_json(QOBJECT(resp));

        g_error("QMP command failed: %s", json->str);
    }
    ret = qdict_get_qdict(resp, "return");
    qobject_ref(ret);
    qobject_unref(resp);
    return ret;
}

/* Run the command; return its error description. */
char *qmp_error(Guest *g, const char *fmt, ...)
{
    va_list ap;
    QDict *resp;
    char *desc;

    va_start(ap, fmt);
    resp = qtest_vqmp(g->qts, fmt, ap);
    va_end(ap);
    g_assert_true(qdict_haskey(resp, "error"));
    desc = g_strdup(qdict_get_str(qdict_get_qdict(resp, "error"), "desc"));
    qobject_unref(resp);
    return desc;
}

/* The accelerator asked for is the one running, and vmi uses it. */
void check_accel(Guest *g)
{
    QDict *kvm = qmp_ok(g, "{'execute': 'query-kvm'}");
    QDict *info = qmp_ok(g, "{'execute': 'query-vmi'}");

    g_assert_cmpint(qdict_get_bool(kvm, "enabled"), ==, under_kvm());
    if (strcmp(qdict_get_str(info, "state"), "off")) {
        g_assert_cmpstr(qdict_get_str(info, "mechanism"), ==,
                        expected_mechanism());
    }
    qobject_unref(kvm);
    qobject_unref(info);
}

const char *ev_str(QDict *ev, const char *key)
{
    return qdict_get_try_str(ev, key);
}

/* The parameter @name of @ev, or NULL if it has none */
static QDict *ev_find_param(QDict *ev, const char *name)
{
    QList *params = qdict_get_qlist(ev, "params");
    QListEntry *e;

    if (!params) {
        return NULL;
    }
    QLIST_FOREACH_ENTRY(params, e) {
        QDict *p = qobject_to(QDict, e->value);

        if (!strcmp(qdict_get_str(p, "name"), name)) {
            return p;
        }
    }
    return NULL;
}

const char *ev_param_str(QDict *ev, const char *name)
{
    QDict *p = ev_find_param(ev, name);

    if (!p) {
        return NULL;
    }
    return qdict_haskey(p, "fd") ? qdict_get_str(p, "fd") :
           qdict_get_try_str(p, "string");
}

int64_t ev_pid(QDict *ev)
{
    return qdict_get_int(qdict_get_qdict(ev, "process"), "pid");
}

bool ev_is(QDict *ev, const char *dir, const char *name)
{
    return !strcmp(ev_str(ev, "direction"), dir) &&
           !strcmp(ev_str(ev, "name"), name);
}

/* The events of @pid, waiting until its exit_group has arrived. */
GPtrArray *events_of(Guest *g, long pid)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    GPtrArray *mine = g_ptr_array_new();

    for (guint seen = 0;;) {
        for (; seen < g->events->len; seen++) {
            QDict *ev = g_ptr_array_index(g->events, seen);

            if (ev_pid(ev) == pid) {
                g_ptr_array_add(mine, ev);
                if (ev_is(ev, "enter", "exit_group")) {
                    return mine;
                }
            }
        }
        if (g_get_monotonic_time() >= deadline) {
            g_autoptr(GString) got = g_string_new(NULL);
            QDict *info = qmp_ok(g, "{'execute': 'query-vmi'}");
            g_autoptr(GString) state = qobject_to_json(QOBJECT(info));

            for (guint i = g->events->len > 8 ? g->events->len - 8 : 0;
                 i < g->events->len; i++) {
                QDict *ev = g_ptr_array_index(g->events, i);

                g_string_append_printf(got, " [%" PRId64 " %s %s]",
                                       ev_pid(ev),
                                       ev_str(ev, "direction") ?: "-",
                                       ev_str(ev, "name") ?: "-");
            }
            qobject_unref(info);
            g_error("no exit_group of pid %ld within 60 s: %u of its events, "
                    "%u in all, the last:%s; query-vmi: %s", pid, mine->len,
                    g->events->len, got->str, state->str);
        }
        /* a command round trip lets the event stream catch up */
        qobject_unref(qmp_ok(g, "{'execute': 'query-vmi'}"));
        g_usleep(50 * 1000);
    }
}

QDict *ev_param(QDict *ev, const char *name)
{
    QDict *p;

    g_assert_nonnull(qdict_get_qlist(ev, "params"));
    p = ev_find_param(ev, name);
    if (!p) {
        g_error("no parameter '%s' in %s", name,
                qobject_to_json(QOBJECT(ev))->str);
    }
    return p;
}

/* From @*i on, the next event of @evs going @dir through @name. */
QDict *next_event(GPtrArray *evs, guint *i, const char *dir,
                  const char *name)
{
    for (; *i < evs->len; (*i)++) {
        QDict *ev = g_ptr_array_index(evs, *i);

        if (ev_is(ev, dir, name)) {
            (*i)++;
            return ev;
        }
    }
    return NULL;
}

/* The index after the exit of the last successful execve in @evs */
guint after_last_exec(GPtrArray *evs)
{
    guint i = 0, after = 0;
    QDict *ev;

    while ((ev = next_event(evs, &i, "exit", "execve"))) {
        if (qdict_get_int(ev, "ret") == 0) {
            after = i;
        }
    }
    g_assert_cmpuint(after, >, 0);
    return after;
}

/*
 * Under KVM every trapped call is a debug exit, and the exits cost no
 * ioctl but one KVM_GET_MSRS per vCPU each time the guest writes
 * MSR_LSTAR (synced registers): at boot, and when a vCPU comes online.
 */
void check_kvm_counters_max(Guest *g, int64_t max_ioctls)
{
    QDict *info = qmp_ok(g, "{'execute': 'query-vmi'}");
    QListEntry *e;

    QLIST_FOREACH_ENTRY(qdict_get_qlist(info, "vcpus"), e) {
        QDict *v = qobject_to(QDict, e->value);

        if (!under_kvm()) {
            g_assert_false(qdict_haskey(v, "debug-exits"));
            g_assert_false(qdict_haskey(v, "ioctls"));
            continue;
        }
        g_test_message("vCPU %" PRId64 ": %" PRId64 " trapped, %" PRId64
                       " debug exits, %" PRId64 " ioctls",
                       qdict_get_int(v, "vcpu"), qdict_get_int(v, "trapped"),
                       qdict_get_int(v, "debug-exits"),
                       qdict_get_int(v, "ioctls"));
        g_assert_cmpint(qdict_get_int(v, "debug-exits"), >=,
                        qdict_get_int(v, "trapped"));
        g_assert_cmpint(qdict_get_int(v, "ioctls"), <=, max_ioctls);
    }
    qobject_unref(info);
}

void check_kvm_counters(Guest *g)
{
    check_kvm_counters_max(g, 2);
}

void check_no_drops(Guest *g)
{
    QDict *info = qmp_ok(g, "{'execute': 'query-vmi'}");

    g_assert_cmpint(qdict_get_int(info, "dropped"), ==, 0);
    g_assert_cmpint(qdict_get_int(info, "events"), >, 0);
    qobject_unref(info);
}

int64_t sum_vcpus(Guest *g, const char *key)
{
    QDict *info = qmp_ok(g, "{'execute': 'query-vmi'}");
    QListEntry *e;
    int64_t sum = 0;

    QLIST_FOREACH_ENTRY(qdict_get_qlist(info, "vcpus"), e) {
        sum += qdict_get_try_int(qobject_to(QDict, e->value), key, 0);
    }
    qobject_unref(info);
    return sum;
}

/* Read QMP until every event built has been emitted or dropped. */
void wait_delivered(Guest *g)
{
    /* nested, L1 emulated by TCG formats the JSON slowly */
    gint64 deadline = g_get_monotonic_time() + 900 * G_USEC_PER_SEC;

    while (sum_vcpus(g, "emitted") + sum_vcpus(g, "dropped") !=
           sum_vcpus(g, "produced")) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(50 * 1000);
    }
}

/* The last process event @event (of @kind) about @pid */
QDict *process_event(Guest *g, const char *event, const char *kind,
                     long pid)
{
    for (guint i = g->processes->len; i-- > 0;) {
        QDict *ev = g_ptr_array_index(g->processes, i);

        if (!strcmp(qdict_get_str(ev, "event"), event) &&
            qdict_get_int(ev, "pid") == pid &&
            (!kind || !g_strcmp0(qdict_get_try_str(ev, "kind"), kind))) {
            return ev;
        }
    }
    return NULL;
}

/*
 * The vCPUs' rings are drained in turn: an event of one vCPU may come
 * after a later one of another.  Read QMP until @pid's event is there
 * (NULL after 60 s).
 */
QDict *wait_process_event(Guest *g, const char *event,
                          const char *kind, long pid)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    QDict *ev;

    while (!(ev = process_event(g, event, kind, pid)) &&
           g_get_monotonic_time() < deadline) {
        qobject_unref(qmp_ok(g, "{'execute': 'query-vmi'}"));
        g_usleep(50 * 1000);
    }
    return ev;
}

void check_argv(QDict *ev, const char *expect)
{
    g_auto(GStrv) want = g_strsplit(expect, ",", -1);
    QList *argv = qdict_get_qlist(ev, "argv");
    QListEntry *e;
    guint n = 0;

    g_assert_nonnull(argv);
    QLIST_FOREACH_ENTRY(argv, e) {
        g_assert_nonnull(want[n]);
        g_assert_cmpstr(qstring_get_str(qobject_to(QString, e->value)), ==,
                        want[n]);
        n++;
    }
    g_assert_null(want[n]);
}

uint64_t dict_uint(QDict *d, const char *key)
{
    return qnum_get_uint(qobject_to(QNum, qdict_get(d, key)));
}
