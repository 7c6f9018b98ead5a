/*
 * kvm-vmi qtest: ground truth
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The programs in the guest (tests/guest/vmi-*.c) print what they did:
 * each call, its arguments and result, the processes they started.
 * These functions parse that output and hold the events against it.
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qobject/qjson.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"
#include "vmi/framework.h"
#include "vmi/truth.h"

#define STORM_CALLS     10000

typedef struct TruthCall {
    char *name;
    long ret;
    char *path;
    char *path2;
} TruthCall;

typedef struct Truth {
    long pid;
    long ppid;
    GPtrArray *calls;       /* TruthCall */
    char *exec_path;
    char **exec_argv;
    long child_ret;
    char *child_path;
} Truth;

static void truth_call_free(TruthCall *c)
{
    g_free(c->name);
    g_free(c->path);
    g_free(c->path2);
    g_free(c);
}

static void truth_free(Truth *t)
{
    g_ptr_array_free(t->calls, true);
    g_free(t->exec_path);
    g_strfreev(t->exec_argv);
    g_free(t->child_path);
}

char *field(const char *line, const char *key)
{
    g_autofree char *k = g_strdup_printf(" %s=", key);
    const char *p = strstr(line, k);
    const char *end;

    if (!p) {
        return NULL;
    }
    p += strlen(k);
    end = strchrnul(p, ' ');
    return g_strndup(p, end - p);
}

long field_long(const char *line, const char *key)
{
    g_autofree char *v = field(line, key);
    long value;

    g_assert_nonnull(v);
    g_assert_cmpint(qemu_strtol(v, NULL, 10, &value), ==, 0);
    return value;
}

/* The first line of @out starting with @prefix, without its newline. */
char *line_with(const char *out, const char *prefix)
{
    const char *at = strstr(out, prefix);

    g_assert_nonnull(at);
    return g_strndup(at, strcspn(at, "\r\n"));
}

static void truth_parse(const char *out, Truth *t)
{
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);

    memset(t, 0, sizeof(*t));
    t->pid = -1;
    t->calls = g_ptr_array_new_with_free_func((GDestroyNotify)truth_call_free);
    for (char **l = lines; *l; l++) {
        g_strchomp(*l);
        if (g_str_has_prefix(*l, "TRUTH pid=")) {
            t->pid = field_long(*l, "pid");
            t->ppid = field_long(*l, "ppid");
        } else if (g_str_has_prefix(*l, "TRUTH call ")) {
            TruthCall *c = g_new0(TruthCall, 1);
            g_auto(GStrv) w = g_strsplit(*l, " ", 5);

            g_assert_cmpuint(g_strv_length(w), >=, 5);
            c->name = g_strdup(w[3]);
            c->ret = field_long(*l, "ret");
            c->path = field(*l, "path");
            c->path2 = field(*l, "path2");
            g_ptr_array_add(t->calls, c);
        } else if (g_str_has_prefix(*l, "TRUTH exec ")) {
            g_autofree char *argv = field(*l, "argv");

            t->exec_path = field(*l, "path");
            t->exec_argv = g_strsplit(argv, ",", -1);
        } else if (g_str_has_prefix(*l, "TRUTH child ")) {
            g_assert_cmpint(field_long(*l, "pid"), ==, t->pid);
            t->child_ret = field_long(*l, "ret");
            t->child_path = field(*l, "path");
        }
    }
    g_assert_cmpint(t->pid, >, 0);
    g_assert_cmpuint(t->calls->len, >=, 10);
    g_assert_nonnull(t->exec_path);
    g_assert_nonnull(t->child_path);
}

static const char *call_path_key(const char *name, bool second)
{
    if (!strcmp(name, "rename")) {
        return second ? "newname" : "oldname";
    }
    if (!strcmp(name, "mkdir") || !strcmp(name, "unlink") ||
        !strcmp(name, "unlinkat")) {
        return "pathname";
    }
    return "filename";
}

/* Compare the events of the truth program with what it printed. */
static void check_truth(Guest *g, const Truth *t)
{
    g_autoptr(GPtrArray) evs = events_of(g, t->pid);
    guint i = 0;

    /* everything from this pid is attributed to the program */
    for (guint k = 0; k < evs->len; k++) {
        QDict *ev = g_ptr_array_index(evs, k);
        QDict *proc = qdict_get_qdict(ev, "process");

        g_assert_cmpint(qdict_get_int(proc, "tgid"), ==, t->pid);
        g_assert_cmphex(dict_uint(ev, "cr3"), !=, 0);
    }

    /* find the first call: openat of the program's unique file */
    for (; i < evs->len; i++) {
        QDict *ev = g_ptr_array_index(evs, i);
        const char *f = ev_param_str(ev, "filename");

        if (ev_is(ev, "enter", "openat") && f &&
            !strcmp(f, ((TruthCall *)g_ptr_array_index(t->calls, 0))->path)) {
            break;
        }
    }
    g_assert_cmpuint(i, <, evs->len);

    /* then exactly the calls it made, in order, each entered and exited */
    for (guint c = 0; c < t->calls->len; c++) {
        TruthCall *call = g_ptr_array_index(t->calls, c);
        QDict *enter, *exit;
        QList *args;

        g_assert_cmpuint(i + 1, <, evs->len);
        enter = g_ptr_array_index(evs, i++);
        exit = g_ptr_array_index(evs, i++);
        g_test_message("call %u: %s ret=%ld", c, call->name, call->ret);
        g_assert_cmpstr(ev_str(enter, "direction"), ==, "enter");
        g_assert_cmpstr(ev_str(enter, "name"), ==, call->name);
        g_assert_cmpstr(qdict_get_str(qdict_get_qdict(enter, "process"),
                                      "name"), ==, "vmi-truth");
        args = qdict_get_qlist(enter, "args");
        g_assert_nonnull(args);
        g_assert_cmpuint(qlist_size(args), ==, 6);
        if (call->path) {
            const char *key = call_path_key(call->name, false);

            g_assert_cmpstr(ev_param_str(enter, key), ==, call->path);
        }
        if (call->path2) {
            const char *key = call_path_key(call->name, true);

            g_assert_cmpstr(ev_param_str(enter, key), ==, call->path2);
        }
        if (!strcmp(call->name, "openat")) {
            g_assert_cmpstr(ev_param_str(enter, "dfd"), ==, "AT_FDCWD");
        }
        g_assert_cmpstr(ev_str(exit, "direction"), ==, "exit");
        g_assert_cmpstr(ev_str(exit, "name"), ==, call->name);
        g_assert_cmpint(qdict_get_int(exit, "nr"), ==,
                        qdict_get_int(enter, "nr"));
        g_assert_cmpint(qdict_get_int(exit, "ret"), ==, call->ret);
        if (call->ret == -ENOENT) {
            g_assert_cmpstr(ev_str(exit, "errno"), ==, "ENOENT");
        } else {
            g_assert_null(ev_str(exit, "errno"));
        }
        if (!strcmp(call->name, "getppid")) {
            g_assert_cmpint(qdict_get_int(exit, "ret"), ==, t->ppid);
        }
        g_assert_cmpstr(ev_str(enter, "abi"), ==, "x86_64");
        g_assert_cmpint(qdict_get_int(exit, "elapsed-ns"), >=, 0);
        if (!strcmp(call->name, "nanosleep")) {
            g_assert_cmpint(qdict_get_int(exit, "elapsed-ns"), >=,
                            50 * 1000 * 1000);
        }
    }

    /* stdio prints the results (newfstatat, write), then execve */
    while (i < evs->len &&
           !ev_is(g_ptr_array_index(evs, i), "enter", "execve")) {
        i++;
    }
    g_assert_cmpuint(i + 1, <, evs->len);
    {
        QDict *enter = g_ptr_array_index(evs, i++);
        QDict *exit = g_ptr_array_index(evs, i++);
        QDict *argp = ev_param(enter, "argv");
        QList *argv = argp ? qdict_get_qlist(argp, "strings") : NULL;
        QListEntry *e;
        int n = 0;

        g_assert_cmpstr(ev_param_str(enter, "filename"), ==, t->exec_path);
        g_assert_nonnull(argv);
        QLIST_FOREACH_ENTRY(argv, e) {
            g_assert_nonnull(t->exec_argv[n]);
            g_assert_cmpstr(qstring_get_str(qobject_to(QString, e->value)),
                            ==, t->exec_argv[n]);
            n++;
        }
        g_assert_null(t->exec_argv[n]);
        g_assert_true(ev_is(exit, "exit", "execve"));
        g_assert_cmpint(qdict_get_int(exit, "ret"), ==, 0);
    }

    /* the new image, same pid: its marker call, then exit_group */
    for (; i < evs->len; i++) {
        QDict *ev = g_ptr_array_index(evs, i);
        const char *f = ev_param_str(ev, "filename");

        if (ev_is(ev, "enter", "openat") && f && !strcmp(f, t->child_path)) {
            break;
        }
    }
    g_assert_cmpuint(i + 1, <, evs->len);
    {
        QDict *exit = g_ptr_array_index(evs, i + 1);

        g_assert_true(ev_is(exit, "exit", "openat"));
        g_assert_cmpint(qdict_get_int(exit, "ret"), ==, t->child_ret);
        g_assert_cmpstr(ev_str(exit, "errno"), ==, "ENOENT");
        g_assert_cmpstr(qdict_get_str(qdict_get_qdict(exit, "process"),
                                      "name"), ==, "vmi-truth");
    }
    g_assert_true(ev_is(g_ptr_array_index(evs, evs->len - 1), "enter",
                        "exit_group"));
}

/* vmi-truth in the guest: its events are the calls it says it made. */
void run_truth(Guest *g)
{
    g_autofree char *out = guest_run(g, "vmi-truth");
    Truth t;

    truth_parse(out, &t);
    check_truth(g, &t);
    truth_free(&t);
}

/* One "ARG.KEY=VALUE" of vmi-params against the parameter in @ev. */
static void check_param(QDict *ev, const char *expect)
{
    g_auto(GStrv) kv = g_strsplit(expect, "=", 2);
    g_auto(GStrv) ak = g_strsplit(kv[0], ".", 2);
    QDict *p = ev_param(ev, ak[0]);
    QDict *sa = qdict_get_qdict(p, "sockaddr");

    g_test_message("%s %s: %s", qdict_get_str(ev, "name"), kv[0], kv[1]);
    if (!strcmp(ak[1], "flags") || !strcmp(ak[1], "error") ||
        !strcmp(ak[1], "fd")) {
        g_assert_cmpstr(qdict_get_try_str(p, ak[1]), ==, kv[1]);
    } else if (!strcmp(ak[1], "int")) {
        int64_t want = g_ascii_strtoll(kv[1], NULL, 10);

        g_assert_true(qdict_haskey(p, "int"));
        g_assert_cmpint(qdict_get_int(p, "int"), ==, want);
    } else if (!strcmp(ak[1], "uint")) {
        QNum *n = qobject_to(QNum, qdict_get(p, "uint"));
        uint64_t v;

        g_assert_nonnull(n);
        g_assert_true(qnum_get_try_uint(n, &v));
        g_assert_cmpuint(v, ==, g_ascii_strtoull(kv[1], NULL, 10));
    } else if (!strcmp(ak[1], "truncated")) {
        g_assert_true(qdict_get_try_bool(p, "truncated", false));
    } else if (!strcmp(ak[1], "port")) {
        g_assert_nonnull(sa);
        g_assert_cmpint(qdict_get_int(sa, "port"), ==, atoi(kv[1]));
    } else {
        g_assert_nonnull(sa);
        g_assert_cmpstr(qdict_get_try_str(sa, ak[1]), ==, kv[1]);
    }
}

/*
 * vmi-params makes calls whose arguments are flags, socket addresses,
 * over-long and unreadable strings; its events must show what it printed.
 */
void check_params(Guest *g)
{
    g_autofree char *out = guest_run(g, "vmi-params");
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    g_autoptr(GPtrArray) evs = NULL;
    guint i = 0, checked = 0;

    for (char **l = lines; *l && !evs; l++) {
        g_strchomp(*l);
        if (g_str_has_prefix(*l, "PARAMS pid=")) {
            evs = events_of(g, field_long(*l, "pid"));
        }
    }
    g_assert_nonnull(evs);
    for (char **l = lines; *l; l++) {
        g_auto(GStrv) w = NULL;
        QDict *enter = NULL, *exit = NULL;

        g_strchomp(*l);
        if (!g_str_has_prefix(*l, "PARAMS call ")) {
            continue;
        }
        w = g_strsplit(*l, " ", -1);
        for (; i < evs->len && !enter; i++) {
            if (ev_is(g_ptr_array_index(evs, i), "enter", w[2])) {
                enter = g_ptr_array_index(evs, i);
            }
        }
        for (; i < evs->len && !exit; i++) {
            if (ev_is(g_ptr_array_index(evs, i), "exit", w[2])) {
                exit = g_ptr_array_index(evs, i);
            }
        }
        g_assert_nonnull(enter);
        g_assert_nonnull(exit);
        g_assert_cmpint(qdict_get_int(exit, "ret"), ==, field_long(*l, "ret"));
        for (char **kv = w + 4; *kv; kv++) {
            check_param(enter, *kv);
        }
        checked++;
    }
    g_assert_cmpuint(checked, ==, 13);
}

/*
 * vmi-hostile: 5000 argv entries, a path across a page boundary, bytes
 * that are not UTF-8, a 64 KiB path, an unmapped pointer.  The events
 * show each bound and degrade, nothing more.
 */
void check_hostile(Guest *g)
{
    g_autofree char *out = guest_run(g, "vmi-hostile");
    g_autofree char *first = line_with(out, "HOSTILE pid=");
    g_autofree char *span = line_with(out, "HOSTILE span ");
    g_autofree char *span_path = field(span, "path");
    g_autoptr(GPtrArray) evs = events_of(g, field_long(first, "pid"));
    guint i = after_last_exec(evs);
    static const char *const cases[] = {
        "argv", "span", "utf8", "huge", "unmapped"
    };
    QDict *enter[G_N_ELEMENTS(cases)];
    QDict *p;

    enter[0] = next_event(evs, &i, "enter", "execve");
    for (size_t c = 1; c < G_N_ELEMENTS(cases); c++) {
        enter[c] = next_event(evs, &i, "enter", "openat");
    }
    for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
        g_autofree char *prefix = g_strdup_printf("HOSTILE %s ", cases[c]);
        g_autofree char *line = line_with(out, prefix);
        guint j = 0;
        QDict *exit;

        g_assert_nonnull(enter[c]);
        /* the exit of the same call follows its entry */
        while (g_ptr_array_index(evs, j) != enter[c]) {
            j++;
        }
        exit = g_ptr_array_index(evs, j + 1);
        g_assert_cmpstr(ev_str(exit, "direction"), ==, "exit");
        g_assert_cmpint(qdict_get_int(exit, "ret"), ==,
                        field_long(line, "ret"));
    }
    /* argv: 256 of the 5000 entries, marked */
    p = ev_param(enter[0], "argv");
    g_assert_cmpuint(qlist_size(qdict_get_qlist(p, "strings")), ==, 256);
    g_assert_true(qdict_get_try_bool(p, "truncated", false));
    /* the path across the page boundary is whole */
    p = ev_param(enter[1], "filename");
    g_assert_cmpstr(qdict_get_try_str(p, "string"), ==, span_path);
    /* invalid bytes replaced, the rest kept */
    p = ev_param(enter[2], "filename");
    g_assert_true(g_str_has_prefix(qdict_get_try_str(p, "string"),
                                   "/nonexistent-"));
    g_assert_true(g_str_has_suffix(qdict_get_try_str(p, "string"),
                                   "-bytes"));
    g_assert_true(g_utf8_validate(qdict_get_try_str(p, "string"), -1,
                                  NULL));
    /* 64 KiB: cut at 4096 bytes */
    p = ev_param(enter[3], "filename");
    g_assert_cmpuint(strlen(qdict_get_try_str(p, "string")), <=, 4096);
    g_assert_true(qdict_get_try_bool(p, "truncated", false));
    /* a pointer to nothing */
    p = ev_param(enter[4], "filename");
    g_assert_cmpstr(qdict_get_try_str(p, "error"), ==, "unreadable");
}

/* vmi-storm's @calls getppid calls as @pid: every one arrives, paired. */
void check_storm_pid(Guest *g, long pid, guint calls)
{
    g_autoptr(GPtrArray) evs = events_of(g, pid);
    guint enters = 0, exits = 0;

    for (guint i = 0; i < evs->len; i++) {
        QDict *ev = g_ptr_array_index(evs, i);

        /* the shell that exec'd the program had the same pid */
        if (strcmp(qdict_get_str(qdict_get_qdict(ev, "process"), "name"),
                   "vmi-storm")) {
            continue;
        }
        if (ev_is(ev, "enter", "getppid")) {
            QDict *next = i + 1 < evs->len ? g_ptr_array_index(evs, i + 1)
                                           : NULL;

            enters++;
            if (!next || !ev_is(next, "exit", "getppid")) {
                g_test_message("getppid entry %u of %ld (vCPU %" PRId64
                               ") is followed by %s %s (vCPU %" PRId64 ")",
                               enters, pid, qdict_get_int(ev, "vcpu"),
                               next ? ev_str(next, "direction") : "nothing",
                               next ? ev_str(next, "name") : "",
                               next ? qdict_get_int(next, "vcpu") : -1);
                g_assert_not_reached();
            }
        } else if (ev_is(ev, "exit", "getppid")) {
            exits++;
        }
    }
    g_assert_cmpuint(enters, ==, calls);
    g_assert_cmpuint(exits, ==, calls);
}

/* A burst of 10,000 system calls. */
void check_storm(Guest *g)
{
    g_autofree char *out = guest_run(g, "vmi-storm " G_STRINGIFY(STORM_CALLS));
    const char *line = strstr(out, "STORM ");

    g_assert_nonnull(line);
    check_storm_pid(g, field_long(line, "pid"), STORM_CALLS);
}

/*
 * vmi-proc forks, execs with arguments, exits with a status, and has a
 * child killed: the process events must tell the same story.
 */
void check_processes(Guest *g)
{
    g_autofree char *out = guest_run(g, "vmi-proc");
    g_autofree char *first = line_with(out, "PROC pid=");
    g_autofree char *exec = line_with(out, "PROC exec ");
    g_autofree char *exit = line_with(out, "PROC exit ");
    g_autofree char *killed = line_with(out, "PROC killed ");
    g_autofree char *sigline = line_with(out, "PROC signal ");
    guint start, sigreturns = 0;
    g_autofree char *path = field(exec, "path");
    long pid = field_long(first, "pid");
    long child = field_long(exec, "child");
    long victim = field_long(killed, "child");
    g_autoptr(GPtrArray) evs = events_of(g, pid);
    QDict *ev;

    g_test_message("%s", out);
    for (guint i = 0; i < g->processes->len; i++) {
        g_autoptr(GString) json =
            qobject_to_json(g_ptr_array_index(g->processes, i));

        g_test_message("%s", json->str);
    }
    /* the shell started the program (busybox first re-execs itself) */
    ev = wait_process_event(g, "VMI_PROCESS_START", "exec", pid);
    g_assert_nonnull(ev);
    g_assert_cmpstr(qdict_get_try_str(ev, "path"), ==, "/bin/vmi-proc");
    g_assert_cmpstr(qdict_get_try_str(ev, "name"), ==, "vmi-proc");
    check_argv(ev, "vmi-proc");

    ev = wait_process_event(g, "VMI_PROCESS_START", "fork", child);
    g_assert_nonnull(ev);
    g_assert_cmpint(qdict_get_int(ev, "ppid"), ==, pid);
    g_assert_cmpstr(qdict_get_try_str(ev, "name"), ==, "vmi-proc");
    ev = wait_process_event(g, "VMI_PROCESS_START", "exec", child);
    g_assert_nonnull(ev);
    g_assert_cmpstr(qdict_get_try_str(ev, "path"), ==, path);
    g_assert_cmpint(qdict_get_int(ev, "ppid"), ==, pid);
    {
        g_autofree char *argv = g_strdup(strstr(exec, "argv=") + 5);

        check_argv(ev, argv);
    }
    ev = wait_process_event(g, "VMI_PROCESS_EXIT", NULL, child);
    g_assert_nonnull(ev);
    g_assert_cmpint(qdict_get_int(ev, "code"), ==, field_long(exit, "code"));

    g_assert_nonnull(wait_process_event(g, "VMI_PROCESS_START", "fork",
                                        victim));
    /* killed by a signal: no exit call; reported when its parent reaps it */
    ev = wait_process_event(g, "VMI_PROCESS_EXIT", NULL, victim);
    g_assert_nonnull(ev);
    g_assert_cmpint(qdict_get_try_int(ev, "signal", -1), ==,
                    field_long(killed, "signal"));
    g_assert_cmpint(qdict_get_int(ev, "code"), ==,
                    128 + field_long(killed, "signal"));
    g_assert_cmpstr(qdict_get_try_str(ev, "name"), ==, "vmi-proc");
    g_assert_false(qdict_haskey(ev, "core-dumped"));
    /* the one that exited normally has no signal */
    ev = wait_process_event(g, "VMI_PROCESS_EXIT", NULL, child);
    g_assert_nonnull(ev);
    g_assert_false(qdict_haskey(ev, "signal"));
    ev = wait_process_event(g, "VMI_PROCESS_EXIT", NULL, pid);
    g_assert_nonnull(ev);
    g_assert_cmpint(qdict_get_int(ev, "code"), ==, 0);

    /* the handler returned by rt_sigreturn: an entry, never an exit */
    g_assert_cmpint(field_long(sigline, "handled"), ==, 1);
    start = after_last_exec(evs);
    for (guint i = start; next_event(evs, &i, "enter", "rt_sigreturn");) {
        sigreturns++;
    }
    g_assert_cmpuint(sigreturns, ==, 1);
    g_assert_null(next_event(evs, &start, "exit", "rt_sigreturn"));
}
