/*
 * kvm-vmi: Linux behind the OS interface
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The table the core calls; each member adapts the OS interface's
 * opaque handles to the Linux layer's records.
 */

#include "qemu/osdep.h"
#include "accel/vmi/os/linux/vmi-linux-os.h"

static VmiOsImage *linux_load(VmiProfile *profile, char **err)
{
    return (VmiOsImage *)vmi_linux_new(profile, err);
}

static void linux_unload(VmiOsImage *img)
{
    vmi_linux_free((VmiLinux *)img);
}

static VmiKernel *linux_identify(const VmiOsImage *img, VmiMem *m,
                                 uint64_t lstar, char **err)
{
    VmiLinuxKernel *k = vmi_linux_identify(vmi_linux_of(img), m, lstar, err);

    return k ? &k->common : NULL;
}

static void linux_kernel_free(VmiKernel *k)
{
    vmi_linux_kernel_free(container_of(k, VmiLinuxKernel, common));
}

static void linux_kernel_view(const VmiOsImage *img, VmiMem *m,
                              uint64_t lstar)
{
    vmi_linux_kernel_view(vmi_linux_of(img), m, lstar);
}

static void linux_trap_points(const VmiKernel *k, VmiTrapPoints *tp)
{
    vmi_linux_trap_points(vmi_linux_kernel_of(k), tp);
}

static const char *linux_syscall_name(const VmiKernel *k, VmiAbi abi,
                                      uint64_t nr)
{
    return vmi_linux_syscall_name(vmi_linux_kernel_of(k), abi, nr);
}

static bool linux_has_syscall(const VmiOsImage *img, const char *name)
{
    return vmi_linux_has_syscall(vmi_linux_of(img), name);
}

/*
 * A 32-bit call trapped in the kernel's dispatcher: its arguments are
 * in the saved user registers (pt_regs).  SYSENTER and SYSCALL from
 * 32-bit code leave the sixth on the user stack.
 */
static void linux_entry_args(const VmiOsImage *img, VmiMem *m,
                             const VmiRegs *r, uint64_t args[VMI_MAX_ARGS])
{
    const VmiLinux *l = vmi_linux_of(img);

    memcpy(args, r->args, sizeof(r->args));
    if (r->args_in_saved_regs) {
        for (int i = 0; i < VMI_MAX_ARGS; i++) {
            uint64_t v = 0;

            if (l->has_pt_regs_args32) {
                vmi_read_u64(m, r->saved_regs + l->pt_regs_args32[i], &v);
            }
            args[i] = (uint32_t)v;
        }
    } else if (r->arg6_at) {
        uint32_t v;

        args[5] = vmi_read_u32(m, r->arg6_at, &v) ? v : 0;
    }
}

/* Where the user's registers are saved, the result is pt_regs->ax */
static bool linux_return_value(const VmiOsImage *img, VmiMem *m,
                               const VmiRegs *r, uint64_t *ret)
{
    if (!r->saved_regs) {
        *ret = r->ret;
        return true;
    }
    return vmi_read_u64(m, r->saved_regs + vmi_linux_of(img)->pt_regs_ax, ret);
}

/* By the kernel's own prototype, if its tracing metadata has one */
static bool linux_decode(const VmiKernel *k, VmiAbi abi, uint64_t nr,
                         const char *name, const uint64_t args[VMI_MAX_ARGS],
                         VmiMem *m, VmiParams *out)
{
    const VmiSyscallProto *proto =
        vmi_linux_syscall_proto(vmi_linux_kernel_of(k), abi, nr);

    memset(out, 0, sizeof(*out));
    if (!proto) {
        return false;
    }
    vmi_params_decode(proto, name, args, abi == VMI_ABI_IA32 ? 4 : 8, m,
                      out);
    return true;
}

static bool linux_current_task(const VmiOsImage *img, const VmiKernel *k,
                               VmiMem *m, uint64_t percpu_base,
                               VmiTask *task)
{
    return vmi_linux_current(vmi_linux_of(img), vmi_linux_kernel_of(k), m,
                             percpu_base, task);
}

static bool linux_current_task_addr(const VmiKernel *k, VmiMem *m,
                                    uint64_t percpu_base, uint64_t *addr)
{
    return vmi_linux_current_addr(vmi_linux_kernel_of(k), m, percpu_base,
                                  addr);
}

static bool linux_read_task(const VmiOsImage *img, VmiMem *m, uint64_t addr,
                            VmiTask *task)
{
    return vmi_linux_read_task(vmi_linux_of(img), m, addr, task);
}

static bool linux_processes(const VmiOsImage *img, const VmiKernel *k,
                            VmiMem *m,
                            bool (*fn)(const VmiProcessInfo *p, void *opaque),
                            void *opaque, char **err)
{
    return vmi_linux_processes(vmi_linux_of(img), vmi_linux_kernel_of(k), m,
                               fn, opaque, err);
}

const VmiOsOps vmi_os_linux = {
    .name = "Linux",
    .load = linux_load,
    .unload = linux_unload,
    .identify = linux_identify,
    .kernel_free = linux_kernel_free,
    .kernel_view = linux_kernel_view,
    .trap_points = linux_trap_points,
    .syscall_name = linux_syscall_name,
    .has_syscall = linux_has_syscall,
    .is_lifecycle_syscall = vmi_linux_is_lifecycle_syscall,
    .syscall_noreturn = vmi_linux_syscall_noreturn,
    .entry_args = linux_entry_args,
    .return_value = linux_return_value,
    .decode = linux_decode,
    .error_name = vmi_linux_errno_name,
    .current_task = linux_current_task,
    .current_task_addr = linux_current_task_addr,
    .read_task = linux_read_task,
    .lifecycle_enter = vmi_linux_lifecycle_enter,
    .lifecycle_return = vmi_linux_lifecycle_return,
    .call_takes_group_pid = vmi_linux_call_takes_group_pid,
    .call_free = vmi_linux_call_free,
    .processes = linux_processes,
};
