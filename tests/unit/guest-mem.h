/*
 * Synthetic guest physical memory and page tables for unit tests.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_MEM_H
#define GUEST_MEM_H

#include "qemu/osdep.h"
#include "accel/vmi/x86/vmi-mem.h"

#define GM_SIZE (64ULL << 20)

typedef struct GuestMem {
    uint8_t *ram;
    uint64_t next_free;     /* bump allocator for page-table pages */
    uint64_t root;
    bool la57;
    unsigned reads;
} GuestMem;

static inline bool gm_read_phys(void *opaque, uint64_t pa, void *buf,
                                size_t len)
{
    GuestMem *g = opaque;

    g->reads++;
    if (pa >= GM_SIZE || len > GM_SIZE - pa) {
        return false;
    }
    memcpy(buf, g->ram + pa, len);
    return true;
}

static inline uint64_t gm_alloc(GuestMem *g, uint64_t size, uint64_t align)
{
    uint64_t pa = (g->next_free + align - 1) & ~(align - 1);

    g_assert(pa + size <= GM_SIZE);
    g->next_free = pa + size;
    memset(g->ram + pa, 0, size);
    return pa;
}

static inline GuestMem *gm_new(bool la57)
{
    GuestMem *g = g_new0(GuestMem, 1);

    g->ram = g_malloc0(GM_SIZE);
    g->next_free = 0x1000;
    g->la57 = la57;
    g->root = gm_alloc(g, 4096, 4096);
    return g;
}

static inline void gm_free(GuestMem *g)
{
    g_free(g->ram);
    g_free(g);
}

static inline void gm_put64(GuestMem *g, uint64_t pa, uint64_t v)
{
    memcpy(g->ram + pa, &v, 8);
}

static inline uint64_t gm_get64(GuestMem *g, uint64_t pa)
{
    uint64_t v;

    memcpy(&v, g->ram + pa, 8);
    return v;
}

/* Map @va -> @pa with a page of 4 KiB, 2 MiB or 1 GiB. */
static inline void gm_map(GuestMem *g, uint64_t va, uint64_t pa,
                          uint64_t page_size)
{
    int levels = g->la57 ? 5 : 4;
    int leaf = page_size == (1ULL << 30) ? 3 : page_size == (1ULL << 21) ? 2 : 1;
    uint64_t table = g->root;

    for (int level = levels; level > leaf; level--) {
        uint64_t idx = (va >> (12 + 9 * (level - 1))) & 511;
        uint64_t e = gm_get64(g, table + idx * 8);

        if (!(e & 1)) {
            e = gm_alloc(g, 4096, 4096) | 0x3;
            gm_put64(g, table + idx * 8, e);
        }
        table = e & VMI_PHYS_MASK;
    }
    gm_put64(g, table + ((va >> (12 + 9 * (leaf - 1))) & 511) * 8,
             pa | 0x3 | (leaf > 1 ? 0x80 : 0));
}

/* Map [va, va + size) to freshly allocated memory; return its pa. */
static inline uint64_t gm_map_new(GuestMem *g, uint64_t va, uint64_t size)
{
    uint64_t pa = gm_alloc(g, (size + 4095) & ~4095ULL, 4096);

    for (uint64_t off = 0; off < size; off += 4096) {
        gm_map(g, va + off, pa + off, 4096);
    }
    return pa;
}

static inline void gm_mem(GuestMem *g, VmiMem *m)
{
    vmi_mem_init(m, gm_read_phys, g, g->root, g->la57);
}

#endif
