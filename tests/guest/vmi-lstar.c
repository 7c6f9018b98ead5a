/*
 * Rewrites MSR_LSTAR with its own value, as fast as it can, for the
 * kvm-vmi test of vmi-disable racing the guest's writes of the system
 * call entry.  Under KVM each write exits to QEMU, which identifies the
 * kernel again and re-arms its breakpoints.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * usage: vmi-lstar SECONDS   (needs msr.ko loaded with allow_writes=on)
 *        prints LSTAR_DONE writes=N value=0x...
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MSR_LSTAR 0xc0000082

int main(int argc, char **argv)
{
    int seconds = argc > 1 ? atoi(argv[1]) : 3;
    int fd = open("/dev/cpu/0/msr", O_RDWR);
    struct timespec now, end;
    uint64_t lstar;
    long writes = 0;

    if (fd < 0 || pread(fd, &lstar, sizeof(lstar), MSR_LSTAR) !=
        sizeof(lstar)) {
        perror("LSTAR_FAIL /dev/cpu/0/msr");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += seconds;
    do {
        if (pwrite(fd, &lstar, sizeof(lstar), MSR_LSTAR) != sizeof(lstar)) {
            perror("LSTAR_FAIL write");
            return 1;
        }
        writes++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec < end.tv_sec ||
             (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
    printf("LSTAR_DONE writes=%ld value=0x%" PRIx64 "\n", writes, lstar);
    return 0;
}
