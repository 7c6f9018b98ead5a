/*
 * kvm-vmi qtest: what tracing costs the guest (/vmi/bench/storm)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Not a test: a measurement for make bench-kvm, registered only with
 * VMI_BENCH set.  Prints ns per system call with tracing off and on.
 */

#include "qemu/osdep.h"
#include "vmi/framework.h"
#include "vmi/truth.h"

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

void vmi_test_add_bench(void)
{
    if (g_getenv("VMI_BENCH")) {
        qtest_add_func("/vmi/bench/storm", bench_storm);
    }
}
