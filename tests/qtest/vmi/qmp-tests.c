/*
 * kvm-vmi qtest: every vmi QMP command at its edges (/vmi/qmp/...)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Numeric arguments at their limits, sent verbatim: negative, 0, the
 * largest value and the first one past it.
 */

#include "qemu/osdep.h"
#include "vmi/framework.h"

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

void vmi_test_add_qmp(void)
{
    qtest_add_func("/vmi/qmp/edges", test_qmp_edges);
}
