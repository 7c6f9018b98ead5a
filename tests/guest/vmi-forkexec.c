/*
 * vmi-forkexec: ground truth for exec right after fork, the common way a
 * shell or a sandbox sample starts a program.
 *
 * Each of FORKEXEC_ROUNDS children calls execv() at once, with a path and
 * argv strings that are literals in this static program's read-only data.
 * After fork the child's page tables do not map those file-backed pages
 * yet (fork copies no page-table entries for them), so at the execve
 * entry they are not readable from outside; the kernel faults them in
 * when it copies them.  What the exec started must still be reported
 * with its real path and whole argv.
 *
 * Then FORKEXEC_ROUNDS more children exec while a second thread keeps
 * rewriting the path and argv in their memory ("race"): the exec'd
 * program prints what it really got, and that is what must be reported,
 * not what user memory said when execve was entered.
 *
 * Output, one line per child, then the parent's pid:
 *   FORKEXEC child=PID status=S argv=vmi-forkexec,child,from-rodata
 *   FORKEXEC raced pid=PID argv=vmi-forkexec,raced,A1
 *   FORKEXEC pid=P rounds=N
 * The exec'd child ("vmi-forkexec child ...") exits with status 0.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FORKEXEC_ROUNDS 12

static char race_path[] = "/bin/vmi-forkexec";
static char race_arg[] = "real-arg";
static unsigned flips;

/* Flip the last byte of the path and the argument, forever. */
static void *rewrite(void *unused)
{
    size_t p = sizeof(race_path) - 2;

    for (unsigned i = 0;; i++) {
        __atomic_store_n(&race_path[p], i % 2 ? 'X' : 'c', __ATOMIC_RELAXED);
        __atomic_store_n(&race_arg[0], i % 2 ? 'f' : 'r', __ATOMIC_RELAXED);
        __atomic_store_n(&flips, i, __ATOMIC_RELEASE);
    }
    return NULL;
}

/* In a fresh child: exec while another thread rewrites what we pass. */
static void raced_exec(void)
{
    char *args[] = { "vmi-forkexec", "raced", race_arg, NULL };
    pthread_t t;

    if (pthread_create(&t, NULL, rewrite, NULL)) {
        _exit(126);
    }
    /* the rewriting has started (and runs on the other CPU if any) */
    while (__atomic_load_n(&flips, __ATOMIC_ACQUIRE) < 100000) {
        sched_yield();
    }
    /* "/bin/vmi-forkexeX" does not exist: try until the real one ran */
    for (int i = 0; i < 100000; i++) {
        execv(race_path, args);
    }
    _exit(127);
}

/* Exec at once, with literals in read-only data: not mapped yet. */
static void rodata_exec(void)
{
    execl("/bin/vmi-forkexec", "vmi-forkexec", "child", "from-rodata",
          (char *)NULL);
    _exit(127);
}

/* Run @child in a new process and wait for it; its pid. */
static pid_t spawn(void (*child)(void), int *status)
{
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        printf("FORKEXEC error fork\n");
        exit(1);
    }
    if (pid == 0) {
        child();
    }
    *status = -1;
    waitpid(pid, status, 0);
    return pid;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "child")) {
        return 0;
    }
    if (argc > 2 && !strcmp(argv[1], "raced")) {
        printf("FORKEXEC raced pid=%d argv=%s,%s,%s\n", (int)getpid(),
               argv[0], argv[1], argv[2]);
        return 0;
    }
    for (int i = 0; i < FORKEXEC_ROUNDS; i++) {
        int status;
        pid_t pid = spawn(rodata_exec, &status);

        printf("FORKEXEC child=%d status=%d "
               "argv=vmi-forkexec,child,from-rodata\n",
               (int)pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    for (int i = 0; i < FORKEXEC_ROUNDS; i++) {
        int status;

        spawn(raced_exec, &status);
    }
    printf("FORKEXEC pid=%d rounds=%d\n", (int)getpid(), FORKEXEC_ROUNDS);
    return 0;
}
