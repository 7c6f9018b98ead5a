/*
 * vmi-bigexec: execve calls that fail, each with an argv and an envp of
 * 256 pointers to one 4095-byte string: 2 MiB of guest text per call if
 * introspection copied it all, for the byte budgets of events and rings.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * usage: vmi-bigexec N   prints BIGEXEC pid=P calls=N ret=R
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ENTRIES 256

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100;
    static char text[4096];
    static char *vec[ENTRIES + 1];
    long ret = 0;

    memset(text, 'b', sizeof(text) - 1);
    for (int i = 0; i < ENTRIES; i++) {
        vec[i] = text;
    }
    for (long i = 0; i < n; i++) {
        ret = syscall(SYS_execve, "/nonexistent-bigexec", vec, vec);
    }
    printf("BIGEXEC pid=%d calls=%ld ret=%ld\n", getpid(), n, ret);
    return 0;
}
