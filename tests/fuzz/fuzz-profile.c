/*
 * libFuzzer target: the profile parser, then the checks that turn a
 * profile into what tracing needs.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "accel/vmi/os/linux/vmi-linux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *err = NULL;
    VmiProfile *p = vmi_profile_parse("fuzz.json", (const char *)data, size,
                                      &err);
    VmiLinux *l;

    if (!p) {
        g_free(err);
        return 0;
    }
    l = vmi_linux_new(p, &err);
    if (l) {
        vmi_linux_has_syscall(l, "openat");
        vmi_linux_free(l);
    }
    g_free(err);
    return 0;
}
