/*
 * vmi-hostile: system calls whose arguments make introspection's reads
 * hard, from an ordinary unprivileged-style program: an argv of 5000
 * entries, a path across a page boundary, a path that is not UTF-8, a
 * 64 KiB path, and a pointer to unmapped memory.  Every call fails (the
 * paths do not exist); the host checks the events show the bounds.
 *
 * Output, after all calls (one line each):
 *   HOSTILE pid=P
 *   HOSTILE CASE ret=R [n=N] [path=PATH]
 * with CASE argv, span, utf8, huge, unmapped.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARGV_ENTRIES    5000
#define HUGE_PATH       65536
#define SPAN_PATH       "/nonexistent-path-across-a-page-boundary"

static long sys_ret(long r)
{
    return r < 0 ? -errno : r;
}

int main(void)
{
    static char *argv[ARGV_ENTRIES + 1];
    static char huge[HUGE_PATH + 1];
    char *pages, *span;
    long r_argv, r_span, r_utf8, r_huge, r_unmapped;

    for (int i = 0; i < ARGV_ENTRIES; i++) {
        argv[i] = "a";
    }
    pages = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (pages == MAP_FAILED) {
        printf("HOSTILE error mmap\n");
        return 1;
    }
    span = pages + 4096 - 10;
    strcpy(span, SPAN_PATH);
    huge[0] = '/';
    memset(huge + 1, 'x', HUGE_PATH - 1);

    r_argv = sys_ret(syscall(SYS_execve, "/nonexistent-hostile", argv,
                             NULL));
    r_span = sys_ret(syscall(SYS_openat, AT_FDCWD, span, O_RDONLY));
    r_utf8 = sys_ret(syscall(SYS_openat, AT_FDCWD,
                             "/nonexistent-\xff\xfe-bytes", O_RDONLY));
    r_huge = sys_ret(syscall(SYS_openat, AT_FDCWD, huge, O_RDONLY));
    r_unmapped = sys_ret(syscall(SYS_openat, AT_FDCWD, (char *)16,
                                 O_RDONLY));

    printf("HOSTILE pid=%d\n", getpid());
    printf("HOSTILE argv ret=%ld n=%d\n", r_argv, ARGV_ENTRIES);
    printf("HOSTILE span ret=%ld path=%s\n", r_span, SPAN_PATH);
    printf("HOSTILE utf8 ret=%ld\n", r_utf8);
    printf("HOSTILE huge ret=%ld n=%d\n", r_huge, HUGE_PATH);
    printf("HOSTILE unmapped ret=%ld\n", r_unmapped);
    return 0;
}
