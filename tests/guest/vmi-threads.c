/*
 * vmi-threads: ground truth that system-call entries and exits are paired
 * per guest thread, not per vCPU.  Needs CPUs 0 and 1 (a 2-vCPU guest).
 *
 * Main pins itself to CPU 1 and starts two workers: A pins itself to
 * CPU 0, B to CPU 1.  Each records its tid and sched_getcpu(), then blocks
 * in a raw read(2) (syscall(SYS_read), no wrapper) on its own pipe.  Once
 * both sleep in read, main moves A to CPU 1 and B to CPU 0 with
 * sched_setaffinity(tid), waits 100 ms and writes "wake\n" to each pipe,
 * so each read enters on one vCPU and exits on the other.  Each worker
 * then records sched_getcpu() and the read's return value.
 *
 * Output, after both workers are joined (one line each, A then B):
 *   THREADS pid=P
 *   THREADS tid=T read ret=R cpu_before=C1 cpu_after=C2
 * or "THREADS skip one cpu" on a machine with a single CPU.  Any
 * unexpected result prints "THREADS error WHAT" and exits with status 1.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WAKE "wake\n"
#define BLOCK_TIMEOUT_MS 5000

struct worker {
    int cpu_start;          /* CPU the worker pins itself to */
    int cpu_moved;          /* CPU main moves it to while it blocks */
    int pipefd[2];
    pthread_t thread;
    int tid;                /* written by the worker before it blocks */
    int ready;
    int cpu_before;
    int cpu_after;
    long ret;
    int err;                /* nonzero: the worker's own setup failed */
};

static void die(const char *what)
{
    printf("THREADS error %s\n", what);
    fflush(stdout);
    exit(1);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000,
                           .tv_nsec = (ms % 1000) * 1000 * 1000 };

    while (nanosleep(&ts, &ts) < 0) {
        /* interrupted: sleep the rest */
    }
}

static int pin(pid_t tid, int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(tid, sizeof(set), &set);
}

static void *work(void *opaque)
{
    struct worker *w = opaque;
    char buf[16];

    w->tid = syscall(SYS_gettid);
    if (pin(0, w->cpu_start) < 0) {
        w->err = 1;
        __atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
        return NULL;
    }
    w->cpu_before = sched_getcpu();
    __atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
    w->ret = syscall(SYS_read, w->pipefd[0], buf, sizeof(buf));
    w->cpu_after = sched_getcpu();
    return NULL;
}

/* Whether thread TID sleeps ('S' in /proc/self/task/TID/stat) */
static int sleeping(int tid)
{
    char path[64], line[256], *p;
    FILE *f;
    int ok = 0;

    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
    f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    if (fgets(line, sizeof(line), f)) {
        p = strrchr(line, ')');
        ok = p && p[1] == ' ' && p[2] == 'S';
    }
    fclose(f);
    return ok;
}

int main(void)
{
    struct worker w[2] = {
        { .cpu_start = 0, .cpu_moved = 1 },
        { .cpu_start = 1, .cpu_moved = 0 },
    };
    cpu_set_t allowed;
    int bad = 0;

    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        printf("THREADS skip one cpu\n");
        return 0;
    }
    if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0 ||
        !CPU_ISSET(0, &allowed) || !CPU_ISSET(1, &allowed)) {
        die("CPUs 0 and 1 are not both allowed");
    }
    if (pin(0, 1) < 0) {
        die("sched_setaffinity main");
    }
    for (int i = 0; i < 2; i++) {
        if (pipe(w[i].pipefd) < 0) {
            die("pipe");
        }
        if (pthread_create(&w[i].thread, NULL, work, &w[i])) {
            die("pthread_create");
        }
    }

    /* both workers must sleep in read before they are moved */
    for (int i = 0; i < 2; i++) {
        while (!__atomic_load_n(&w[i].ready, __ATOMIC_ACQUIRE)) {
            sleep_ms(10);
        }
        if (w[i].err) {
            die("sched_setaffinity worker");
        }
    }
    sleep_ms(300);
    for (int i = 0; i < 2; i++) {
        int waited = 300;

        while (!sleeping(w[i].tid)) {
            if (waited >= BLOCK_TIMEOUT_MS) {
                die("worker not blocked in read");
            }
            sleep_ms(10);
            waited += 10;
        }
    }

    for (int i = 0; i < 2; i++) {
        if (pin(w[i].tid, w[i].cpu_moved) < 0) {
            die("sched_setaffinity move");
        }
    }
    sleep_ms(100);
    for (int i = 0; i < 2; i++) {
        if (write(w[i].pipefd[1], WAKE, strlen(WAKE)) != strlen(WAKE)) {
            die("write");
        }
    }
    for (int i = 0; i < 2; i++) {
        if (pthread_join(w[i].thread, NULL)) {
            die("pthread_join");
        }
    }

    printf("THREADS pid=%d\n", getpid());
    for (int i = 0; i < 2; i++) {
        printf("THREADS tid=%d read ret=%ld cpu_before=%d cpu_after=%d\n",
               w[i].tid, w[i].ret, w[i].cpu_before, w[i].cpu_after);
        if (w[i].ret != strlen(WAKE) || w[i].cpu_before != w[i].cpu_start ||
            w[i].cpu_after != w[i].cpu_moved) {
            bad = 1;
        }
    }
    if (bad) {
        printf("THREADS error unexpected read result or CPU\n");
    }
    fflush(stdout);
    return bad;
}
