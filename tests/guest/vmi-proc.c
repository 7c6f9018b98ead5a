/*
 * vmi-proc: ground truth for the process lifecycle: fork, execve, exit
 * with a status, death by a signal.
 *
 * Children are made with syscall(SYS_fork), so the event is the system
 * call "fork" (glibc's fork() would issue clone with
 * CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD on x86_64).
 *
 *   1. The first child execs /bin/vmi-proc with argv
 *      {"vmi-proc", "exec-child", "two words"} (raw execve); in that mode
 *      the program sleeps 50 ms and ends with exit_group(7).
 *   2. The second child waits in pause(2); the parent kills it with
 *      SIGKILL 50 ms later.
 *   3. The parent sends itself SIGUSR1 (tgkill) and returns from the
 *      handler through rt_sigreturn.
 *
 * Output, after both children are reaped (one line each):
 *   PROC pid=P
 *   PROC fork child=C
 *   PROC exec child=C path=/bin/vmi-proc argv=vmi-proc,exec-child,two words
 *   PROC exit child=C code=7
 *   PROC fork child=C2
 *   PROC killed child=C2 signal=9
 *   PROC signal handled=1 (the handler ran once, then rt_sigreturn)
 * Any unexpected result prints "PROC error WHAT" and exits with status 1.
 *
 * Outside the guest, where /bin/vmi-proc does not exist, the program execs
 * $VMI_PROC_SELF or else /proc/self/exe, and prints that path instead.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_CODE 7

static void die(const char *what)
{
    printf("PROC error %s errno=%d\n", what, errno);
    fflush(stdout);
    exit(1);
}

static void nap_50ms(void)
{
    struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };

    syscall(SYS_nanosleep, &ts, NULL);
}

static const char *exe_path(void)
{
    const char *self = getenv("VMI_PROC_SELF");

    if (access("/bin/vmi-proc", X_OK) == 0) {
        return "/bin/vmi-proc";
    }
    return self && *self ? self : "/proc/self/exe";
}

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
    handled++;
}

static pid_t wait_child(pid_t pid, int *status)
{
    pid_t r;

    do {
        r = waitpid(pid, status, 0);
    } while (r < 0 && errno == EINTR);
    return r;
}

int main(int argc, char **argv)
{
    char arg0[] = "vmi-proc", arg1[] = "exec-child", arg2[] = "two words";
    char *child_argv[] = { arg0, arg1, arg2, NULL };
    const char *exe;
    long child, killed;
    int status, status2;

    if (argc == 3 && !strcmp(argv[1], "exec-child")) {
        if (strcmp(argv[2], arg2)) {
            syscall(SYS_exit_group, 1);
        }
        nap_50ms();
        syscall(SYS_exit_group, EXIT_CODE);
        return 1;
    }
    exe = exe_path();
    fflush(stdout);

    child = syscall(SYS_fork);
    if (child < 0) {
        die("fork");
    }
    if (child == 0) {
        syscall(SYS_execve, exe, child_argv, environ);
        syscall(SYS_exit_group, 127);
    }
    if (wait_child(child, &status) != child) {
        die("waitpid exec child");
    }

    killed = syscall(SYS_fork);
    if (killed < 0) {
        die("fork");
    }
    if (killed == 0) {
        for (;;) {
            syscall(SYS_pause);
        }
    }
    nap_50ms();
    if (kill(killed, SIGKILL) < 0) {
        die("kill");
    }
    if (wait_child(killed, &status2) != killed) {
        die("waitpid killed child");
    }

    {
        struct sigaction sa = { .sa_handler = on_usr1 };

        /* glibc's restorer returns from the handler by rt_sigreturn */
        if (sigaction(SIGUSR1, &sa, NULL) < 0 ||
            syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1) < 0) {
            die("SIGUSR1");
        }
    }

    printf("PROC pid=%d\n", getpid());
    printf("PROC fork child=%ld\n", child);
    printf("PROC exec child=%ld path=%s argv=%s,%s,%s\n", child, exe,
           arg0, arg1, arg2);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != EXIT_CODE) {
        printf("PROC error exec child status=0x%x\n", status);
        fflush(stdout);
        return 1;
    }
    printf("PROC exit child=%ld code=%d\n", child, WEXITSTATUS(status));
    printf("PROC fork child=%ld\n", killed);
    if (!WIFSIGNALED(status2) || WTERMSIG(status2) != SIGKILL) {
        printf("PROC error killed child status=0x%x\n", status2);
        fflush(stdout);
        return 1;
    }
    printf("PROC killed child=%ld signal=%d\n", killed, WTERMSIG(status2));
    printf("PROC signal handled=%d\n", (int)handled);
    fflush(stdout);
    return 0;
}
