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
 *
 * Input: the first VFS_MODEL_SIZE bytes describe a file system (see
 * build_vfs()), the rest fills the regions, 8 bytes a word.
 */

#include "guest-mem.h"
#include "accel/vmi/os/linux/vmi-linux.h"
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

/*
 * The file system model: dentries and mounts in fixed slots, and a task
 * whose mm->exe_file is on one of them.  A mount chain or cycle (each
 * mount's mnt_parent, mnt_mountpoint and mnt_root) or a dentry chain
 * (d_parent, d_name) is then a few bytes of input, where in the raw
 * regions it would take a dozen exact pointers.  Offsets are those of
 * test-kernel-types.h.
 */
#define VFS             UINT64_C(0xffff888005000000)
#define VFS_SIZE        0x8000
#define NR_DENTRIES     16
#define NR_MOUNTS       8
#define SLOT_SIZE       256
#define DENTRY_AT(i)    (VFS + (i) * SLOT_SIZE)
#define MOUNT_AT(i)     (VFS + 0x1000 + (i) * SLOT_SIZE)
#define VFS_MM          (VFS + 0x2000)
#define VFS_FILE        (VFS + 0x2400)
#define VFS_TASK        (VFS + 0x4000)
#define NAME_AT         0x80    /* a dentry's name, in its own slot */
#define NAME_LEN_MAX    127
#define UNREADABLE      UINT64_C(0xdead000000000000)
/* [file's mount][file's dentry] */
#define VFS_FILE_BYTES  2
/* per mount: [mnt_parent][mnt_mountpoint][mnt_root] */
#define VFS_MOUNT_BYTES 3
/* per dentry: [d_parent][name length][8 bytes, repeated to that length] */
#define VFS_DENTRY_BYTES 10
#define VFS_MODEL_SIZE  (VFS_FILE_BYTES + NR_MOUNTS * VFS_MOUNT_BYTES + \
                         NR_DENTRIES * VFS_DENTRY_BYTES)

enum {
    TASK_MM = 2296, MM_EXE_FILE = 944, FILE_PATH_MNT = 16,
    FILE_PATH_DENTRY = 24, DENTRY_PARENT = 24, DENTRY_NAME = 40,
    MOUNT_PARENT = 16, MOUNT_MOUNTPOINT = 24, MOUNT_MNT = 32,
    VFSMOUNT_ROOT = 0,
};

static const struct {
    uint64_t va;
    uint64_t size;
    bool model;         /* built by build_vfs(), not filled */
} regions[] = {
    { TABLE + SLIDE, 8192 },
    { INIT_TASK + SLIDE, 16384 },
    { GS_BASE + CURRENT_TASK, 4096 },
    { HEAP, 65536 },
    { VFS, VFS_SIZE, true },
};
#define VFS_REGION      4

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
        if (regions[i].model) {
            continue;
        }
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

static void vfs_put(uint64_t va, uint64_t v)
{
    gm_put64(g, region_pa[VFS_REGION] + (va - VFS), v);
}

/* A slot of @n from an index byte; the top bit makes it unreadable. */
static uint64_t slot(uint8_t b, unsigned n, uint64_t (*at)(unsigned))
{
    return b & 0x80 ? UNREADABLE + b : at(b % n);
}

static uint64_t dentry_at(unsigned i)
{
    return DENTRY_AT(i);
}

static uint64_t mount_at(unsigned i)
{
    return MOUNT_AT(i);
}

/* The file system model from its VFS_MODEL_SIZE bytes (zero padded). */
static void build_vfs(const uint8_t *data, size_t size)
{
    uint8_t in[VFS_MODEL_SIZE] = { 0 };
    const uint8_t *p = in + VFS_FILE_BYTES;

    memcpy(in, data, MIN(size, sizeof(in)));
    memset(g->ram + region_pa[VFS_REGION], 0, VFS_SIZE);
    vfs_put(VFS_TASK + TASK_MM, VFS_MM);
    vfs_put(VFS_MM + MM_EXE_FILE, VFS_FILE);
    vfs_put(VFS_FILE + FILE_PATH_MNT,
            slot(in[0], NR_MOUNTS, mount_at) + MOUNT_MNT);
    vfs_put(VFS_FILE + FILE_PATH_DENTRY, slot(in[1], NR_DENTRIES, dentry_at));
    for (unsigned i = 0; i < NR_MOUNTS; i++, p += VFS_MOUNT_BYTES) {
        vfs_put(MOUNT_AT(i) + MOUNT_PARENT, slot(p[0], NR_MOUNTS, mount_at));
        vfs_put(MOUNT_AT(i) + MOUNT_MOUNTPOINT,
                slot(p[1], NR_DENTRIES, dentry_at));
        vfs_put(MOUNT_AT(i) + MOUNT_MNT + VFSMOUNT_ROOT,
                slot(p[2], NR_DENTRIES, dentry_at));
    }
    for (unsigned i = 0; i < NR_DENTRIES; i++, p += VFS_DENTRY_BYTES) {
        uint8_t *name = g->ram + region_pa[VFS_REGION] +
                        (DENTRY_AT(i) - VFS) + NAME_AT;
        unsigned len = p[1] % (NAME_LEN_MAX + 1);

        vfs_put(DENTRY_AT(i) + DENTRY_PARENT,
                slot(p[0], NR_DENTRIES, dentry_at));
        vfs_put(DENTRY_AT(i) + DENTRY_NAME, DENTRY_AT(i) + NAME_AT);
        for (unsigned c = 0; c < len; c++) {
            name[c] = p[2 + c % 8];
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
    VmiWalkStatus st;
    unsigned n = 0;
    VmiLinuxKernel *k;
    VmiTask task;
    VmiMem m;

    build_vfs(data, size);
    if (size > VFS_MODEL_SIZE) {
        fill(data + VFS_MODEL_SIZE, size - VFS_MODEL_SIZE);
    } else {
        fill(NULL, 0);
    }
    gm_mem(g, &m);
    k = vmi_linux_identify(l, &m, ENTRY + SLIDE, &err);
    g_free(err);
    err = NULL;
    if (k) {
        vmi_linux_syscall_name(k, VMI_ABI_X86_64, 1);
        vmi_linux_syscall_name(k, VMI_ABI_IA32, 5);
        if (!vmi_linux_processes(l, k, &m, visit, &n, &err)) {
            g_free(err);
        }
        vmi_linux_current(l, k, &m, GS_BASE, &task);
        vmi_linux_kernel_free(k);
    }
    g_free(vmi_linux_exe_path(l, &m, VFS_TASK, &st));
    for (uint64_t off = 0; off < 65536; off += 16384) {
        g_free(vmi_linux_exe_path(l, &m, HEAP + off, &st));
        vmi_linux_read_process(l, &m, HEAP + off, &info);
    }
    return 0;
}
