/*
 * kvm-vmi qtest: a minimal GDB remote protocol client
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Enough to drive QEMU's gdbstub from a test; see gdb-client.c.
 */

#ifndef VMI_TEST_GDB_CLIENT_H
#define VMI_TEST_GDB_CLIENT_H

int gdb_connect(const char *path);
void gdb_send(int fd, const char *payload);
char *gdb_recv(int fd, int timeout_s);
char *gdb_cmd(int fd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
uint64_t gdb_rip(int fd);

#endif
