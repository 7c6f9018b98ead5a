/*
 * kvm-vmi: the libvmi-style QMP primitives
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Guest memory, registers and the process list on request, from the
 * main loop.  Memory and registers need no profile, only guest RAM; the
 * process list needs the identified kernel.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-vmi.h"
#include "qemu/rcu.h"
#include "exec/address-spaces.h"
#include "hw/core/cpu.h"
#include "system/hw_accel.h"
#include "cpu.h"
#include "accel/vmi/core/vmi-core.h"
#include "accel/vmi/x86/vmi-regs.h"

#define VMI_READ_MAX    65536

static CPUState *vcpu_or_error(bool has_vcpu, uint32_t vcpu, Error **errp)
{
    uint32_t index = has_vcpu ? vcpu : 0;
    /* qemu_get_cpu() takes an int: above INT_MAX it would wrap */
    CPUState *cs = index <= INT_MAX ? qemu_get_cpu(index) : NULL;

    if (!cs) {
        error_setg(errp, "no vCPU %" PRIu32, index);
    }
    return cs;
}

/*
 * QAPI's int is 64-bit, the guest's pid_t 32-bit: a value outside is no
 * pid, not one to look for (nor, negative, "every process").
 */
static bool check_pid(int64_t pid, Error **errp)
{
    if (pid < 0 || pid > INT32_MAX) {
        error_setg(errp, "pid %" PRId64 " is out of range (0 to %d)", pid,
                   INT32_MAX);
        return false;
    }
    return true;
}

static bool process_cr3(int32_t pid, uint64_t *cr3, Error **errp);

/* The page tables to walk: @cr3 or @pid's if given, else the vCPU's. */
static bool mem_for_query(VmiMem *m, bool has_cr3, uint64_t *cr3,
                          bool has_pid, int64_t pid, bool has_vcpu,
                          uint32_t vcpu, Error **errp)
{
    CPUState *cs;
    CPUX86State *env;

    if (has_pid && !check_pid(pid, errp)) {
        return false;
    }
    cs = vcpu_or_error(has_vcpu, vcpu, errp);
    if (!cs) {
        return false;
    }
    if (has_cr3 && has_pid) {
        error_setg(errp, "give either 'cr3' or 'pid', not both");
        return false;
    }
    if (has_pid && !process_cr3(pid, cr3, errp)) {
        return false;
    }
    cpu_synchronize_state(cs);
    env = cpu_env(cs);
    if (!has_cr3 && !has_pid) {
        *cr3 = env->cr[3];
    }
    vmi_mem_init(m, vmi_read_guest_ram, cs->as, *cr3,
                 (env->hflags & HF_LMA_MASK) &&
                 (env->cr[4] & CR4_LA57_MASK));
    return true;
}

/*
 * vCPU 0's registers, for kernel_mem().  Call it before the RCU read-side
 * section: under KVM it waits for the vCPU's thread.
 */
static void kernel_sync(void)
{
    if (first_cpu) {
        cpu_synchronize_state(first_cpu);
    }
}

/*
 * The identified kernel, and kernel memory as vCPU 0 sees it, for walks
 * that start from symbols.  The caller holds the RCU read lock for as
 * long as it uses the kernel: a vCPU that identifies another one (the
 * guest rebooted) frees this one after a grace period.
 */
static const VmiKernel *kernel_mem(VmiSession *s, VmiMem *m, Error **errp)
{
    CPUState *cs = first_cpu;
    const VmiKernel *k = s ? qatomic_rcu_read(&s->kernel) : NULL;
    VmiRegs r;

    if (!s) {
        error_setg(errp, "introspection is not enabled: the process list "
                   "needs the profile (vmi-enable)");
        return NULL;
    }
    if (!k || !cs) {
        error_setg(errp, "the guest kernel is not identified yet");
        return NULL;
    }
    vmi_regs_from_cpu(cs, &r);
    vmi_mem_for_regs(m, s, cs, &r);
    return k;
}

typedef struct ProcessWalk {
    VmiMem *m;
    bool all;               /* list every process at @tail */
    VmiProcessEntryList **tail;
    int32_t pid;            /* else find this one */
    VmiProcessInfo found;
    bool hit;
    /* the physical address of found.pgd, while the kernel is at hand */
    uint64_t pgd_pa;
    bool pgd_mapped;
} ProcessWalk;

static bool collect_process(const VmiProcessInfo *p, void *opaque)
{
    ProcessWalk *w = opaque;
    VmiProcessEntry *e;
    uint64_t pa;

    if (!w->all) {
        if (p->tgid == w->pid) {
            w->found = *p;
            w->hit = true;
            return false;
        }
        return true;
    }
    e = g_new0(VmiProcessEntry, 1);
    e->pid = p->pid;
    e->tgid = p->tgid;
    e->ppid = p->ppid;
    e->name = g_utf8_make_valid(p->comm, -1);
    e->uid = p->uid;
    e->task = p->task;
    if (p->pgd) {
        e->has_pgd = true;
        e->pgd = p->pgd;
        if (vmi_translate(w->m, p->pgd, &pa)) {
            e->has_cr3 = true;
            e->cr3 = pa;
        }
    }
    QAPI_LIST_APPEND(w->tail, e);
    return true;
}

/* Walk the guest's process list with @w, as vCPU 0 sees memory. */
static bool walk_processes(ProcessWalk *w, Error **errp)
{
    g_autofree char *err = NULL;
    const VmiKernel *k;
    VmiSession *s;
    VmiMem m;

    kernel_sync();
    RCU_READ_LOCK_GUARD();
    s = vmi_session();
    k = kernel_mem(s, &m, errp);
    if (!k) {
        return false;
    }
    w->m = &m;
    if (!s->os->processes(s->image, k, &m, collect_process, w, &err)) {
        error_setg(errp, "%s", err);
        return false;
    }
    if (w->hit && w->found.pgd) {
        w->pgd_mapped = vmi_translate(&m, w->found.pgd, &w->pgd_pa);
    }
    return true;
}

VmiProcessEntryList *qmp_query_vmi_processes(Error **errp)
{
    VmiProcessEntryList *list = NULL;
    ProcessWalk w = { .all = true, .tail = &list };

    if (!walk_processes(&w, errp)) {
        qapi_free_VmiProcessEntryList(list);
        return NULL;
    }
    return list;
}

/* The CR3 of process @pid's address space */
static bool process_cr3(int32_t pid, uint64_t *cr3, Error **errp)
{
    ProcessWalk w = { .pid = pid };

    if (!walk_processes(&w, errp)) {
        return false;
    }
    if (!w.hit) {
        error_setg(errp, "no process with pid %" PRId32, pid);
        return false;
    }
    if (!w.found.pgd) {
        error_setg(errp, "process %" PRId32 " (%s) is a kernel thread: it "
                   "has no user address space", pid, w.found.comm);
        return false;
    }
    if (!w.pgd_mapped) {
        error_setg(errp, "the page tables of process %" PRId32 " at 0x%"
                   PRIx64 " are not mapped", pid, w.found.pgd);
        return false;
    }
    *cr3 = w.pgd_pa;
    return true;
}

/* @size bytes at @address: 1 to VMI_READ_MAX, not past 2^64 - 1 */
static bool check_range(uint64_t address, uint32_t size, Error **errp)
{
    if (size == 0 || size > VMI_READ_MAX) {
        error_setg(errp, "size %" PRIu32 " is out of range (1 to %d)", size,
                   VMI_READ_MAX);
        return false;
    }
    if (size - 1 > UINT64_MAX - address) {
        error_setg(errp, "0x%" PRIx64 "+%" PRIu32 " runs past the end of "
                   "the address space", address, size);
        return false;
    }
    return true;
}

static VmiMemory *memory_result(uint64_t address, const uint8_t *buf,
                                size_t size)
{
    VmiMemory *r = g_new0(VmiMemory, 1);

    r->address = address;
    r->data = g_base64_encode(buf, size);
    return r;
}

VmiMemory *qmp_vmi_read_virtual(uint64_t address, uint32_t size,
                                bool has_cr3, uint64_t cr3, bool has_pid,
                                int64_t pid, bool has_vcpu, uint32_t vcpu,
                                Error **errp)
{
    g_autofree uint8_t *buf = NULL;
    VmiMem m;

    if (!check_range(address, size, errp) ||
        !mem_for_query(&m, has_cr3, &cr3, has_pid, pid, has_vcpu, vcpu,
                       errp)) {
        return NULL;
    }
    buf = g_malloc(size);
    if (!vmi_read(&m, address, buf, size)) {
        error_setg(errp, "0x%" PRIx64 "+%" PRIu32 " is not mapped to guest "
                   "RAM by CR3 0x%" PRIx64, address, size, cr3);
        return NULL;
    }
    return memory_result(address, buf, size);
}

VmiMemory *qmp_vmi_read_physical(uint64_t address, uint32_t size,
                                 Error **errp)
{
    g_autofree uint8_t *buf = NULL;

    if (!check_range(address, size, errp)) {
        return NULL;
    }
    buf = g_malloc(size);
    if (!vmi_read_guest_ram(&address_space_memory, address, buf, size)) {
        error_setg(errp, "physical 0x%" PRIx64 "+%" PRIu32 " is not guest "
                   "RAM", address, size);
        return NULL;
    }
    return memory_result(address, buf, size);
}

VmiTranslation *qmp_vmi_translate(uint64_t address, bool has_cr3,
                                  uint64_t cr3, bool has_pid, int64_t pid,
                                  bool has_vcpu, uint32_t vcpu, Error **errp)
{
    VmiTranslation *t;
    uint64_t pa;
    VmiMem m;

    if (!mem_for_query(&m, has_cr3, &cr3, has_pid, pid, has_vcpu, vcpu,
                       errp)) {
        return NULL;
    }
    if (!vmi_translate(&m, address, &pa)) {
        error_setg(errp, "0x%" PRIx64 " is not mapped by CR3 0x%" PRIx64,
                   address, cr3);
        return NULL;
    }
    t = g_new0(VmiTranslation, 1);
    t->physical = pa;
    return t;
}

VmiRegisters *qmp_vmi_read_registers(bool has_vcpu, uint32_t vcpu,
                                     Error **errp)
{
    CPUState *cs = vcpu_or_error(has_vcpu, vcpu, errp);
    VmiRegisters *r;

    if (!cs) {
        return NULL;
    }
    cpu_synchronize_state(cs);
    r = g_new0(VmiRegisters, 1);
    vmi_x86_regs_from_cpu(cs, r);
    return r;
}
