/*
 * kvm-vmi qtest: bad -vmi options (/vmi/cmdline/...)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Each case starts QEMU with one bad -vmi option and no guest: it must
 * exit at once with a message that says what is wrong.
 */

#include "qemu/osdep.h"
#include "vmi/framework.h"

/* Bad -vmi options: QEMU refuses to start and names the option. */
static void test_cmdline_errors(void)
{
    static const struct {
        const char *opt;
        const char *msg;
    } cases[] = {
        { "profile=%s,bogus=1", "Invalid parameter 'bogus'" },
        { "profile=%s,syscalls=maybe", "'syscalls'" },
        { "syscalls=on", "-vmi: profile=FILE is required" },
        { "profile=/nonexistent/p.json", "'/nonexistent/p.json'" },
        { "profile=%s,filter-direction=sideways",
          "filter-direction: 'sideways' is not enter, exit or both" },
        { "profile=%s,filter-syscalls=read::write",
          "filter-syscalls='read::write' has an empty item" },
        { "profile=%s,filter-syscalls=nosuchcall",
          "no system call 'nosuchcall'" },
        { "profile=%s,filter-pids=12:abc", "filter-pids: 'abc' is not a "
          "number" },
        { "profile=%s,overflow=sometimes",
          "overflow: 'sometimes' is not drop or block" },
        { "profile=%s,chardev=nosuch", "chardev 'nosuch' does not exist" },
        { "profile=%s,ring-size=1000",
          "ring-size: 1000 is not a power of 2 from 64 to 1048576" },
        { "profile=%s,ring-size=0",
          "ring-size: 0 is not a power of 2 from 64 to 1048576" },
        { "profile=%s,ring-size=32",
          "ring-size: 32 is not a power of 2 from 64 to 1048576" },
        { "profile=%s,ring-bytes=0",
          "ring-bytes: 0 is out of range (1048576 to 68719476736)" },
        { "profile=%s,ring-bytes=1023K",
          "ring-bytes: 1047552 is out of range (1048576 to 68719476736)" },
        { "profile=%s,ring-bytes=65G",
          "ring-bytes: 69793218560 is out of range "
          "(1048576 to 68719476736)" },
        { "profile=%s,ring-size=2097152",
          "ring-size: 2097152 is not a power of 2 from 64 to 1048576" },
        { "profile=%s,ring-size=-1",
          "Value '-1' is out of range for parameter 'ring-size'" },
        { "profile=%s,filter-pids=-1",
          "filter: pid -1 is out of range (0 to 2147483647)" },
        { "profile=%s,filter-pids=2147483648",
          "filter: pid 2147483648 is out of range (0 to 2147483647)" },
        { "profile=%s,filter-pids=9223372036854775808",
          "filter-pids: '9223372036854775808' is not a number" },
    };
    g_autofree char *profile = guest_file("profile.json");
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *opt = g_strdup_printf(cases[i].opt, profile);
        g_autofree char *out = NULL, *errout = NULL;
        const char *argv[] = { qemu, "-M", "none", "-display", "none",
                               "-vmi", opt, NULL };
        int status;

        g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL,
                                   &out, &errout, &status, NULL));
        g_test_message("-vmi %s: %s", opt, errout);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
        g_assert_nonnull(strstr(errout, cases[i].msg));
    }
}

void vmi_test_add_cmdline(void)
{
    qtest_add_func("/vmi/cmdline/errors", test_cmdline_errors);
}
