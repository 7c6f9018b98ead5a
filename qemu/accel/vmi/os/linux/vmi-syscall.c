/*
 * kvm-vmi: system call prototypes from the guest kernel, typed arguments
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A kernel built with CONFIG_FTRACE_SYSCALLS (Debian's are) keeps, for
 * every SYSCALL_DEFINEx, the C types and names of the parameters as
 * strings.  Reading them from the guest gives every system call of the
 * running kernel, new ones included, named and typed arguments without a
 * table of ours; the table below only adds meaning (flag names) to some.
 * Everything read is guest-controlled: bounded and checked.
 */

#include "qemu/osdep.h"
#include "accel/vmi/os/linux/vmi-syscall.h"

#define SOCKADDR_MAX    128     /* sizeof(struct sockaddr_storage) */

static char *proto_text(VmiMem *m, uint64_t ptr)
{
    char buf[VMI_PROTO_TEXT_MAX];
    bool truncated;
    ssize_t len = vmi_read_cstr(m, ptr, buf, sizeof(buf), &truncated);

    return len < 0 || truncated ? NULL : g_utf8_make_valid(buf, len);
}

bool vmi_syscall_proto_read(VmiMem *m, uint64_t meta,
                            const VmiSyscallMetaLayout *layout,
                            VmiSyscallProto *p)
{
    uint32_t nb_args;
    uint64_t types, args;

    memset(p, 0, sizeof(*p));
    if (layout->nb_args_bits == 0 || layout->nb_args_bits > 32 ||
        layout->nb_args_shift + layout->nb_args_bits > 32 ||
        !vmi_read_u32(m, meta + layout->nb_args, &nb_args)) {
        return false;
    }
    nb_args = (nb_args >> layout->nb_args_shift) &
              (UINT32_MAX >> (32 - layout->nb_args_bits));
    if (nb_args > VMI_MAX_ARGS ||
        !vmi_read_u64(m, meta + layout->types, &types) ||
        !vmi_read_u64(m, meta + layout->args, &args)) {
        return false;
    }
    for (unsigned i = 0; i < nb_args; i++) {
        uint64_t t, a;

        if (!vmi_read_u64(m, types + i * 8ULL, &t) ||
            !vmi_read_u64(m, args + i * 8ULL, &a)) {
            vmi_syscall_proto_clear(p);
            return false;
        }
        p->type[i] = proto_text(m, t);
        p->name[i] = proto_text(m, a);
        if (!p->type[i] || !p->name[i]) {
            vmi_syscall_proto_clear(p);
            return false;
        }
        p->nargs = i + 1;
    }
    p->known = true;
    return true;
}

void vmi_syscall_proto_clear(VmiSyscallProto *p)
{
    for (unsigned i = 0; i < VMI_MAX_ARGS; i++) {
        g_free(p->name[i]);
        g_free(p->type[i]);
    }
    memset(p, 0, sizeof(*p));
}

/* Flag sets */

typedef struct FlagName {
    uint64_t bits;
    const char *name;
} FlagName;

/*
 * Append the names of @table's flags set in @value, then what is left
 * in hex.  Multi-bit entries come first so that they win.
 */
static char *flags_text(const FlagName *table, size_t n, uint64_t value,
                        GString *s)
{
    for (size_t i = 0; i < n; i++) {
        if (table[i].bits && (value & table[i].bits) == table[i].bits) {
            g_string_append_printf(s, "%s%s", s->len ? "|" : "",
                                   table[i].name);
            value &= ~table[i].bits;
        }
    }
    if (value || !s->len) {
        g_string_append_printf(s, "%s0x%" PRIx64, s->len ? "|" : "", value);
    }
    return g_string_free(s, false);
}

static const FlagName open_flags[] = {
    { 04010000, "O_SYNC" }, { 020200000, "O_TMPFILE" },
    { 0100, "O_CREAT" }, { 0200, "O_EXCL" }, { 0400, "O_NOCTTY" },
    { 01000, "O_TRUNC" }, { 02000, "O_APPEND" }, { 04000, "O_NONBLOCK" },
    { 010000, "O_DSYNC" }, { 020000, "O_ASYNC" }, { 040000, "O_DIRECT" },
    { 0100000, "O_LARGEFILE" }, { 0200000, "O_DIRECTORY" },
    { 0400000, "O_NOFOLLOW" }, { 01000000, "O_NOATIME" },
    { 02000000, "O_CLOEXEC" }, { 010000000, "O_PATH" },
};

char *vmi_open_flags(uint64_t flags)
{
    static const char *const acc[] = {
        "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"
    };
    GString *s = g_string_new(acc[flags & 3]);

    return flags_text(open_flags, G_N_ELEMENTS(open_flags), flags & ~3ULL, s);
}

static const FlagName prot_flags[] = {
    { 1, "PROT_READ" }, { 2, "PROT_WRITE" }, { 4, "PROT_EXEC" },
    { 0x01000000, "PROT_GROWSDOWN" }, { 0x02000000, "PROT_GROWSUP" },
};

static const FlagName mmap_flags[] = {
    { 3, "MAP_SHARED_VALIDATE" }, { 1, "MAP_SHARED" }, { 2, "MAP_PRIVATE" },
    { 0x10, "MAP_FIXED" }, { 0x20, "MAP_ANONYMOUS" }, { 0x40, "MAP_32BIT" },
    { 0x100, "MAP_GROWSDOWN" }, { 0x800, "MAP_DENYWRITE" },
    { 0x1000, "MAP_EXECUTABLE" }, { 0x2000, "MAP_LOCKED" },
    { 0x4000, "MAP_NORESERVE" }, { 0x8000, "MAP_POPULATE" },
    { 0x10000, "MAP_NONBLOCK" }, { 0x20000, "MAP_STACK" },
    { 0x40000, "MAP_HUGETLB" }, { 0x80000, "MAP_SYNC" },
    { 0x100000, "MAP_FIXED_NOREPLACE" },
};

static const FlagName clone_flags[] = {
    { 0x100, "CLONE_VM" }, { 0x200, "CLONE_FS" }, { 0x400, "CLONE_FILES" },
    { 0x800, "CLONE_SIGHAND" }, { 0x1000, "CLONE_PIDFD" },
    { 0x2000, "CLONE_PTRACE" }, { 0x4000, "CLONE_VFORK" },
    { 0x8000, "CLONE_PARENT" }, { 0x10000, "CLONE_THREAD" },
    { 0x20000, "CLONE_NEWNS" }, { 0x40000, "CLONE_SYSVSEM" },
    { 0x80000, "CLONE_SETTLS" }, { 0x100000, "CLONE_PARENT_SETTID" },
    { 0x200000, "CLONE_CHILD_CLEARTID" }, { 0x400000, "CLONE_DETACHED" },
    { 0x800000, "CLONE_UNTRACED" }, { 0x1000000, "CLONE_CHILD_SETTID" },
    { 0x2000000, "CLONE_NEWCGROUP" }, { 0x4000000, "CLONE_NEWUTS" },
    { 0x8000000, "CLONE_NEWIPC" }, { 0x10000000, "CLONE_NEWUSER" },
    { 0x20000000, "CLONE_NEWPID" }, { 0x40000000, "CLONE_NEWNET" },
    { 0x80000000, "CLONE_IO" },
};

static const FlagName access_modes[] = {
    { 4, "R_OK" }, { 2, "W_OK" }, { 1, "X_OK" },
};

static char *named_flags(const char *syscall, const char *arg, uint64_t v)
{
    if ((!strcmp(syscall, "open") || !strcmp(syscall, "openat")) &&
        !strcmp(arg, "flags")) {
        return vmi_open_flags((uint32_t)v);
    }
    if ((!strcmp(syscall, "mmap") || !strcmp(syscall, "mprotect") ||
         !strcmp(syscall, "pkey_mprotect")) && !strcmp(arg, "prot")) {
        return (uint32_t)v ? flags_text(prot_flags, G_N_ELEMENTS(prot_flags),
                                        (uint32_t)v, g_string_new(""))
                           : g_strdup("PROT_NONE");
    }
    if (!strcmp(syscall, "mmap") && !strcmp(arg, "flags")) {
        return flags_text(mmap_flags, G_N_ELEMENTS(mmap_flags), (uint32_t)v,
                          g_string_new(""));
    }
    if (!strcmp(syscall, "clone") && !strcmp(arg, "clone_flags")) {
        GString *s = g_string_new("");

        /* the low byte is the signal sent to the parent on exit */
        if (v & 0xff) {
            g_string_printf(s, "SIG%u", (unsigned)(v & 0xff));
        }
        return flags_text(clone_flags, G_N_ELEMENTS(clone_flags),
                          v & ~0xffULL, s);
    }
    if ((!strcmp(syscall, "access") || !strcmp(syscall, "faccessat") ||
         !strcmp(syscall, "faccessat2")) && !strcmp(arg, "mode")) {
        return (uint32_t)v ? flags_text(access_modes,
                                        G_N_ELEMENTS(access_modes),
                                        (uint32_t)v, g_string_new(""))
                           : g_strdup("F_OK");
    }
    return NULL;
}

/* User memory */

void vmi_text_budget_init(VmiTextBudget *b)
{
    b->event = VMI_EVENT_TEXT_MAX;
    b->arrays = VMI_ARRAYS_TEXT_MAX;
}

/* At most @max bytes of a string at @ptr; *@len: the bytes read. */
static char *user_string_max(VmiMem *m, uint64_t ptr, size_t max,
                             size_t *len, bool *truncated, bool *unreadable)
{
    g_autofree char *buf = g_malloc(max + 1);
    bool cut;
    ssize_t n = vmi_read_cstr(m, ptr, buf, max + 1, &cut);

    if (n < 0) {
        *unreadable = true;
        return NULL;
    }
    *truncated |= cut;
    *len = n;
    return g_utf8_make_valid(buf, n);
}

char *vmi_user_string(VmiMem *m, uint64_t ptr, VmiTextBudget *b,
                      bool *truncated, bool *unreadable)
{
    size_t len;
    char *str;

    /* the NUL counts, so a spent budget reads nothing */
    if (b->event <= 1) {
        *truncated = true;
        return g_strdup("");
    }
    str = user_string_max(m, ptr, MIN(VMI_STRING_MAX, b->event - 1), &len,
                          truncated, unreadable);
    if (str) {
        b->event -= len + 1;
    }
    return str;
}

char **vmi_user_strings(VmiMem *m, uint64_t ptr, unsigned ptr_size,
                        VmiTextBudget *b, bool *truncated, bool *unreadable)
{
    GPtrArray *v = g_ptr_array_new();

    for (unsigned i = 0; ; i++) {
        /*
         * Each string counts its NUL, so that empty strings use the
         * budget too, and one byte left holds none.
         */
        size_t left = MIN(b->event, b->arrays);
        uint64_t s;
        char *str = NULL;
        size_t len;

        if (i == VMI_ARGV_MAX || left <= 1) {
            *truncated = true;
            break;
        }
        if (ptr_size == 4) {
            uint32_t s32;

            if (!vmi_read_u32(m, ptr + i * 4ULL, &s32)) {
                *unreadable = true;
                break;
            }
            s = s32;
        } else if (!vmi_read_u64(m, ptr + i * 8ULL, &s)) {
            *unreadable = true;
            break;
        }
        if (s) {
            str = user_string_max(m, s, MIN(VMI_STRING_MAX, left - 1), &len,
                                  truncated, unreadable);
        }
        if (!str) {
            break;
        }
        b->event -= len + 1;
        b->arrays -= len + 1;
        g_ptr_array_add(v, str);
    }
    g_ptr_array_add(v, NULL);
    return (char **)g_ptr_array_free(v, false);
}

static void user_sockaddr(VmiMem *m, uint64_t ptr, uint64_t len, VmiParam *p)
{
    uint8_t sa[SOCKADDR_MAX + 1] = { 0 };
    VmiSockAddress *s = &p->sockaddr;
    uint16_t family;

    s->port = -1;
    if (len < 2 || len > SOCKADDR_MAX) {
        p->truncated = len > SOCKADDR_MAX;
        len = MIN(len, SOCKADDR_MAX);
        if (len < 2) {
            p->unreadable = true;
            return;
        }
    }
    if (!vmi_read(m, ptr, sa, len)) {
        p->unreadable = true;
        return;
    }
    family = sa[0] | sa[1] << 8;
    switch (family) {
    case 1: /* AF_UNIX: the path may fill sun_path without a NUL */
        s->family = g_strdup("AF_UNIX");
        if (len > 2 && sa[2] == 0) {
            g_autofree char *name = g_strndup((char *)sa + 3, len - 3);

            s->path = g_strconcat("@", name, NULL);
        } else {
            s->path = g_strndup((char *)sa + 2, len - 2);
        }
        break;
    case 2: /* AF_INET */
        s->family = g_strdup("AF_INET");
        if (len >= 8) {
            s->port = sa[2] << 8 | sa[3];
            s->address = g_strdup_printf("%u.%u.%u.%u", sa[4], sa[5], sa[6],
                                         sa[7]);
        }
        break;
    case 10: /* AF_INET6 */
        s->family = g_strdup("AF_INET6");
        if (len >= 24) {
            GString *a = g_string_new("");

            s->port = sa[2] << 8 | sa[3];
            for (int i = 0; i < 8; i++) {
                g_string_append_printf(a, "%s%x", i ? ":" : "",
                                       sa[8 + 2 * i] << 8 | sa[9 + 2 * i]);
            }
            s->address = g_string_free(a, false);
        }
        break;
    default:
        s->family = g_strdup_printf("%u", family);
        break;
    }
    if (s->path && !g_utf8_validate(s->path, -1, NULL)) {
        char *valid = g_utf8_make_valid(s->path, -1);

        g_free(s->path);
        s->path = valid;
    }
}

/* fd, dfd, oldfd, out_fd, epfd, pidfd... */
static bool is_fd_name(const char *n)
{
    return g_str_has_suffix(n, "fd");
}

/*
 * The metadata holds the types as the preprocessor left them: "__user"
 * is gone, so "const char *" is a string the caller passes in, while a
 * plain "char *" is mostly a buffer the kernel fills (read, getcwd).
 */
static bool is_string(const char *type, const char *name)
{
    if (!strcmp(type, "const char *") || !strcmp(type, "const char __user *")) {
        return strcmp(name, "buf") && strcmp(name, "ubuf");
    }
    if (!strcmp(type, "char *") || !strcmp(type, "char __user *")) {
        /* mount(2), which predates const */
        return !strcmp(name, "dev_name") || !strcmp(name, "dir_name") ||
               !strcmp(name, "type");
    }
    return false;
}

static bool is_strings(const char *type)
{
    return !strcmp(type, "const char *const *") ||
           !strcmp(type, "const char __user *const __user *");
}

static bool is_sockaddr(const char *type)
{
    return !strcmp(type, "struct sockaddr *") ||
           !strcmp(type, "struct sockaddr __user *");
}

void vmi_params_decode(const VmiSyscallProto *proto, const char *syscall,
                       const uint64_t args[VMI_MAX_ARGS], unsigned ptr_size,
                       VmiMem *m, VmiParams *out)
{
    VmiTextBudget budget;

    vmi_text_budget_init(&budget);
    memset(out, 0, sizeof(*out));
    if (!proto || !proto->known) {
        return;
    }
    for (unsigned i = 0; i < proto->nargs; i++) {
        VmiParam *p = &out->p[i];
        const char *type = proto->type[i], *name = proto->name[i];
        char *flags;

        p->name = g_strdup(name);
        p->type = g_strdup(type);
        p->raw = args[i];
        out->n = i + 1;
        if (proto->int_size[i]) {
            /* a 32-bit process's long is 4 bytes, as its registers are */
            unsigned bits = 8 * MIN(proto->int_size[i], ptr_size);

            p->has_int = true;
            p->int_signed = proto->int_signed[i];
            p->int_value = args[i];
            if (bits < 64 && p->int_signed) {
                p->int_value = (uint64_t)((int64_t)(args[i] << (64 - bits)) >>
                                          (64 - bits));
            } else if (bits < 64) {
                p->int_value = args[i] & ((1ULL << bits) - 1);
            }
        }
        if (is_strings(type)) {
            p->kind = VMI_PARAM_STRINGS;
            if (args[i]) {
                p->strings = vmi_user_strings(m, args[i], ptr_size, &budget,
                                              &p->truncated, &p->unreadable);
            }
        } else if (is_string(type, name)) {
            p->kind = VMI_PARAM_STRING;
            if (args[i]) {
                p->text = vmi_user_string(m, args[i], &budget,
                                          &p->truncated, &p->unreadable);
            }
        } else if (is_sockaddr(type) &&
                   i + 1 < proto->nargs &&
                   !strcmp(proto->type[i + 1], "int")) {
            /* an input address, with its length by value (not accept's) */
            p->kind = VMI_PARAM_SOCKADDR;
            if (args[i]) {
                user_sockaddr(m, args[i], (uint32_t)args[i + 1], p);
            }
        } else if (!strchr(type, '*') && is_fd_name(name)) {
            /* as a C int, the way people write fds (-1, AT_FDCWD) */
            p->kind = VMI_PARAM_FD;
            p->text = (int32_t)args[i] == -100 ?
                      g_strdup("AT_FDCWD") :
                      g_strdup_printf("%d", (int32_t)args[i]);
        } else if (!strchr(type, '*')) {
            flags = named_flags(syscall, name, args[i]);
            if (flags) {
                p->kind = VMI_PARAM_FLAGS;
                p->text = flags;
            }
        }
    }
}
