/*
 * libFuzzer target: the page walker and every argument decoder, on guest
 * physical memory that is the fuzzer's input, page tables included.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Input: byte 0 selects 4- or 5-level paging; bytes 8..71 are eight
 * virtual addresses the decoders start from; the whole input, zero
 * padded to 1 MiB, is guest physical memory with the top-level page
 * table at 0x1000.
 */

#include "qemu/osdep.h"
#include "accel/vmi/os/linux/vmi-linux.h"

#define PHYS_SIZE   (1u << 20)

static uint8_t phys[PHYS_SIZE];
static uint8_t out[8192];

static bool read_phys(void *opaque, uint64_t pa, void *buf, size_t len)
{
    if (pa >= PHYS_SIZE || len > PHYS_SIZE - pa) {
        return false;
    }
    memcpy(buf, phys + pa, len);
    return true;
}

static VmiSyscallProto proto(const char *const *types,
                             const char *const *names, unsigned n)
{
    VmiSyscallProto p = { .known = true, .nargs = n };

    for (unsigned i = 0; i < n; i++) {
        p.type[i] = (char *)types[i];
        p.name[i] = (char *)names[i];
    }
    return p;
}

static void decode_all(VmiMem *m, const uint64_t va[8])
{
    static const char *const open_t[] = { "int", "const char *", "int",
                                          "umode_t" };
    static const char *const open_n[] = { "dfd", "filename", "flags",
                                          "mode" };
    static const char *const exec_t[] = { "const char *",
                                          "const char *const *",
                                          "const char *const *" };
    static const char *const exec_n[] = { "filename", "argv", "envp" };
    static const char *const conn_t[] = { "int", "struct sockaddr *",
                                          "int" };
    static const char *const conn_n[] = { "fd", "uservaddr", "addrlen" };
    static const char *const mmap_t[] = { "unsigned long", "unsigned long",
                                          "unsigned long", "unsigned long",
                                          "unsigned long", "unsigned long" };
    static const char *const mmap_n[] = { "addr", "len", "prot", "flags",
                                          "fd", "off" };
    const struct {
        const char *name;
        VmiSyscallProto p;
    } calls[] = {
        { "openat", proto(open_t, open_n, 4) },
        { "execve", proto(exec_t, exec_n, 3) },
        { "connect", proto(conn_t, conn_n, 3) },
        { "mmap", proto(mmap_t, mmap_n, 6) },
    };
    uint64_t args[6] = { va[0], va[1], va[2], va[3], va[4], va[5] };

    for (size_t i = 0; i < G_N_ELEMENTS(calls); i++) {
        for (unsigned ptr_size = 4; ptr_size <= 8; ptr_size += 4) {
            VmiParams ps;

            vmi_params_decode(&calls[i].p, calls[i].name, args, ptr_size, m,
                              &ps);
            vmi_params_clear(&ps);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t va[8] = { 0 };
    char buf[256];
    bool truncated, unreadable;
    uint64_t pa, v;
    VmiSyscallMetaLayout layout;
    VmiSyscallProto p;
    VmiMem m;

    if (size < 72) {
        return 0;
    }
    memset(phys, 0, sizeof(phys));
    memcpy(phys, data, MIN(size, sizeof(phys)));
    memcpy(va, data + 8, sizeof(va));
    vmi_mem_init(&m, read_phys, NULL, 0x1000, data[0] & 1);

    for (int i = 0; i < 8; i++) {
        VmiTextBudget budget;

        vmi_text_budget_init(&budget);
        truncated = unreadable = false;
        vmi_translate(&m, va[i], &pa);
        vmi_read_u64(&m, va[i], &v);
        vmi_read(&m, va[i], out, sizeof(out));
        vmi_read_cstr(&m, va[i], buf, sizeof(buf), &truncated);
        g_free(vmi_user_string(&m, va[i], &budget, &truncated,
                               &unreadable));
        g_strfreev(vmi_user_strings(&m, va[i], i & 1 ? 4 : 8, &budget,
                                    &truncated, &unreadable));
    }
    layout = (VmiSyscallMetaLayout) {
        .nb_args = data[1], .types = data[2], .args = data[3],
        .nb_args_shift = data[4] & 31, .nb_args_bits = data[5] & 63,
    };
    if (vmi_syscall_proto_read(&m, va[6], &layout, &p)) {
        vmi_syscall_proto_clear(&p);
    }
    decode_all(&m, va);
    return 0;
}
