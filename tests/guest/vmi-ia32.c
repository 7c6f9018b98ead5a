/*
 * vmi-ia32: ground truth for 32-bit system calls on a 64-bit kernel
 * (CONFIG_IA32_EMULATION).  Built with gcc -m32 -static; makes i386-ABI
 * system calls in two ways:
 *
 *   int80:    an explicit "int $0x80" (entry_INT80_compat);
 *   vsyscall: a call to the vDSO's __kernel_vsyscall, found through
 *             getauxval(AT_SYSINFO), which enters with sysenter or the
 *             compat syscall instruction, as the kernel chose.
 *
 * Each way does getpid, open of a nonexistent path (-ENOENT) and getppid,
 * with the i386 numbers and register convention: eax=nr, ebx, ecx, edx,
 * esi, edi, ebp = arguments 1..6, eax = raw return (negative errno).
 * The results are printed only after the last call, so that no write(2)
 * falls between them.
 *
 * "vmi-ia32 storm N" instead makes N getppid calls with int $0x80 and
 * prints "IA32 storm pid=P calls=N".
 *
 * Output (one line each):
 *   IA32 pid=P
 *   IA32 call VIA NR NAME ret=R [path=PATH]     VIA is int80 or vsyscall
 *   IA32 vsyscall skip AT_SYSINFO=0            (instead of the vsyscall calls)
 *   IA32 error WHAT                             (then exit status 1)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <asm/unistd_32.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#ifndef __i386__
#error "vmi-ia32 must be built with gcc -m32"
#endif

#define MAX_CALLS 8

struct call {
    const char *via;
    long nr;
    const char *name;
    long ret;
    const char *path;
};

static struct call calls[MAX_CALLS];
static int ncalls;

/*
 * All seven usable registers carry the call, so the number, the sixth
 * argument and the entry point go in memory, addressed through eax; ebp
 * (maybe the frame pointer) is saved on the stack around the call.
 */
struct block {
    long nr;
    long a6;
    unsigned long entry;
};

static long __attribute__((noinline))
int80(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
    struct block b = { .nr = nr, .a6 = a6 };
    long ret;

    asm volatile("push %%ebp\n\t"
                 "movl 4(%%eax), %%ebp\n\t"
                 "movl (%%eax), %%eax\n\t"
                 "int $0x80\n\t"
                 "pop %%ebp"
                 : "=a"(ret)
                 : "a"(&b), "b"(a1), "c"(a2), "d"(a3), "S"(a4), "D"(a5)
                 : "memory", "cc");
    return ret;
}

static long __attribute__((noinline))
vsyscall(unsigned long entry, long nr, long a1, long a2, long a3, long a4,
         long a5, long a6)
{
    struct block b = { .nr = nr, .a6 = a6, .entry = entry };
    long ret;

    /* __kernel_vsyscall keeps every register but eax */
    asm volatile("push %%ebp\n\t"
                 "pushl 8(%%eax)\n\t"
                 "movl 4(%%eax), %%ebp\n\t"
                 "movl (%%eax), %%eax\n\t"
                 "call *(%%esp)\n\t"
                 "addl $4, %%esp\n\t"
                 "pop %%ebp"
                 : "=a"(ret)
                 : "a"(&b), "b"(a1), "c"(a2), "d"(a3), "S"(a4), "D"(a5)
                 : "memory", "cc");
    return ret;
}

static void record(const char *via, long nr, const char *name, long ret,
                   const char *path)
{
    struct call *c = &calls[ncalls++];

    c->via = via;
    c->nr = nr;
    c->name = name;
    c->ret = ret;
    c->path = path;
}

int main(int argc, char **argv)
{
    static const char path80[] = "/nonexistent-ia32-int80";
    static const char pathvs[] = "/nonexistent-ia32-vsyscall";
    unsigned long entry = getauxval(AT_SYSINFO);
    long r;
    int pid, ppid, bad = 0;

    if (argc > 2 && !strcmp(argv[1], "storm")) {
        long n = atol(argv[2]);

        for (long i = 0; i < n; i++) {
            int80(__NR_getppid, 0, 0, 0, 0, 0, 0);
        }
        printf("IA32 storm pid=%d calls=%ld\n", getpid(), n);
        return 0;
    }
    r = int80(__NR_getpid, 0, 0, 0, 0, 0, 0);
    record("int80", __NR_getpid, "getpid", r, NULL);
    r = int80(__NR_open, (long)path80, O_RDONLY, 0, 0, 0, 0);
    record("int80", __NR_open, "open", r, path80);
    r = int80(__NR_getppid, 0, 0, 0, 0, 0, 0);
    record("int80", __NR_getppid, "getppid", r, NULL);

    if (entry) {
        r = vsyscall(entry, __NR_getpid, 0, 0, 0, 0, 0, 0);
        record("vsyscall", __NR_getpid, "getpid", r, NULL);
        r = vsyscall(entry, __NR_open, (long)pathvs, O_RDONLY, 0, 0, 0, 0);
        record("vsyscall", __NR_open, "open", r, pathvs);
        r = vsyscall(entry, __NR_getppid, 0, 0, 0, 0, 0, 0);
        record("vsyscall", __NR_getppid, "getppid", r, NULL);
    }

    /* after the measured calls: libc's own getpid/getppid to check them */
    pid = getpid();
    ppid = getppid();
    printf("IA32 pid=%d\n", pid);
    for (int i = 0; i < ncalls; i++) {
        struct call *c = &calls[i];
        long want = c->nr == __NR_getpid ? pid :
                    c->nr == __NR_getppid ? ppid : -ENOENT;

        printf("IA32 call %s %ld %s ret=%ld", c->via, c->nr, c->name, c->ret);
        if (c->path) {
            printf(" path=%s", c->path);
        }
        printf("\n");
        if (c->ret != want) {
            bad = 1;
        }
    }
    if (!entry) {
        printf("IA32 vsyscall skip AT_SYSINFO=0\n");
    }
    if (bad) {
        printf("IA32 error unexpected return value\n");
    }
    fflush(stdout);
    return bad;
}
