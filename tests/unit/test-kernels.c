/*
 * Unit tests: the kernels a session keeps, and its identification rate.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "accel/vmi/core/vmi-kernels.h"

static VmiKernel *kernel_at(uint64_t lstar)
{
    VmiKernel *k = g_new0(VmiKernel, 1);

    k->lstar = lstar;
    return k;
}

/*
 * A guest alternating between kernels finds each kept one again; the
 * fifth one pushes out the one unused the longest.
 */
static void test_kept(void)
{
    VmiKernelsKept kept = { 0 };
    VmiKernel *k;

    for (uint64_t i = 1; i <= 4; i++) {
        g_assert_null(vmi_kernels_put(&kept, kernel_at(i * 0x1000)));
    }
    g_assert_null(vmi_kernels_take(&kept, 0x9000));
    /* taking the oldest (0x1000) and putting it back makes it the newest */
    k = vmi_kernels_take(&kept, 0x1000);
    g_assert_nonnull(k);
    g_assert_cmphex(k->lstar, ==, 0x1000);
    g_assert_null(vmi_kernels_take(&kept, 0x1000));
    g_assert_null(vmi_kernels_put(&kept, k));
    k = vmi_kernels_put(&kept, kernel_at(0x5000));
    g_assert_nonnull(k);
    g_assert_cmphex(k->lstar, ==, 0x2000);
    g_free(k);
    for (uint64_t l = 0x1000; l <= 0x5000; l += 0x1000) {
        k = vmi_kernels_take(&kept, l);
        if (l == 0x2000) {
            g_assert_null(k);
            continue;
        }
        g_assert_nonnull(k);
        g_assert_cmphex(k->lstar, ==, l);
        g_assert_null(vmi_kernels_put(&kept, k));
    }
    vmi_kernels_free(&kept, (void (*)(VmiKernel *))g_free);
    g_assert_null(kept.kernel[0]);
}

/*
 * At most per_s identifications a second; the first refusal of a window
 * is reported once; a new window (or a clock that went back) allows again.
 */
static void test_rate(void)
{
    VmiRateLimit rl = { .per_s = 8 };
    int64_t now = 1000000;

    for (unsigned i = 0; i < 8; i++) {
        g_assert_cmpint(vmi_rate_check(&rl, now + i), ==, VMI_RATE_ALLOWED);
    }
    g_assert_cmpint(vmi_rate_check(&rl, now + 10), ==,
                    VMI_RATE_REFUSED_FIRST);
    for (unsigned i = 0; i < 100000; i++) {
        g_assert_cmpint(vmi_rate_check(&rl, now + 999), ==,
                        VMI_RATE_REFUSED);
    }
    g_assert_cmpint(vmi_rate_check(&rl, now + 1000), ==, VMI_RATE_ALLOWED);
    for (unsigned i = 1; i < 8; i++) {
        g_assert_cmpint(vmi_rate_check(&rl, now + 1500), ==,
                        VMI_RATE_ALLOWED);
    }
    g_assert_cmpint(vmi_rate_check(&rl, now + 1999), ==,
                    VMI_RATE_REFUSED_FIRST);
    g_assert_cmpint(vmi_rate_check(&rl, now - 5000), ==, VMI_RATE_ALLOWED);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmi/kernels/kept", test_kept);
    g_test_add_func("/vmi/kernels/rate", test_rate);
    return g_test_run();
}
