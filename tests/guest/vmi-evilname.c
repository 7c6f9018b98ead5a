/*
 * vmi-evilname: guest text that would take over the terminal of whoever
 * reads a trace printed raw.  The process renames itself (prctl
 * PR_SET_NAME) to "\e[8m" (SGR 8 hides every later character), then to a
 * name holding a newline (a forged line) and U+202E (right-to-left
 * override), opens paths holding ESC, a newline, U+202E, the C1 CSI
 * U+009B and U+2066/U+2069 (bidi isolates), calls execve with such an
 * argv, and finally re-executes itself with one, renamed once more to
 * "end\r\e[2K" (carriage return, erase the line).  Every open and the
 * first execve fail (the paths do not exist); the host checks that the
 * trace shows all of it escaped, one line per event.
 *
 * Output (one line each; strings in hex, so that the console the test
 * reads holds no control character itself):
 *   EVILNAME pid=P
 *   EVILNAME name1 hex=H
 *   EVILNAME open1 ret=R hex=H
 *   EVILNAME name2 hex=H
 *   EVILNAME open2 ret=R hex=H
 *   EVILNAME execve ret=R
 *   EVILNAME child pid=P hex=H         (after the exec: the last name)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * The kernel keeps 15 bytes of a name.  Literals are split after a hex
 * escape so that the next character is not taken as one more hex digit.
 */
#define NAME1   "\x1b[8m"
#define NAME2   "evil\n\xe2\x80\xae" "eman"
#define NAME3   "end\r\x1b[2K"
#define PATH1   "/nonexistent-\x1b[8m\nforged"
#define PATH2   "/nonexistent-\xe2\x80\xae\xc2\x9b" "2J\xe2\x81\xa6" "x" \
                "\xe2\x81\xa9"
#define EXE     "/bin/vmi-evilname"

static long sys_ret(long r)
{
    return r < 0 ? -errno : r;
}

static void print_hex(const char *s)
{
    for (; *s; s++) {
        printf("%02x", (unsigned char)*s);
    }
    printf("\n");
}

/* Re-executed: take the last name, say so, exit (VMI_PROCESS_EXIT). */
static int child(void)
{
    prctl(PR_SET_NAME, NAME3, 0, 0, 0);
    printf("EVILNAME child pid=%d hex=", getpid());
    print_hex(NAME3);
    return 0;
}

int main(int argc, char **argv)
{
    char *bad_argv[] = { "\x1b]0;pwned\x07", "line\nforged", NULL };
    char *child_argv[] = { "vmi-evilname", "child", NAME1,
                           "a\nb\xe2\x80\xae", NULL };
    char *envp[] = { NULL };
    long r_open1, r_open2, r_execve;

    if (argc > 1 && !strcmp(argv[1], "child")) {
        return child();
    }

    /*
     * Raw system calls, and the results printed only after the last one,
     * as vmi-truth does: no libc wrapper adds a call, no write falls
     * between them.
     */
    prctl(PR_SET_NAME, NAME1, 0, 0, 0);
    r_open1 = sys_ret(syscall(SYS_openat, AT_FDCWD, PATH1, O_RDONLY));
    prctl(PR_SET_NAME, NAME2, 0, 0, 0);
    r_open2 = sys_ret(syscall(SYS_openat, AT_FDCWD, PATH2, O_RDONLY));
    r_execve = sys_ret(syscall(SYS_execve, "/nonexistent-evilname",
                               bad_argv, envp));

    printf("EVILNAME pid=%d\n", getpid());
    printf("EVILNAME name1 hex=");
    print_hex(NAME1);
    printf("EVILNAME open1 ret=%ld hex=", r_open1);
    print_hex(PATH1);
    printf("EVILNAME name2 hex=");
    print_hex(NAME2);
    printf("EVILNAME open2 ret=%ld hex=", r_open2);
    print_hex(PATH2);
    printf("EVILNAME execve ret=%ld\n", r_execve);
    /* the exec discards stdio's buffer */
    fflush(stdout);

    syscall(SYS_execve, EXE, child_argv, envp);
    printf("EVILNAME error exec %d\n", errno);
    return 1;
}
