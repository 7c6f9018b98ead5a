/*
 * vmi-params: ground truth for argument decoding.  Makes raw system calls
 * whose arguments are flags, socket addresses, long and unreadable
 * strings, and prints for each what the events must show:
 *
 *   PARAMS pid=P
 *   PARAMS call NAME ret=R ARG.KEY=VALUE...
 *
 * where KEY is flags, family, address, port, path, error, truncated, fd,
 * or int/uint (the value as the kernel's parameter type holds it).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static long sys_ret(long r)
{
    return r < 0 ? -errno : r;
}

int main(void)
{
    static char longname[5000];
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    struct sockaddr_in in = { .sin_family = AF_INET };
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
    long r, fd;
    void *p;

    printf("PARAMS pid=%d\n", getpid());

    r = sys_ret(syscall(SYS_openat, AT_FDCWD, "/tmp/vmi-params",
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
    printf("PARAMS call openat ret=%ld flags.flags=%s\n", r,
           "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC");
    syscall(SYS_close, r);

    p = (void *)syscall(SYS_mmap, NULL, 8192, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("PARAMS call mmap ret=%ld prot.flags=PROT_READ|PROT_WRITE "
           "flags.flags=MAP_PRIVATE|MAP_ANONYMOUS\n", (long)p);
    r = sys_ret(syscall(SYS_mprotect, p, 4096, PROT_NONE));
    printf("PARAMS call mprotect ret=%ld prot.flags=PROT_NONE\n", r);

    r = sys_ret(syscall(SYS_access, "/tmp/vmi-params", R_OK | W_OK));
    printf("PARAMS call access ret=%ld mode.flags=R_OK|W_OK\n", r);

    fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    strcpy(un.sun_path, "/tmp/vmi-no-such.sock");
    r = sys_ret(syscall(SYS_connect, fd, &un, sizeof(un)));
    printf("PARAMS call connect ret=%ld uservaddr.family=AF_UNIX "
           "uservaddr.path=%s\n", r, un.sun_path);
    syscall(SYS_close, fd);

    fd = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    in.sin_port = htons(4242);
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r = sys_ret(syscall(SYS_connect, fd, &in, sizeof(in)));
    printf("PARAMS call connect ret=%ld uservaddr.family=AF_INET "
           "uservaddr.address=127.0.0.1 uservaddr.port=4242\n", r);
    syscall(SYS_close, fd);

    fd = syscall(SYS_socket, AF_INET6, SOCK_DGRAM, 0);
    in6.sin6_port = htons(4243);
    in6.sin6_addr = in6addr_loopback;
    r = sys_ret(syscall(SYS_connect, fd, &in6, sizeof(in6)));
    printf("PARAMS call connect ret=%ld uservaddr.family=AF_INET6 "
           "uservaddr.address=0:0:0:0:0:0:0:1 uservaddr.port=4243\n", r);
    syscall(SYS_close, fd);

    memset(longname, 'x', sizeof(longname) - 1);
    r = sys_ret(syscall(SYS_openat, AT_FDCWD, longname, O_RDONLY));
    printf("PARAMS call openat ret=%ld filename.truncated=1\n", r);

    r = sys_ret(syscall(SYS_openat, AT_FDCWD, (char *)16, O_RDONLY));
    printf("PARAMS call openat ret=%ld filename.error=unreadable\n", r);

    /*
     * Registers with junk above the parameter's 32 bits: the kernel reads
     * only its type's width (unsigned int, pid_t, uid_t).  Raw syscall()
     * passes the longs as they are.
     */
    r = sys_ret(syscall(SYS_close_range, 0xaaaaaaaafffffffeUL,
                        0xbbbbbbbbffffffffUL, 0UL));
    printf("PARAMS call close_range ret=%ld fd.uint=%u fd.fd=-2 "
           "max_fd.uint=%u\n", r, 0xfffffffeu, 0xffffffffu);
    r = sys_ret(syscall(SYS_getpgid, 0x12345678fffffffbUL));
    printf("PARAMS call getpgid ret=%ld pid.int=%d\n", r, (pid_t)-5);
    r = sys_ret(syscall(SYS_setuid, 0xffffffff00000000UL | getuid()));
    printf("PARAMS call setuid ret=%ld uid.uint=%u\n", r, getuid());

    r = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
    if (r == 0) {
        syscall(SYS_exit_group, 0);
    }
    printf("PARAMS call clone ret=%ld clone_flags.flags=SIG17\n", r);
    syscall(SYS_wait4, r, NULL, 0, NULL);
    fflush(stdout);
    syscall(SYS_exit_group, 0);
    return 0;
}
