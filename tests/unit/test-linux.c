/*
 * Unit tests: Linux kernel identification, task and argument reads on a
 * synthetic guest.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "guest-mem.h"
#include "accel/vmi/os/linux/vmi-linux.h"
#include "test-kernel-types.h"

#define SLIDE           UINT64_C(0x1e000000)
#define ENTRY           UINT64_C(0xffffffff81c00080)
#define TABLE           UINT64_C(0xffffffff82000360)
#define BANNER          UINT64_C(0xffffffff82161900)
#define SYS_READ        UINT64_C(0xffffffff81300000)
#define SYS_OPENAT      UINT64_C(0xffffffff81300100)
#define SYS_GETPPID     UINT64_C(0xffffffff81300200)
#define SYS_EXECVE      UINT64_C(0xffffffff81300300)
#define CURRENT_TASK    UINT64_C(0x1fb80)
#define SYSCALL_EXIT    UINT64_C(0xffffffff81a48860)
#define IA32_SYS_CALL   UINT64_C(0xffffffff81005630)
#define INIT_TASK       UINT64_C(0xffffffff82a1aa40)
#define GS_BASE         UINT64_C(0xffff88807fc00000)
#define TASK            UINT64_C(0xffff888003a00000)
#define USER            UINT64_C(0x7ffd00000000)
#define BANNER_TEXT     "Linux version 6.1.0-test (gcc) #1 SMP"

typedef struct Fixture {
    GuestMem *g;
    VmiLinux *l;
    uint64_t user_pa;
} Fixture;

/*
 * A profile for @banner with current_task at @current_task; @exit_symbol
 * is syscall_exit_to_user_mode, or do_syscall_64 for a kernel that
 * inlines the former (7.x).
 */
static VmiLinux *make_linux_with(const char *banner, uint64_t current_task,
                                 const char *exit_symbol)
{
    g_autofree char *b64 = g_base64_encode((const guchar *)banner,
                                           strlen(banner));
    g_autofree char *json = g_strdup_printf(
        "{\"user_types\": " TEST_KERNEL_TYPES_JSON ","
        " \"symbols\": {"
        "  \"entry_SYSCALL_64\": {\"address\": %" PRIu64 "},"
        "  \"sys_call_table\": {\"address\": %" PRIu64 "},"
        "  \"linux_banner\": {\"address\": %" PRIu64 ","
        "                     \"constant_data\": \"%s\"},"
        "  \"current_task\": {\"address\": %" PRIu64 "},"
        "  \"pti_init\": {\"address\": 1},"
        "  \"%s\": {\"address\": %" PRIu64 "},"
        "  \"ia32_sys_call\": {\"address\": %" PRIu64 "},"
        "  \"init_task\": {\"address\": %" PRIu64 "},"
        "  \"__x64_sys_read\": {\"address\": %" PRIu64 "},"
        "  \"__x64_sys_openat\": {\"address\": %" PRIu64 "},"
        "  \"__x64_sys_getppid\": {\"address\": %" PRIu64 "},"
        "  \"__x64_sys_execve\": {\"address\": %" PRIu64 "}}}",
        ENTRY, TABLE, BANNER, b64, current_task, exit_symbol, SYSCALL_EXIT,
        IA32_SYS_CALL,
        INIT_TASK,
        SYS_READ, SYS_OPENAT,
        SYS_GETPPID, SYS_EXECVE);
    char *err = NULL;
    VmiProfile *p = vmi_profile_parse("test.json", json, strlen(json), &err);
    VmiLinux *l;

    g_assert_nonnull(p);
    l = vmi_linux_new(p, &err);
    g_assert_null(err);
    return l;
}

static VmiLinux *make_linux_percpu(const char *banner, uint64_t current_task)
{
    return make_linux_with(banner, current_task, "syscall_exit_to_user_mode");
}

static VmiLinux *make_linux(const char *banner)
{
    return make_linux_percpu(banner, CURRENT_TASK);
}

static void fixture_init(Fixture *f, const char *banner)
{
    uint64_t pa, table[] = { SYS_READ, SYS_OPENAT, SYS_GETPPID, SYS_EXECVE, 0 };

    f->g = gm_new(false);
    f->l = make_linux(banner);
    pa = gm_map_new(f->g, (BANNER + SLIDE) & ~4095ULL, 4096);
    strcpy((char *)f->g->ram + pa + (BANNER & 4095), BANNER_TEXT "\n");
    pa = gm_map_new(f->g, (TABLE + SLIDE) & ~4095ULL, 8192);
    for (unsigned i = 0; i < G_N_ELEMENTS(table); i++) {
        gm_put64(f->g, pa + (TABLE & 4095) + 8 * i,
                 table[i] ? table[i] + SLIDE : 0);
    }
    pa = gm_map_new(f->g, GS_BASE + (CURRENT_TASK & ~4095ULL), 4096);
    gm_put64(f->g, pa + (CURRENT_TASK & 4095), TASK);
    pa = gm_map_new(f->g, TASK, 16384);
    memcpy(f->g->ram + pa + 2416, &(int32_t){ 1234 }, 4);
    memcpy(f->g->ram + pa + 2420, &(int32_t){ 1230 }, 4);
    /* comm is 16 bytes; fill it without a NUL: the read must stop */
    memcpy(f->g->ram + pa + 2976, "vmi-truth-long-name", 19);
    f->user_pa = gm_map_new(f->g, USER, 3 * 4096);
}

static void fixture_free(Fixture *f)
{
    vmi_linux_free(f->l);
    gm_free(f->g);
}

static const char *name64(const VmiLinuxKernel *k, uint64_t nr)
{
    return vmi_linux_syscall_name(k, VMI_ABI_X86_64, nr);
}

static void test_identify(void)
{
    Fixture f;
    VmiLinuxKernel *k;
    char *err = NULL;
    VmiMem m;

    fixture_init(&f, BANNER_TEXT "\n");
    gm_mem(f.g, &m);
    k = vmi_linux_identify(f.l, &m, ENTRY + SLIDE, &err);
    g_assert_null(err);
    g_assert_nonnull(k);
    g_assert_cmpint(k->common.slide, ==, SLIDE);
    g_assert_cmpuint(k->common.nr_syscalls, ==, 4);
    g_assert_cmpstr(name64(k, 1), ==, "openat");
    g_assert_cmpstr(name64(k, 2), ==, "getppid");
    g_assert_cmpstr(name64(k, 4), ==, "unknown");
    g_assert_cmpstr(name64(k, UINT64_MAX), ==, "unknown");
    g_assert_cmpstr(k->common.banner, ==, BANNER_TEXT);
    vmi_linux_kernel_free(k);

    /* not entry_SYSCALL_64 plus a 2 MiB-aligned slide */
    g_assert_null(vmi_linux_identify(f.l, &m, ENTRY + SLIDE + 0x1000, &err));
    g_assert_nonnull(strstr(err, "does not match profile 'test.json'"));
    g_free(err);
    err = NULL;
    /* a slide whose banner address is unmapped */
    g_assert_null(vmi_linux_identify(f.l, &m, ENTRY + SLIDE + 0x200000, &err));
    g_assert_nonnull(strstr(err, "no kernel banner"));
    g_free(err);
    err = NULL;
    g_assert_null(vmi_linux_identify(f.l, &m, 0, &err));
    g_free(err);
    fixture_free(&f);
}

/* The functions KVM breakpoints trap, and the i386 numbering. */
static void test_trap_sites(void)
{
    Fixture f;
    VmiLinuxKernel *k;
    char *err = NULL;
    VmiMem m;

    fixture_init(&f, BANNER_TEXT "\n");
    gm_mem(f.g, &m);
    g_assert_cmpuint(f.l->pt_regs_ax, ==, 80);
    k = vmi_linux_identify(f.l, &m, ENTRY + SLIDE, &err);
    g_assert_nonnull(k);
    g_assert_cmphex(k->syscall_exit, ==, SYSCALL_EXIT + SLIDE);
    g_assert_cmphex(k->ia32_dispatch, ==, IA32_SYS_CALL + SLIDE);
    g_assert_cmpstr(vmi_linux_syscall_name(k, VMI_ABI_IA32, 5), ==, "open");
    g_assert_cmpstr(vmi_linux_syscall_name(k, VMI_ABI_IA32, 11), ==,
                    "execve");
    g_assert_cmpstr(vmi_linux_syscall_name(k, VMI_ABI_IA32, 192), ==,
                    "mmap2");
    g_assert_cmpstr(vmi_linux_syscall_name(k, VMI_ABI_IA32, 100000), ==,
                    "unknown");
    g_assert_true(vmi_linux_has_syscall(f.l, "openat"));
    g_assert_true(vmi_linux_has_syscall(f.l, "mmap2"));
    g_assert_false(vmi_linux_has_syscall(f.l, "no_such_call"));
    vmi_linux_kernel_free(k);
    fixture_free(&f);
}

#define TASK_TASKS      2200
#define NTASKS          4

static bool count_process(const VmiProcessInfo *p, void *opaque)
{
    GArray *seen = opaque;

    g_array_append_val(seen, *p);
    return true;
}

/* init_task's list with @n tasks at TASK + i * 16 KiB; returns its pa. */
static uint64_t make_tasks(Fixture *f, uint64_t *task_pa)
{
    uint64_t init_pa, head = INIT_TASK + SLIDE + TASK_TASKS;

    init_pa = gm_map_new(f->g, (INIT_TASK + SLIDE) & ~4095ULL, 16384);
    init_pa += (INIT_TASK + SLIDE) & 4095;
    for (unsigned i = 0; i < NTASKS; i++) {
        uint64_t t = TASK + 16384 * (i + 1), pa = gm_map_new(f->g, t, 16384);
        uint64_t next = i + 1 < NTASKS ? t + 16384 + TASK_TASKS : head;

        task_pa[i] = pa;
        gm_put64(f->g, pa + TASK_TASKS, next);
        memcpy(f->g->ram + pa + 2416, &(int32_t){ 100 + i }, 4);
        memcpy(f->g->ram + pa + 2420, &(int32_t){ 100 + i }, 4);
        memcpy(f->g->ram + pa + 2976, "task", 5);
        gm_put64(f->g, pa + 2440, INIT_TASK + SLIDE);
        /* even tasks are kernel threads (no mm) */
        gm_put64(f->g, pa + 2296, i % 2 ? t + 8192 : 0);
        gm_put64(f->g, pa + 8192 + 72, 0xffff888001234000ULL + i);
        /* cred in the task's own pages, so that it is readable */
        gm_put64(f->g, pa + 2960, t + 4096);
        memcpy(f->g->ram + pa + 4096 + 8, &(int32_t){ 1000 + i }, 4);
    }
    gm_put64(f->g, init_pa + TASK_TASKS, TASK + 16384 + TASK_TASKS);
    return init_pa;
}

static void test_processes(void)
{
    g_autoptr(GArray) seen = g_array_new(false, false,
                                         sizeof(VmiProcessInfo));
    uint64_t task_pa[NTASKS];
    VmiProcessInfo *p;
    Fixture f;
    VmiLinuxKernel *k;
    char *err = NULL;
    VmiMem m;

    fixture_init(&f, BANNER_TEXT "\n");
    gm_mem(f.g, &m);
    k = vmi_linux_identify(f.l, &m, ENTRY + SLIDE, &err);
    g_assert_nonnull(k);

    /* init_task unmapped: a clean error */
    g_assert_false(vmi_linux_processes(f.l, k, &m, count_process, seen,
                                       &err));
    g_assert_nonnull(strstr(err, "init_task"));
    g_clear_pointer(&err, g_free);

    make_tasks(&f, task_pa);
    g_assert_true(vmi_linux_processes(f.l, k, &m, count_process, seen,
                                      &err));
    g_assert_cmpuint(seen->len, ==, NTASKS);
    p = &g_array_index(seen, VmiProcessInfo, 1);
    g_assert_cmpint(p->pid, ==, 101);
    g_assert_cmpint(p->uid, ==, 1001);
    g_assert_cmphex(p->pgd, ==, 0xffff888001234001ULL);
    g_assert_cmpint(g_array_index(seen, VmiProcessInfo, 0).ppid, ==, 0);
    g_assert_cmphex(g_array_index(seen, VmiProcessInfo, 0).pgd, ==, 0);

    /*
     * a cycle that never returns to init_task: the bound on every step
     * ends it, and says so rather than pass a cut list off as whole
     */
    gm_put64(f.g, task_pa[NTASKS - 1] + TASK_TASKS,
             TASK + 16384 + TASK_TASKS);
    g_array_set_size(seen, 0);
    g_assert_false(vmi_linux_processes(f.l, k, &m, count_process, seen,
                                       &err));
    g_assert_cmpuint(seen->len, ==, VMI_PROCESS_MAX);
    g_assert_nonnull(strstr(err, "within 65536 entries"));
    g_clear_pointer(&err, g_free);

    /* a link into unmapped memory: the walk stops there */
    gm_put64(f.g, task_pa[1] + TASK_TASKS, 0xdead000000000000ULL);
    g_array_set_size(seen, 0);
    g_assert_true(vmi_linux_processes(f.l, k, &m, count_process, seen,
                                      &err));
    g_assert_cmpuint(seen->len, ==, 3);
    g_assert_cmpint(g_array_index(seen, VmiProcessInfo, 2).pid, ==, -1);
    vmi_linux_kernel_free(k);
    fixture_free(&f);
}

/*
 * Task 1 (at TASK + 2 * 16 KiB) gets tasks 2 and 3 (pids 102, 103) as
 * its children: head <-> 102 <-> 103 <-> head, linked by their siblings.
 */
#define CHILD_SIBLING(i)    (TASK + ((i) + 1) * 16384 + 2472)

static void link_children(Fixture *f, const uint64_t *task_pa)
{
    uint64_t head = TASK + 2 * 16384 + 2456;

    gm_put64(f->g, task_pa[1] + 2456, CHILD_SIBLING(2));
    gm_put64(f->g, task_pa[1] + 2456 + 8, CHILD_SIBLING(3));
    gm_put64(f->g, task_pa[2] + 2472, CHILD_SIBLING(3));
    gm_put64(f->g, task_pa[2] + 2472 + 8, head);
    gm_put64(f->g, task_pa[3] + 2472, head);
    gm_put64(f->g, task_pa[3] + 2472 + 8, CHILD_SIBLING(2));
}

/* An exec's argv, as the kernel copied it: mm->arg_start..arg_end */
static void test_exec_argv(void)
{
    static const char args[] = "prog\0-x\0two words\0";
    uint64_t task_pa[NTASKS], t = TASK + 2 * 16384, start = USER + 0x100;
    bool truncated = false;
    VmiWalkStatus st;
    char **argv;
    Fixture f;
    VmiMem m;

    fixture_init(&f, BANNER_TEXT "\n");
    make_tasks(&f, task_pa);
    gm_mem(f.g, &m);
    memcpy(f.g->ram + f.user_pa + 0x100, args, sizeof(args) - 1);
    gm_put64(f.g, task_pa[1] + 8192 + 304, start);
    gm_put64(f.g, task_pa[1] + 8192 + 312, start + sizeof(args) - 1);
    argv = vmi_linux_exec_argv(f.l, &m, t, &truncated, &st);
    g_assert_cmpint(st, ==, VMI_WALK_OK);
    g_assert_cmpuint(g_strv_length(argv), ==, 3);
    g_assert_cmpstr(argv[2], ==, "two words");
    g_assert_false(truncated);
    g_strfreev(argv);

    /* the last string cut by arg_end, without its NUL */
    gm_put64(f.g, task_pa[1] + 8192 + 312, start + 7);
    argv = vmi_linux_exec_argv(f.l, &m, t, &truncated, &st);
    g_assert_cmpuint(g_strv_length(argv), ==, 2);
    g_assert_cmpstr(argv[1], ==, "-x");
    g_strfreev(argv);

    /* more strings than VMI_ARGV_MAX: cut and said so */
    for (unsigned i = 0; i < 300; i++) {
        memcpy(f.g->ram + f.user_pa + 0x1000 + 2 * i, "a", 2);
    }
    gm_put64(f.g, task_pa[1] + 8192 + 304, USER + 0x1000);
    gm_put64(f.g, task_pa[1] + 8192 + 312, USER + 0x1000 + 600);
    argv = vmi_linux_exec_argv(f.l, &m, t, &truncated, &st);
    g_assert_cmpuint(g_strv_length(argv), ==, VMI_ARGV_MAX);
    g_assert_true(truncated);
    g_strfreev(argv);

    /* a huge range is bounded in bytes; here it runs into unmapped pages */
    truncated = false;
    gm_put64(f.g, task_pa[1] + 8192 + 312, USER + 0x1000 + (1ULL << 40));
    g_assert_null(vmi_linux_exec_argv(f.l, &m, t, &truncated, &st));
    g_assert_cmpint(st, ==, VMI_WALK_UNREADABLE);
    g_assert_true(truncated);

    /* an end before the start, and a kernel thread without mm */
    gm_put64(f.g, task_pa[1] + 8192 + 312, USER);
    g_assert_null(vmi_linux_exec_argv(f.l, &m, t, &truncated, &st));
    g_assert_null(vmi_linux_exec_argv(f.l, &m, TASK + 16384, &truncated,
                                      &st));
    g_assert_cmpint(st, ==, VMI_WALK_UNREADABLE);
    fixture_free(&f);
}

/*
 * clone3 made a process if its pid is among the newest children of the
 * caller or of the caller's parent (CLONE_PARENT)
 */
static void test_new_child(void)
{
    uint64_t task_pa[NTASKS], parent = TASK + 2 * 16384, init_pa;
    uint64_t init_children = INIT_TASK + SLIDE + 2456;
    Fixture f;
    VmiMem m;

    fixture_init(&f, BANNER_TEXT "\n");
    init_pa = make_tasks(&f, task_pa);
    /* the caller's parent, init_task, has no children of its own */
    gm_put64(f.g, init_pa + 2456, init_children);
    gm_put64(f.g, init_pa + 2456 + 8, init_children);
    gm_mem(f.g, &m);
    link_children(&f, task_pa);
    g_assert_cmpint(vmi_linux_new_child(f.l, &m, parent, 103), ==, 1);
    g_assert_cmpint(vmi_linux_new_child(f.l, &m, parent, 102), ==, 1);
    /* a thread is not its caller's child, nor its parent's */
    g_assert_cmpint(vmi_linux_new_child(f.l, &m, parent, 105), ==, 0);
    /* CLONE_PARENT: a sibling of the caller (task 2 asks about 103) */
    g_assert_cmpint(vmi_linux_new_child(f.l, &m, TASK + 3 * 16384, 103), ==,
                    -1);
    gm_put64(f.g, task_pa[2] + 2456, TASK + 3 * 16384 + 2456);
    gm_put64(f.g, task_pa[2] + 2456 + 8, TASK + 3 * 16384 + 2456);
    gm_put64(f.g, task_pa[2] + 2440, parent);
    g_assert_cmpint(vmi_linux_new_child(f.l, &m, TASK + 3 * 16384, 103), ==,
                    1);
    /* a cycle that never returns to the head: bounded, unknown */
    gm_put64(f.g, task_pa[2] + 2472 + 8, CHILD_SIBLING(3));
    g_assert_cmpint(vmi_linux_new_child(f.l, &m, parent, 105), ==, -1);
    /* an unreadable link: unknown */
    gm_put64(f.g, task_pa[3] + 2472 + 8, 0xdead000000000000ULL);
    g_assert_cmpint(vmi_linux_new_child(f.l, &m, parent, 105), ==, -1);
    fixture_free(&f);
}

/*
 * A child killed by a signal is seen when its parent's wait reaps it:
 * from the kernel's record of the child, else from the parent's copy.
 */
static void test_reaped_by_signal(void)
{
    uint64_t task_pa[NTASKS], parent = TASK + 2 * 16384;
    VmiChild children[VMI_CHILDREN_SEEN];
    unsigned n;
    VmiTask child;
    int sig;
    bool core;
    Fixture f;
    VmiMem m;

    fixture_init(&f, BANNER_TEXT "\n");
    make_tasks(&f, task_pa);
    gm_mem(f.g, &m);
    link_children(&f, task_pa);
    n = vmi_linux_children(f.l, &m, parent, children, VMI_CHILDREN_SEEN);
    g_assert_cmpuint(n, ==, 2);
    g_assert_cmpint(children[0].pid, ==, 102);
    g_assert_cmpint(children[1].pid, ==, 103);

    /* a stopped child: exit_code holds the stop signal, not a status */
    memcpy(f.g->ram + task_pa[2] + 2488, &(uint32_t){ 19 }, 4);
    memcpy(f.g->ram + f.user_pa, &(uint32_t){ 0x137f }, 4);
    g_assert_false(vmi_linux_reaped_by_signal(f.l, &m, VMI_ABI_X86_64,
                                              VMI_WAIT_STATUS, USER, 102,
                                              children, n, &child, &sig,
                                              &core));
    /* the kernel's exit_code decides, whatever the parent's copy says */
    memcpy(f.g->ram + task_pa[2] + 2492, &(uint32_t){ 16 }, 4);
    memcpy(f.g->ram + task_pa[2] + 2488, &(uint32_t){ 9 }, 4);
    memcpy(f.g->ram + f.user_pa, &(uint32_t){ 0 }, 4);
    g_assert_true(vmi_linux_reaped_by_signal(f.l, &m, VMI_ABI_X86_64,
                                             VMI_WAIT_STATUS, USER, 102,
                                             children, n, &child, &sig,
                                             &core));
    g_assert_cmpint(child.pid, ==, 102);
    g_assert_cmpint(sig, ==, 9);
    g_assert_false(core);
    g_assert_cmpstr(child.comm, ==, "task");
    memcpy(f.g->ram + task_pa[2] + 2488, &(uint32_t){ 0x86 }, 4);
    g_assert_true(vmi_linux_reaped_by_signal(f.l, &m, VMI_ABI_X86_64,
                                             VMI_WAIT_STATUS, USER, 102,
                                             children, n, &child, &sig,
                                             &core));
    g_assert_cmpint(sig, ==, 6);
    g_assert_true(core);
    /* exited with 3, or stopped: not a death by signal */
    memcpy(f.g->ram + task_pa[2] + 2488, &(uint32_t){ 3 << 8 }, 4);
    g_assert_false(vmi_linux_reaped_by_signal(f.l, &m, VMI_ABI_X86_64,
                                              VMI_WAIT_STATUS, USER, 102,
                                              children, n, &child, &sig,
                                              &core));
    memcpy(f.g->ram + f.user_pa, &(uint32_t){ 9 }, 4);
    g_assert_false(vmi_linux_reaped_by_signal(f.l, &m, VMI_ABI_X86_64,
                                              VMI_WAIT_STATUS, USER, 102,
                                              children, n, &child, &sig,
                                              &core));
    /* a leader that left first (exit_code 0), its group killed later */
    memcpy(f.g->ram + task_pa[2] + 2488, &(uint32_t){ 0 }, 4);
    g_assert_true(vmi_linux_reaped_by_signal(f.l, &m, VMI_ABI_X86_64,
                                             VMI_WAIT_STATUS, USER, 102,
                                             children, n, &child, &sig,
                                             &core));
    g_assert_cmpint(sig, ==, 9);
    g_assert_cmpstr(child.comm, ==, "task");
    /* not seen at the entry: the parent's copy of the status */
    memcpy(f.g->ram + f.user_pa, &(uint32_t){ 15 }, 4);
    g_assert_true(vmi_linux_reaped_by_signal(f.l, &m, VMI_ABI_X86_64,
                                             VMI_WAIT_STATUS, USER, 555,
                                             children, n, &child, &sig,
                                             &core));
    g_assert_cmpint(child.pid, ==, 555);
    g_assert_cmpint(sig, ==, 15);
    g_assert_cmpstr(child.comm, ==, "");
    /* nothing reaped (WNOHANG), or no status pointer */
    g_assert_false(vmi_linux_reaped_by_signal(f.l, &m, VMI_ABI_X86_64,
                                              VMI_WAIT_STATUS, USER, 0,
                                              children, n, &child, &sig,
                                              &core));
    g_assert_false(vmi_linux_reaped_by_signal(f.l, &m, VMI_ABI_X86_64,
                                              VMI_WAIT_STATUS, 0, 555,
                                              children, n, &child, &sig,
                                              &core));
    /* waitid: siginfo's layout differs between the ABIs */
    memset(f.g->ram + f.user_pa + 0x100, 0, 128);
    memcpy(f.g->ram + f.user_pa + 0x100 + 8, &(uint32_t){ 3 }, 4);
    memcpy(f.g->ram + f.user_pa + 0x100 + 16, &(uint32_t){ 556 }, 4);
    memcpy(f.g->ram + f.user_pa + 0x100 + 24, &(uint32_t){ 11 }, 4);
    g_assert_true(vmi_linux_reaped_by_signal(f.l, &m, VMI_ABI_X86_64,
                                             VMI_WAIT_SIGINFO, USER + 0x100,
                                             0, children, n, &child, &sig,
                                             &core));
    g_assert_cmpint(child.pid, ==, 556);
    g_assert_cmpint(sig, ==, 11);
    g_assert_true(core);
    memset(f.g->ram + f.user_pa + 0x100, 0, 128);
    memcpy(f.g->ram + f.user_pa + 0x100 + 8, &(uint32_t){ 2 }, 4);
    memcpy(f.g->ram + f.user_pa + 0x100 + 12, &(uint32_t){ 557 }, 4);
    memcpy(f.g->ram + f.user_pa + 0x100 + 20, &(uint32_t){ 9 }, 4);
    g_assert_true(vmi_linux_reaped_by_signal(f.l, &m, VMI_ABI_IA32,
                                             VMI_WAIT_SIGINFO, USER + 0x100,
                                             0, children, n, &child, &sig,
                                             &core));
    g_assert_cmpint(child.pid, ==, 557);
    g_assert_cmpint(sig, ==, 9);
    /* an exit reported through waitid (CLD_EXITED) */
    memcpy(f.g->ram + f.user_pa + 0x100 + 8, &(uint32_t){ 1 }, 4);
    g_assert_false(vmi_linux_reaped_by_signal(f.l, &m, VMI_ABI_IA32,
                                              VMI_WAIT_SIGINFO, USER + 0x100,
                                              0, children, n, &child, &sig,
                                              &core));
    fixture_free(&f);
}

#define DENTRIES        UINT64_C(0xffff888004000000)

static void put_dentry(Fixture *f, uint64_t pa, uint64_t d, uint64_t parent,
                       const char *name)
{
    uint64_t str = d + 0x80;

    gm_put64(f->g, pa + (d - DENTRIES) + 24, parent);
    gm_put64(f->g, pa + (d - DENTRIES) + 32 + 8, str);
    strcpy((char *)f->g->ram + pa + (str - DENTRIES), name);
}

/* mm->exe_file's path, across a mount point, and a dentry cycle */
static void test_exe_path(void)
{
    const uint64_t root = DENTRIES, usr = DENTRIES + 0x100,
        mroot = DENTRIES + 0x200, bin = DENTRIES + 0x300,
        ls = DENTRIES + 0x400, mount1 = DENTRIES + 0x1000,
        mount2 = DENTRIES + 0x2000;
    uint64_t task_pa[NTASKS], pa, t = TASK + 2 * 16384;
    VmiWalkStatus st;
    char *path;
    Fixture f;

    fixture_init(&f, BANNER_TEXT "\n");
    make_tasks(&f, task_pa);
    pa = gm_map_new(f.g, DENTRIES, 0x4000);
    put_dentry(&f, pa, root, root, "/");
    put_dentry(&f, pa, usr, root, "usr");
    put_dentry(&f, pa, mroot, mroot, "/");
    put_dentry(&f, pa, bin, mroot, "bin");
    put_dentry(&f, pa, ls, bin, "ls");
    gm_put64(f.g, pa + 0x1000 + 16, mount1);            /* its own parent */
    gm_put64(f.g, pa + 0x1000 + 32, root);
    gm_put64(f.g, pa + 0x2000 + 16, mount1);
    gm_put64(f.g, pa + 0x2000 + 24, usr);
    gm_put64(f.g, pa + 0x2000 + 32, mroot);
    /* task 1's mm (at +8192) points to a file at +12288 */
    gm_put64(f.g, task_pa[1] + 8192 + 944, t + 12288);
    gm_put64(f.g, task_pa[1] + 12288 + 16, mount2 + 32);
    gm_put64(f.g, task_pa[1] + 12288 + 24, ls);
    {
        VmiMem m;

        gm_mem(f.g, &m);
        path = vmi_linux_exe_path(f.l, &m, t, &st);
        g_assert_cmpstr(path, ==, "/usr/bin/ls");
        g_assert_cmpint(st, ==, VMI_WALK_OK);
        g_free(path);

        /* kernel thread: no mm */
        g_assert_null(vmi_linux_exe_path(f.l, &m, TASK + 16384, &st));
        g_assert_cmpint(st, ==, VMI_WALK_UNREADABLE);

        /* bin and ls each other's parent: the depth bound ends it */
        put_dentry(&f, pa, bin, ls, "bin");
        g_assert_null(vmi_linux_exe_path(f.l, &m, t, &st));
        g_assert_cmpint(st, ==, VMI_WALK_LIMIT);
        g_assert_cmpstr(vmi_walk_error(st), ==, "walk-limit");

        /* an unreadable name */
        gm_put64(f.g, pa + (ls - DENTRIES) + 40, 0xdead000000000000ULL);
        g_assert_null(vmi_linux_exe_path(f.l, &m, t, &st));
        g_assert_cmpint(st, ==, VMI_WALK_UNREADABLE);
        g_assert_cmpstr(vmi_walk_error(st), ==, "unreadable");
    }
    fixture_free(&f);
}

/*
 * Two mounts, each the other's parent and each mounted on the other's
 * root: every pass of the walk is a mount crossing, never a dentry.
 */
static void test_exe_path_mount_cycle(void)
{
    const uint64_t ra = DENTRIES + 0x200, rb = DENTRIES + 0x300,
        ls = DENTRIES + 0x400, mount_a = DENTRIES + 0x1000,
        mount_b = DENTRIES + 0x2000;
    uint64_t task_pa[NTASKS], pa, t = TASK + 2 * 16384;
    VmiWalkStatus st;
    Fixture f;
    VmiMem m;

    fixture_init(&f, BANNER_TEXT "\n");
    make_tasks(&f, task_pa);
    pa = gm_map_new(f.g, DENTRIES, 0x4000);
    put_dentry(&f, pa, ra, ra, "/");
    put_dentry(&f, pa, rb, rb, "/");
    put_dentry(&f, pa, ls, ra, "ls");
    gm_put64(f.g, pa + 0x1000 + 16, mount_b);       /* mnt_parent */
    gm_put64(f.g, pa + 0x1000 + 24, rb);            /* mnt_mountpoint */
    gm_put64(f.g, pa + 0x1000 + 32, ra);            /* mnt.mnt_root */
    gm_put64(f.g, pa + 0x2000 + 16, mount_a);
    gm_put64(f.g, pa + 0x2000 + 24, ra);
    gm_put64(f.g, pa + 0x2000 + 32, rb);
    gm_put64(f.g, task_pa[1] + 8192 + 944, t + 12288);
    gm_put64(f.g, task_pa[1] + 12288 + 16, mount_a + 32);
    gm_put64(f.g, task_pa[1] + 12288 + 24, ls);
    gm_mem(f.g, &m);
    g_assert_null(vmi_linux_exe_path(f.l, &m, t, &st));
    g_assert_cmpint(st, ==, VMI_WALK_LIMIT);
    fixture_free(&f);
}

/* Dentry slots of 256 bytes from DENTRIES, then mounts of 64 bytes */
#define SLOT(i)         (DENTRIES + 0x100 * (i))
#define MOUNT(i)        (DENTRIES + 0x18000 + 0x40 * (i))

static void put_mount(Fixture *f, uint64_t pa, uint64_t mount,
                      uint64_t parent, uint64_t mountpoint, uint64_t root)
{
    gm_put64(f->g, pa + (mount - DENTRIES) + 16, parent);
    gm_put64(f->g, pa + (mount - DENTRIES) + 24, mountpoint);
    gm_put64(f->g, pa + (mount - DENTRIES) + 32, root);
}

/* Make task 1 (at TASK + 2 * 16 KiB) run the file at @dentry in @mount */
static uint64_t set_exe(Fixture *f, const uint64_t *task_pa, uint64_t mount,
                        uint64_t dentry)
{
    uint64_t t = TASK + 2 * 16384;

    gm_put64(f->g, task_pa[1] + 8192 + 944, t + 12288);
    gm_put64(f->g, task_pa[1] + 12288 + 16, mount + 32);
    gm_put64(f->g, task_pa[1] + 12288 + 24, dentry);
    return t;
}

/*
 * Each bound of the path walk, at and past it: components, bytes, and
 * steps through a legitimate stack of mounts (no cycle).
 */
static void test_exe_path_bounds(void)
{
    char long_name[101];
    uint64_t task_pa[NTASKS], pa, t;
    VmiWalkStatus st;
    char *path;
    Fixture f;
    VmiMem m;

    fixture_init(&f, BANNER_TEXT "\n");
    make_tasks(&f, task_pa);
    pa = gm_map_new(f.g, DENTRIES, 0x20000);
    gm_mem(f.g, &m);

    /* a chain of one-letter names under the root of one mount */
    put_mount(&f, pa, MOUNT(0), MOUNT(0), 0, SLOT(0));
    put_dentry(&f, pa, SLOT(0), SLOT(0), "/");
    for (unsigned i = 1; i <= VMI_PATH_DEPTH + 1; i++) {
        put_dentry(&f, pa, SLOT(i), SLOT(i - 1), "d");
    }
    t = set_exe(&f, task_pa, MOUNT(0), SLOT(VMI_PATH_DEPTH));
    path = vmi_linux_exe_path(f.l, &m, t, &st);
    g_assert_cmpint(st, ==, VMI_WALK_OK);
    g_assert_cmpuint(strlen(path), ==, 2 * VMI_PATH_DEPTH);
    g_free(path);
    t = set_exe(&f, task_pa, MOUNT(0), SLOT(VMI_PATH_DEPTH + 1));
    g_assert_null(vmi_linux_exe_path(f.l, &m, t, &st));
    g_assert_cmpint(st, ==, VMI_WALK_LIMIT);

    /* 100-byte names: 40 fit in VMI_STRING_MAX with their '/', 41 not */
    memset(long_name, 'n', 100);
    long_name[100] = 0;
    for (unsigned i = 1; i <= 41; i++) {
        put_dentry(&f, pa, SLOT(i), SLOT(i - 1), long_name);
    }
    t = set_exe(&f, task_pa, MOUNT(0), SLOT(40));
    path = vmi_linux_exe_path(f.l, &m, t, &st);
    g_assert_cmpint(st, ==, VMI_WALK_OK);
    g_assert_cmpuint(strlen(path), ==, 40 * 101);
    g_free(path);
    t = set_exe(&f, task_pa, MOUNT(0), SLOT(41));
    g_assert_null(vmi_linux_exe_path(f.l, &m, t, &st));
    g_assert_cmpint(st, ==, VMI_WALK_LIMIT);

    /*
     * Mount i + 1 mounted on the root of mount i, and "ls" in the top
     * one: VMI_PATH_STEPS - 1 mounts take every step but the last.
     */
    for (unsigned i = 0; i < VMI_PATH_STEPS; i++) {
        put_dentry(&f, pa, SLOT(i), SLOT(i), "/");
        put_mount(&f, pa, MOUNT(i), i ? MOUNT(i - 1) : MOUNT(0),
                  i ? SLOT(i - 1) : 0, SLOT(i));
    }
    put_dentry(&f, pa, SLOT(VMI_PATH_STEPS), SLOT(VMI_PATH_STEPS - 2), "ls");
    t = set_exe(&f, task_pa, MOUNT(VMI_PATH_STEPS - 2), SLOT(VMI_PATH_STEPS));
    path = vmi_linux_exe_path(f.l, &m, t, &st);
    g_assert_cmpint(st, ==, VMI_WALK_OK);
    g_assert_cmpstr(path, ==, "/ls");
    g_free(path);
    put_dentry(&f, pa, SLOT(VMI_PATH_STEPS), SLOT(VMI_PATH_STEPS - 1), "ls");
    t = set_exe(&f, task_pa, MOUNT(VMI_PATH_STEPS - 1), SLOT(VMI_PATH_STEPS));
    g_assert_null(vmi_linux_exe_path(f.l, &m, t, &st));
    g_assert_cmpint(st, ==, VMI_WALK_LIMIT);
    fixture_free(&f);
}

static void test_banner_mismatch(void)
{
    Fixture f;
    char *err = NULL;
    VmiMem m;

    fixture_init(&f, "Linux version 6.12.0-other");
    gm_mem(f.g, &m);
    g_assert_null(vmi_linux_identify(f.l, &m, ENTRY + SLIDE, &err));
    g_assert_nonnull(strstr(err, "guest runs '" BANNER_TEXT "'"));
    g_assert_nonnull(strstr(err, "profile is for 'Linux version 6.12.0-other'"));
    g_free(err);
    fixture_free(&f);
}

static void test_current(void)
{
    Fixture f;
    VmiLinuxKernel *k;
    VmiTask t;
    VmiMem m;
    char *err = NULL;

    fixture_init(&f, BANNER_TEXT);
    gm_mem(f.g, &m);
    k = vmi_linux_identify(f.l, &m, ENTRY + SLIDE, &err);
    g_assert_null(err);
    /* an absolute per-cpu symbol: an offset, which KASLR does not move */
    g_assert_cmphex(k->current_task, ==, CURRENT_TASK);
    g_assert_true(vmi_linux_current(f.l, k, &m, GS_BASE, &t));
    g_assert_cmphex(t.addr, ==, TASK);
    g_assert_cmpint(t.pid, ==, 1234);
    g_assert_cmpint(t.tgid, ==, 1230);
    g_assert_cmpstr(t.comm, ==, "vmi-truth-long-");
    /* the two-step read the return path uses gives the same task */
    {
        uint64_t addr;
        VmiTask t2;

        g_assert_true(vmi_linux_current_addr(k, &m, GS_BASE, &addr));
        g_assert_cmphex(addr, ==, TASK);
        g_assert_true(vmi_linux_read_task(f.l, &m, addr, &t2));
        g_assert_cmpmem(&t, sizeof(t), &t2, sizeof(t2));
        g_assert_false(vmi_linux_read_task(f.l, &m, 0xdead000, &t2));
    }
    /* a per-cpu base that maps nothing */
    g_assert_false(vmi_linux_current(f.l, k, &m, GS_BASE + (1ULL << 30), &t));
    vmi_linux_kernel_free(k);
    fixture_free(&f);
}

/*
 * 7.x inlines syscall_exit_to_user_mode: the return trap is where the
 * 64-bit entry code resumes after calling do_syscall_64 (here at
 * SYSCALL_EXIT), found by reading the entry code.
 */
static void test_syscall_return_site(void)
{
    /* a stray E8 (a call to elsewhere), then the call, at offset 0x2a */
    static const uint8_t stray[] = { 0x48, 0xe8, 0x10, 0x00, 0x00, 0x00 };
    const uint64_t call = ENTRY + SLIDE + 0x2a;
    int32_t rel = (int32_t)(SYSCALL_EXIT + SLIDE - (call + 5));
    Fixture f;
    VmiLinuxKernel *k;
    VmiMem m;
    char *err = NULL;
    uint64_t pa;

    fixture_init(&f, BANNER_TEXT);
    vmi_linux_free(f.l);
    f.l = make_linux_with(BANNER_TEXT, CURRENT_TASK, "do_syscall_64");
    pa = gm_map_new(f.g, (ENTRY + SLIDE) & ~4095ULL, 8192);
    memcpy(f.g->ram + pa + ((ENTRY + SLIDE) & 4095), stray, sizeof(stray));
    f.g->ram[pa + (call & 4095)] = 0xe8;
    memcpy(f.g->ram + pa + (call & 4095) + 1, &rel, 4);
    gm_mem(f.g, &m);
    k = vmi_linux_identify(f.l, &m, ENTRY + SLIDE, &err);
    g_assert_null(err);
    g_assert_cmphex(k->syscall_exit, ==, 0);
    g_assert_cmphex(k->syscall_return, ==, call + 5);
    vmi_linux_kernel_free(k);

    /* no such call: no return site, and identification still succeeds */
    memset(f.g->ram + pa + (call & 4095), 0x90, 5);
    k = vmi_linux_identify(f.l, &m, ENTRY + SLIDE, &err);
    g_assert_null(err);
    g_assert_cmphex(k->syscall_return, ==, 0);
    vmi_linux_kernel_free(k);
    fixture_free(&f);
}

/*
 * After 6.12: per-cpu symbols are addresses in the image (in .data..percpu,
 * from PERCPU_START), moved by KASLR; the per-cpu base is the distance
 * from the slid PERCPU_START to this CPU's copy of the area.
 */
#define PERCPU_START    UINT64_C(0xffffffff83e0c000)
#define PERCPU_CURRENT  UINT64_C(0x18018)

static void test_current_relative_percpu(void)
{
    const uint64_t copy = GS_BASE;
    const uint64_t base = copy - (PERCPU_START + SLIDE);
    Fixture f;
    VmiLinuxKernel *k;
    VmiTask t;
    VmiMem m;
    char *err = NULL;
    uint64_t pa;

    fixture_init(&f, BANNER_TEXT);
    vmi_linux_free(f.l);
    f.l = make_linux_percpu(BANNER_TEXT, PERCPU_START + PERCPU_CURRENT);
    pa = gm_map_new(f.g, (copy + PERCPU_CURRENT) & ~4095ULL, 4096);
    gm_put64(f.g, pa + ((copy + PERCPU_CURRENT) & 4095), TASK);
    gm_mem(f.g, &m);
    k = vmi_linux_identify(f.l, &m, ENTRY + SLIDE, &err);
    g_assert_null(err);
    g_assert_cmphex(k->current_task, ==, PERCPU_START + PERCPU_CURRENT + SLIDE);
    g_assert_true(vmi_linux_current(f.l, k, &m, base, &t));
    g_assert_cmphex(t.addr, ==, TASK);
    g_assert_cmpint(t.pid, ==, 1234);
    /* read as an absolute offset, as up to 6.12, it finds nothing */
    g_assert_false(vmi_linux_current(f.l, k, &m, copy, &t));
    vmi_linux_kernel_free(k);
    fixture_free(&f);
}

static void test_errno(void)
{
    g_assert_cmpstr(vmi_linux_errno_name(-2), ==, "ENOENT");
    g_assert_cmpstr(vmi_linux_errno_name(-13), ==, "EACCES");
    g_assert_cmpstr(vmi_linux_errno_name(-111), ==, "ECONNREFUSED");
    g_assert_cmpstr(vmi_linux_errno_name(-512), ==, "ERESTARTSYS");
    g_assert_null(vmi_linux_errno_name(0));
    g_assert_null(vmi_linux_errno_name(3));
    g_assert_null(vmi_linux_errno_name(-4095));
    g_assert_null(vmi_linux_errno_name(INT64_MIN));
}

static void test_profile_lacks(void)
{
    const char *json = "{\"symbols\": {\"entry_SYSCALL_64\": {\"address\": 1}},"
                       " \"user_types\": {}}";
    char *err = NULL;
    VmiProfile *p = vmi_profile_parse("x.json", json, strlen(json), &err);

    g_assert_null(vmi_linux_new(p, &err));
    g_assert_nonnull(strstr(err, "profile 'x.json': symbol 'sys_call_table'"));
    g_free(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmi/linux/identify", test_identify);
    g_test_add_func("/vmi/linux/trap-sites", test_trap_sites);
    g_test_add_func("/vmi/linux/processes", test_processes);
    g_test_add_func("/vmi/linux/exe-path", test_exe_path);
    g_test_add_func("/vmi/linux/exec-argv", test_exec_argv);
    g_test_add_func("/vmi/linux/new-child", test_new_child);
    g_test_add_func("/vmi/linux/reaped-by-signal", test_reaped_by_signal);
    g_test_add_func("/vmi/linux/exe-path-mount-cycle",
                    test_exe_path_mount_cycle);
    g_test_add_func("/vmi/linux/exe-path-bounds", test_exe_path_bounds);
    g_test_add_func("/vmi/linux/banner-mismatch", test_banner_mismatch);
    g_test_add_func("/vmi/linux/current-task", test_current);
    g_test_add_func("/vmi/linux/current-task/relative-percpu",
                    test_current_relative_percpu);
    g_test_add_func("/vmi/linux/syscall-return-site",
                    test_syscall_return_site);
    g_test_add_func("/vmi/linux/errno", test_errno);
    g_test_add_func("/vmi/linux/profile-lacks", test_profile_lacks);
    return g_test_run();
}
