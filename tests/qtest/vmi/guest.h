/*
 * kvm-vmi qtest: the guest harness
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A test boots QEMU with a Linux guest, talks to its serial console and
 * keeps the VMI_* events QEMU sends; see guest.c.
 */

#ifndef VMI_TEST_GUEST_H
#define VMI_TEST_GUEST_H

#include "libqtest.h"
#include "qobject/qdict.h"

#define BOOT_TIMEOUT_S  120
#define CMD_TIMEOUT_S   120

typedef struct Guest {
    QTestState *qts;
    char *tmpdir;
    char *serial_path;
    int listen_fd;
    int serial_fd;
    GString *serial;        /* everything the guest printed so far */
    GPtrArray *events;      /* VMI_SYSCALL data dicts, in arrival order */
    GPtrArray *processes;   /* other VMI_* data dicts, with "event" */
    /*
     * Storm mode: VMI_SYSCALL events are not kept, only vmi-storm's
     * getppid entries and exits counted (a storm's events would not fit).
     */
    bool count_only;
    guint counted[2];       /* enter, exit */
    bool pump_qmp;          /* read QMP while waiting for the console */
} Guest;

typedef enum GuestFlags {
    GUEST_REBOOTS = 1,      /* a guest reboot resets instead of exiting */
} GuestFlags;

/* The environment: VMI_GUEST_DIR, VMI_ACCEL */
const char *guest_dir(void);
char *guest_file(const char *name);
bool under_kvm(void);
const char *expected_mechanism(void);

/* -append @append and the QEMU options @extra; see vmi_from_boot() */
void guest_start_flags(Guest *g, const char *append, const char *extra,
                       GuestFlags flags);
void guest_start(Guest *g, const char *append, const char *extra);
char *vmi_from_boot(const char *more);
void guest_wait_ready(Guest *g);
void guest_stop(Guest *g);

/* The serial console */
bool has_line(Guest *g, size_t from, const char *needle);
void serial_wait(Guest *g, size_t from, const char *needle, int timeout_s);
char *guest_run(Guest *g, const char *cmd);

#endif
