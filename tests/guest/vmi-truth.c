/*
 * Ground truth for the kvm-vmi tests: make known system calls and print
 * what was done, so that the host can compare VMI_SYSCALL events with it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The calls are made with syscall(2) so that no libc wrapper adds or
 * renames any; the results are printed only after the last one, so that
 * no write(2) falls between them.
 *
 * Output (one line each):
 *   TRUTH pid=P ppid=Q
 *   TRUTH call N NAME ret=R [path=PATH] [path2=PATH]
 *   TRUTH exec path=/bin/vmi-truth argv=vmi-truth,child,P
 *   TRUTH child pid=P ret=R path=PATH      (after execve, same pid)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GETPPID_CALLS 7
#define MAX_CALLS 32

struct call {
    const char *name;
    long ret;
    char path[128];
    char path2[128];
};

static struct call calls[MAX_CALLS];
static int ncalls;

static long sys_ret(long r)
{
    return r < 0 ? -errno : r;
}

static struct call *record(const char *name, long ret, const char *path,
                           const char *path2)
{
    struct call *c = &calls[ncalls++];

    c->name = name;
    c->ret = ret;
    snprintf(c->path, sizeof(c->path), "%s", path ? path : "");
    snprintf(c->path2, sizeof(c->path2), "%s", path2 ? path2 : "");
    return c;
}

static int child(const char *parent_pid)
{
    char path[128];
    long r;

    snprintf(path, sizeof(path), "/vmi-truth-exec-%s", parent_pid);
    r = sys_ret(syscall(SYS_openat, AT_FDCWD, path, O_RDONLY));
    printf("TRUTH child pid=%d ret=%ld path=%s\n", getpid(), r, path);
    fflush(stdout);
    return 3;
}

int main(int argc, char **argv)
{
    char file[64], missing[64], dir[64], moved[128];
    char exe[] = "/bin/vmi-truth";
    char arg0[] = "vmi-truth", arg1[] = "child";
    char pidstr[32];
    char *child_argv[] = { arg0, arg1, pidstr, NULL };
    int pid = getpid();
    long fd, r = 0;

    if (argc == 3 && !strcmp(argv[1], "child")) {
        return child(argv[2]);
    }
    snprintf(pidstr, sizeof(pidstr), "%d", pid);
    snprintf(file, sizeof(file), "/tmp/vmi-truth-%d", pid);
    snprintf(missing, sizeof(missing), "/nonexistent/vmi-truth-%d", pid);
    snprintf(dir, sizeof(dir), "/tmp/vmi-dir-%d", pid);
    snprintf(moved, sizeof(moved), "%s/moved", dir);

    fd = sys_ret(syscall(SYS_openat, AT_FDCWD, file,
                         O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    record("openat", fd, file, NULL);
    record("close", sys_ret(syscall(SYS_close, fd)), NULL, NULL);
    record("open", sys_ret(syscall(SYS_open, missing, O_RDONLY)), missing,
           NULL);
    for (int i = 0; i < GETPPID_CALLS; i++) {
        r = sys_ret(syscall(SYS_getppid));
        record("getppid", r, NULL, NULL);
    }
    {
        struct timespec nap = { .tv_nsec = 50 * 1000 * 1000 };

        /* the exit event's elapsed-ns must cover the 50 ms */
        record("nanosleep", sys_ret(syscall(SYS_nanosleep, &nap, NULL)),
               NULL, NULL);
    }
    record("mkdir", sys_ret(syscall(SYS_mkdir, dir, 0700)), dir, NULL);
    record("rename", sys_ret(syscall(SYS_rename, file, moved)), file, moved);
    record("chdir", sys_ret(syscall(SYS_chdir, dir)), dir, NULL);
    {
        char rel[] = "moved";   /* on the stack: its page is present */
        struct stat st;

        record("newstat", sys_ret(syscall(SYS_stat, rel, &st)), rel, NULL);
        record("access", sys_ret(syscall(SYS_access, rel, R_OK)), rel, NULL);
    }
    record("unlink", sys_ret(syscall(SYS_unlink, moved)), moved, NULL);
    record("unlinkat", sys_ret(syscall(SYS_unlinkat, AT_FDCWD, dir,
                                       AT_REMOVEDIR)), dir, NULL);

    printf("TRUTH pid=%d ppid=%ld\n", pid, r);
    for (int i = 0; i < ncalls; i++) {
        printf("TRUTH call %d %s ret=%ld", i, calls[i].name, calls[i].ret);
        if (calls[i].path[0]) {
            printf(" path=%s", calls[i].path);
        }
        if (calls[i].path2[0]) {
            printf(" path2=%s", calls[i].path2);
        }
        printf("\n");
    }
    printf("TRUTH exec path=%s argv=%s,%s,%s\n", exe, arg0, arg1, pidstr);
    fflush(stdout);
    syscall(SYS_execve, exe, child_argv, environ);
    printf("TRUTH exec failed errno=%d\n", errno);
    return 1;
}
