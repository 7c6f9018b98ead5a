/*
 * vmi-orphans: ground truth for calls in flight that never return.
 *
 * Starts ORPHAN_THREADS threads, each blocked in a raw read(2) on a pipe
 * nobody writes, and checks from /proc/self/task/TID/syscall that each
 * one sleeps inside read (system call 0).  Then the process returns
 * from main: exit_group ends every thread inside its read, so none of
 * those calls ever returns to user space.
 *
 * With the argument "hold" the process stays, asleep, instead: its
 * threads' calls are in flight until something else ends them (a reset).
 *
 * Output:
 *   ORPHANS pid=P threads=N blocked=B
 * B is how many threads /proc saw inside read (N when all went well).
 * Any setup failure prints "ORPHANS error WHAT" and exits with status 1.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ORPHAN_THREADS 32

static int pipefd[2];
static int tids[ORPHAN_THREADS];

static void die(const char *what)
{
    printf("ORPHANS error %s\n", what);
    fflush(stdout);
    exit(1);
}

static void *orphan(void *arg)
{
    char c;

    __atomic_store_n((int *)arg, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
    syscall(SYS_read, pipefd[0], &c, 1);
    return NULL;
}

/* Is thread @tid asleep inside read(2)? */
static int in_read(int tid)
{
    char path[64], buf[64] = "";
    FILE *f;

    snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
    f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    if (!fgets(buf, sizeof(buf), f)) {
        buf[0] = 0;
    }
    fclose(f);
    return !strncmp(buf, "0 ", 2);
}

int main(int argc, char **argv)
{
    struct timespec tick = { 0, 10 * 1000 * 1000 };
    pthread_t t;
    int blocked = 0;

    if (pipe(pipefd) < 0) {
        die("pipe");
    }
    for (int i = 0; i < ORPHAN_THREADS; i++) {
        if (pthread_create(&t, NULL, orphan, &tids[i])) {
            die("pthread_create");
        }
    }
    /* up to 5 s for every thread to be asleep in read */
    for (int tries = 0; tries < 500 && blocked < ORPHAN_THREADS; tries++) {
        nanosleep(&tick, NULL);
        blocked = 0;
        for (int i = 0; i < ORPHAN_THREADS; i++) {
            int tid = __atomic_load_n(&tids[i], __ATOMIC_ACQUIRE);

            blocked += tid && in_read(tid);
        }
    }
    printf("ORPHANS pid=%d threads=%d blocked=%d\n", getpid(),
           ORPHAN_THREADS, blocked);
    fflush(stdout);
    if (argc > 1 && !strcmp(argv[1], "hold")) {
        for (;;) {
            pause();
        }
    }
    return 0;   /* exit_group, with every thread still inside read */
}
