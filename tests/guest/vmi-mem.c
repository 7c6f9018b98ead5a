/*
 * vmi-mem: ground truth for reading guest memory.  Fills a buffer that
 * spans a page boundary with a known pattern, prints where it is, then
 * stays alive (sleeping) so that the host can read it:
 *
 *   MEM pid=P addr=0xADDR len=N
 *
 * Byte i of the buffer is (i * 7 + 3) & 0xff.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define LEN 6000

int main(int argc, char **argv)
{
    uint8_t *page = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    uint8_t *buf = page + 4096 - 1000;
    int seconds = argc > 1 ? atoi(argv[1]) : 30;

    for (int i = 0; i < LEN; i++) {
        buf[i] = (i * 7 + 3) & 0xff;
    }
    printf("MEM pid=%d addr=%p len=%d\n", getpid(), (void *)buf, LEN);
    fflush(stdout);
    sleep(seconds);
    return 0;
}
