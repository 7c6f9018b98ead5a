/*
 * Workloads for make bench, timed inside the guest.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * usage: vmi-work files N   N rounds of create, write 4 KiB, close, stat,
 *                           open, read, close, unlink in /tmp
 *        vmi-work spawn N   N rounds of fork, exec /bin/true, wait
 * then prints  WORK mode=M pid=P ops=N ns_per_op=T
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int files_round(const char *path, char *buf, size_t len)
{
    struct stat st;
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);

    if (fd < 0 || write(fd, buf, len) != (ssize_t)len || close(fd) < 0 ||
        stat(path, &st) < 0) {
        return -1;
    }
    fd = open(path, O_RDONLY);
    if (fd < 0 || read(fd, buf, len) != (ssize_t)len || close(fd) < 0) {
        return -1;
    }
    return unlink(path);
}

static int spawn_round(void)
{
    int status;
    pid_t pid = fork();

    if (pid == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid ||
        !WIFEXITED(status) || WEXITSTATUS(status)) {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static char buf[4096];
    struct timespec t0, t1;
    char path[64];
    long n;
    double ns;

    if (argc != 3 || (strcmp(argv[1], "files") && strcmp(argv[1], "spawn"))) {
        fprintf(stderr, "usage: vmi-work files|spawn N\n");
        return 2;
    }
    n = atol(argv[2]);
    snprintf(path, sizeof(path), "/tmp/vmi-work-%d", getpid());
    memset(buf, 'x', sizeof(buf));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        int r = argv[1][0] == 'f' ? files_round(path, buf, sizeof(buf))
                                  : spawn_round();
        if (r < 0) {
            perror(argv[1]);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    printf("WORK mode=%s pid=%d ops=%ld ns_per_op=%.1f\n", argv[1], getpid(),
           n, n ? ns / n : 0.0);
    return 0;
}
