/*
 * kvm-vmi qtest: system calls (/vmi/syscalls/...)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * VMI_SYSCALL events against the ground truth: traced from the
 * command line or enabled over QMP, with and without page table
 * isolation, 32-bit calls, two vCPUs, across a reboot, and the calls
 * left in flight when a process or the machine goes away.
 */

#include "qemu/osdep.h"
#include "qobject/qlist.h"
#include "qobject/qstring.h"
#include "vmi/framework.h"
#include "vmi/truth.h"

#define SMP_STORM_CALLS 3000

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
    g_assert_cmpstr(qdict_get_str(info, "state"), !=, "off");
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
            !g_strcmp0(ev_param_str(ev, "filename"), "/dev/ttyS0")) {
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
    g_assert_cmpstr(qdict_get_str(info, "state"), ==, "off");
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
    /* KASLR moves the kernel by whole 2 MiB pages */
    g_assert_cmpint(qdict_get_int(info, "kaslr-slide") % (2 * 1024 * 1024),
                    ==, 0);
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
    g_assert_cmpstr(qdict_get_str(info, "state"), ==, "off");
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
    slide = g_strdup_printf("%" PRId64, qdict_get_int(info, "kaslr-slide"));
    qobject_unref(info);
    return slide;
}

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

/*
 * The guest reboots into a newly randomised kernel: the new kernel is
 * identified (under KVM its write of MSR_LSTAR moves the breakpoints)
 * and traced like the first one.
 */
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

/* Two vCPUs, a storm pinned on each, and the ground truth. */
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

void vmi_test_add_syscalls(void)
{
    qtest_add_func("/vmi/syscalls/qmp", test_qmp);
    qtest_add_func("/vmi/syscalls/cmdline", test_cmdline);
    qtest_add_func("/vmi/syscalls/pti", test_pti);
    qtest_add_func("/vmi/syscalls/reboot", test_reboot);
    qtest_add_func("/vmi/syscalls/smp", test_smp);
    qtest_add_func("/vmi/syscalls/pending", test_pending);
    qtest_add_func("/vmi/syscalls/ia32", test_ia32);
}
