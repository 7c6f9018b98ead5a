/*
 * kvm-vmi qtest: boot a real Linux guest, run a ground-truth program in
 * it and check that the VMI_* events match what the program says it did.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Needs VMI_GUEST_DIR (vmlinuz, initramfs.cpio, profile.json: see
 * scripts/mkguest); skipped without it.  VMI_ACCEL=kvm runs the same
 * tests under KVM (make check-kvm), where they also check that KVM is in
 * use, not a silent fallback.
 *
 * Split like migration-test: the harness and shared checks are in vmi/
 * (guest.c, framework.c, truth.c, gdb-client.c), the tests in one file
 * per area (vmi/<area>-tests.c); main() only registers them.  GLib runs
 * them suite by suite (/vmi/syscalls/...), suites in the order they were
 * first named: the order of these calls is the order of the TAP output.
 */

#include "qemu/osdep.h"
#include "vmi/framework.h"

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (!guest_dir()) {
        g_test_skip("VMI_GUEST_DIR is not set (make check-qtest sets it)");
        return g_test_run();
    }
    vmi_test_add_cmdline();
    vmi_test_add_syscalls();
    vmi_test_add_processes();
    vmi_test_add_delivery();
    vmi_test_add_lifecycle();
    vmi_test_add_kvm();
    vmi_test_add_memory();
    vmi_test_add_qmp();
    vmi_test_add_bench();
    return g_test_run();
}
