/*
 * A burst of cheap system calls for the kvm-vmi tests and benchmarks.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * usage: vmi-storm N     makes N getppid calls, then prints
 *        STORM pid=P calls=N ns_per_call=T
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000;
    struct timespec t0, t1;
    double ns;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        syscall(SYS_getppid);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    printf("STORM pid=%d calls=%ld ns_per_call=%.1f\n", getpid(), n,
           n ? ns / n : 0.0);
    return 0;
}
