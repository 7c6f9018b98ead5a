/*
 * kvm-vmi: guest memory access through the guest's own page tables
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "accel/vmi/x86/vmi-mem.h"

#define PTE_PRESENT     (1ULL << 0)
#define PTE_LARGE       (1ULL << 7)
#define PAGE_SIZE_4K    4096ULL

void vmi_mem_init(VmiMem *m, VmiReadPhysFn read_phys, void *opaque,
                  uint64_t cr3, bool la57)
{
    memset(m, 0, sizeof(*m));
    m->read_phys = read_phys;
    m->opaque = opaque;
    m->root = cr3 & VMI_PHYS_MASK;
    m->la57 = la57;
    for (unsigned i = 0; i < VMI_TLB_SIZE; i++) {
        m->tlb_va[i] = 1;   /* never a page-aligned address */
    }
}

static bool is_canonical(uint64_t va, bool la57)
{
    int bits = la57 ? 57 : 48;
    int64_t top = (int64_t)va >> (bits - 1);

    return top == 0 || top == -1;
}

static bool walk(VmiMem *m, uint64_t va, uint64_t *pa)
{
    int levels = m->la57 ? 5 : 4;
    uint64_t table = m->root;

    if (!is_canonical(va, m->la57)) {
        return false;
    }
    for (int level = levels; level >= 1; level--) {
        int shift = 12 + 9 * (level - 1);
        uint64_t index = (va >> shift) & 511;
        uint64_t entry;

        if (!m->read_phys(m->opaque, table + index * 8, &entry,
                          sizeof(entry))) {
            return false;
        }
        entry = le64_to_cpu(entry);
        if (!(entry & PTE_PRESENT)) {
            return false;
        }
        if (level == 1 || ((level == 2 || level == 3) &&
                           (entry & PTE_LARGE))) {
            uint64_t offset_mask = (1ULL << shift) - 1;

            *pa = (entry & VMI_PHYS_MASK & ~offset_mask) | (va & offset_mask);
            return true;
        }
        table = entry & VMI_PHYS_MASK;
    }
    return false;
}

bool vmi_translate(VmiMem *m, uint64_t va, uint64_t *pa)
{
    uint64_t page = va & ~(PAGE_SIZE_4K - 1);
    uint64_t page_pa;

    for (unsigned i = 0; i < VMI_TLB_SIZE; i++) {
        if (m->tlb_va[i] == page) {
            *pa = m->tlb_pa[i] | (va & (PAGE_SIZE_4K - 1));
            return true;
        }
    }
    if (!walk(m, page, &page_pa)) {
        return false;
    }
    m->tlb_va[m->tlb_next] = page;
    m->tlb_pa[m->tlb_next] = page_pa;
    m->tlb_next = (m->tlb_next + 1) % VMI_TLB_SIZE;
    *pa = page_pa | (va & (PAGE_SIZE_4K - 1));
    return true;
}

bool vmi_read(VmiMem *m, uint64_t va, void *buf, size_t len)
{
    uint8_t *out = buf;

    while (len) {
        size_t chunk = MIN(len, PAGE_SIZE_4K - (va & (PAGE_SIZE_4K - 1)));
        uint64_t pa;

        if (!vmi_translate(m, va, &pa) ||
            !m->read_phys(m->opaque, pa, out, chunk)) {
            return false;
        }
        va += chunk;
        out += chunk;
        len -= chunk;
    }
    return true;
}

bool vmi_read_u64(VmiMem *m, uint64_t va, uint64_t *val)
{
    uint64_t raw;

    if (!vmi_read(m, va, &raw, sizeof(raw))) {
        return false;
    }
    *val = le64_to_cpu(raw);
    return true;
}

bool vmi_read_u32(VmiMem *m, uint64_t va, uint32_t *val)
{
    uint32_t raw;

    if (!vmi_read(m, va, &raw, sizeof(raw))) {
        return false;
    }
    *val = le32_to_cpu(raw);
    return true;
}

ssize_t vmi_read_cstr(VmiMem *m, uint64_t va, char *buf, size_t size,
                      bool *truncated)
{
    size_t done = 0;

    *truncated = false;
    if (size == 0) {
        return -1;
    }
    while (done < size - 1) {
        /* small steps: most strings are short and pages are 4 KiB */
        size_t chunk = MIN(MIN(size - 1 - done, 256),
                           PAGE_SIZE_4K - (va & (PAGE_SIZE_4K - 1)));
        uint64_t pa;
        char *nul;

        if (!vmi_translate(m, va, &pa) ||
            !m->read_phys(m->opaque, pa, buf + done, chunk)) {
            buf[done] = '\0';
            if (done == 0) {
                return -1;
            }
            *truncated = true;
            return done;
        }
        nul = memchr(buf + done, '\0', chunk);
        if (nul) {
            return nul - buf;
        }
        done += chunk;
        va += chunk;
    }
    buf[done] = '\0';
    *truncated = true;
    return done;
}

const char *vmi_walk_error(VmiWalkStatus status)
{
    switch (status) {
    case VMI_WALK_UNREADABLE:
        return "unreadable";
    case VMI_WALK_LIMIT:
        return "walk-limit";
    default:
        return NULL;
    }
}
