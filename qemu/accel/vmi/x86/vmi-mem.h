/*
 * kvm-vmi: guest memory access through the guest's own page tables
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Guest memory is hostile input: every read is bounded and checked,
 * and a failed read is an ordinary result, never a fault.
 */

#ifndef VMI_MEM_H
#define VMI_MEM_H

/* Read @len bytes of guest-physical memory at @pa; false if unreadable. */
typedef bool (*VmiReadPhysFn)(void *opaque, uint64_t pa, void *buf,
                              size_t len);

#define VMI_TLB_SIZE 4

/*
 * A view of one guest address space.  It carries a tiny translation
 * cache, so it is meant to live for one event and then be dropped:
 * the guest may change its page tables at any time.
 */
typedef struct VmiMem {
    VmiReadPhysFn read_phys;
    void *opaque;
    uint64_t root;          /* physical address of the top-level table */
    bool la57;              /* 5-level paging */
    uint64_t tlb_va[VMI_TLB_SIZE];
    uint64_t tlb_pa[VMI_TLB_SIZE];
    unsigned tlb_next;
} VmiMem;

/* Physical-address bits of a page-table entry or CR3 (bits 12..51). */
#define VMI_PHYS_MASK   0x000ffffffffff000ULL

void vmi_mem_init(VmiMem *m, VmiReadPhysFn read_phys, void *opaque,
                  uint64_t cr3, bool la57);
bool vmi_translate(VmiMem *m, uint64_t va, uint64_t *pa);
bool vmi_read(VmiMem *m, uint64_t va, void *buf, size_t len);
bool vmi_read_u64(VmiMem *m, uint64_t va, uint64_t *val);
bool vmi_read_u32(VmiMem *m, uint64_t va, uint32_t *val);

/*
 * Read a NUL-terminated string of at most @size - 1 bytes into @buf
 * (always terminated).  Returns the length read, or -1 if the first
 * byte is unreadable.  *@truncated is set when no NUL was found within
 * the bound or the string runs into an unreadable page.
 */
ssize_t vmi_read_cstr(VmiMem *m, uint64_t va, char *buf, size_t size,
                      bool *truncated);

/*
 * How a walk over guest data ended.  Every pointer a walk follows is the
 * guest's, so each walk counts every step it takes and the bytes it
 * copies, and stops at fixed bounds.  Reaching one is an error of its
 * own: the chain was cyclic or deeper than any real one, and what was
 * walked so far is not passed off as the whole.
 */
typedef enum VmiWalkStatus {
    VMI_WALK_OK,
    VMI_WALK_UNREADABLE,    /* a read failed */
    VMI_WALK_LIMIT,         /* a step or byte bound was reached */
} VmiWalkStatus;

/* An event's "error" member: "unreadable", "walk-limit"; NULL if OK */
const char *vmi_walk_error(VmiWalkStatus status);

/*
 * Read guest RAM at @pa (@opaque: the CPU's AddressSpace); device memory
 * is refused, so a hostile page table cannot make us poke devices.
 * (x86/vmi-guest-ram.c, in QEMU only.)
 */
bool vmi_read_guest_ram(void *opaque, uint64_t pa, void *buf, size_t len);

#endif
