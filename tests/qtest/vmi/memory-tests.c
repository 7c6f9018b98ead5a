/*
 * kvm-vmi qtest: reading guest memory (/vmi/memory)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The libvmi-style QMP commands: read a process's memory by CR3 or
 * pid, translate, read physically, list the processes, read the
 * registers; and their errors.
 */

#include "qemu/osdep.h"
#include "qobject/qlist.h"
#include "vmi/framework.h"
#include "vmi/truth.h"

/* Wait for an event of @pid entering @name; return its CR3. */
static uint64_t cr3_of(Guest *g, long pid, const char *name)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    while (g_get_monotonic_time() < deadline) {
        for (guint i = 0; i < g->events->len; i++) {
            QDict *ev = g_ptr_array_index(g->events, i);

            if (ev_pid(ev) == pid && ev_is(ev, "enter", name)) {
                return dict_uint(ev, "cr3");
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
            /* kernel addresses (the upper half, 5-level paging too) */
            g_assert_cmphex(dict_uint(p, "task"), >=, 0xff00000000000000ull);
            g_assert_cmphex(dict_uint(p, "pgd"), >=, 0xff00000000000000ull);
        } else if (qdict_get_int(p, "pid") == 2) {
            kthread = true;
            g_assert_cmpstr(name, ==, "kthreadd");
            g_assert_false(qdict_haskey(p, "cr3"));
            g_assert_false(qdict_haskey(p, "pgd"));
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

void vmi_test_add_memory(void)
{
    qtest_add_func("/vmi/memory", test_memory);
}
