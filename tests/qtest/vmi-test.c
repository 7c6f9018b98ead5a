/*
 * kvm-vmi qtest: boot a real Linux guest, run a ground-truth program in
 * it and check that the VMI_SYSCALL events match what the program says it
 * did.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Needs VMI_GUEST_DIR (vmlinuz, initramfs.cpio, profile.json: see
 * scripts/mkguest); skipped without it.  VMI_ACCEL=kvm runs the same
 * tests under KVM (make check-kvm), where they also check that KVM is in
 * use, not a silent fallback.
 */

#include "qemu/osdep.h"
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "libqtest.h"
#include "qapi/error.h"
#include "qemu/cutils.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "qobject/qjson.h"
#include "qobject/qstring.h"

#define BOOT_TIMEOUT_S  120
#define CMD_TIMEOUT_S   120
#define STORM_CALLS     10000
#define SMP_STORM_CALLS 3000
#define LIFECYCLE_ROUNDS 1000

typedef struct Guest {
    QTestState *qts;
    char *tmpdir;
    char *serial_path;
    int listen_fd;
    int serial_fd;
    GString *serial;        /* everything the guest printed so far */
    GPtrArray *events;      /* VMI_SYSCALL data dicts, in arrival order */
    GPtrArray *processes;   /* other VMI_* data dicts, with "event" */
    /*
     * Storm mode: VMI_SYSCALL events are not kept, only vmi-storm's
     * getppid entries and exits counted (a storm's events would not fit).
     */
    bool count_only;
    guint counted[2];       /* enter, exit */
    bool pump_qmp;          /* read QMP while waiting for the console */
} Guest;

typedef enum GuestFlags {
    GUEST_REBOOTS = 1,      /* a guest reboot resets instead of exiting */
} GuestFlags;

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

static const char *guest_dir(void)
{
    return g_getenv("VMI_GUEST_DIR");
}

static bool under_kvm(void)
{
    return !g_strcmp0(g_getenv("VMI_ACCEL"), "kvm");
}

static const char *expected_mechanism(void)
{
    return under_kvm() ? "kvm-hwbp" : "tcg";
}

static char *guest_file(const char *name)
{
    return g_build_filename(guest_dir(), name, NULL);
}

static void event_unref(gpointer dict)
{
    qobject_unref((QDict *)dict);
}

static bool collect_event(QTestState *s, const char *name, QDict *event,
                          void *opaque)
{
    Guest *g = opaque;
    QDict *data;

    if (!strcmp(name, "VMI_SYSCALL") && g->count_only) {
        data = qdict_get_qdict(event, "data");
        if (!strcmp(qdict_get_str(data, "name"), "getppid") &&
            !strcmp(qdict_get_str(qdict_get_qdict(data, "process"), "name"),
                    "vmi-storm")) {
            g->counted[!strcmp(qdict_get_str(data, "direction"), "exit")]++;
        }
        return true;
    }
    if (g_str_has_prefix(name, "VMI_") && strcmp(name, "VMI_SYSCALL")) {
        data = qdict_clone_shallow(qdict_get_qdict(event, "data"));
        qdict_put_str(data, "event", name);
        g_ptr_array_add(g->processes, data);
        return true;
    }
    if (strcmp(name, "VMI_SYSCALL")) {
        return false;
    }
    g_ptr_array_add(g->events, qobject_ref(qdict_get_qdict(event, "data")));
    return true;
}

static void guest_start_flags(Guest *g, const char *append,
                              const char *extra, GuestFlags flags)
{
    g_autofree char *kernel = guest_file("vmlinuz");
    g_autofree char *initrd = guest_file("initramfs.cpio");
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    memset(g, 0, sizeof(*g));
    g->tmpdir = g_dir_make_tmp("vmi-test-XXXXXX", NULL);
    g_assert_nonnull(g->tmpdir);
    g->serial_path = g_build_filename(g->tmpdir, "serial.sock", NULL);
    g->serial = g_string_new("");
    g->events = g_ptr_array_new_with_free_func(event_unref);
    g->processes = g_ptr_array_new_with_free_func(event_unref);

    /* listen first, so that nothing the guest prints is lost */
    g->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert_cmpint(g->listen_fd, >=, 0);
    g_strlcpy(addr.sun_path, g->serial_path, sizeof(addr.sun_path));
    g_assert_cmpint(bind(g->listen_fd, (struct sockaddr *)&addr,
                         sizeof(addr)), ==, 0);
    g_assert_cmpint(listen(g->listen_fd, 1), ==, 0);

    /* -accel qtest follows: a KVM that fails falls back to no CPU at all */
    g->qts = qtest_initf("-accel %s -M pc -cpu max -m 512M -nodefaults "
                         "%s -kernel %s -initrd %s "
                         "-append 'console=ttyS0 %s panic=-1 %s' "
                         "-chardev socket,id=ser0,path=%s "
                         "-serial chardev:ser0 %s",
                         under_kvm() ? "kvm" : "tcg",
                         flags & GUEST_REBOOTS ? "" : "-no-reboot",
                         kernel, initrd,
                         /* the kernel's messages help when a boot hangs */
                         g_getenv("VMI_GUEST_VERBOSE") ? "" : "quiet",
                         append, g->serial_path,
                         extra ? extra : "");
    qtest_qmp_set_event_callback(g->qts, collect_event, g);
    g->serial_fd = accept(g->listen_fd, NULL, NULL);
    g_assert_cmpint(g->serial_fd, >=, 0);
    g_unix_set_fd_nonblocking(g->serial_fd, true, NULL);
}

static void guest_start(Guest *g, const char *append, const char *extra)
{
    guest_start_flags(g, append, extra, 0);
}

/* QEMU options that trace from start-up, after @more. */
static char *vmi_from_boot(const char *more)
{
    g_autofree char *profile = guest_file("profile.json");

    return g_strdup_printf("%s -vmi profile=%s,syscalls=on", more, profile);
}

static void guest_stop(Guest *g)
{
    qtest_quit(g->qts);
    close(g->serial_fd);
    close(g->listen_fd);
    unlink(g->serial_path);
    rmdir(g->tmpdir);
    g_free(g->serial_path);
    g_free(g->tmpdir);
    g_string_free(g->serial, true);
    g_ptr_array_free(g->events, true);
    g_ptr_array_free(g->processes, true);
}

static bool has_line(Guest *g, size_t from, const char *needle)
{
    const char *at = strstr(g->serial->str + from, needle);

    return at && strchr(at, '\n');
}

/* Read the serial console until a whole line with @needle follows @from. */
static void serial_wait(Guest *g, size_t from, const char *needle,
                        int timeout_s)
{
    gint64 deadline = g_get_monotonic_time() + timeout_s * G_USEC_PER_SEC;

    while (!has_line(g, from, needle)) {
        char buf[4096];
        ssize_t n = read(g->serial_fd, buf, sizeof(buf));

        if (n > 0) {
            g_string_append_len(g->serial, buf, n);
            continue;
        }
        if (n == 0) {
            g_error("guest console closed while waiting for '%s':\n%s",
                    needle, g->serial->str);
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("timeout waiting for '%s' on the guest console:\n%s",
                    needle, g->serial->str);
        }
        if (g->pump_qmp) {
            /* a round trip reads the events queued before its answer */
            qobject_unref(qtest_qmp(g->qts, "{'execute': 'query-vmi'}"));
        }
        g_usleep(20 * 1000);
    }
}

static void guest_wait_ready(Guest *g)
{
    gint64 start = g_get_monotonic_time();

    serial_wait(g, 0, "VMI_GUEST_READY", BOOT_TIMEOUT_S);
    g_test_message("guest ready after %.1f s",
                   (g_get_monotonic_time() - start) / 1e6);
}

/* Run @cmd in the guest; return the console output it produced. */
static char *guest_run(Guest *g, const char *cmd)
{
    size_t from = g->serial->len;
    g_autofree char *line = g_strdup_printf("%s\n", cmd);

    g_assert_cmpint(write(g->serial_fd, line, strlen(line)), ==,
                    strlen(line));
    serial_wait(g, from, "VMI_CMD_DONE", CMD_TIMEOUT_S);
    return g_strdup(g->serial->str + from);
}

static QDict *qmp_ok(Guest *g, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static QDict *qmp_ok(Guest *g, const char *fmt, ...)
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
static char *qmp_error(Guest *g, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static char *qmp_error(Guest *g, const char *fmt, ...)
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
static void check_accel(Guest *g)
{
    QDict *kvm = qmp_ok(g, "{'execute': 'query-kvm'}");
    QDict *info = qmp_ok(g, "{'execute': 'query-vmi'}");

    g_assert_cmpint(qdict_get_bool(kvm, "enabled"), ==, under_kvm());
    if (qdict_get_bool(info, "enabled")) {
        g_assert_cmpstr(qdict_get_str(info, "mechanism"), ==,
                        expected_mechanism());
    }
    qobject_unref(kvm);
    qobject_unref(info);
}

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

static char *field(const char *line, const char *key)
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

static long field_long(const char *line, const char *key)
{
    g_autofree char *v = field(line, key);
    long value;

    g_assert_nonnull(v);
    g_assert_cmpint(qemu_strtol(v, NULL, 10, &value), ==, 0);
    return value;
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

static const char *ev_str(QDict *ev, const char *key)
{
    return qdict_get_try_str(ev, key);
}

static const char *ev_decoded(QDict *ev, const char *key)
{
    QDict *d = qdict_get_qdict(ev, "decoded");

    return d ? qdict_get_try_str(d, key) : NULL;
}

static int64_t ev_pid(QDict *ev)
{
    return qdict_get_int(qdict_get_qdict(ev, "process"), "pid");
}

static bool ev_is(QDict *ev, const char *dir, const char *name)
{
    return !strcmp(ev_str(ev, "direction"), dir) &&
           !strcmp(ev_str(ev, "name"), name);
}

/* The events of @pid, waiting until its exit_group has arrived. */
static GPtrArray *events_of(Guest *g, long pid)
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
        g_assert_true(g_str_has_prefix(qdict_get_str(ev, "cr3"), "0x"));
    }

    /* find the first call: openat of the program's unique file */
    for (; i < evs->len; i++) {
        QDict *ev = g_ptr_array_index(evs, i);
        const char *f = ev_decoded(ev, "filename");

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
            g_assert_cmpstr(ev_decoded(enter, call_path_key(call->name, false)),
                            ==, call->path);
        }
        if (call->path2) {
            g_assert_cmpstr(ev_decoded(enter, call_path_key(call->name, true)),
                            ==, call->path2);
        }
        if (!strcmp(call->name, "openat")) {
            g_assert_cmpstr(ev_decoded(enter, "dfd"), ==, "AT_FDCWD");
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
        QDict *dec = qdict_get_qdict(enter, "decoded");
        QList *argv = qdict_get_qlist(dec, "argv");
        QListEntry *e;
        int n = 0;

        g_assert_cmpstr(qdict_get_str(dec, "filename"), ==, t->exec_path);
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
        const char *f = ev_decoded(ev, "filename");

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

static QDict *ev_param(QDict *ev, const char *name)
{
    QList *params = qdict_get_qlist(ev, "params");
    QListEntry *e;

    g_assert_nonnull(params);
    QLIST_FOREACH_ENTRY(params, e) {
        QDict *p = qobject_to(QDict, e->value);

        if (!strcmp(qdict_get_str(p, "name"), name)) {
            return p;
        }
    }
    g_error("no parameter '%s'", name);
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
static void check_params(Guest *g)
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

/* The first line of @out starting with @prefix, without its newline. */
static char *line_with(const char *out, const char *prefix)
{
    const char *at = strstr(out, prefix);

    g_assert_nonnull(at);
    return g_strndup(at, strcspn(at, "\r\n"));
}

/* From @*i on, the next event of @evs going @dir through @name. */
static QDict *next_event(GPtrArray *evs, guint *i, const char *dir,
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
static guint after_last_exec(GPtrArray *evs)
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
 * vmi-hostile: 5000 argv entries, a path across a page boundary, bytes
 * that are not UTF-8, a 64 KiB path, an unmapped pointer.  The events
 * show each bound and degrade, nothing more.
 */
static void check_hostile(Guest *g)
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

static void run_truth(Guest *g)
{
    g_autofree char *out = guest_run(g, "vmi-truth");
    Truth t;

    truth_parse(out, &t);
    check_truth(g, &t);
    truth_free(&t);
}

/* vmi-storm's @calls getppid calls as @pid: every one arrives, paired. */
static void check_storm_pid(Guest *g, long pid, guint calls)
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
static void check_storm(Guest *g)
{
    g_autofree char *out = guest_run(g, "vmi-storm " G_STRINGIFY(STORM_CALLS));
    const char *line = strstr(out, "STORM ");

    g_assert_nonnull(line);
    check_storm_pid(g, field_long(line, "pid"), STORM_CALLS);
}

/*
 * Under KVM every trapped call is a debug exit, and the exits cost no
 * ioctl but one KVM_GET_MSRS per vCPU each time the guest writes
 * MSR_LSTAR (synced registers): at boot, and when a vCPU comes online.
 */
static void check_kvm_counters_max(Guest *g, int64_t max_ioctls)
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

static void check_kvm_counters(Guest *g)
{
    check_kvm_counters_max(g, 2);
}

static void check_no_drops(Guest *g)
{
    QDict *info = qmp_ok(g, "{'execute': 'query-vmi'}");

    g_assert_cmpint(qdict_get_int(info, "dropped"), ==, 0);
    g_assert_cmpint(qdict_get_int(info, "events"), >, 0);
    qobject_unref(info);
}

/* -vmi ...,syscalls=on traces from boot, with no QMP command at all. */
static void test_cmdline(void)
{
    g_autofree char *extra = vmi_from_boot("");
    g_autofree char *out = NULL;
    Guest g;
    QDict *info;
    bool init_seen = false;

    guest_start(&g, "pti=off", extra);
    guest_wait_ready(&g);
    check_accel(&g);
    info = qmp_ok(&g, "{'execute': 'query-vmi'}");
    g_assert_true(qdict_get_bool(info, "enabled"));
    g_assert_cmpstr(qdict_get_str(info, "state"), ==, "tracing");
    g_assert_cmpstr(qdict_get_str(info, "mechanism"), ==,
                    expected_mechanism());
    g_assert_true(g_str_has_prefix(qdict_get_str(info, "kernel"),
                                   "Linux version "));
    qobject_unref(info);

    /* /init's own system calls, from pid 1, were traced during boot */
    for (guint i = 0; i < g.events->len; i++) {
        QDict *ev = g_ptr_array_index(g.events, i);

        if (ev_pid(ev) == 1 && ev_is(ev, "enter", "openat") &&
            !g_strcmp0(ev_decoded(ev, "filename"), "/dev/ttyS0")) {
            init_seen = true;
        }
    }
    g_assert_true(init_seen);

    /*
     * -cpu max: under TCG a kernel built for 5-level paging uses it (its
     * profile has __pgtable_l5_enabled; Debian's 5.10 is built without)
     */
    if (!under_kvm()) {
        g_autofree char *profile = guest_file("profile.json");
        g_autofree char *text = NULL;
        bool five_level;

        g_assert_true(g_file_get_contents(profile, &text, NULL, NULL));
        five_level = strstr(text, "\"__pgtable_l5_enabled\"") != NULL;
        out = guest_run(&g, "grep -c -w la57 /proc/cpuinfo");
        if (!g_str_has_prefix(out, five_level ? "1" : "0")) {
            g_error("la57 in the guest's /proc/cpuinfo: got '%s', expected "
                    "%s for a kernel %s 5-level paging", out,
                    five_level ? "1" : "0",
                    five_level ? "built for" : "not built for");
        }
    }

    run_truth(&g);
    check_no_drops(&g);
    guest_stop(&g);
}

/*
 * Page table isolation on: the trap sees the user CR3, whose tables do not
 * map the kernel.  4-level paging.
 */
static void test_pti(void)
{
    g_autofree char *extra = vmi_from_boot("-cpu max,la57=off");
    g_autofree char *out = NULL;
    Guest g;

    /* and 4-level paging this time */
    guest_start(&g, "pti=on", extra);
    guest_wait_ready(&g);
    check_accel(&g);
    /* the kernel says whether it isolates: cpuinfo lists the "pti" flag */
    out = guest_run(&g, "grep -c -w pti /proc/cpuinfo; "
                    "grep -c -w la57 /proc/cpuinfo");
    g_assert_true(g_str_has_prefix(out, "1\r\n0") ||
                  g_str_has_prefix(out, "1\n0"));
    run_truth(&g);
    check_params(&g);
    check_hostile(&g);
    check_no_drops(&g);
    guest_stop(&g);
}

static char *write_profile_variant(Guest *g, const char *name,
                                   const char *from, const char *to)
{
    g_autofree char *profile = guest_file("profile.json");
    g_autofree char *text = NULL;
    g_autofree char *changed = NULL;
    char *path = g_build_filename(g->tmpdir, name, NULL);
    char *at;

    g_assert_true(g_file_get_contents(profile, &text, NULL, NULL));
    at = strstr(text, from);
    g_assert_nonnull(at);
    *at = '\0';
    changed = g_strconcat(text, to, at + strlen(from), NULL);
    g_assert_true(g_file_set_contents(path, changed, -1, NULL));
    return path;
}

/* vmi-enable on a running guest; bad profiles are refused first. */
static void test_qmp(void)
{
    g_autofree char *profile = guest_file("profile.json");
    g_autofree char *bad_json = NULL, *other_kernel = NULL, *no_sym = NULL;
    g_autofree char *err = NULL;
    Guest g;
    QDict *info;
    guint before;

    guest_start(&g, "pti=off", NULL);
    guest_wait_ready(&g);
    check_accel(&g);

    info = qmp_ok(&g, "{'execute': 'query-vmi'}");
    g_assert_false(qdict_get_bool(info, "enabled"));
    g_assert_cmpstr(qdict_get_str(info, "state"), ==, "off");
    qobject_unref(info);

    /* errors name the file and the problem; QEMU keeps running */
    err = qmp_error(&g, "{'execute': 'vmi-enable'}");
    g_assert_nonnull(strstr(err, "no profile"));
    g_free(err);
    err = qmp_error(&g, "{'execute': 'vmi-enable', 'arguments': "
                    "{'profile': '/nonexistent/p.json'}}");
    g_assert_nonnull(strstr(err, "'/nonexistent/p.json'"));
    g_assert_nonnull(strstr(err, "No such file"));
    g_free(err);
    bad_json = write_profile_variant(&g, "bad.json", "{", "{{");
    err = qmp_error(&g, "{'execute': 'vmi-enable', 'arguments': "
                    "{'profile': %s}}", bad_json);
    g_assert_nonnull(strstr(err, bad_json));
    g_assert_nonnull(strstr(err, "malformed JSON"));
    g_free(err);
    no_sym = write_profile_variant(&g, "nosym.json", "\"sys_call_table\"",
                                   "\"renamed_table\"");
    err = qmp_error(&g, "{'execute': 'vmi-enable', 'arguments': "
                    "{'profile': %s}}", no_sym);
    g_assert_nonnull(strstr(err, no_sym));
    g_assert_nonnull(strstr(err, "sys_call_table"));
    g_free(err);
    /* base64 of "Linux version " -> of "Linux versiON " */
    other_kernel = write_profile_variant(&g, "other.json", "TGludXggdmVyc2lvbi",
                                         "TGludXggdmVyc2lPTi");
    err = qmp_error(&g, "{'execute': 'vmi-enable', 'arguments': "
                    "{'profile': %s}}", other_kernel);
    g_assert_nonnull(strstr(err, "does not match profile"));
    g_assert_nonnull(strstr(err, other_kernel));
    g_assert_nonnull(strstr(err, "guest runs 'Linux version "));
    info = qmp_ok(&g, "{'execute': 'query-vmi'}");
    g_assert_cmpstr(qdict_get_str(info, "state"), ==, "off");
    qobject_unref(info);

    qobject_unref(qmp_ok(&g, "{'execute': 'vmi-enable', 'arguments': "
                         "{'profile': %s}}", profile));
    g_free(err);
    err = qmp_error(&g, "{'execute': 'vmi-enable', 'arguments': "
                    "{'profile': %s}}", profile);
    g_assert_nonnull(strstr(err, "already enabled"));
    info = qmp_ok(&g, "{'execute': 'query-vmi'}");
    g_assert_cmpstr(qdict_get_str(info, "state"), ==, "tracing");
    g_assert_cmpstr(qdict_get_str(info, "mechanism"), ==,
                    expected_mechanism());
    g_assert_cmpstr(qdict_get_str(info, "profile"), ==, profile);
    g_assert_true(g_str_has_prefix(qdict_get_str(info, "kaslr-slide"), "0x"));
    g_assert_cmpint(qdict_get_int(info, "syscalls"), >, 300);
    /* Debian's kernels describe their system calls for ftrace */
    g_assert_cmpint(qdict_get_int(info, "prototypes"), >, 300);
    qobject_unref(info);

    run_truth(&g);
    check_params(&g);
    check_storm(&g);
    check_no_drops(&g);
    check_kvm_counters(&g);

    /* after vmi-disable the same program produces no event */
    qobject_unref(qmp_ok(&g, "{'execute': 'vmi-disable'}"));
    qobject_unref(qmp_ok(&g, "{'execute': 'query-vmi'}"));
    before = g.events->len;
    g_free(guest_run(&g, "vmi-truth"));
    qobject_unref(qmp_ok(&g, "{'execute': 'query-vmi'}"));
    g_assert_cmpuint(g.events->len, ==, before);
    info = qmp_ok(&g, "{'execute': 'query-vmi'}");
    g_assert_false(qdict_get_bool(info, "enabled"));
    qobject_unref(info);
    unlink(bad_json);
    unlink(other_kernel);
    unlink(no_sym);
    guest_stop(&g);
}

static char *query_slide(Guest *g)
{
    QDict *info = qmp_ok(g, "{'execute': 'query-vmi'}");
    char *slide;

    g_assert_cmpstr(qdict_get_str(info, "state"), ==, "tracing");
    slide = g_strdup(qdict_get_str(info, "kaslr-slide"));
    qobject_unref(info);
    return slide;
}

/*
 * The guest reboots into a newly randomised kernel: the new kernel is
 * identified (under KVM its write of MSR_LSTAR moves the breakpoints)
 * and traced like the first one.
 */
/*
 * The reboot(2) call that reset the machine never returns: its exit is
 * counted as abandoned, not reported and not forgotten silently.
 * Ground truth: the stream holds its entry and no exit of a reboot call
 * (the second boot makes none).  The count is not compared with all the
 * entries left open: pids start again after the reset, so the second
 * boot's events cannot be told from the first's by pid.
 */
static void check_abandoned(Guest *g)
{
    int64_t abandoned, reported = 0;
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    bool entered = false;
    QDict *info;

    for (guint i = 0; i < g->events->len; i++) {
        QDict *ev = g_ptr_array_index(g->events, i);

        if (!strcmp(ev_str(ev, "name"), "reboot")) {
            if (!strcmp(ev_str(ev, "direction"), "exit")) {
                g_error("reboot(2) reported as returning: %" PRId64
                        " returned %" PRId64, ev_pid(ev),
                        qdict_get_int(ev, "ret"));
            }
            entered = true;
        }
    }
    info = qmp_ok(g, "{'execute': 'query-vmi'}");
    abandoned = qdict_get_int(info, "pending-abandoned");
    qobject_unref(info);
    g_test_message("reboot(2) entered: %d; %" PRId64 " calls abandoned",
                   entered, abandoned);
    g_assert_true(entered);
    g_assert_cmpint(abandoned, >=, 1);
    /* and VMI_EVENTS_LOST says so, within a second or so */
    while (reported < abandoned) {
        reported = 0;
        for (guint i = 0; i < g->processes->len; i++) {
            QDict *ev = g_ptr_array_index(g->processes, i);

            if (!strcmp(qdict_get_str(ev, "event"), "VMI_EVENTS_LOST")) {
                reported += qdict_get_try_int(ev, "in-flight", 0);
            }
        }
        if (g_get_monotonic_time() >= deadline) {
            g_error("VMI_EVENTS_LOST reported %" PRId64 " calls in flight "
                    "at the reset, query-vmi %" PRId64, reported, abandoned);
        }
        qobject_unref(qmp_ok(g, "{'execute': 'query-vmi'}"));
        g_usleep(100 * 1000);
    }
    g_assert_cmpint(reported, ==, abandoned);
}

static void test_reboot(void)
{
    g_autofree char *extra = vmi_from_boot("");
    g_autofree char *before = NULL, *after = NULL;
    const char *cmd = "reboot -f\n";
    size_t from;
    Guest g;

    guest_start_flags(&g, "pti=off", extra, GUEST_REBOOTS);
    guest_wait_ready(&g);
    check_accel(&g);
    run_truth(&g);
    before = query_slide(&g);

    from = g.serial->len;
    g_assert_cmpint(write(g.serial_fd, cmd, strlen(cmd)), ==, strlen(cmd));
    serial_wait(&g, from, "VMI_GUEST_READY", BOOT_TIMEOUT_S);
    /* pids start again: forget what the first boot did */
    qobject_unref(qmp_ok(&g, "{'execute': 'query-vmi'}"));
    check_abandoned(&g);
    g_ptr_array_set_size(g.events, 0);
    after = query_slide(&g);
    g_test_message("KASLR slide %s before the reboot, %s after", before,
                   after);

    run_truth(&g);
    check_no_drops(&g);
    guest_stop(&g);
}

/* Two vCPUs, a storm pinned on each, and the ground truth. */
static void check_threads(Guest *g);
static void check_processes(Guest *g);

static void wait_delivered(Guest *g);
static int64_t sum_vcpus(Guest *g, const char *key);

/*
 * Sequence numbers, with everything delivered and nothing dropped: every
 * event produced has one, 1 to N without a gap or a repeat (N = events
 * produced, from query-vmi), and each task's events arrive in order.
 */
static void check_seq(Guest *g)
{
    g_autoptr(GHashTable) last_of_task = g_hash_table_new(NULL, NULL);
    int64_t produced, n = 0;
    g_autofree bool *seen = NULL;

    wait_delivered(g);
    check_no_drops(g);
    produced = sum_vcpus(g, "produced");
    seen = g_new0(bool, produced + 1);
    for (int list = 0; list < 2; list++) {
        GPtrArray *evs = list ? g->processes : g->events;

        for (guint i = 0; i < evs->len; i++) {
            QDict *ev = g_ptr_array_index(evs, i);
            int64_t seq, pid, last;

            if (!qdict_haskey(ev, "seq")) {
                continue;   /* VMI_EVENTS_LOST */
            }
            seq = qdict_get_int(ev, "seq");
            if (seq < 1 || seq > produced || seen[seq]) {
                g_test_message("event %u: seq %" PRId64 " (produced %"
                               PRId64 ", %s)", i, seq, produced,
                               seq >= 1 && seq <= produced ? "repeated"
                                                           : "out of range");
                g_assert_not_reached();
            }
            seen[seq] = true;
            n++;
            if (list) {
                continue;
            }
            pid = qdict_get_int(qdict_get_qdict(ev, "process"), "pid");
            last = GPOINTER_TO_SIZE(g_hash_table_lookup(last_of_task,
                                                        GSIZE_TO_POINTER(pid)));
            if (seq < last) {
                g_test_message("task %" PRId64 ": seq %" PRId64 " (%s %s) "
                               "arrived after seq %" PRId64, pid, seq,
                               ev_str(ev, "direction"), ev_str(ev, "name"),
                               last);
                g_assert_not_reached();
            }
            g_hash_table_insert(last_of_task, GSIZE_TO_POINTER(pid),
                                GSIZE_TO_POINTER(seq));
        }
    }
    g_test_message("%" PRId64 " events, seq 1 to %" PRId64, n, produced);
    g_assert_cmpint(n, ==, produced);
}

static void test_smp(void)
{
    g_autofree char *extra = vmi_from_boot("-smp 2");
    g_autofree char *out = NULL;
    const char *line;
    long pids[2];
    QDict *info;
    QList *vcpus;
    QListEntry *e;
    Guest g;

    guest_start(&g, "pti=off", extra);
    guest_wait_ready(&g);
    check_accel(&g);
    out = guest_run(&g, "taskset -c 0 vmi-storm " G_STRINGIFY(SMP_STORM_CALLS)
                    " & taskset -c 1 vmi-storm " G_STRINGIFY(SMP_STORM_CALLS)
                    " & wait");
    line = out;
    for (int i = 0; i < 2; i++) {
        line = strstr(line, "STORM ");
        g_assert_nonnull(line);
        pids[i] = field_long(line, "pid");
        line++;
    }
    g_assert_cmpint(pids[0], !=, pids[1]);
    for (int i = 0; i < 2; i++) {
        check_storm_pid(&g, pids[i], SMP_STORM_CALLS);
    }
    run_truth(&g);
    check_threads(&g);
    check_processes(&g);

    info = qmp_ok(&g, "{'execute': 'query-vmi'}");
    vcpus = qdict_get_qlist(info, "vcpus");
    g_assert_cmpuint(qlist_size(vcpus), ==, 2);
    QLIST_FOREACH_ENTRY(vcpus, e) {
        QDict *v = qobject_to(QDict, e->value);

        g_assert_cmpint(qdict_get_int(v, "trapped"), >=, SMP_STORM_CALLS);
    }
    qobject_unref(info);
    check_seq(&g);
    check_kvm_counters(&g);
    guest_stop(&g);
}

/*
 * A 32-bit program's calls through int 0x80 and through the vDSO
 * (SYSENTER or compat SYSCALL, as the kernel chose): i386 numbers and
 * names, 32-bit arguments, "abi": "ia32".
 */
static void test_ia32(void)
{
    g_autofree char *extra = vmi_from_boot("");
    g_autofree char *out = NULL, *first = NULL;
    g_autoptr(GPtrArray) evs = NULL;
    g_auto(GStrv) lines = NULL;
    guint i, start, checked = 0;
    Guest g;

    QDict *info;
    QList *untraced;

    guest_start(&g, "pti=off", extra);
    guest_wait_ready(&g);
    check_accel(&g);
    info = qmp_ok(&g, "{'execute': 'query-vmi'}");
    untraced = qobject_to(QList, qdict_get(info, "untraced-abis"));
    out = guest_run(&g, "vmi-ia32");
    first = line_with(out, "IA32 pid=");
    if (untraced) {
        g_autofree char *storm = guest_run(&g, "vmi-storm 1");
        long pid = field_long(first, "pid");

        /*
         * Only KVM leaves a convention untraced, on kernels where it
         * cannot trap its returns, and says so: then none of its calls
         * may appear either, half-traced.  A 64-bit program's last call
         * after it shows the stream has caught up.
         */
        g_assert_true(under_kvm());
        g_assert_cmpuint(qlist_size(untraced), ==, 1);
        g_assert_cmpstr(qstring_get_str(qobject_to(QString,
                                                   qlist_peek(untraced))),
                        ==, "ia32");
        g_ptr_array_unref(events_of(&g, field_long(strstr(storm, "STORM "),
                                                   "pid")));
        for (i = 0; i < g.events->len; i++) {
            QDict *ev = g_ptr_array_index(g.events, i);

            if (ev_pid(ev) == pid && !strcmp(ev_str(ev, "abi"), "ia32")) {
                g_error("a 32-bit call of pid %ld traced although "
                        "untraced-abis lists ia32: %s", pid,
                        ev_str(ev, "name"));
            }
        }
        qobject_unref(info);
        guest_stop(&g);
        g_test_skip("ia32 system calls cannot be trapped under KVM on this "
                    "kernel (query-vmi: untraced-abis)");
        return;
    }
    qobject_unref(info);
    evs = events_of(&g, field_long(first, "pid"));
    /* the shell's calls come first, until its last execve returns */
    start = after_last_exec(evs);
    i = start;
    lines = g_strsplit(out, "\n", -1);
    for (char **l = lines; *l; l++) {
        g_auto(GStrv) w = NULL;
        g_autofree char *path = NULL;
        QDict *enter, *exit;

        g_strchomp(*l);
        if (!g_str_has_prefix(*l, "IA32 call ")) {
            continue;
        }
        /* IA32 call VIA NR NAME ret=R [path=P] */
        w = g_strsplit(*l, " ", -1);
        g_test_message("%s", *l);
        enter = next_event(evs, &i, "enter", w[4]);
        g_assert_nonnull(enter);
        g_assert_cmpstr(ev_str(enter, "abi"), ==, "ia32");
        g_assert_cmpint(qdict_get_int(enter, "nr"), ==, atoi(w[3]));
        path = field(*l, "path");
        if (path) {
            QDict *p = ev_param(enter, "filename");

            g_assert_cmpstr(qdict_get_try_str(p, "string"), ==, path);
        }
        exit = next_event(evs, &i, "exit", w[4]);
        g_assert_nonnull(exit);
        g_assert_cmpstr(ev_str(exit, "abi"), ==, "ia32");
        g_assert_cmpint(qdict_get_int(exit, "ret"), ==,
                        field_long(*l, "ret"));
        if (field_long(*l, "ret") == -2) {
            g_assert_cmpstr(ev_str(exit, "errno"), ==, "ENOENT");
        }
        checked++;
    }
    g_assert_cmpuint(checked, ==, 6);
    /* once the 32-bit image runs, every call of the process is ia32 */
    for (i = start; i < evs->len; i++) {
        g_assert_cmpstr(ev_str(g_ptr_array_index(evs, i), "abi"), ==,
                        "ia32");
    }
    guest_stop(&g);
}

/*
 * Threads blocked in read(2) are moved to the other vCPU before they
 * wake: entry and exit are paired per thread, not per vCPU.
 */
static void check_threads(Guest *g)
{
    g_autofree char *out = guest_run(g, "vmi-threads");
    g_autofree char *first = line_with(out, "THREADS pid=");
    g_autoptr(GPtrArray) main_evs = events_of(g, field_long(first, "pid"));
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    guint checked = 0;

    /* every vCPU's ring, not only the one main's exit_group was on */
    wait_delivered(g);

    for (char **l = lines; *l; l++) {
        g_autoptr(GPtrArray) evs = g_ptr_array_new();
        QDict *enter, *exit;
        long tid;
        guint i = 0;

        g_strchomp(*l);
        if (!g_str_has_prefix(*l, "THREADS tid=")) {
            continue;
        }
        g_test_message("%s", *l);
        tid = field_long(*l, "tid");
        for (guint k = 0; k < g->events->len; k++) {
            if (ev_pid(g_ptr_array_index(g->events, k)) == tid) {
                g_ptr_array_add(evs, g_ptr_array_index(g->events, k));
            }
        }
        enter = next_event(evs, &i, "enter", "read");
        g_assert_nonnull(enter);
        g_assert_cmpint(qdict_get_int(enter, "vcpu"), ==,
                        field_long(*l, "cpu_before"));
        /*
         * The read's exit follows its entry.  Not necessarily as the very
         * next event of the thread: each vCPU has its own ring, and the
         * thread's earlier calls on the other vCPU may be delivered later.
         */
        exit = next_event(evs, &i, "exit", "read");
        if (!exit) {
            g_error("thread %ld: no exit of its read", tid);
        }
        g_assert_cmpint(qdict_get_int(exit, "vcpu"), ==,
                        field_long(*l, "cpu_after"));
        g_assert_cmpint(qdict_get_int(exit, "ret"), ==, field_long(*l, "ret"));
        /* it slept 300 ms of guest time, at least, before it was woken */
        g_assert_cmpint(qdict_get_int(exit, "elapsed-ns"), >=, 300000000);
        checked++;
    }
    g_assert_cmpuint(checked, ==, 2);
}

/* The last process event @event (of @kind) about @pid */
static QDict *process_event(Guest *g, const char *event, const char *kind,
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
static QDict *wait_process_event(Guest *g, const char *event,
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

static void check_argv(QDict *ev, const char *expect)
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

/*
 * vmi-proc forks, execs with arguments, exits with a status, and has a
 * child killed: the process events must tell the same story.
 */
static void check_processes(Guest *g)
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

/*
 * Filters at the source: from the command line, then replaced over QMP;
 * filtered-out calls are counted, not reported.
 */
static void test_filter(void)
{
    g_autofree char *extra = vmi_from_boot("");
    g_autofree char *opts = g_strdup_printf(
        "%s,filter-syscalls=getppid:openat,filter-processes=vmi-storm", extra);
    g_autofree char *out = NULL, *err = NULL;
    guint enters = 0, exits = 0;
    int64_t filtered = 0;
    QListEntry *e;
    QDict *info;
    long pid;
    Guest g;

    guest_start(&g, "pti=off", opts);
    guest_wait_ready(&g);
    check_accel(&g);
    out = guest_run(&g, "vmi-storm 500");
    pid = field_long(strstr(out, "STORM "), "pid");
    g_free(out);
    /* the shell's calls are all filtered out; flush with a storm's */
    out = guest_run(&g, "vmi-storm 1 && cat /proc/version > /dev/null");
    g_free(out);
    qobject_unref(qmp_ok(&g, "{'execute': 'query-vmi'}"));
    for (guint i = 0; i < g.events->len; i++) {
        QDict *ev = g_ptr_array_index(g.events, i);

        g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "process"), "name"),
                        ==, "vmi-storm");
        g_assert_true(!strcmp(ev_str(ev, "name"), "getppid") ||
                      !strcmp(ev_str(ev, "name"), "openat"));
        if (ev_pid(ev) == pid && ev_is(ev, "enter", "getppid")) {
            enters++;
        } else if (ev_pid(ev) == pid && ev_is(ev, "exit", "getppid")) {
            exits++;
        }
    }
    g_assert_cmpuint(enters, ==, 500);
    g_assert_cmpuint(exits, ==, 500);
    info = qmp_ok(&g, "{'execute': 'query-vmi'}");
    QLIST_FOREACH_ENTRY(qdict_get_qlist(info, "vcpus"), e) {
        filtered += qdict_get_int(qobject_to(QDict, e->value), "filtered");
    }
    qobject_unref(info);
    g_assert_cmpint(filtered, >, 0);

    /* exits only, of one call, of any process */
    qobject_unref(qmp_ok(&g, "{'execute': 'vmi-set-filter', 'arguments': "
                         "{'filter': {'syscalls': ['getppid'], "
                         "'direction': 'exit'}}}"));
    g_ptr_array_set_size(g.events, 0);
    out = guest_run(&g, "vmi-storm 300");
    pid = field_long(strstr(out, "STORM "), "pid");
    g_free(out);
    out = guest_run(&g, "vmi-storm 1");
    qobject_unref(qmp_ok(&g, "{'execute': 'query-vmi'}"));
    enters = exits = 0;
    for (guint i = 0; i < g.events->len; i++) {
        QDict *ev = g_ptr_array_index(g.events, i);

        g_assert_cmpstr(ev_str(ev, "direction"), ==, "exit");
        g_assert_cmpstr(ev_str(ev, "name"), ==, "getppid");
        /* "sh -c" calls getppid too before it execs, with the same pid */
        exits += ev_pid(ev) == pid &&
                 !strcmp(qdict_get_str(qdict_get_qdict(ev, "process"),
                                       "name"), "vmi-storm");
    }
    g_assert_cmpuint(exits, ==, 300);

    err = qmp_error(&g, "{'execute': 'vmi-set-filter', 'arguments': "
                    "{'filter': {'syscalls': ['getppid', 'nosuchcall']}}}");
    g_assert_nonnull(strstr(err, "no system call 'nosuchcall'"));
    g_free(err);
    err = qmp_error(&g, "{'execute': 'vmi-set-filter', 'arguments': "
                    "{'filter': {'processes': ['a-name-of-20-chars']}}}");
    g_assert_nonnull(strstr(err, "'a-name-of-20-chars' can never match"));
    g_free(err);
    err = qmp_error(&g, "{'execute': 'vmi-set-filter', 'arguments': "
                    "{'filter': {'pids': [-3]}}}");
    g_assert_nonnull(strstr(err, "pid -3 is out of range"));
    g_free(err);
    err = qmp_error(&g, "{'execute': 'vmi-set-filter', 'arguments': "
                    "{'filter': {'syscalls': []}}}");
    g_assert_nonnull(strstr(err, "'syscalls' is empty"));
    g_free(err);

    /* a new session, filtered by vmi-enable's own argument */
    qobject_unref(qmp_ok(&g, "{'execute': 'vmi-disable'}"));
    err = qmp_error(&g, "{'execute': 'vmi-set-filter', 'arguments': "
                    "{'filter': {}}}");
    g_assert_nonnull(strstr(err, "not enabled"));
    qobject_unref(qmp_ok(&g, "{'execute': 'vmi-enable', 'arguments': "
                         "{'filter': {'syscalls': ['openat'], "
                         "'direction': 'enter'}}}"));
    g_ptr_array_set_size(g.events, 0);
    g_free(out);
    out = guest_run(&g, "cat /proc/version > /dev/null");
    qobject_unref(qmp_ok(&g, "{'execute': 'query-vmi'}"));
    g_assert_cmpuint(g.events->len, >, 0);
    enters = 0;
    for (guint i = 0; i < g.events->len; i++) {
        QDict *ev = g_ptr_array_index(g.events, i);

        g_assert_true(ev_is(ev, "enter", "openat"));
        if (!g_strcmp0(qdict_get_try_str(ev_param(ev, "filename"), "string"),
                       "/proc/version")) {
            enters++;
        }
    }
    g_assert_cmpuint(enters, ==, 1);
    guest_stop(&g);
}

/* A minimal GDB remote protocol client, enough to drive QEMU's gdbstub. */

static bool fd_wait(int fd, int timeout_s)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return poll(&p, 1, timeout_s * 1000) == 1;
}

static char gdb_getc(int fd, int timeout_s)
{
    char c;

    if (!fd_wait(fd, timeout_s)) {
        g_error("gdbstub: no reply within %d s", timeout_s);
    }
    g_assert_cmpint(read(fd, &c, 1), ==, 1);
    return c;
}

static void gdb_send(int fd, const char *payload)
{
    g_autofree char *pkt = NULL;
    unsigned sum = 0;

    for (const char *p = payload; *p; p++) {
        sum += (unsigned char)*p;
    }
    pkt = g_strdup_printf("$%s#%02x", payload, sum & 0xff);
    g_assert_cmpint(write(fd, pkt, strlen(pkt)), ==, strlen(pkt));
    g_assert_cmpint(gdb_getc(fd, 10), ==, '+');
}

static char *gdb_recv(int fd, int timeout_s)
{
    GString *payload = g_string_new("");
    char c;

    while (gdb_getc(fd, timeout_s) != '$') {
        /* acks and notifications before the packet */
    }
    while ((c = gdb_getc(fd, 10)) != '#') {
        g_string_append_c(payload, c);
    }
    gdb_getc(fd, 10);
    gdb_getc(fd, 10);
    g_assert_cmpint(write(fd, "+", 1), ==, 1);
    return g_string_free(payload, false);
}

static char *gdb_cmd(int fd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static char *gdb_cmd(int fd, const char *fmt, ...)
{
    g_autofree char *payload = NULL;
    va_list ap;

    va_start(ap, fmt);
    payload = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    gdb_send(fd, payload);
    return gdb_recv(fd, 30);
}

static uint64_t gdb_rip(int fd)
{
    g_autofree char *regs = gdb_cmd(fd, "g");
    uint64_t rip = 0;

    /* 16 general registers of 8 bytes, then rip; little-endian hex */
    g_assert_cmpuint(strlen(regs), >=, 17 * 16);
    for (int i = 7; i >= 0; i--) {
        const char *byte = regs + 16 * 16 + i * 2;

        rip = rip << 8 | g_ascii_xdigit_value(byte[0]) << 4 |
              g_ascii_xdigit_value(byte[1]);
    }
    return rip;
}

/*
 * gdb attaches while vmi traces, stops the guest on a hardware breakpoint
 * of its own and detaches: neither wipes the other's breakpoints.
 */
static void test_gdbstub(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmi-gdb-XXXXXX", NULL);
    g_autofree char *sock = g_build_filename(dir, "gdb.sock", NULL);
    g_autofree char *gdb = g_strdup_printf("-gdb unix:%s,server=on,wait=off",
                                           sock);
    g_autofree char *extra = vmi_from_boot(gdb);
    g_autofree char *out = NULL, *reply = NULL;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    const char *cmd = "vmi-storm 3\n";
    QDict *last = NULL;
    uint64_t target;
    size_t from;
    int fd;
    Guest g;

    guest_start(&g, "pti=off", extra);
    guest_wait_ready(&g);
    check_accel(&g);

    /* where getppid is, as the guest itself says */
    out = guest_run(&g, "grep -m1 ' __x64_sys_getppid$' /proc/kallsyms");
    target = g_ascii_strtoull(out, NULL, 16);
    g_assert_cmphex(target, >=, 0xffffffff80000000ull);

    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_strlcpy(addr.sun_path, sock, sizeof(addr.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), ==,
                    0);
    g_free(gdb_cmd(fd, "?"));
    reply = gdb_cmd(fd, "Z1,%" PRIx64 ",1", target);
    g_assert_cmpstr(reply, ==, "OK");
    g_free(reply);
    reply = gdb_cmd(fd, "Z1,%" PRIx64 ",1", target + 1);
    if (under_kvm()) {
        /* vmi holds debug registers 1-3; gdb keeps DR0 */
        g_assert_cmpint(reply[0], ==, 'E');
    } else {
        g_assert_cmpstr(reply, ==, "OK");
        g_free(reply);
        reply = gdb_cmd(fd, "z1,%" PRIx64 ",1", target + 1);
        g_assert_cmpstr(reply, ==, "OK");
    }
    g_free(reply);

    /* the guest stops in getppid, which vmi saw it enter */
    from = g.serial->len;
    g_assert_cmpint(write(g.serial_fd, cmd, strlen(cmd)), ==, strlen(cmd));
    gdb_send(fd, "c");
    reply = gdb_recv(fd, CMD_TIMEOUT_S);
    g_assert_true(reply[0] == 'T' || reply[0] == 'S');
    g_assert_cmphex(gdb_rip(fd), ==, target);
    /* the guest is stopped: its last event is that entry, whoever made it */
    for (int tries = 0; tries < 50; tries++) {
        qobject_unref(qmp_ok(&g, "{'execute': 'query-vmi'}"));
        last = g.events->len ? g_ptr_array_index(g.events, g.events->len - 1)
                             : NULL;
        if (last && ev_is(last, "enter", "getppid")) {
            break;
        }
        g_usleep(100 * 1000);
    }
    g_assert_nonnull(last);
    g_assert_true(ev_is(last, "enter", "getppid"));
    g_free(reply);

    reply = gdb_cmd(fd, "z1,%" PRIx64 ",1", target);
    g_assert_cmpstr(reply, ==, "OK");
    g_free(reply);
    reply = gdb_cmd(fd, "D");
    g_assert_cmpstr(reply, ==, "OK");
    close(fd);

    /* the rest of the storm, then everything else, still traced */
    serial_wait(&g, from, "VMI_CMD_DONE", CMD_TIMEOUT_S);
    check_storm_pid(&g, field_long(strstr(g.serial->str + from, "STORM "),
                                   "pid"), 3);
    run_truth(&g);
    check_no_drops(&g);
    guest_stop(&g);
    unlink(sock);
    rmdir(dir);
}

static uint64_t dict_uint(QDict *d, const char *key)
{
    return qnum_get_uint(qobject_to(QNum, qdict_get(d, key)));
}

/* Wait for an event of @pid entering @name; return its CR3. */
static uint64_t cr3_of(Guest *g, long pid, const char *name)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    while (g_get_monotonic_time() < deadline) {
        for (guint i = 0; i < g->events->len; i++) {
            QDict *ev = g_ptr_array_index(g->events, i);

            if (ev_pid(ev) == pid && ev_is(ev, "enter", name)) {
                return g_ascii_strtoull(qdict_get_str(ev, "cr3"), NULL, 16);
            }
        }
        qobject_unref(qmp_ok(g, "{'execute': 'query-vmi'}"));
        g_usleep(100 * 1000);
    }
    g_error("no %s from pid %ld", name, pid);
}

static guchar *qmp_read(Guest *g, gsize *len, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static guchar *qmp_read(Guest *g, gsize *len, const char *fmt, ...)
{
    va_list ap;
    QDict *resp, *ret;
    guchar *data;

    va_start(ap, fmt);
    resp = qtest_vqmp(g->qts, fmt, ap);
    va_end(ap);
    ret = qdict_get_qdict(resp, "return");
    g_assert_nonnull(ret);
    data = g_base64_decode(qdict_get_str(ret, "data"), len);
    qobject_unref(resp);
    return data;
}

/*
 * The process list has vmi-mem, its parent and init; reading by pid goes
 * through the address space the list names.
 */
static void check_process_list(Guest *g, long pid, uint64_t addr,
                               uint64_t phys, const guchar *expect, long len)
{
    QDict *resp = qtest_qmp(g->qts, "{'execute': 'query-vmi-processes'}");
    QList *list = qdict_get_qlist(resp, "return");
    g_autofree guchar *data = NULL;
    g_autofree char *err = NULL;
    bool init = false, mine = false, kthread = false;
    QListEntry *e;
    gsize got;
    QDict *r;

    g_assert_nonnull(list);
    QLIST_FOREACH_ENTRY(list, e) {
        QDict *p = qobject_to(QDict, e->value);
        const char *name = qdict_get_str(p, "name");

        if (qdict_get_int(p, "pid") == 1) {
            init = true;
            g_assert_cmpstr(name, ==, "init");
            g_assert_cmpint(qdict_get_int(p, "uid"), ==, 0);
        } else if (qdict_get_int(p, "pid") == pid) {
            mine = true;
            g_assert_cmpstr(name, ==, "vmi-mem");
            g_assert_cmpint(qdict_get_int(p, "ppid"), >=, 1);
            g_assert_true(qdict_haskey(p, "cr3"));
        } else if (qdict_get_int(p, "pid") == 2) {
            kthread = true;
            g_assert_cmpstr(name, ==, "kthreadd");
            g_assert_false(qdict_haskey(p, "cr3"));
        }
    }
    g_assert_true(init && mine && kthread);
    qobject_unref(resp);

    data = qmp_read(g, &got, "{'execute': 'vmi-read-virtual', 'arguments':"
                    " {'address': %" PRIu64 ", 'size': %ld, 'pid': %ld}}",
                    addr, len, pid);
    g_assert_cmpmem(data, got, expect, len);
    r = qmp_ok(g, "{'execute': 'vmi-translate', 'arguments':"
               " {'address': %" PRIu64 ", 'pid': %ld}}", addr, pid);
    g_assert_cmphex(dict_uint(r, "physical"), ==, phys);
    qobject_unref(r);

    err = qmp_error(g, "{'execute': 'vmi-read-virtual', 'arguments':"
                    " {'address': %" PRIu64 ", 'size': 8, 'pid': 2}}", addr);
    g_assert_nonnull(strstr(err, "process 2 (kthreadd) is a kernel thread"));
    g_free(err);
    err = qmp_error(g, "{'execute': 'vmi-translate', 'arguments':"
                    " {'address': %" PRIu64 ", 'pid': 999999}}", addr);
    g_assert_nonnull(strstr(err, "no process with pid 999999"));
    g_free(err);
    err = qmp_error(g, "{'execute': 'vmi-translate', 'arguments':"
                    " {'address': %" PRIu64 ", 'pid': %ld, 'cr3': 0}}",
                    addr, pid);
    g_assert_nonnull(strstr(err, "either 'cr3' or 'pid'"));
}

/*
 * libvmi-style primitives: a guest program's buffer, across a page
 * boundary, read through its CR3 (taken from its events), translated and
 * read back physically; errors for what cannot be read.
 */
static void test_memory(void)
{
    g_autofree char *extra = vmi_from_boot("");
    g_autofree char *err = NULL, *line = NULL;
    g_autofree guchar *data = NULL, *phys_data = NULL;
    const char *cmd = "vmi-mem 120 &\n";
    uint64_t addr, cr3, phys;
    long pid, len;
    gsize got;
    QDict *r;
    Guest g;

    /* with page table isolation the events carry the user CR3 */
    guest_start(&g, "pti=on", extra);
    guest_wait_ready(&g);
    check_accel(&g);
    g_assert_cmpint(write(g.serial_fd, cmd, strlen(cmd)), ==, strlen(cmd));
    serial_wait(&g, 0, "MEM pid=", CMD_TIMEOUT_S);
    line = g_strndup(strstr(g.serial->str, "MEM pid="),
                     strcspn(strstr(g.serial->str, "MEM pid="), "\r\n"));
    pid = field_long(line, "pid");
    len = field_long(line, "len");
    {
        g_autofree char *a = field(line, "addr");

        addr = g_ascii_strtoull(a, NULL, 16);
    }
    cr3 = cr3_of(&g, pid, "clock_nanosleep");

    data = qmp_read(&g, &got, "{'execute': 'vmi-read-virtual', 'arguments':"
                    " {'address': %" PRIu64 ", 'size': %ld, 'cr3': %" PRIu64
                    "}}", addr, len, cr3);
    g_assert_cmpuint(got, ==, len);
    for (long i = 0; i < len; i++) {
        g_assert_cmpuint(data[i], ==, (i * 7 + 3) & 0xff);
    }

    r = qmp_ok(&g, "{'execute': 'vmi-translate', 'arguments':"
               " {'address': %" PRIu64 ", 'cr3': %" PRIu64 "}}", addr, cr3);
    phys = dict_uint(r, "physical");
    qobject_unref(r);
    /* the rest of the first page, read physically, is the same */
    phys_data = qmp_read(&g, &got, "{'execute': 'vmi-read-physical', "
                         "'arguments': {'address': %" PRIu64 ", "
                         "'size': 1000}}", phys);
    g_assert_cmpmem(phys_data, got, data, 1000);

    check_process_list(&g, pid, addr, phys, data, len);

    err = qmp_error(&g, "{'execute': 'vmi-read-virtual', 'arguments':"
                    " {'address': %" PRIu64 ", 'size': 0}}", addr);
    g_assert_nonnull(strstr(err, "size 0 is out of range"));
    g_free(err);
    err = qmp_error(&g, "{'execute': 'vmi-read-virtual', 'arguments':"
                    " {'address': %" PRIu64 ", 'size': 65537}}", addr);
    g_assert_nonnull(strstr(err, "out of range"));
    g_free(err);
    err = qmp_error(&g, "{'execute': 'vmi-read-virtual', 'arguments':"
                    " {'address': 4096, 'size': 16, 'cr3': %" PRIu64 "}}",
                    cr3);
    g_assert_nonnull(strstr(err, "0x1000+16 is not mapped"));
    g_free(err);
    err = qmp_error(&g, "{'execute': 'vmi-translate', 'arguments':"
                    " {'address': 4096, 'vcpu': 7}}");
    g_assert_nonnull(strstr(err, "no vCPU 7"));
    g_free(err);
    err = qmp_error(&g, "{'execute': 'vmi-read-physical', 'arguments':"
                    " {'address': %" PRIu64 ", 'size': 16}}",
                    (uint64_t)1 << 50);
    g_assert_nonnull(strstr(err, "is not guest RAM"));

    r = qmp_ok(&g, "{'execute': 'vmi-read-registers'}");
    g_assert_cmphex(dict_uint(r, "efer") & 0x400, ==, 0x400);
    g_assert_cmphex(dict_uint(r, "lstar"), >=, 0xffffffff80000000ull);
    g_assert_cmphex(dict_uint(r, "cr3"), !=, 0);
    qobject_unref(r);
    guest_stop(&g);
}

/*
 * One QMP command with one argument at an edge.  @args are the
 * arguments' JSON members, where KADDR stands for a kernel text address
 * and PROFILE for the profile's path.  @expect: NULL if the command must
 * succeed, else a part of its error's description; with a leading '?'
 * it may also succeed (the value is legal, the outcome the guest's).
 */
typedef struct EdgeCase {
    const char *cmd;
    const char *args;
    const char *expect;
} EdgeCase;

#define U32_MAX     "4294967295"
#define U32_OVER    "4294967296"
#define U64_MAX     "18446744073709551615"
#define U64_OVER    "18446744073709551616"
#define I32_MAX     "2147483647"
#define I32_OVER    "2147483648"
#define I64_MIN     "-9223372036854775808"
#define I64_MAX     "9223372036854775807"
#define I64_OVER    "9223372036854775808"
#define PID_RANGE   "is out of range (0 to 2147483647)"
#define NO_U32(a)   "Parameter '" a "' expects uint32_t"
#define NO_U64(a)   "Parameter '" a "' expects uint64"
#define NO_INT(a)   "Invalid parameter type for '" a "', expected: integer"
#define NOT_MAPPED  "is not mapped"

static char *edge_subst(const char *args, const char *token,
                        const char *value)
{
    g_auto(GStrv) parts = g_strsplit(args, token, -1);

    return g_strjoinv(value, parts);
}

/* Sent verbatim, so that numbers past 2^64 reach QEMU as written. */
static void check_edges(Guest *g, const EdgeCase *cases, size_t n,
                        uint64_t kaddr, const char *profile)
{
    g_autofree char *k = g_strdup_printf("%" PRIu64, kaddr);

    for (size_t i = 0; i < n; i++) {
        const EdgeCase *c = &cases[i];
        g_autofree char *a1 = edge_subst(c->args, "KADDR", k);
        g_autofree char *args = edge_subst(a1, "PROFILE", profile);
        const char *expect = c->expect;
        bool maybe = expect && expect[0] == '?';
        QDict *resp, *err;

        qtest_qmp_send_raw(g->qts, "{'execute': '%s', 'arguments': {%s}}",
                           c->cmd, args);
        resp = qtest_qmp_receive(g->qts);
        err = qdict_get_qdict(resp, "error");
        g_test_message("%s {%s}: %s", c->cmd, args,
                       err ? qdict_get_str(err, "desc") : "success");
        if (maybe) {
            expect++;
        }
        if (!expect || (maybe && !err)) {
            g_assert_null(err);
            g_assert_true(qdict_haskey(resp, "return"));
        } else {
            g_assert_nonnull(err);
            g_assert_cmpstr(qdict_get_str(err, "class"), ==, "GenericError");
            g_assert_nonnull(strstr(qdict_get_str(err, "desc"), expect));
        }
        qobject_unref(resp);
    }
}

/*
 * Every numeric argument of every vmi command at its edges: negative,
 * 0, the largest value and the first one past it, where the QAPI type
 * lets it through.  A negative pid used to mean "every process" inside
 * and crashed QEMU (a list appended to through a NULL tail).
 */
static void test_qmp_edges(void)
{
    /* before vmi-enable: the pid range comes first */
    static const EdgeCase off[] = {
        { "vmi-read-virtual", "'address': 0, 'size': 8, 'pid': -1",
          "pid -1 " PID_RANGE },
        { "vmi-translate", "'address': 0, 'pid': -1", "pid -1 " PID_RANGE },
        { "vmi-translate", "'address': 0, 'pid': 1",
          "introspection is not enabled" },
        { "vmi-enable", "'profile': 'PROFILE', 'filter': {'pids': [-1]}",
          "filter: pid -1 " PID_RANGE },
        { "vmi-enable",
          "'profile': 'PROFILE', 'filter': {'pids': [" I32_OVER "]}",
          "filter: pid " I32_OVER " " PID_RANGE },
        { "vmi-enable",
          "'profile': 'PROFILE', 'filter': {'pids': [" I64_OVER "]}",
          "expected: integer" },
        { "vmi-enable", "'profile': 'PROFILE', 'filter': {'pids': []}",
          "'pids' is empty" },
    };
    static const EdgeCase on[] = {
        /* vmi-read-virtual: size */
        { "vmi-read-virtual", "'address': KADDR, 'size': -1",
          NO_U32("size") },
        { "vmi-read-virtual", "'address': KADDR, 'size': 0",
          "size 0 is out of range (1 to 65536)" },
        { "vmi-read-virtual", "'address': KADDR, 'size': 1", NULL },
        { "vmi-read-virtual", "'address': KADDR, 'size': 65536", NULL },
        { "vmi-read-virtual", "'address': KADDR, 'size': 65537",
          "size 65537 is out of range (1 to 65536)" },
        { "vmi-read-virtual", "'address': KADDR, 'size': " U32_MAX,
          "size " U32_MAX " is out of range (1 to 65536)" },
        { "vmi-read-virtual", "'address': KADDR, 'size': " U32_OVER,
          NO_U32("size") },
        /* address (QAPI takes -1 for 2^64 - 1) */
        { "vmi-read-virtual", "'address': 0, 'size': 8",
          "0x0+8 is not mapped to guest RAM" },
        { "vmi-read-virtual", "'address': -1, 'size': 1",
          "0xffffffffffffffff+1 is not mapped" },
        { "vmi-read-virtual", "'address': -1, 'size': 2",
          "0xffffffffffffffff+2 runs past the end of the address space" },
        { "vmi-read-virtual", "'address': " U64_MAX ", 'size': 65536",
          "runs past the end of the address space" },
        { "vmi-read-virtual", "'address': " U64_OVER ", 'size': 8",
          NO_U64("address") },
        { "vmi-read-virtual", "'address': 140737488355328, 'size': 8",
          NOT_MAPPED },
        /* cr3: any value is a physical address; 0 is RAM */
        { "vmi-read-virtual", "'address': KADDR, 'size': 8, 'cr3': 0",
          "?" NOT_MAPPED },
        { "vmi-read-virtual", "'address': KADDR, 'size': 8, 'cr3': -1",
          "by CR3 0xffffffffffffffff" },
        { "vmi-read-virtual",
          "'address': KADDR, 'size': 8, 'cr3': " U64_OVER, NO_U64("cr3") },
        /* pid */
        { "vmi-read-virtual", "'address': KADDR, 'size': 8, 'pid': -1",
          "pid -1 " PID_RANGE },
        { "vmi-read-virtual",
          "'address': KADDR, 'size': 8, 'pid': " I64_MIN,
          "pid " I64_MIN " " PID_RANGE },
        { "vmi-read-virtual", "'address': KADDR, 'size': 8, 'pid': 0",
          "no process with pid 0" },
        { "vmi-read-virtual", "'address': KADDR, 'size': 8, 'pid': 1",
          NULL },
        { "vmi-read-virtual",
          "'address': KADDR, 'size': 8, 'pid': " I32_MAX,
          "no process with pid " I32_MAX },
        { "vmi-read-virtual",
          "'address': KADDR, 'size': 8, 'pid': " I32_OVER,
          "pid " I32_OVER " " PID_RANGE },
        { "vmi-read-virtual",
          "'address': KADDR, 'size': 8, 'pid': " I64_MAX,
          "pid " I64_MAX " " PID_RANGE },
        { "vmi-read-virtual",
          "'address': KADDR, 'size': 8, 'pid': " I64_OVER, NO_INT("pid") },
        /* vcpu: the guest has one */
        { "vmi-read-virtual", "'address': KADDR, 'size': 8, 'vcpu': -1",
          NO_U32("vcpu") },
        { "vmi-read-virtual", "'address': KADDR, 'size': 8, 'vcpu': 0",
          NULL },
        { "vmi-read-virtual", "'address': KADDR, 'size': 8, 'vcpu': 1",
          "no vCPU 1" },
        { "vmi-read-virtual",
          "'address': KADDR, 'size': 8, 'vcpu': " I32_OVER,
          "no vCPU " I32_OVER },
        { "vmi-read-virtual",
          "'address': KADDR, 'size': 8, 'vcpu': " U32_MAX,
          "no vCPU " U32_MAX },
        { "vmi-read-virtual",
          "'address': KADDR, 'size': 8, 'vcpu': " U32_OVER, NO_U32("vcpu") },

        /* vmi-read-physical: physical 0 is RAM */
        { "vmi-read-physical", "'address': 0, 'size': -1", NO_U32("size") },
        { "vmi-read-physical", "'address': 0, 'size': 0",
          "size 0 is out of range (1 to 65536)" },
        { "vmi-read-physical", "'address': 0, 'size': 65536", NULL },
        { "vmi-read-physical", "'address': 0, 'size': 65537",
          "size 65537 is out of range" },
        { "vmi-read-physical", "'address': 0, 'size': " U32_MAX,
          "size " U32_MAX " is out of range" },
        { "vmi-read-physical", "'address': 0, 'size': " U32_OVER,
          NO_U32("size") },
        { "vmi-read-physical", "'address': -1, 'size': 1",
          "physical 0xffffffffffffffff+1 is not guest RAM" },
        { "vmi-read-physical", "'address': -1, 'size': 2",
          "runs past the end of the address space" },
        { "vmi-read-physical", "'address': 1125899906842624, 'size': 16",
          "physical 0x4000000000000+16 is not guest RAM" },
        { "vmi-read-physical", "'address': " U64_OVER ", 'size': 1",
          NO_U64("address") },

        /* vmi-translate */
        { "vmi-translate", "'address': 0", "0x0 " NOT_MAPPED },
        { "vmi-translate", "'address': KADDR", NULL },
        { "vmi-translate", "'address': -1", "0xffffffffffffffff " NOT_MAPPED },
        { "vmi-translate", "'address': " U64_OVER, NO_U64("address") },
        { "vmi-translate", "'address': KADDR, 'cr3': -1", NOT_MAPPED },
        { "vmi-translate", "'address': KADDR, 'cr3': " U64_OVER,
          NO_U64("cr3") },
        { "vmi-translate", "'address': KADDR, 'pid': -1",
          "pid -1 " PID_RANGE },
        { "vmi-translate", "'address': KADDR, 'pid': 0",
          "no process with pid 0" },
        { "vmi-translate", "'address': KADDR, 'pid': 1", NULL },
        { "vmi-translate", "'address': KADDR, 'pid': " I32_OVER,
          "pid " I32_OVER " " PID_RANGE },
        { "vmi-translate", "'address': KADDR, 'pid': " I64_OVER,
          NO_INT("pid") },
        { "vmi-translate", "'address': KADDR, 'pid': 1, 'cr3': 0",
          "either 'cr3' or 'pid'" },
        { "vmi-translate", "'address': KADDR, 'vcpu': -1", NO_U32("vcpu") },
        { "vmi-translate", "'address': KADDR, 'vcpu': " U32_MAX,
          "no vCPU " U32_MAX },
        { "vmi-translate", "'address': KADDR, 'vcpu': " U32_OVER,
          NO_U32("vcpu") },

        /* vmi-read-registers */
        { "vmi-read-registers", "'vcpu': -1", NO_U32("vcpu") },
        { "vmi-read-registers", "'vcpu': 0", NULL },
        { "vmi-read-registers", "'vcpu': 1", "no vCPU 1" },
        { "vmi-read-registers", "'vcpu': " I32_OVER, "no vCPU " I32_OVER },
        { "vmi-read-registers", "'vcpu': " U32_MAX, "no vCPU " U32_MAX },
        { "vmi-read-registers", "'vcpu': " U32_OVER, NO_U32("vcpu") },

        /* vmi-set-filter: the filter's pids */
        { "vmi-set-filter", "'filter': {'pids': [-1]}",
          "filter: pid -1 " PID_RANGE },
        { "vmi-set-filter", "'filter': {'pids': [" I64_MIN "]}",
          "filter: pid " I64_MIN " " PID_RANGE },
        { "vmi-set-filter", "'filter': {'pids': [0]}", NULL },
        { "vmi-set-filter", "'filter': {'pids': [" I32_MAX "]}", NULL },
        { "vmi-set-filter", "'filter': {'pids': [" I32_OVER "]}",
          "filter: pid " I32_OVER " " PID_RANGE },
        { "vmi-set-filter", "'filter': {'pids': [" I64_OVER "]}",
          "expected: integer" },
        { "vmi-set-filter", "'filter': {'pids': []}", "'pids' is empty" },
        { "vmi-set-filter", "'filter': {}", NULL },
    };
    g_autofree char *profile = guest_file("profile.json");
    uint64_t lstar;
    QDict *r;
    Guest g;

    /* without PTI every page table maps the kernel's text */
    guest_start(&g, "pti=off", NULL);
    guest_wait_ready(&g);
    check_accel(&g);
    r = qmp_ok(&g, "{'execute': 'vmi-read-registers'}");
    lstar = dict_uint(r, "lstar");
    qobject_unref(r);
    g_assert_cmphex(lstar, >=, 0xffffffff80000000ull);

    check_edges(&g, off, G_N_ELEMENTS(off), lstar, profile);
    r = qmp_ok(&g, "{'execute': 'query-vmi'}");
    g_assert_cmpstr(qdict_get_str(r, "state"), ==, "off");
    qobject_unref(r);

    qobject_unref(qmp_ok(&g, "{'execute': 'vmi-enable', 'arguments': "
                         "{'profile': %s}}", profile));
    check_edges(&g, on, G_N_ELEMENTS(on), lstar, profile);
    /* and QEMU is still there, tracing */
    r = qmp_ok(&g, "{'execute': 'query-vmi'}");
    g_assert_cmpstr(qdict_get_str(r, "state"), ==, "tracing");
    qobject_unref(r);
    qobject_unref(qmp_ok(&g, "{'execute': 'query-vmi-processes'}"));
    qobject_unref(qmp_ok(&g, "{'execute': 'vmi-disable'}"));
    guest_stop(&g);
}

/* Not a test (make bench-kvm): what tracing costs the guest. */

#define BENCH_CALLS     20000
#define BENCH_ROUNDS    3

static double storm_ns(Guest *g)
{
    g_autofree char *out = guest_run(g, "vmi-storm " G_STRINGIFY(BENCH_CALLS));
    const char *line = strstr(out, "STORM ");
    g_autofree char *ns = NULL;

    g_assert_nonnull(line);
    ns = field(line, "ns_per_call");
    g_assert_nonnull(ns);
    return g_ascii_strtod(ns, NULL);
}

static int64_t sum_vcpus(Guest *g, const char *key)
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

static int cmp_double(gconstpointer a, gconstpointer b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void bench_storm(void)
{
    g_autofree char *profile = guest_file("profile.json");
    g_autofree char *extra = g_strdup_printf("-vmi profile=%s", profile);
    double off[BENCH_ROUNDS], on[BENCH_ROUNDS];
    int64_t exits = 0, trapped = 0;
    Guest g;

    guest_start(&g, "pti=off", extra);
    guest_wait_ready(&g);
    check_accel(&g);
    for (int r = 0; r < BENCH_ROUNDS; r++) {
        off[r] = storm_ns(&g);
        qobject_unref(qmp_ok(&g, "{'execute': 'vmi-enable'}"));
        on[r] = storm_ns(&g);
        exits += sum_vcpus(&g, "debug-exits");
        trapped += sum_vcpus(&g, "trapped");
        qobject_unref(qmp_ok(&g, "{'execute': 'vmi-disable'}"));
        g_ptr_array_set_size(g.events, 0);
    }
    qsort(off, BENCH_ROUNDS, sizeof(double), cmp_double);
    qsort(on, BENCH_ROUNDS, sizeof(double), cmp_double);
    g_test_message("BENCH accel=%s getppid x %d, %d rounds: ns/call off "
                   "min/median/max %.0f/%.0f/%.0f, traced %.0f/%.0f/%.0f, "
                   "ratio %.1fx; %.2f debug exits and %.2f events per call",
                   under_kvm() ? "kvm" : "tcg", BENCH_CALLS, BENCH_ROUNDS,
                   off[0], off[BENCH_ROUNDS / 2], off[BENCH_ROUNDS - 1],
                   on[0], on[BENCH_ROUNDS / 2], on[BENCH_ROUNDS - 1],
                   on[BENCH_ROUNDS / 2] / off[BENCH_ROUNDS / 2],
                   (double)exits / BENCH_CALLS / BENCH_ROUNDS,
                   (double)trapped / BENCH_CALLS / BENCH_ROUNDS);
    guest_stop(&g);
}

/* Bad -vmi options: QEMU refuses to start and names the option. */
/* Delivery and lifecycle */

static long qemu_rss_kb(Guest *g)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status",
                                            qtest_pid(g->qts));
    g_autofree char *status = NULL;
    const char *rss;

    g_assert_true(g_file_get_contents(path, &status, NULL, NULL));
    rss = strstr(status, "VmRSS:");
    g_assert_nonnull(rss);
    return atol(rss + strlen("VmRSS:"));
}

/* Read QMP until every event built has been emitted or dropped. */
static void wait_delivered(Guest *g)
{
    /* nested, L1 emulated by TCG formats the JSON slowly */
    gint64 deadline = g_get_monotonic_time() + 900 * G_USEC_PER_SEC;

    while (sum_vcpus(g, "emitted") + sum_vcpus(g, "dropped") !=
           sum_vcpus(g, "produced")) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(50 * 1000);
    }
}

/*
 * A QMP client that does not read: QEMU's memory stays bounded, the
 * overflow is dropped, counted, and reported by VMI_EVENTS_LOST.
 */
static void test_delivery_drop(void)
{
    g_autofree char *boot = vmi_from_boot("");
    g_autofree char *extra = g_strdup_printf("%s,ring-size=4096", boot);
    g_autofree char *out = NULL, *storm = NULL;
    /* far more events than the ring and the QMP backlog can hold */
    long calls = 50000;
    gint64 deadline;
    int64_t dropped;
    long rss0, rss1;
    Guest g;

    guest_start(&g, "pti=off", extra);
    g.count_only = true;
    guest_wait_ready(&g);
    check_accel(&g);
    out = guest_run(&g, "vmi-storm 1000");
    rss0 = qemu_rss_kb(&g);
    g_free(out);
    /* a storm of events while nobody reads QMP */
    storm = g_strdup_printf("vmi-storm %ld", calls);
    out = guest_run(&g, storm);
    rss1 = qemu_rss_kb(&g);
    g_test_message("QEMU RSS %ld kB before the storm, %ld kB after", rss0,
                   rss1);
    /* the ring's events and 4 MiB of QMP output, not the stream */
    g_assert_cmpint(rss1 - rss0, <, 128 * 1024);

    wait_delivered(&g);
    dropped = sum_vcpus(&g, "dropped");
    g_test_message("dropped %" PRId64 ", received %u entries %u exits",
                   dropped, g.counted[0], g.counted[1]);
    g_assert_cmpint(dropped, >, 0);
    g_assert_cmpint(g.counted[0] + g.counted[1] + dropped, >=, 2 * calls);
    /* the losses are reported, totalled, within a second or so */
    deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    for (;;) {
        QDict *lost = NULL;

        for (guint i = g.processes->len; i-- > 0 && !lost;) {
            QDict *ev = g_ptr_array_index(g.processes, i);

            if (!strcmp(qdict_get_str(ev, "event"), "VMI_EVENTS_LOST")) {
                lost = ev;
            }
        }
        if (lost && qdict_get_int(lost, "total") == dropped) {
            break;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        qobject_unref(qmp_ok(&g, "{'execute': 'query-vmi'}"));
        g_usleep(100 * 1000);
    }
    guest_stop(&g);
}

/*
 * Byte budgets: execve calls whose argv and envp would be 2 MiB each if
 * copied whole, while nobody reads QMP.  Each event holds at most 32 KiB
 * of arrays (argv cut, envp empty, both marked truncated), and the ring
 * stops at ring-bytes, not at its 65,536 slots: QEMU's memory stays near
 * the budget instead of growing by the events' 100 MB.
 */
static void test_delivery_bytes(void)
{
    g_autofree char *boot = vmi_from_boot("");
    g_autofree char *extra = g_strdup_printf("%s,ring-bytes=1M", boot);
    g_autofree char *out = NULL;
    QDict *info, *enter = NULL;
    int64_t dropped, produced;
    long rss0, rss1, pid;
    Guest g;

    guest_start(&g, "pti=off", extra);
    guest_wait_ready(&g);
    check_accel(&g);
    info = qmp_ok(&g, "{'execute': 'query-vmi'}");
    g_assert_cmpint(qdict_get_int(info, "ring-bytes"), ==, 1024 * 1024);
    qobject_unref(info);
    out = guest_run(&g, "vmi-bigexec 10");
    rss0 = qemu_rss_kb(&g);
    g_free(out);
    out = guest_run(&g, "vmi-bigexec 3000");
    rss1 = qemu_rss_kb(&g);
    g_test_message("QEMU RSS %ld kB before, %ld kB after 3000 calls", rss0,
                   rss1);
    /* 1 MiB of ring and 4 MiB of QMP output, not ~100 MB of events */
    g_assert_cmpint(rss1 - rss0, <, 32 * 1024);
    pid = field_long(strstr(out, "BIGEXEC "), "pid");

    wait_delivered(&g);
    dropped = sum_vcpus(&g, "dropped");
    produced = sum_vcpus(&g, "produced");
    g_test_message("produced %" PRId64 ", dropped %" PRId64, produced,
                   dropped);
    g_assert_cmpint(dropped, >, 0);
    for (guint i = 0; i < g.events->len && !enter; i++) {
        QDict *ev = g_ptr_array_index(g.events, i);

        /* not the shell's exec of the program, which has the same pid */
        if (ev_pid(ev) == pid && ev_is(ev, "enter", "execve") &&
            !strcmp(qdict_get_str(qdict_get_qdict(ev, "process"), "name"),
                    "vmi-bigexec")) {
            enter = ev;
        }
    }
    g_assert_nonnull(enter);
    {
        QDict *argv = ev_param(enter, "argv");
        QDict *envp = ev_param(enter, "envp");
        QList *strings = qdict_get_qlist(argv, "strings");

        g_test_message("argv: %zu strings, envp: %zu", qlist_size(strings),
                       qlist_size(qdict_get_qlist(envp, "strings")));
        if (qlist_size(strings) != 8) {
            GString *j = qobject_to_json(QOBJECT(argv));

            g_test_message("argv: %.2000s", j->str);
            g_string_free(j, true);
        }
        /* 8 strings of 4095 bytes and their NULs fill the 32 KiB */
        g_assert_cmpuint(qlist_size(strings), ==, 8);
        g_assert_true(qdict_get_bool(argv, "truncated"));
        g_assert_cmpuint(qlist_size(qdict_get_qlist(envp, "strings")), ==, 0);
        g_assert_true(qdict_get_bool(envp, "truncated"));
    }
    guest_stop(&g);
}

/*
 * overflow=block: a client that stops reading stops the guest instead;
 * once it reads again every event arrives.
 */
static void test_delivery_block(void)
{
    g_autofree char *boot = vmi_from_boot("");
    g_autofree char *extra = g_strdup_printf("%s,overflow=block,"
                                             "ring-size=4096", boot);
    g_autofree char *out = NULL;
    QDict *info;
    long rss0, rss1;
    Guest g;

    guest_start(&g, "pti=off", extra);
    g.count_only = true;
    guest_wait_ready(&g);
    check_accel(&g);
    out = guest_run(&g, "vmi-storm 1000");
    g_free(out);
    rss0 = qemu_rss_kb(&g);
    out = guest_run(&g, "vmi-storm 20000 > /tmp/storm.out &");
    g_free(out);
    g_usleep(3 * G_USEC_PER_SEC);
    rss1 = qemu_rss_kb(&g);
    g_test_message("QEMU RSS %ld kB before, %ld kB with the guest blocked",
                   rss0, rss1);
    g_assert_cmpint(rss1 - rss0, <, 128 * 1024);
    /* 40,000 events do not fit in the ring and the QMP backlog */
    info = qmp_ok(&g, "{'execute': 'query-vmi'}");
    g_assert_cmpstr(qdict_get_str(info, "overflow"), ==, "block");
    g_assert_cmpint(qdict_get_int(info, "ring-size"), ==, 4096);
    qobject_unref(info);
    g_assert_cmpint(sum_vcpus(&g, "produced"), <, 40000);

    g.pump_qmp = true;
    out = guest_run(&g, "while ! grep -q STORM /tmp/storm.out; do sleep 0.1;"
                    " done; cat /tmp/storm.out");
    g_assert_nonnull(strstr(out, "STORM "));
    wait_delivered(&g);
    g_assert_cmpint(sum_vcpus(&g, "dropped"), ==, 0);
    g_assert_cmpuint(g.counted[0], ==, 21000);
    g_assert_cmpuint(g.counted[1], ==, 21000);
    guest_stop(&g);
}

/* -vmi ...,chardev=: JSON lines to a file, nothing to QMP. */
static void test_delivery_chardev(void)
{
    g_autofree char *boot = vmi_from_boot("");
    g_autofree char *dir = g_dir_make_tmp("vmi-sink-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "events.jsonl", NULL);
    g_autofree char *extra = g_strdup_printf(
        "-chardev file,id=vmiout,path=%s %s,chardev=vmiout", path, boot);
    g_autofree char *out = NULL, *text = NULL, *err = NULL;
    g_auto(GStrv) lines = NULL;
    guint enters = 0, exits = 0, syscalls = 0;
    QDict *info;
    long pid;
    Guest g;

    guest_start(&g, "pti=off", extra);
    guest_wait_ready(&g);
    check_accel(&g);
    out = guest_run(&g, "vmi-storm 5000");
    pid = field_long(strstr(out, "STORM "), "pid");
    info = qmp_ok(&g, "{'execute': 'query-vmi'}");
    g_assert_cmpstr(qdict_get_try_str(info, "chardev"), ==, "vmiout");
    qobject_unref(info);

    /* tracing blocks migration, with a reason */
    err = qmp_error(&g, "{'execute': 'migrate', 'arguments': "
                    "{'uri': 'exec:cat > /dev/null'}}");
    g_test_message("migrate: %s", err);
    g_assert_nonnull(strstr(err, "introspection is enabled"));

    /* disabling delivers everything trapped to the file */
    qobject_unref(qmp_ok(&g, "{'execute': 'vmi-disable'}"));
    g_assert_cmpuint(g.events->len, ==, 0);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l && **l; l++) {
        QDict *obj = qobject_to(QDict, qobject_from_json(*l, &error_abort));
        QDict *data;

        g_assert_nonnull(obj);
        g_assert_true(qdict_haskey(obj, "timestamp"));
        if (!strcmp(qdict_get_str(obj, "event"), "VMI_SYSCALL")) {
            syscalls++;
            data = qdict_get_qdict(obj, "data");
            if (ev_pid(data) == pid && ev_is(data, "enter", "getppid")) {
                enters++;
            } else if (ev_pid(data) == pid && ev_is(data, "exit", "getppid")) {
                exits++;
            }
        }
        qobject_unref(obj);
    }
    g_test_message("%u VMI_SYSCALL lines", syscalls);
    /* the shell that exec'd vmi-storm calls getppid once with its pid */
    g_assert_cmpuint(enters, >=, 5000);
    g_assert_cmpuint(enters, <=, 5001);
    g_assert_cmpuint(exits, ==, enters);
    guest_stop(&g);
    unlink(path);
    rmdir(dir);
}

static bool has_snapshot(Guest *g, const char *name)
{
    g_autofree char *list = qtest_hmp(g->qts, "info snapshots");
    g_autofree char *word = g_strdup_printf(" %s ", name);

    return strstr(list, word) != NULL;
}

/*
 * savevm is refused while tracing, with the reason; without tracing the
 * snapshot is taken, and after loadvm tracing tells the truth again.
 * The qcow2 image is made over QMP: the build ships no qemu-img.
 */
static void test_savevm(void)
{
    g_autofree char *boot = vmi_from_boot("");
    g_autofree char *dir = g_dir_make_tmp("vmi-savevm-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "vmstate.qcow2", NULL);
    g_autofree char *extra = g_strdup_printf(
        "-blockdev driver=file,node-name=vmstate-file,filename=%s %s",
        path, boot);
    g_autofree char *out = NULL;
    bool concluded = false;
    Guest g;

    g_assert_true(g_file_set_contents(path, "", 0, NULL));
    guest_start(&g, "pti=off", extra);
    guest_wait_ready(&g);
    check_accel(&g);

    qobject_unref(qmp_ok(&g, "{'execute': 'blockdev-create', 'arguments': "
                         "{'job-id': 'mkimg', 'options': {'driver': 'qcow2', "
                         "'file': 'vmstate-file', 'size': 16777216}}}"));
    for (int i = 0; i < 500 && !concluded; i++) {
        QDict *resp = qtest_qmp(g.qts, "{'execute': 'query-jobs'}");
        QList *jobs = qdict_get_qlist(resp, "return");
        QDict *job = qobject_to(QDict, qlist_peek(jobs));

        g_assert_nonnull(job);
        g_assert_false(qdict_haskey(job, "error"));
        concluded = !strcmp(qdict_get_str(job, "status"), "concluded");
        qobject_unref(resp);
        g_usleep(10 * 1000);
    }
    g_assert_true(concluded);
    qobject_unref(qmp_ok(&g, "{'execute': 'job-dismiss', 'arguments': "
                         "{'id': 'mkimg'}}"));
    qobject_unref(qmp_ok(&g, "{'execute': 'blockdev-add', 'arguments': "
                         "{'driver': 'qcow2', 'node-name': 'vmstate', "
                         "'file': 'vmstate-file'}}"));

    out = qtest_hmp(g.qts, "savevm traced");
    g_test_message("savevm while tracing: %s", out);
    g_assert_nonnull(strstr(out, "introspection is enabled"));
    g_assert_false(has_snapshot(&g, "traced"));

    qobject_unref(qmp_ok(&g, "{'execute': 'vmi-disable'}"));
    g_free(out);
    out = qtest_hmp(g.qts, "savevm untraced");
    g_assert_cmpstr(out, ==, "");
    g_assert_true(has_snapshot(&g, "untraced"));

    /* the guest goes on where the snapshot was taken, traced */
    qobject_unref(qmp_ok(&g, "{'execute': 'vmi-enable'}"));
    g_free(out);
    out = qtest_hmp(g.qts, "loadvm untraced");
    g_assert_cmpstr(out, ==, "");
    g_ptr_array_set_size(g.events, 0);
    check_accel(&g);
    run_truth(&g);
    qobject_unref(qmp_ok(&g, "{'execute': 'vmi-disable'}"));
    guest_stop(&g);
    unlink(path);
    rmdir(dir);
}

/*
 * vmi-enable and vmi-disable 1000 times while the guest makes system
 * calls on every vCPU; then tracing still tells the truth.
 */
static void test_lifecycle(void)
{
    g_autofree char *profile = guest_file("profile.json");
    g_autofree char *extra = g_strdup_printf("-smp 2 -vmi profile=%s",
                                             profile);
    g_autofree char *out = NULL;
    Guest g;

    guest_start(&g, "pti=off", extra);
    guest_wait_ready(&g);
    out = guest_run(&g, "(taskset -c 0 vmi-storm 100000 & taskset -c 1 "
                    "vmi-storm 100000; wait; touch /tmp/storms.done) "
                    "> /dev/null 2>&1 &");
    for (int i = 0; i < LIFECYCLE_ROUNDS; i++) {
        qobject_unref(qmp_ok(&g, "{'execute': 'vmi-enable'}"));
        qobject_unref(qmp_ok(&g, "{'execute': 'vmi-disable'}"));
    }
    g_free(out);
    out = guest_run(&g, "while [ ! -e /tmp/storms.done ]; do sleep 0.1; "
                    "done");
    g_ptr_array_set_size(g.events, 0);
    qobject_unref(qmp_ok(&g, "{'execute': 'vmi-enable'}"));
    check_accel(&g);
    {
        QDict *info = qmp_ok(&g, "{'execute': 'query-vmi'}");
        g_autoptr(GString) json = qobject_to_json(QOBJECT(info));

        g_test_message("%s", json->str);
        qobject_unref(info);
    }
    run_truth(&g);
    qobject_unref(qmp_ok(&g, "{'execute': 'vmi-disable'}"));
    guest_stop(&g);
}

static int64_t query_pending(Guest *g, int64_t *evicted)
{
    QDict *info = qmp_ok(g, "{'execute': 'query-vmi'}");
    int64_t pending = qdict_get_int(info, "pending");

    *evicted = qdict_get_int(info, "pending-evicted");
    qobject_unref(info);
    return pending;
}

/*
 * Threads blocked in a system call when their process exits never
 * return: vmi-orphans leaves 32 of them inside read.  Their calls in
 * flight must go with the process, not stay until the table is full
 * (when, before, the whole table was dropped and every task's exit and
 * process events with it).  Then 32 threads stay blocked and the guest
 * resets: a kernel that boots at the same address (nokaslr) must not
 * inherit them.
 */
static void test_pending(void)
{
    g_autofree char *extra = vmi_from_boot("-smp 2");
    g_autofree char *out = NULL;
    g_autofree char *line = NULL;
    int64_t before, after, evicted;
    long threads, blocked;
    Guest g;

    guest_start_flags(&g, "pti=off nokaslr", extra, GUEST_REBOOTS);
    guest_wait_ready(&g);
    check_accel(&g);
    before = query_pending(&g, &evicted);
    out = guest_run(&g, "vmi-orphans");
    if (!strstr(out, "ORPHANS pid=")) {
        g_error("vmi-orphans printed no result: %s", out);
    }
    line = line_with(out, "ORPHANS pid=");
    threads = field_long(line, "threads");
    blocked = field_long(line, "blocked");
    g_assert_cmpint(blocked, ==, threads);
    after = query_pending(&g, &evicted);
    g_test_message("calls in flight: %" PRId64 " before, %" PRId64
                   " after %ld threads exited inside read", before, after,
                   threads);
    /* the shell's own calls in flight may differ by a few */
    g_assert_cmpint(after, <=, before + 4);
    g_assert_cmpint(after, <, threads);
    g_assert_cmpint(evicted, ==, 0);

    g_free(out);
    out = guest_run(&g, "vmi-orphans hold > /tmp/orphans & "
                    "i=0; while [ $i -lt 100 ] && ! grep -q ORPHANS "
                    "/tmp/orphans; do sleep 0.1; i=$((i + 1)); done; "
                    "cat /tmp/orphans");
    g_free(line);
    line = line_with(out, "ORPHANS pid=");
    g_assert_cmpint(field_long(line, "blocked"), ==, threads);
    after = query_pending(&g, &evicted);
    g_assert_cmpint(after, >=, threads);
    {
        const char *cmd = "reboot -f\n";
        size_t from = g.serial->len;

        g_assert_cmpint(write(g.serial_fd, cmd, strlen(cmd)), ==,
                        strlen(cmd));
        serial_wait(&g, from, "VMI_GUEST_READY", BOOT_TIMEOUT_S);
    }
    after = query_pending(&g, &evicted);
    g_test_message("calls in flight: %" PRId64 " after the reset", after);
    g_assert_cmpint(after, <=, before + 4);
    /*
     * the same kernel at the same address is traced again (under KVM:
     * disarmed at the reset, armed again by its MSR_LSTAR write)
     */
    g_ptr_array_set_size(g.events, 0);
    run_truth(&g);
    check_accel(&g);
    guest_stop(&g);
}

/*
 * exec right after fork: the path and argv literals are not mapped in
 * the child at the execve entry, yet the process event must carry the
 * program the kernel runs and its whole argv.
 */
static void test_forkexec(void)
{
    g_autofree char *extra = vmi_from_boot("-smp 2");
    g_autofree char *out = NULL;
    g_auto(GStrv) lines = NULL;
    guint children = 0, raced = 0;
    Guest g;

    guest_start(&g, "pti=off", extra);
    guest_wait_ready(&g);
    check_accel(&g);
    out = guest_run(&g, "vmi-forkexec");
    g_test_message("%s", out);
    lines = g_strsplit(out, "\n", -1);
    for (guint n = 0; lines[n]; n++) {
        g_autofree char *argv = NULL;
        long child;
        QDict *ev;

        g_strchomp(lines[n]);
        if (g_str_has_prefix(lines[n], "FORKEXEC child=")) {
            child = field_long(lines[n], "child");
            g_assert_cmpint(field_long(lines[n], "status"), ==, 0);
            children++;
        } else if (g_str_has_prefix(lines[n], "FORKEXEC raced pid=")) {
            /* what the program got, whatever memory said at the entry */
            child = field_long(lines[n], "pid");
            raced++;
        } else {
            continue;
        }
        argv = field(lines[n], "argv");
        ev = wait_process_event(&g, "VMI_PROCESS_START", "exec", child);
        if (!ev) {
            g_error("no exec event for child %ld", child);
        }
        {
            g_autoptr(GString) json = qobject_to_json(QOBJECT(ev));

            g_test_message("%s", json->str);
        }
        g_assert_cmpstr(qdict_get_try_str(ev, "path"), ==,
                        "/bin/vmi-forkexec");
        check_argv(ev, argv);
        g_assert_false(qdict_haskey(ev, "error"));
    }
    g_assert_cmpuint(children, ==, 12);
    g_assert_cmpuint(raced, ==, 12);
    guest_stop(&g);
}

static void qmp_deadlocked(int sig)
{
    static const char msg[] = "QEMU did not answer query-vmi within 120 s: "
                              "deadlocked\n";

    g_assert_cmpint(write(STDERR_FILENO, msg, sizeof(msg) - 1), >, 0);
    abort();
}

static void hang_alarm(int sig)
{
    static const char msg[] = "Bail out! QEMU did not answer within "
                              "120 s: deadlocked\n";

    if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* nothing more to say */
    }
    abort();
}

/*
 * overflow=block: a vCPU waiting for room must not hold up RCU.  With
 * the guest blocked behind a client that does not read, a failed
 * device_add makes the main loop wait for an RCU grace period
 * (drain_call_rcu()); under KVM a vCPU that waited inside its trap's
 * read-side section held that grace period forever, and the drain it
 * waited for never ran again.  The error must come back, and then every
 * event.
 */
static void test_delivery_block_rcu(void)
{
    g_autofree char *boot = vmi_from_boot("");
    g_autofree char *extra = g_strdup_printf("%s,overflow=block,"
                                             "ring-size=64", boot);
    g_autofree char *err = NULL;
    size_t from;
    Guest g;

    guest_start(&g, "pti=off", extra);
    g.count_only = true;
    guest_wait_ready(&g);
    check_accel(&g);
    from = g.serial->len;
    /* about 8 MiB of events: the QMP backlog stops at 4 MiB */
    g_free(guest_run(&g, "vmi-storm 20000 &"));
    g_usleep(5 * G_USEC_PER_SEC);
    g_assert_false(has_line(&g, from, "STORM "));

    sigaction(SIGALRM, &(struct sigaction) { .sa_handler = hang_alarm },
              NULL);
    alarm(120);
    err = qmp_error(&g, "{'execute': 'device_add', 'arguments': "
                    "{'driver': 'no-such-device', 'id': 'x'}}");
    alarm(0);
    g_test_message("device_add: %s", err);
    g_assert_nonnull(strstr(err, "no-such-device"));

    g.pump_qmp = true;
    serial_wait(&g, from, "STORM ", CMD_TIMEOUT_S);
    wait_delivered(&g);
    g_assert_cmpint(sum_vcpus(&g, "dropped"), ==, 0);
    g_assert_cmpuint(g.counted[0], ==, 20000);
    g_assert_cmpuint(g.counted[1], ==, 20000);
    guest_stop(&g);
}

/*
 * overflow=block with a 32-bit storm through int $0x80, which TCG
 * delivers with the BQL held: with the ring full, the vCPU must not wait
 * for the drain, which needs that lock (QEMU hung for good).  The events
 * it cannot queue are counted lost; QEMU keeps answering.
 */
static void test_delivery_block_int80(void)
{
    g_autofree char *boot = vmi_from_boot("");
    g_autofree char *extra = g_strdup_printf("%s,overflow=block,"
                                             "ring-size=64", boot);
    g_autofree char *out = NULL;
    Guest g;

    guest_start(&g, "pti=off", extra);
    g.count_only = true;
    guest_wait_ready(&g);
    check_accel(&g);
    out = guest_run(&g, "vmi-ia32 storm 20000 > /tmp/storm32.out &");
    g_free(out);
    g_usleep(3 * G_USEC_PER_SEC);
    sigaction(SIGALRM, &(struct sigaction){ .sa_handler = qmp_deadlocked },
              NULL);
    alarm(120);
    qobject_unref(qmp_ok(&g, "{'execute': 'query-vmi'}"));
    alarm(0);
    g.pump_qmp = true;
    out = guest_run(&g, "while ! grep -q storm /tmp/storm32.out; do "
                    "sleep 0.1; done; cat /tmp/storm32.out");
    g_assert_nonnull(strstr(out, "IA32 storm pid="));
    wait_delivered(&g);
    g_test_message("%" PRId64 " events produced, %" PRId64 " emitted, %"
                   PRId64 " counted lost", sum_vcpus(&g, "produced"),
                   sum_vcpus(&g, "emitted"), sum_vcpus(&g, "dropped"));
    g_assert_cmpint(sum_vcpus(&g, "produced"), >=, 40000);
    guest_stop(&g);
}

/* A vCPU hot-plugged while tracing is traced like the others. */
/*
 * Plug vCPU 1, storm on it; then unplug it and plug a new one at the same
 * index: under KVM the new vCPU (a new thread) must get the breakpoints
 * programmed and read its own GS base, not inherit the old one's.
 */
#define DEVICE_ADD_CPU1 \
    "{'execute': 'device_add', 'arguments': " \
    "{'driver': 'max-x86_64-cpu', 'id': 'cpu1', " \
    "'socket-id': 1, 'core-id': 0, 'thread-id': 0}}"

static guint storm_on_cpu1(Guest *g)
{
    g_autofree char *out = NULL;
    g_autoptr(GPtrArray) evs = NULL;
    guint on_new = 0;
    long pid;

    qobject_unref(qmp_ok(g, DEVICE_ADD_CPU1));
    out = guest_run(g, "c=/sys/devices/system/cpu/cpu1; i=0; "
                    "while [ ! -e $c/online ] && [ $i -lt 300 ]; do "
                    "sleep 0.1; i=$((i + 1)); done; "
                    "echo 1 > $c/online; taskset -c 1 vmi-storm 2000");
    pid = field_long(strstr(out, "STORM "), "pid");
    check_storm_pid(g, pid, 2000);
    evs = events_of(g, pid);
    for (guint i = 0; i < evs->len; i++) {
        QDict *ev = g_ptr_array_index(evs, i);

        if (ev_is(ev, "enter", "getppid")) {
            on_new += qdict_get_int(ev, "vcpu") == 1;
        }
    }
    return on_new;
}

/* Whether QEMU sent @event within @timeout_s (QMP read meanwhile) */
static bool wait_qemu_event(Guest *g, const char *event, int timeout_s)
{
    gint64 deadline = g_get_monotonic_time() + timeout_s * G_USEC_PER_SEC;
    QDict *ev;

    while (!(ev = qtest_qmp_event_ref(g->qts, event))) {
        if (g_get_monotonic_time() > deadline) {
            g_test_message("no %s within %d s", event, timeout_s);
            return false;
        }
        qobject_unref(qmp_ok(g, "{'execute': 'query-status'}"));
        g_usleep(50 * 1000);
    }
    qobject_unref(ev);
    return true;
}

static void test_hotplug(void)
{
    g_autofree char *extra = vmi_from_boot("-smp 1,maxcpus=2,sockets=2,"
                                           "cores=1,threads=1");
    g_autofree char *out = NULL;
    Guest g;

    guest_start(&g, "pti=off", extra);
    guest_wait_ready(&g);
    check_accel(&g);
    out = guest_run(&g, "cat /sys/devices/system/cpu/possible");
    g_test_message("possible CPUs: %s", out);
    if (!strstr(out, "0-1")) {
        /* Linux 6.12 counts QEMU's disabled MADT entries as absent */
        g_test_skip("the guest kernel cannot take a hot-plugged CPU");
        guest_stop(&g);
        return;
    }
    g_assert_cmpuint(storm_on_cpu1(&g), ==, 2000);
    check_kvm_counters(&g);

    /* the guest ejects it (ACPI), then QEMU reports it gone */
    g_free(out);
    out = guest_run(&g, "echo 0 > /sys/devices/system/cpu/cpu1/online; "
                    "echo offlined");
    qobject_unref(qmp_ok(&g, "{'execute': 'device_del', "
                         "'arguments': {'id': 'cpu1'}}"));
    g_assert_true(wait_qemu_event(&g, "DEVICE_DELETED", 60));
    if (under_kvm()) {
        g_assert_cmpuint(storm_on_cpu1(&g), ==, 2000);
        /* the third LSTAR write: the new vCPU 1 coming online */
        check_kvm_counters_max(&g, 3);
    } else {
        /* TCG keeps a dead vCPU's context: a new one would exceed maxcpus */
        g_test_message("TCG cannot plug a vCPU again (tcg_max_ctxs)");
        check_storm(&g);
    }
    guest_stop(&g);
}

/*
 * vmi-disable and vmi-enable while the guest rewrites MSR_LSTAR as fast
 * as it can; under KVM each write exits to QEMU and re-arms the
 * breakpoints.  Once disabled, none may stay armed: the guest would stop
 * in debug state at its next system call.  Once enabled again, every call
 * is traced.
 */
static void test_lstar_race(void)
{
    g_autofree char *extra = vmi_from_boot("-smp 2");
    g_autofree char *out = NULL;
    const char *done;
    QDict *status;
    size_t from;
    Guest g;

    guest_start(&g, "pti=off", extra);
    guest_wait_ready(&g);
    check_accel(&g);
    out = guest_run(&g, "insmod /lib/modules/msr.ko allow_writes=on && "
                    "echo msr-loaded");
    g_assert_nonnull(strstr(out, "msr-loaded"));
    from = g.serial->len;
    g_free(guest_run(&g, "taskset -c 1 vmi-lstar 3 &"));
    for (int i = 0; i < 20; i++) {
        qobject_unref(qmp_ok(&g, "{'execute': 'vmi-disable'}"));
        g_usleep(20 * 1000);
        qobject_unref(qmp_ok(&g, "{'execute': 'vmi-enable'}"));
        g_usleep(50 * 1000);
    }
    serial_wait(&g, from, "LSTAR_DONE", CMD_TIMEOUT_S);
    done = strstr(g.serial->str + from, "LSTAR_DONE");
    g_test_message("%.*s", (int)strcspn(done, "\r\n"), done);
    g_assert_cmpint(field_long(done, "writes"), >, 0);

    /*
     * enabled: both vCPUs trace (pinned: a task that moves between vCPUs
     * can have its exit in another ring than its entry)
     */
    for (int cpu = 0; cpu < 2; cpu++) {
        g_autofree char *cmd = g_strdup_printf("taskset -c %d vmi-storm 1000",
                                               cpu);

        g_free(out);
        out = guest_run(&g, cmd);
        wait_delivered(&g);
        check_storm_pid(&g, field_long(strstr(out, "STORM "), "pid"), 1000);
    }

    /* disabled: the guest runs on, on both vCPUs, and nothing is traced */
    qobject_unref(qmp_ok(&g, "{'execute': 'vmi-disable'}"));
    g_ptr_array_set_size(g.events, 0);
    g_free(out);
    out = guest_run(&g, "taskset -c 0 vmi-storm 1000; "
                    "taskset -c 1 vmi-storm 1000");
    g_assert_nonnull(strstr(out, "STORM "));
    status = qmp_ok(&g, "{'execute': 'query-status'}");
    g_assert_cmpstr(qdict_get_str(status, "status"), ==, "running");
    qobject_unref(status);
    g_assert_cmpuint(g.events->len, ==, 0);
    guest_stop(&g);
}

/*
 * -smp 4, a storm pinned to each vCPU: every vCPU's counters add up and
 * every call arrives, paired.
 */
static void test_smp4(void)
{
    g_autofree char *extra = vmi_from_boot("-smp 4");
    g_autofree char *out = NULL;
    QListEntry *e;
    QDict *info;
    Guest g;

    guest_start(&g, "pti=off", extra);
    g.count_only = true;
    guest_wait_ready(&g);
    check_accel(&g);
    g.pump_qmp = true;
    out = guest_run(&g, "for c in 0 1 2 3; do taskset -c $c vmi-storm 5000 "
                    "& done; wait");
    wait_delivered(&g);
    info = qmp_ok(&g, "{'execute': 'query-vmi'}");
    g_assert_cmpuint(qlist_size(qdict_get_qlist(info, "vcpus")), ==, 4);
    QLIST_FOREACH_ENTRY(qdict_get_qlist(info, "vcpus"), e) {
        QDict *v = qobject_to(QDict, e->value);

        g_test_message("vCPU %" PRId64 ": trapped %" PRId64 " produced %"
                       PRId64 " emitted %" PRId64 " dropped %" PRId64,
                       qdict_get_int(v, "vcpu"), qdict_get_int(v, "trapped"),
                       qdict_get_int(v, "produced"),
                       qdict_get_int(v, "emitted"),
                       qdict_get_int(v, "dropped"));
        g_assert_cmpint(qdict_get_int(v, "emitted") +
                        qdict_get_int(v, "dropped"), ==,
                        qdict_get_int(v, "produced"));
        g_assert_cmpint(qdict_get_int(v, "trapped"), >=, 10000);
    }
    g_assert_cmpint(qdict_get_int(info, "dropped"), ==, 0);
    qobject_unref(info);
    g_assert_cmpuint(g.counted[0], ==, 20000);
    g_assert_cmpuint(g.counted[1], ==, 20000);
    guest_stop(&g);
}

static void test_cmdline_errors(void)
{
    static const struct {
        const char *opt;
        const char *msg;
    } cases[] = {
        { "profile=%s,bogus=1", "Invalid parameter 'bogus'" },
        { "profile=%s,syscalls=maybe", "'syscalls'" },
        { "syscalls=on", "-vmi: profile=FILE is required" },
        { "profile=/nonexistent/p.json", "'/nonexistent/p.json'" },
        { "profile=%s,filter-direction=sideways",
          "filter-direction: 'sideways' is not enter, exit or both" },
        { "profile=%s,filter-syscalls=read::write",
          "filter-syscalls='read::write' has an empty item" },
        { "profile=%s,filter-syscalls=nosuchcall",
          "no system call 'nosuchcall'" },
        { "profile=%s,filter-pids=12:abc", "filter-pids: 'abc' is not a "
          "number" },
        { "profile=%s,overflow=sometimes",
          "overflow: 'sometimes' is not drop or block" },
        { "profile=%s,chardev=nosuch", "chardev 'nosuch' does not exist" },
        { "profile=%s,ring-size=1000",
          "ring-size: 1000 is not a power of 2 from 64 to 1048576" },
        { "profile=%s,ring-size=0",
          "ring-size: 0 is not a power of 2 from 64 to 1048576" },
        { "profile=%s,ring-size=32",
          "ring-size: 32 is not a power of 2 from 64 to 1048576" },
        { "profile=%s,ring-bytes=0",
          "ring-bytes: 0 is out of range (1048576 to 68719476736)" },
        { "profile=%s,ring-bytes=1023K",
          "ring-bytes: 1047552 is out of range (1048576 to 68719476736)" },
        { "profile=%s,ring-bytes=65G",
          "ring-bytes: 69793218560 is out of range "
          "(1048576 to 68719476736)" },
        { "profile=%s,ring-size=2097152",
          "ring-size: 2097152 is not a power of 2 from 64 to 1048576" },
        { "profile=%s,ring-size=-1",
          "Value '-1' is out of range for parameter 'ring-size'" },
        { "profile=%s,filter-pids=-1",
          "filter: pid -1 is out of range (0 to 2147483647)" },
        { "profile=%s,filter-pids=2147483648",
          "filter: pid 2147483648 is out of range (0 to 2147483647)" },
        { "profile=%s,filter-pids=9223372036854775808",
          "filter-pids: '9223372036854775808' is not a number" },
    };
    g_autofree char *profile = guest_file("profile.json");
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *opt = g_strdup_printf(cases[i].opt, profile);
        g_autofree char *out = NULL, *errout = NULL;
        const char *argv[] = { qemu, "-M", "none", "-display", "none",
                               "-vmi", opt, NULL };
        int status;

        g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL,
                                   &out, &errout, &status, NULL));
        g_test_message("-vmi %s: %s", opt, errout);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
        g_assert_nonnull(strstr(errout, cases[i].msg));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (!guest_dir()) {
        g_test_skip("VMI_GUEST_DIR is not set (make check-qtest sets it)");
        return g_test_run();
    }
    qtest_add_func("/vmi/cmdline/errors", test_cmdline_errors);
    qtest_add_func("/vmi/syscalls/qmp", test_qmp);
    qtest_add_func("/vmi/syscalls/cmdline", test_cmdline);
    qtest_add_func("/vmi/syscalls/pti", test_pti);
    qtest_add_func("/vmi/syscalls/reboot", test_reboot);
    qtest_add_func("/vmi/syscalls/smp", test_smp);
    qtest_add_func("/vmi/syscalls/pending", test_pending);
    qtest_add_func("/vmi/processes/forkexec", test_forkexec);
    qtest_add_func("/vmi/syscalls/ia32", test_ia32);
    qtest_add_func("/vmi/filter", test_filter);
    qtest_add_func("/vmi/delivery/drop", test_delivery_drop);
    qtest_add_func("/vmi/delivery/bytes", test_delivery_bytes);
    qtest_add_func("/vmi/delivery/block", test_delivery_block);
    qtest_add_func("/vmi/delivery/block-int80", test_delivery_block_int80);
    qtest_add_func("/vmi/delivery/block-rcu", test_delivery_block_rcu);
    qtest_add_func("/vmi/delivery/chardev", test_delivery_chardev);
    qtest_add_func("/vmi/delivery/smp4", test_smp4);
    qtest_add_func("/vmi/lifecycle", test_lifecycle);
    qtest_add_func("/vmi/lifecycle/savevm", test_savevm);
    qtest_add_func("/vmi/lifecycle/lstar-race", test_lstar_race);
    qtest_add_func("/vmi/hotplug", test_hotplug);
    qtest_add_func("/vmi/gdbstub", test_gdbstub);
    qtest_add_func("/vmi/memory", test_memory);
    qtest_add_func("/vmi/qmp/edges", test_qmp_edges);
    if (g_getenv("VMI_BENCH")) {
        qtest_add_func("/vmi/bench/storm", bench_storm);
    }
    return g_test_run();
}
