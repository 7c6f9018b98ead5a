/*
 * kvm-vmi qtest: the guest harness
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * One QEMU with a Linux guest (VMI_GUEST_DIR: vmlinuz, initramfs.cpio,
 * profile.json from scripts/mkguest), its serial console on a Unix
 * socket, commands run on that console, and every VMI_* event QEMU
 * sends kept for the checks.  Each test boots its own guest with it.
 */

#include "qemu/osdep.h"
#include <sys/socket.h>
#include <sys/un.h>
#include "vmi/guest.h"

const char *guest_dir(void)
{
    return g_getenv("VMI_GUEST_DIR");
}

bool under_kvm(void)
{
    return !g_strcmp0(g_getenv("VMI_ACCEL"), "kvm");
}

const char *expected_mechanism(void)
{
    return under_kvm() ? "kvm-hwbp" : "tcg";
}

char *guest_file(const char *name)
{
    return g_build_filename(guest_dir(), name, NULL);
}

static void event_unref(gpointer dict)
{
    qobject_unref((QDict *)dict);
}

static bool collect_event(QTestState *s, const char *name, QDict *event,
                          void *opaque)
{
    Guest *g = opaque;
    QDict *data;

    if (!strcmp(name, "VMI_SYSCALL") && g->count_only) {
        data = qdict_get_qdict(event, "data");
        if (!strcmp(qdict_get_str(data, "name"), "getppid") &&
            !strcmp(qdict_get_str(qdict_get_qdict(data, "process"), "name"),
                    "vmi-storm")) {
            g->counted[!strcmp(qdict_get_str(data, "direction"), "exit")]++;
        }
        return true;
    }
    if (g_str_has_prefix(name, "VMI_") && strcmp(name, "VMI_SYSCALL")) {
        data = qdict_clone_shallow(qdict_get_qdict(event, "data"));
        qdict_put_str(data, "event", name);
        g_ptr_array_add(g->processes, data);
        return true;
    }
    if (strcmp(name, "VMI_SYSCALL")) {
        return false;
    }
    g_ptr_array_add(g->events, qobject_ref(qdict_get_qdict(event, "data")));
    return true;
}

void guest_start_flags(Guest *g, const char *append,
                       const char *extra, GuestFlags flags)
{
    g_autofree char *kernel = guest_file("vmlinuz");
    g_autofree char *initrd = guest_file("initramfs.cpio");
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    memset(g, 0, sizeof(*g));
    g->tmpdir = g_dir_make_tmp("vmi-test-XXXXXX", NULL);
    g_assert_nonnull(g->tmpdir);
    g->serial_path = g_build_filename(g->tmpdir, "serial.sock", NULL);
    g->serial = g_string_new("");
    g->events = g_ptr_array_new_with_free_func(event_unref);
    g->processes = g_ptr_array_new_with_free_func(event_unref);

    /* listen first, so that nothing the guest prints is lost */
    g->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert_cmpint(g->listen_fd, >=, 0);
    g_strlcpy(addr.sun_path, g->serial_path, sizeof(addr.sun_path));
    g_assert_cmpint(bind(g->listen_fd, (struct sockaddr *)&addr,
                         sizeof(addr)), ==, 0);
    g_assert_cmpint(listen(g->listen_fd, 1), ==, 0);

    /* -accel qtest follows: a KVM that fails falls back to no CPU at all */
    g->qts = qtest_initf("-accel %s -M pc -cpu max -m 512M -nodefaults "
                         "%s -kernel %s -initrd %s "
                         "-append 'console=ttyS0 %s panic=-1 %s' "
                         "-chardev socket,id=ser0,path=%s "
                         "-serial chardev:ser0 %s",
                         under_kvm() ? "kvm" : "tcg",
                         flags & GUEST_REBOOTS ? "" : "-no-reboot",
                         kernel, initrd,
                         /* the kernel's messages help when a boot hangs */
                         g_getenv("VMI_GUEST_VERBOSE") ? "" : "quiet",
                         append, g->serial_path,
                         extra ? extra : "");
    qtest_qmp_set_event_callback(g->qts, collect_event, g);
    g->serial_fd = accept(g->listen_fd, NULL, NULL);
    g_assert_cmpint(g->serial_fd, >=, 0);
    g_unix_set_fd_nonblocking(g->serial_fd, true, NULL);
}

void guest_start(Guest *g, const char *append, const char *extra)
{
    guest_start_flags(g, append, extra, 0);
}

/* QEMU options that trace from start-up, after @more. */
char *vmi_from_boot(const char *more)
{
    g_autofree char *profile = guest_file("profile.json");

    return g_strdup_printf("%s -vmi profile=%s,syscalls=on", more, profile);
}

void guest_stop(Guest *g)
{
    qtest_quit(g->qts);
    close(g->serial_fd);
    close(g->listen_fd);
    unlink(g->serial_path);
    rmdir(g->tmpdir);
    g_free(g->serial_path);
    g_free(g->tmpdir);
    g_string_free(g->serial, true);
    g_ptr_array_free(g->events, true);
    g_ptr_array_free(g->processes, true);
}

bool has_line(Guest *g, size_t from, const char *needle)
{
    const char *at = strstr(g->serial->str + from, needle);

    return at && strchr(at, '\n');
}

/* Read the serial console until a whole line with @needle follows @from. */
void serial_wait(Guest *g, size_t from, const char *needle,
                 int timeout_s)
{
    gint64 deadline = g_get_monotonic_time() + timeout_s * G_USEC_PER_SEC;

    while (!has_line(g, from, needle)) {
        char buf[4096];
        ssize_t n = read(g->serial_fd, buf, sizeof(buf));

        if (n > 0) {
            g_string_append_len(g->serial, buf, n);
            continue;
        }
        if (n == 0) {
            g_error("guest console closed while waiting for '%s':\n%s",
                    needle, g->serial->str);
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("timeout waiting for '%s' on the guest console:\n%s",
                    needle, g->serial->str);
        }
        if (g->pump_qmp) {
            /* a round trip reads the events queued before its answer */
            qobject_unref(qtest_qmp(g->qts, "{'execute': 'query-vmi'}"));
        }
        g_usleep(20 * 1000);
    }
}

void guest_wait_ready(Guest *g)
{
    gint64 start = g_get_monotonic_time();

    serial_wait(g, 0, "VMI_GUEST_READY", BOOT_TIMEOUT_S);
    g_test_message("guest ready after %.1f s",
                   (g_get_monotonic_time() - start) / 1e6);
}

/* Run @cmd in the guest; return the console output it produced. */
char *guest_run(Guest *g, const char *cmd)
{
    size_t from = g->serial->len;
    g_autofree char *line = g_strdup_printf("%s\n", cmd);

    g_assert_cmpint(write(g->serial_fd, line, strlen(line)), ==,
                    strlen(line));
    serial_wait(g, from, "VMI_CMD_DONE", CMD_TIMEOUT_S);
    return g_strdup(g->serial->str + from);
}
