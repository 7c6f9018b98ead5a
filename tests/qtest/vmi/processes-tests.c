/*
 * kvm-vmi qtest: process events (/vmi/processes/...)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * VMI_PROCESS_START and VMI_PROCESS_EXIT where reading the guest is
 * hardest: an exec right after fork.  vmi-proc's story (fork, exec,
 * exit, kill) is ground truth, checked in truth.c by /vmi/syscalls/smp.
 */

#include "qemu/osdep.h"
#include "qobject/qjson.h"
#include "vmi/framework.h"
#include "vmi/truth.h"

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

void vmi_test_add_processes(void)
{
    qtest_add_func("/vmi/processes/forkexec", test_forkexec);
}
