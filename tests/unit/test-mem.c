/*
 * Unit tests: page-table walk and bounded reads.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "guest-mem.h"

static void test_4k(gconstpointer la57p)
{
    GuestMem *g = gm_new(GPOINTER_TO_INT(la57p));
    uint64_t va = 0x00007f1234567000ULL;
    uint64_t pa = gm_map_new(g, va, 8192), got, v;
    VmiMem m;

    gm_put64(g, pa + 0x10, 0x1122334455667788ULL);
    gm_mem(g, &m);
    g_assert_true(vmi_translate(&m, va + 0x10, &got));
    g_assert_cmphex(got, ==, pa + 0x10);
    g_assert_true(vmi_read_u64(&m, va + 0x10, &v));
    g_assert_cmphex(v, ==, 0x1122334455667788ULL);
    /* unmapped neighbours and a non-canonical address */
    g_assert_false(vmi_translate(&m, va - 4096, &got));
    g_assert_false(vmi_translate(&m, va + 8192, &got));
    g_assert_false(vmi_translate(&m, 0x0000800000000000ULL, &got));
    gm_free(g);
}

static void test_large_pages(void)
{
    GuestMem *g = gm_new(false);
    uint64_t va2m = 0xffff888000000000ULL, va1g = 0xffff889000000000ULL;
    uint64_t got;
    VmiMem m;

    gm_map(g, va2m, 0x200000, 1ULL << 21);
    gm_map(g, va1g, 0x40000000, 1ULL << 30);
    gm_mem(g, &m);
    g_assert_true(vmi_translate(&m, va2m + 0x12345, &got));
    g_assert_cmphex(got, ==, 0x200000 + 0x12345);
    g_assert_true(vmi_translate(&m, va1g + 0x2345678, &got));
    g_assert_cmphex(got, ==, 0x40000000 + 0x2345678);
    /* a 1 GiB page beyond guest RAM: translates, but reading fails */
    g_assert_false(vmi_read_u64(&m, va1g + 0x2345678, &got));
    gm_free(g);
}

static void test_not_present(void)
{
    GuestMem *g = gm_new(false);
    uint64_t va = 0x400000, pa = gm_map_new(g, va, 4096), got;
    uint64_t table = g->root;
    VmiMem m;

    (void)pa;
    /* clear the present bit of the PTE: walk the 4 levels by hand */
    for (int level = 4; level > 1; level--) {
        table = gm_get64(g, table + ((va >> (12 + 9 * (level - 1))) & 511) * 8)
                & VMI_PHYS_MASK;
    }
    gm_put64(g, table + ((va >> 12) & 511) * 8,
             gm_get64(g, table + ((va >> 12) & 511) * 8) & ~1ULL);
    gm_mem(g, &m);
    g_assert_false(vmi_translate(&m, va, &got));
    gm_free(g);
}

static void test_cross_page_and_strings(void)
{
    GuestMem *g = gm_new(false);
    uint64_t va = 0x7000000;
    uint64_t pa1 = gm_alloc(g, 4096, 4096), pa2 = gm_alloc(g, 4096, 4096);
    char buf[64];
    bool truncated;
    uint64_t v;
    VmiMem m;

    /* two virtually adjacent pages, physically apart */
    gm_map(g, va, pa2, 4096);
    gm_map(g, va + 4096, pa1, 4096);
    memcpy(g->ram + pa2 + 4090, "/etc/p", 6);
    memcpy(g->ram + pa1, "asswd\0", 6);
    gm_mem(g, &m);

    g_assert_cmpint(vmi_read_cstr(&m, va + 4090, buf, sizeof(buf),
                                  &truncated), ==, 11);
    g_assert_false(truncated);
    g_assert_cmpstr(buf, ==, "/etc/passwd");
    g_assert_true(vmi_read_u64(&m, va + 4092, &v));
    g_assert_cmpmem(&v, 8, "tc/passw", 8);

    /* bound: no NUL within the buffer */
    g_assert_cmpint(vmi_read_cstr(&m, va + 4090, buf, 4, &truncated), ==, 3);
    g_assert_true(truncated);
    g_assert_cmpstr(buf, ==, "/et");

    /* string running into an unmapped page */
    memset(g->ram + pa1, 'x', 4096);
    g_assert_cmpint(vmi_read_cstr(&m, va + 4096 + 4000, buf, sizeof(buf),
                                  &truncated), ==, 63);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(vmi_read_cstr(&m, va + 8192 - 10, buf, sizeof(buf),
                                  &truncated), ==, 10);
    g_assert_true(truncated);

    /* unreadable first byte */
    g_assert_cmpint(vmi_read_cstr(&m, 0xdead0000, buf, sizeof(buf),
                                  &truncated), ==, -1);
    g_assert_false(vmi_read_u64(&m, va + 8190, &v));
    gm_free(g);
}

static void test_cycle_bounded(void)
{
    GuestMem *g = gm_new(false);
    uint64_t got;
    VmiMem m;

    /* a PML4 entry pointing back at the PML4: the walk is 4 reads, no more */
    gm_put64(g, g->root, g->root | 0x3);
    gm_mem(g, &m);
    g->reads = 0;
    vmi_translate(&m, 0x1000, &got);
    g_assert_cmpuint(g->reads, <=, 4);
    gm_free(g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/vmi/mem/4k-4level", GINT_TO_POINTER(0), test_4k);
    g_test_add_data_func("/vmi/mem/4k-5level", GINT_TO_POINTER(1), test_4k);
    g_test_add_func("/vmi/mem/large-pages", test_large_pages);
    g_test_add_func("/vmi/mem/not-present", test_not_present);
    g_test_add_func("/vmi/mem/cross-page-strings", test_cross_page_and_strings);
    g_test_add_func("/vmi/mem/cycle-bounded", test_cycle_bounded);
    return g_test_run();
}
