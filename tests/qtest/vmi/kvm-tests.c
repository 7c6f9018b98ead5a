/*
 * kvm-vmi qtest: the debug registers and MSR_LSTAR (/vmi/gdbstub,
 * /vmi/hotplug, /vmi/lifecycle/lstar-race)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Under KVM vmi traps system calls with hardware breakpoints (debug
 * registers 1-3), placed again each time the guest writes MSR_LSTAR.
 * These tests share the debug registers with gdb, program them on a
 * hot-plugged vCPU, and race vmi-enable and vmi-disable with a guest
 * that rewrites MSR_LSTAR.  They run under TCG too: the same events
 * must come.
 */

#include "qemu/osdep.h"
#include "vmi/framework.h"
#include "vmi/gdb-client.h"
#include "vmi/truth.h"

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

    fd = gdb_connect(sock);
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

/* A vCPU hot-plugged while tracing is traced like the others. */
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
    g_autofree char *done = NULL;
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
    done = line_with(g.serial->str + from, "LSTAR_DONE");
    g_test_message("%s", done);
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

void vmi_test_add_kvm(void)
{
    qtest_add_func("/vmi/lifecycle/lstar-race", test_lstar_race);
    qtest_add_func("/vmi/hotplug", test_hotplug);
    qtest_add_func("/vmi/gdbstub", test_gdbstub);
}
