/*
 * kvm-vmi qtest: a minimal GDB remote protocol client
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Enough of the protocol to drive QEMU's gdbstub from a test: connect,
 * send a packet and read the reply, read RIP.  /vmi/gdbstub uses it to
 * check that gdb and vmi share the debug registers.
 */

#include "qemu/osdep.h"
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "vmi/gdb-client.h"

static bool fd_wait(int fd, int timeout_s)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return poll(&p, 1, timeout_s * 1000) == 1;
}

static char gdb_getc(int fd, int timeout_s)
{
    char c;

    if (!fd_wait(fd, timeout_s)) {
        g_error("gdbstub: no reply within %d s", timeout_s);
    }
    g_assert_cmpint(read(fd, &c, 1), ==, 1);
    return c;
}

void gdb_send(int fd, const char *payload)
{
    g_autofree char *pkt = NULL;
    unsigned sum = 0;

    for (const char *p = payload; *p; p++) {
        sum += (unsigned char)*p;
    }
    pkt = g_strdup_printf("$%s#%02x", payload, sum & 0xff);
    g_assert_cmpint(write(fd, pkt, strlen(pkt)), ==, strlen(pkt));
    g_assert_cmpint(gdb_getc(fd, 10), ==, '+');
}

char *gdb_recv(int fd, int timeout_s)
{
    GString *payload = g_string_new("");
    char c;

    while (gdb_getc(fd, timeout_s) != '$') {
        /* acks and notifications before the packet */
    }
    while ((c = gdb_getc(fd, 10)) != '#') {
        g_string_append_c(payload, c);
    }
    gdb_getc(fd, 10);
    gdb_getc(fd, 10);
    g_assert_cmpint(write(fd, "+", 1), ==, 1);
    return g_string_free(payload, false);
}

char *gdb_cmd(int fd, const char *fmt, ...)
{
    g_autofree char *payload = NULL;
    va_list ap;

    va_start(ap, fmt);
    payload = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    gdb_send(fd, payload);
    return gdb_recv(fd, 30);
}

uint64_t gdb_rip(int fd)
{
    g_autofree char *regs = gdb_cmd(fd, "g");
    uint64_t rip = 0;

    /* 16 general registers of 8 bytes, then rip; little-endian hex */
    g_assert_cmpuint(strlen(regs), >=, 17 * 16);
    for (int i = 7; i >= 0; i--) {
        const char *byte = regs + 16 * 16 + i * 2;

        rip = rip << 8 | g_ascii_xdigit_value(byte[0]) << 4 |
              g_ascii_xdigit_value(byte[1]);
    }
    return rip;
}

/* Connect to the gdbstub that listens on the Unix socket @path. */
int gdb_connect(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), ==,
                    0);
    return fd;
}
