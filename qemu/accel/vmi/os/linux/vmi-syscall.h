/*
 * kvm-vmi: system call prototypes from the guest kernel, typed arguments
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VMI_SYSCALL_H
#define VMI_SYSCALL_H

#include "accel/vmi/core/vmi-params.h"
#include "accel/vmi/x86/vmi-mem.h"

#define VMI_PROTO_TEXT_MAX  64
#define VMI_STRING_MAX      4096    /* bytes of one string */
#define VMI_ARGV_MAX        256     /* strings of one array */
/*
 * Guest text one event may carry, NULs included: all its arrays (argv
 * and envp) together, and everything.  Without them, one execve with
 * 256 pointers to a 4 KiB page twice over would copy 2 MiB per event.
 */
#define VMI_ARRAYS_TEXT_MAX 32768
#define VMI_EVENT_TEXT_MAX  65536

/* What an event still may copy from guest memory */
typedef struct VmiTextBudget {
    size_t event;           /* any string or array */
    size_t arrays;          /* strings of arrays */
} VmiTextBudget;

void vmi_text_budget_init(VmiTextBudget *b);

/*
 * One system call's parameters as the kernel declares them
 * (SYSCALL_DEFINEx: "const char __user *", "filename").
 */
typedef struct VmiSyscallProto {
    bool known;
    unsigned nargs;
    char *name[VMI_MAX_ARGS];
    char *type[VMI_MAX_ARGS];
    /* integer parameters: their size in bytes (0: not an integer) */
    uint8_t int_size[VMI_MAX_ARGS];
    bool int_signed[VMI_MAX_ARGS];
} VmiSyscallProto;

/*
 * Where struct syscall_metadata keeps what a prototype needs, from the
 * kernel's BTF.  nb_args is an int up to 6.x and a 7-bit bitfield sharing
 * its word with user_arg_is_str after 6.12: read as the 32 bits at
 * @nb_args, shifted right by @nb_args_shift, @nb_args_bits wide.
 */
typedef struct VmiSyscallMetaLayout {
    uint64_t nb_args, types, args;
    unsigned nb_args_shift, nb_args_bits;
} VmiSyscallMetaLayout;

/*
 * Read the prototype the kernel keeps for tracing (struct syscall_metadata,
 * CONFIG_FTRACE_SYSCALLS) at @meta, laid out as @layout says.  False, with
 * @p cleared, if it is unreadable or malformed.
 */
bool vmi_syscall_proto_read(VmiMem *m, uint64_t meta,
                            const VmiSyscallMetaLayout *layout,
                            VmiSyscallProto *p);
void vmi_syscall_proto_clear(VmiSyscallProto *p);

/*
 * Decode the arguments of system call @syscall (the kernel's name) by its
 * prototype @proto; @m maps the calling process, whose pointers are
 * @ptr_size (8, or 4 for 32-bit processes) bytes.  Never fails: what
 * cannot be read is marked unreadable and keeps its raw value.  One
 * event's budget (VMI_EVENT_TEXT_MAX, VMI_ARRAYS_TEXT_MAX) bounds all
 * the parameters together.
 */
void vmi_params_decode(const VmiSyscallProto *proto, const char *syscall,
                       const uint64_t args[VMI_MAX_ARGS], unsigned ptr_size,
                       VmiMem *m, VmiParams *out);

/*
 * A string (at most 4096 bytes, made valid UTF-8), or a NULL-terminated
 * array of them (at most 256) whose pointers are @ptr_size bytes, from
 * the process @m maps, drawn from the event's budget @b (what they read,
 * NULs included, is taken from it; an array also from @b->arrays).  Sets
 * *@truncated when a bound cut it, *@unreadable when memory was missing.
 */
char *vmi_user_string(VmiMem *m, uint64_t ptr, VmiTextBudget *b,
                      bool *truncated, bool *unreadable);
char **vmi_user_strings(VmiMem *m, uint64_t ptr, unsigned ptr_size,
                        VmiTextBudget *b, bool *truncated, bool *unreadable);

/* Flag names, for tests: "O_RDONLY|O_CLOEXEC". */
char *vmi_open_flags(uint64_t flags);

#endif
