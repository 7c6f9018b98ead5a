/*
 * kvm-vmi qtest: the lifecycle of tracing (/vmi/lifecycle, .../savevm)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vmi-enable and vmi-disable over and over while the guest runs, and
 * snapshots: refused while tracing, traced again after loadvm.
 */

#include "qemu/osdep.h"
#include "qobject/qjson.h"
#include "qobject/qlist.h"
#include "vmi/framework.h"
#include "vmi/truth.h"

#define LIFECYCLE_ROUNDS 1000

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

void vmi_test_add_lifecycle(void)
{
    qtest_add_func("/vmi/lifecycle", test_lifecycle);
    qtest_add_func("/vmi/lifecycle/savevm", test_savevm);
}
