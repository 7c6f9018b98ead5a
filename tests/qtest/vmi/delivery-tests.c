/*
 * kvm-vmi qtest: event delivery (/vmi/filter, /vmi/delivery/...)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What reaches the client, and what it costs QEMU: filters at the
 * source, a client that does not read (drop, or block the guest),
 * byte budgets, a chardev instead of QMP, four vCPUs at once; and
 * that a blocked guest never deadlocks QEMU.
 */

#include "qemu/osdep.h"
#include <sys/un.h>
#include "qapi/error.h"
#include "qobject/qjson.h"
#include "qobject/qlist.h"
#include "vmi/framework.h"
#include "vmi/truth.h"

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

/* QEMU's resident memory, in kB */
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

/*
 * A QMP client at @path that negotiates capabilities, so that it gets
 * events, and then never reads again.
 */
static int idle_qmp_client(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    const char *caps = "{\"execute\": \"qmp_capabilities\"}\n";
    g_autoptr(GString) got = g_string_new("");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    char buf[4096];

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(write(fd, caps, strlen(caps)), ==, strlen(caps));
    /* the greeting, then the answer: it is in command mode */
    while (!strstr(got->str, "\"return\"")) {
        ssize_t n = read(fd, buf, sizeof(buf));

        g_assert_cmpint(n, >, 0);
        g_string_append_len(got, buf, n);
    }
    return fd;
}

/*
 * A second QMP client that stops reading holds back neither the guest
 * (overflow=block) nor the client that reads: it skips events, counted
 * in query-vmi, and the reading client gets every one.
 */
static void test_delivery_idle_monitor(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmi-idle-XXXXXX", NULL);
    g_autofree char *sock = g_build_filename(dir, "idle.sock", NULL);
    g_autofree char *boot = vmi_from_boot("");
    g_autofree char *extra = g_strdup_printf(
        "%s,overflow=block,ring-size=4096 "
        "-chardev socket,id=idle,path=%s,server=on,wait=off "
        "-mon chardev=idle,mode=control", boot, sock);
    g_autofree char *out = NULL;
    QDict *info;
    int idle;
    Guest g;

    guest_start(&g, "pti=off", extra);
    g.count_only = true;
    guest_wait_ready(&g);
    check_accel(&g);
    idle = idle_qmp_client(sock);
    g.pump_qmp = true;
    /* 60,000 events of some 300 bytes: well past what the idle one holds */
    out = guest_run(&g, "vmi-storm 30000");
    g_assert_nonnull(strstr(out, "STORM "));
    wait_delivered(&g);
    g_assert_cmpint(sum_vcpus(&g, "dropped"), ==, 0);
    g_assert_cmpuint(g.counted[0], ==, 30000);
    g_assert_cmpuint(g.counted[1], ==, 30000);
    info = qmp_ok(&g, "{'execute': 'query-vmi'}");
    g_test_message("the idle client skipped %" PRId64 " events",
                   qdict_get_int(info, "skipped"));
    g_assert_cmpint(qdict_get_int(info, "skipped"), >, 0);
    g_assert_cmpint(qdict_get_int(info, "dropped"), ==, 0);
    qobject_unref(info);
    close(idle);
    guest_stop(&g);
    unlink(sock);
    rmdir(dir);
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

/* SIGALRM: QEMU did not answer; say so before the test dies */
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

void vmi_test_add_delivery(void)
{
    qtest_add_func("/vmi/filter", test_filter);
    qtest_add_func("/vmi/delivery/drop", test_delivery_drop);
    qtest_add_func("/vmi/delivery/bytes", test_delivery_bytes);
    qtest_add_func("/vmi/delivery/block", test_delivery_block);
    qtest_add_func("/vmi/delivery/block-int80", test_delivery_block_int80);
    qtest_add_func("/vmi/delivery/block-rcu", test_delivery_block_rcu);
    qtest_add_func("/vmi/delivery/chardev", test_delivery_chardev);
    qtest_add_func("/vmi/delivery/idle-monitor",
                   test_delivery_idle_monitor);
    qtest_add_func("/vmi/delivery/smp4", test_smp4);
}
