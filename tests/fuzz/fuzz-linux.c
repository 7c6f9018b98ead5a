/*
 * libFuzzer target: the Linux walkers (kernel identification, the
 * current task, the process list, a program's path through dentries and
 * mounts) on kernel memory whose contents are the fuzzer's input.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The page tables are fixed and map a few kernel regions; the input
 * fills them.  An odd 64-bit word of the input becomes a pointer into
 * one of the regions, so that lists, cycles and parent chains are
 * within the fuzzer's reach; even words stay as they are.
 */

#include "guest-mem.h"
#include "vmi-linux.h"
#include "test-kernel-types.h"

#define SLIDE           UINT64_C(0x1e000000)
#define ENTRY           UINT64_C(0xffffffff81c00080)
#define TABLE           UINT64_C(0xffffffff82000000)
#define BANNER          UINT64_C(0xffffffff82161000)
#define INIT_TASK       UINT64_C(0xffffffff82a10000)
#define CURRENT_TASK    UINT64_C(0x1f000)
#define GS_BASE         UINT64_C(0xffff88807fc00000)
#define HEAP            UINT64_C(0xffff888003a00000)
#define BANNER_TEXT     "Linux version 6.1.0-fuzz"

static const struct {
    uint64_t va;
    uint64_t size;
} regions[] = {
    { TABLE + SLIDE, 8192 },
    { INIT_TASK + SLIDE, 16384 },
    { GS_BASE + CURRENT_TASK, 4096 },
    { HEAP, 65536 },
};

static GuestMem *g;
static uint64_t region_pa[G_N_ELEMENTS(regions)];
static VmiLinux *l;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    g_autofree char *b64 = g_base64_encode((const guchar *)BANNER_TEXT,
                                           strlen(BANNER_TEXT));
    g_autofree char *json = g_strdup_printf(
        "{\"user_types\": " TEST_KERNEL_TYPES_JSON ","
        " \"symbols\": {"
        "  \"entry_SYSCALL_64\": {\"address\": %" PRIu64 "},"
        "  \"sys_call_table\": {\"address\": %" PRIu64 "},"
        "  \"linux_banner\": {\"address\": %" PRIu64 ","
        "                     \"constant_data\": \"%s\"},"
        "  \"current_task\": {\"address\": %" PRIu64 "},"
        "  \"init_task\": {\"address\": %" PRIu64 "},"
        "  \"__x64_sys_read\": {\"address\": %" PRIu64 "},"
        "  \"__x64_sys_openat\": {\"address\": %" PRIu64 "}}}",
        ENTRY, TABLE, BANNER, b64, CURRENT_TASK, INIT_TASK,
        HEAP, HEAP + 8);
    char *err = NULL;
    VmiProfile *p = vmi_profile_parse("fuzz.json", json, strlen(json), &err);
    uint64_t pa;

    g_assert(p);
    l = vmi_linux_new(p, &err);
    g_assert(l);
    g = gm_new(false);
    pa = gm_map_new(g, (BANNER + SLIDE) & ~4095ULL, 4096);
    strcpy((char *)g->ram + pa + (BANNER & 4095), BANNER_TEXT);
    for (size_t i = 0; i < G_N_ELEMENTS(regions); i++) {
        region_pa[i] = gm_map_new(g, regions[i].va, regions[i].size);
    }
    return 0;
}

static void fill(const uint8_t *data, size_t size)
{
    size_t at = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(regions); i++) {
        for (uint64_t off = 0; off < regions[i].size; off += 8) {
            uint64_t w = 0;

            if (at + 8 <= size) {
                memcpy(&w, data + at, 8);
                at += 8;
            }
            if (w & 1) {
                size_t r = (w >> 1) % G_N_ELEMENTS(regions);

                w = regions[r].va + ((w >> 8) % regions[r].size);
            }
            gm_put64(g, region_pa[i] + off, w);
        }
    }
}

static bool visit(const VmiProcessInfo *p, void *opaque)
{
    unsigned *n = opaque;

    return ++*n < 4096;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *err = NULL;
    VmiProcessInfo info;
    unsigned n = 0;
    VmiKernel *k;
    VmiTask task;
    VmiMem m;

    fill(data, size);
    gm_mem(g, &m);
    k = vmi_linux_identify(l, &m, ENTRY + SLIDE, &err);
    g_free(err);
    err = NULL;
    if (k) {
        vmi_kernel_syscall_name(k, VMI_ABI_X86_64, 1);
        vmi_kernel_syscall_name(k, VMI_ABI_IA32, 5);
        if (!vmi_linux_processes(l, k, &m, visit, &n, &err)) {
            g_free(err);
        }
        vmi_kernel_free(k);
    }
    vmi_linux_current(l, &m, GS_BASE, &task);
    for (uint64_t off = 0; off < 65536; off += 16384) {
        g_free(vmi_linux_exe_path(l, &m, HEAP + off));
        vmi_linux_read_process(l, &m, HEAP + off, &info);
    }
    return 0;
}
