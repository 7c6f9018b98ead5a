/*
 * Unit tests: system call prototypes read from synthetic kernel memory,
 * and typed argument decoding from synthetic user memory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "guest-mem.h"
#include "accel/vmi/os/linux/vmi-syscall.h"

#define META    UINT64_C(0xffffffff82400000)
#define USER    UINT64_C(0x7ffd00000000)

/* struct syscall_metadata: nb_args at 12, types at 16, args at 24 */
#define OFF_NB_ARGS 12
#define OFF_TYPES   16
#define OFF_ARGS    24

typedef struct Fixture {
    GuestMem *g;
    uint64_t meta_pa;
    uint64_t user_pa;
    VmiSyscallMetaLayout layout;
    VmiMem m;
} Fixture;

static uint64_t put_str(Fixture *f, uint64_t off, const char *s)
{
    memcpy(f->g->ram + f->meta_pa + off, s, strlen(s) + 1);
    return META + off;
}

/* openat's metadata, as a 6.1 kernel lays it out */
static void fixture_init(Fixture *f)
{
    static const char *const types[] = {
        "int", "const char *", "int", "umode_t"
    };
    static const char *const names[] = { "dfd", "filename", "flags", "mode" };
    uint8_t *meta;

    f->g = gm_new(false);
    f->layout = (VmiSyscallMetaLayout) {
        .nb_args = OFF_NB_ARGS, .types = OFF_TYPES, .args = OFF_ARGS,
        .nb_args_bits = 32,
    };
    f->meta_pa = gm_map_new(f->g, META, 8192);
    f->user_pa = gm_map_new(f->g, USER, 2 * 4096);
    meta = f->g->ram + f->meta_pa;
    *(uint32_t *)(meta + OFF_NB_ARGS) = 4;
    *(uint64_t *)(meta + OFF_TYPES) = META + 0x100;
    *(uint64_t *)(meta + OFF_ARGS) = META + 0x140;
    for (int i = 0; i < 4; i++) {
        *(uint64_t *)(meta + 0x100 + 8 * i) = put_str(f, 0x200 + 0x40 * i,
                                                      types[i]);
        *(uint64_t *)(meta + 0x140 + 8 * i) = put_str(f, 0x400 + 0x40 * i,
                                                      names[i]);
    }
    gm_mem(f->g, &f->m);
}

static bool read_proto(Fixture *f, VmiSyscallProto *p)
{
    return vmi_syscall_proto_read(&f->m, META, &f->layout, p);
}

static void test_proto(void)
{
    Fixture f;
    VmiSyscallProto p;
    uint8_t *meta;

    fixture_init(&f);
    meta = f.g->ram + f.meta_pa;
    g_assert_true(read_proto(&f, &p));
    g_assert_true(p.known);
    g_assert_cmpuint(p.nargs, ==, 4);
    g_assert_cmpstr(p.name[1], ==, "filename");
    g_assert_cmpstr(p.type[1], ==, "const char *");
    vmi_syscall_proto_clear(&p);

    /* more arguments than registers */
    *(uint32_t *)(meta + OFF_NB_ARGS) = 7;
    g_assert_false(read_proto(&f, &p));
    g_assert_false(p.known);
    *(uint32_t *)(meta + OFF_NB_ARGS) = UINT32_MAX;
    g_assert_false(read_proto(&f, &p));
    *(uint32_t *)(meta + OFF_NB_ARGS) = 4;

    /* a type string without its NUL within the bound */
    memset(meta + 0x200, 'x', 0x40);
    memset(meta + 0x240, 'y', 0x40);
    g_assert_false(read_proto(&f, &p));
    put_str(&f, 0x200, "int");

    /* an array pointer into unmapped memory */
    *(uint64_t *)(meta + OFF_ARGS) = META + 0x100000;
    g_assert_false(read_proto(&f, &p));
    g_assert_null(p.name[0]);
    /* the metadata itself unmapped */
    g_assert_false(vmi_syscall_proto_read(&f.m, META + 0x200000, &f.layout,
                                          &p));
    gm_free(f.g);
}

/*
 * 7.x: nb_args is a 7-bit bitfield; user_arg_is_str (bit 7),
 * user_arg_size and user_mask share its word.
 */
static void test_proto_bitfield(void)
{
    Fixture f;
    VmiSyscallProto p;
    uint8_t *meta;

    fixture_init(&f);
    meta = f.g->ram + f.meta_pa;
    /* nb_args 4, user_arg_is_str 1, user_arg_size 1, user_mask 0x2 */
    *(uint32_t *)(meta + OFF_NB_ARGS) = 4 | 1 << 7 | 1 << 8 | 0x2 << 16;
    /* read as the int it was up to 6.x, the word is no argument count */
    g_assert_false(read_proto(&f, &p));
    f.layout.nb_args_shift = 0;
    f.layout.nb_args_bits = 7;
    g_assert_true(read_proto(&f, &p));
    g_assert_cmpuint(p.nargs, ==, 4);
    g_assert_cmpstr(p.type[3], ==, "umode_t");
    vmi_syscall_proto_clear(&p);
    /* a layout that does not fit the 32 bits read is refused */
    f.layout.nb_args_shift = 30;
    g_assert_false(read_proto(&f, &p));
    f.layout.nb_args_shift = 0;
    f.layout.nb_args_bits = 0;
    g_assert_false(read_proto(&f, &p));
    gm_free(f.g);
}

static VmiSyscallProto make_proto(const char *const *types,
                                  const char *const *names, unsigned n)
{
    VmiSyscallProto p = { .known = true, .nargs = n };

    for (unsigned i = 0; i < n; i++) {
        p.type[i] = g_strdup(types[i]);
        p.name[i] = g_strdup(names[i]);
    }
    return p;
}

static void test_decode_openat(void)
{
    Fixture f;
    VmiSyscallProto p;
    VmiParams ps;
    uint64_t args[6] = { (uint32_t)-100, USER + 4090, 02005101, 0640 };

    fixture_init(&f);
    g_assert_true(read_proto(&f, &p));
    /* the path crosses into the second page */
    memcpy(f.g->ram + f.user_pa + 4090, "/etc/passwd", 12);
    vmi_params_decode(&p, "openat", args, 8, &f.m, &ps);
    g_assert_cmpuint(ps.n, ==, 4);
    g_assert_cmpint(ps.p[0].kind, ==, VMI_PARAM_FD);
    g_assert_cmpstr(ps.p[0].text, ==, "AT_FDCWD");
    g_assert_cmpint(ps.p[1].kind, ==, VMI_PARAM_STRING);
    g_assert_cmpstr(ps.p[1].text, ==, "/etc/passwd");
    g_assert_cmpint(ps.p[2].kind, ==, VMI_PARAM_FLAGS);
    g_assert_cmpstr(ps.p[2].text, ==,
                    "O_WRONLY|O_CREAT|O_TRUNC|O_NONBLOCK|O_CLOEXEC");
    g_assert_cmpint(ps.p[3].kind, ==, VMI_PARAM_VALUE);
    g_assert_cmphex(ps.p[3].raw, ==, 0640);
    vmi_params_clear(&ps);

    /* unknown bits stay visible; unreadable and NULL strings */
    args[1] = USER + 0x100000;
    args[2] = 0x80000000 | 2;
    vmi_params_decode(&p, "openat", args, 8, &f.m, &ps);
    g_assert_true(ps.p[1].unreadable);
    g_assert_null(ps.p[1].text);
    g_assert_cmpstr(ps.p[2].text, ==, "O_RDWR|0x80000000");
    vmi_params_clear(&ps);
    args[1] = 0;
    vmi_params_decode(&p, "openat", args, 8, &f.m, &ps);
    g_assert_false(ps.p[1].unreadable);
    g_assert_null(ps.p[1].text);
    vmi_params_clear(&ps);

    /* no prototype, nothing decoded */
    vmi_params_decode(NULL, "openat", args, 8, &f.m, &ps);
    g_assert_cmpuint(ps.n, ==, 0);
    vmi_syscall_proto_clear(&p);
    gm_free(f.g);
}

/*
 * Integer parameters at their type's width and sign: only the low bits
 * of a register are the argument (setuid(0) with garbage above bit 31,
 * dup(-1), close_range(4294967294, ...)).
 */
static void test_decode_int_width(void)
{
    Fixture f;
    VmiSyscallProto p;
    VmiParams ps;
    uint64_t args[6] = { 0xffffffff00000000ULL, 0x0000000dffffffffULL,
                         0xfffffffffffffffeULL, 0xffffffff80000000ULL };

    fixture_init(&f);
    g_assert_true(read_proto(&f, &p));
    /* as read_protos sets them from the profile's base types */
    p.int_size[0] = 4;                  /* uid_t */
    p.int_signed[0] = false;
    p.int_size[1] = 4;                  /* int */
    p.int_signed[1] = true;
    p.int_size[2] = 8;                  /* long */
    p.int_signed[2] = true;
    p.int_size[3] = 2;                  /* umode_t */
    p.int_signed[3] = false;
    vmi_params_decode(&p, "anything", args, 8, &f.m, &ps);
    g_assert_true(ps.p[0].has_int);
    g_assert_false(ps.p[0].int_signed);
    g_assert_cmphex(ps.p[0].int_value, ==, 0);
    g_assert_true(ps.p[1].int_signed);
    g_assert_cmpint((int64_t)ps.p[1].int_value, ==, -1);
    g_assert_cmpint((int64_t)ps.p[2].int_value, ==, -2);
    g_assert_cmphex(ps.p[3].int_value, ==, 0);
    /* the register stays as it was */
    g_assert_cmphex(ps.p[1].raw, ==, 0x0000000dffffffffULL);
    vmi_params_clear(&ps);

    /* a 32-bit process: long is 4 bytes */
    args[2] = 0xfffffffeULL;
    vmi_params_decode(&p, "anything", args, 4, &f.m, &ps);
    g_assert_cmpint((int64_t)ps.p[2].int_value, ==, -2);
    vmi_params_clear(&ps);

    /* not an integer: no typed value */
    p.int_size[0] = 0;
    vmi_params_decode(&p, "anything", args, 8, &f.m, &ps);
    g_assert_false(ps.p[0].has_int);
    vmi_params_clear(&ps);
    vmi_syscall_proto_clear(&p);
    gm_free(f.g);
}

static void test_decode_strings(void)
{
    static const char *const types[] = {
        "const char *", "const char *const *", "const char *const *"
    };
    static const char *const names[] = { "filename", "argv", "envp" };
    VmiSyscallProto p = make_proto(types, names, 3);
    uint64_t args[6] = { USER, USER + 0x100, USER + 0x800 };
    Fixture f;
    VmiParams ps;
    uint64_t *argv, *envp;

    fixture_init(&f);
    argv = (uint64_t *)(f.g->ram + f.user_pa + 0x100);
    envp = (uint64_t *)(f.g->ram + f.user_pa + 0x800);
    strcpy((char *)f.g->ram + f.user_pa, "/bin/sh");
    strcpy((char *)f.g->ram + f.user_pa + 8, "\xff\xfe");
    argv[0] = USER;
    argv[1] = USER + 8;         /* not UTF-8 */
    argv[2] = 0;
    /* 300 entries, all the same string: only 256 are kept */
    for (int i = 0; i < 300; i++) {
        envp[i] = USER;
    }
    envp[300] = 0;
    vmi_params_decode(&p, "execve", args, 8, &f.m, &ps);
    g_assert_cmpint(ps.p[1].kind, ==, VMI_PARAM_STRINGS);
    g_assert_cmpuint(g_strv_length(ps.p[1].strings), ==, 2);
    g_assert_true(g_utf8_validate(ps.p[1].strings[1], -1, NULL));
    g_assert_false(ps.p[1].truncated);
    g_assert_cmpuint(g_strv_length(ps.p[2].strings), ==, 256);
    g_assert_true(ps.p[2].truncated);
    vmi_params_clear(&ps);

    /* an array running into unmapped memory */
    args[1] = USER + 2 * 4096 - 8;
    *(uint64_t *)(f.g->ram + f.user_pa + 2 * 4096 - 8) = USER;
    vmi_params_decode(&p, "execve", args, 8, &f.m, &ps);
    g_assert_cmpuint(g_strv_length(ps.p[1].strings), ==, 1);
    g_assert_true(ps.p[1].unreadable);
    vmi_params_clear(&ps);
    vmi_syscall_proto_clear(&p);
    gm_free(f.g);
}

/*
 * 256 pointers to one 4000-byte string, as argv and again as envp: the
 * entry and string bounds alone would copy two megabytes.  One event's
 * arrays share 32 KiB, and all its text 64 KiB.
 */
static void test_strings_bytes(void)
{
    bool truncated = false, unreadable = false;
    VmiTextBudget budget;
    uint64_t *array;
    size_t total = 0;
    char **v;
    char *str;
    Fixture f;

    fixture_init(&f);
    memset(f.g->ram + f.user_pa, 'x', 4000);
    f.g->ram[f.user_pa + 4000] = 0;
    array = (uint64_t *)(f.g->ram + f.user_pa + 4096);
    for (int i = 0; i < 256; i++) {
        array[i] = USER;
    }
    vmi_text_budget_init(&budget);
    v = vmi_user_strings(&f.m, USER + 4096, 8, &budget, &truncated,
                         &unreadable);
    for (char **s = v; *s; s++) {
        total += strlen(*s) + 1;
    }
    g_assert_cmpuint(total, <=, VMI_ARRAYS_TEXT_MAX);
    /* 8 whole strings, then what is left of the bound in the 9th */
    g_assert_cmpuint(g_strv_length(v), ==, 9);
    g_assert_cmpuint(strlen(v[7]), ==, 4000);
    g_assert_cmpuint(strlen(v[8]), ==, VMI_ARRAYS_TEXT_MAX - 8 * 4001 - 1);
    g_assert_true(truncated);
    g_assert_false(unreadable);
    g_strfreev(v);

    /* envp of the same event: the arrays' share is spent */
    truncated = false;
    v = vmi_user_strings(&f.m, USER + 4096, 8, &budget, &truncated,
                         &unreadable);
    g_assert_cmpuint(g_strv_length(v), ==, 0);
    g_assert_true(truncated);
    g_strfreev(v);

    /* plain strings draw on the rest of the event's 64 KiB */
    total = 0;
    for (int i = 0; i < 10; i++) {
        truncated = false;
        str = vmi_user_string(&f.m, USER, &budget, &truncated, &unreadable);
        g_assert_nonnull(str);
        g_assert_cmpint(truncated, ==, i >= 8);
        /* the 10th finds the budget spent: empty, marked truncated */
        total += i < 9 ? strlen(str) + 1 : 0;
        g_assert_cmpint(i < 9 || !*str, ==, true);
        g_free(str);
    }
    g_assert_cmpuint(total, ==, VMI_EVENT_TEXT_MAX - VMI_ARRAYS_TEXT_MAX);
    g_assert_false(unreadable);
    gm_free(f.g);
}

/* A 32-bit process's argv: 4-byte pointers, below 4 GiB */
static void test_decode_strings32(void)
{
    static const char *const types[] = {
        "const char *", "const char *const *", "const char *const *"
    };
    static const char *const names[] = { "filename", "argv", "envp" };
    VmiSyscallProto p = make_proto(types, names, 3);
    const uint64_t low = 0x08048000;
    uint64_t args[6] = { low, low + 0x100, 0 };
    uint64_t pa;
    uint32_t *argv;
    Fixture f;
    VmiParams ps;

    fixture_init(&f);
    pa = gm_map_new(f.g, low, 4096);
    argv = (uint32_t *)(f.g->ram + pa + 0x100);
    strcpy((char *)f.g->ram + pa, "/bin/vmi-ia32");
    strcpy((char *)f.g->ram + pa + 0x20, "two words");
    argv[0] = low;
    argv[1] = low + 0x20;
    argv[2] = 0;
    argv[3] = low;              /* past the end: must not be read */
    vmi_params_decode(&p, "execve", args, 4, &f.m, &ps);
    g_assert_cmpstr(ps.p[0].text, ==, "/bin/vmi-ia32");
    g_assert_cmpuint(g_strv_length(ps.p[1].strings), ==, 2);
    g_assert_cmpstr(ps.p[1].strings[1], ==, "two words");
    g_assert_false(ps.p[1].truncated || ps.p[1].unreadable);
    g_assert_null(ps.p[2].strings);
    vmi_params_clear(&ps);
    vmi_syscall_proto_clear(&p);
    gm_free(f.g);
}

static void test_decode_sockaddr(void)
{
    static const char *const types[] = { "int", "struct sockaddr *", "int" };
    static const char *const names[] = { "fd", "uservaddr", "addrlen" };
    static const uint8_t in4[] = { 2, 0, 0x1f, 0x90, 10, 0, 2, 15 };
    static const uint8_t in6[28] = { 10, 0, 0, 53, 0, 0, 0, 0,
                                     0x20, 0x01, 0x0d, 0xb8, [23] = 1 };
    static const uint8_t un_abstract[] = { 1, 0, 0, 'x', '1' };
    VmiSyscallProto p = make_proto(types, names, 3);
    uint64_t args[6] = { 3, USER };
    Fixture f;
    VmiParams ps;
    uint8_t *sa;

    fixture_init(&f);
    sa = f.g->ram + f.user_pa;

    memcpy(sa, in4, sizeof(in4));
    args[2] = 16;
    vmi_params_decode(&p, "connect", args, 8, &f.m, &ps);
    g_assert_cmpint(ps.p[1].kind, ==, VMI_PARAM_SOCKADDR);
    g_assert_cmpstr(ps.p[1].sockaddr.family, ==, "AF_INET");
    g_assert_cmpstr(ps.p[1].sockaddr.address, ==, "10.0.2.15");
    g_assert_cmpint(ps.p[1].sockaddr.port, ==, 8080);
    vmi_params_clear(&ps);

    memcpy(sa, in6, sizeof(in6));
    args[2] = sizeof(in6);
    vmi_params_decode(&p, "connect", args, 8, &f.m, &ps);
    g_assert_cmpstr(ps.p[1].sockaddr.family, ==, "AF_INET6");
    g_assert_cmpstr(ps.p[1].sockaddr.address, ==, "2001:db8:0:0:0:0:0:1");
    g_assert_cmpint(ps.p[1].sockaddr.port, ==, 53);
    vmi_params_clear(&ps);

    memcpy(sa, un_abstract, sizeof(un_abstract));
    args[2] = sizeof(un_abstract);
    vmi_params_decode(&p, "connect", args, 8, &f.m, &ps);
    g_assert_cmpstr(ps.p[1].sockaddr.family, ==, "AF_UNIX");
    g_assert_cmpstr(ps.p[1].sockaddr.path, ==, "@x1");
    g_assert_cmpint(ps.p[1].sockaddr.port, ==, -1);
    vmi_params_clear(&ps);

    /* a sun_path filling the whole length without a NUL, bad UTF-8 */
    sa[0] = 1;
    sa[1] = 0;
    memset(sa + 2, 0xff, 108);
    args[2] = 110;
    vmi_params_decode(&p, "connect", args, 8, &f.m, &ps);
    g_assert_true(g_utf8_validate(ps.p[1].sockaddr.path, -1, NULL));
    vmi_params_clear(&ps);

    /* lengths the kernel would refuse; an address across unmapped memory */
    args[2] = 1;
    vmi_params_decode(&p, "connect", args, 8, &f.m, &ps);
    g_assert_true(ps.p[1].unreadable);
    g_assert_null(ps.p[1].sockaddr.family);
    vmi_params_clear(&ps);
    args[2] = 0xffffffff;
    vmi_params_decode(&p, "connect", args, 8, &f.m, &ps);
    g_assert_true(ps.p[1].truncated);
    vmi_params_clear(&ps);
    args[1] = USER + 2 * 4096 - 4;
    args[2] = 16;
    vmi_params_decode(&p, "connect", args, 8, &f.m, &ps);
    g_assert_true(ps.p[1].unreadable);
    vmi_params_clear(&ps);
    vmi_syscall_proto_clear(&p);
    gm_free(f.g);
}

static void test_flags(void)
{
    static const char *const mt[] = {
        "unsigned long", "unsigned long", "unsigned long", "unsigned long",
        "unsigned long", "unsigned long"
    };
    static const char *const mn[] = {
        "addr", "len", "prot", "flags", "fd", "off"
    };
    static const char *const ct[] = { "unsigned long" };
    static const char *const cn[] = { "clone_flags" };
    VmiSyscallProto mmap = make_proto(mt, mn, 6);
    VmiSyscallProto clone = make_proto(ct, cn, 1);
    uint64_t args[6] = { 0, 4096, 0, 0x22, -1, 0 };
    VmiParams ps;
    VmiMem m = { 0 };

    vmi_params_decode(&mmap, "mmap", args, 8, &m, &ps);
    g_assert_cmpstr(ps.p[2].text, ==, "PROT_NONE");
    g_assert_cmpstr(ps.p[3].text, ==, "MAP_PRIVATE|MAP_ANONYMOUS");
    g_assert_cmpstr(ps.p[4].text, ==, "-1");
    vmi_params_clear(&ps);
    /* the same names in another system call mean nothing to us */
    vmi_params_decode(&mmap, "msync", args, 8, &m, &ps);
    g_assert_cmpint(ps.p[3].kind, ==, VMI_PARAM_VALUE);
    vmi_params_clear(&ps);

    args[0] = 0x3d0f00 | 17;
    vmi_params_decode(&clone, "clone", args, 8, &m, &ps);
    g_assert_cmpstr(ps.p[0].text, ==,
                    "SIG17|CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|"
                    "CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|"
                    "CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID");
    vmi_params_clear(&ps);

    g_autofree char *o = vmi_open_flags(0);
    g_assert_cmpstr(o, ==, "O_RDONLY");
    vmi_syscall_proto_clear(&mmap);
    vmi_syscall_proto_clear(&clone);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmi/syscall/proto", test_proto);
    g_test_add_func("/vmi/syscall/proto/bitfield", test_proto_bitfield);
    g_test_add_func("/vmi/syscall/decode-openat", test_decode_openat);
    g_test_add_func("/vmi/syscall/int-width", test_decode_int_width);
    g_test_add_func("/vmi/syscall/decode-strings", test_decode_strings);
    g_test_add_func("/vmi/syscall/decode-strings32", test_decode_strings32);
    g_test_add_func("/vmi/syscall/strings-bytes", test_strings_bytes);
    g_test_add_func("/vmi/syscall/decode-sockaddr", test_decode_sockaddr);
    g_test_add_func("/vmi/syscall/flags", test_flags);
    return g_test_run();
}
