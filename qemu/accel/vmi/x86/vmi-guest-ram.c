/*
 * kvm-vmi: reading guest RAM
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "exec/memory.h"
#include "accel/vmi/x86/vmi-mem.h"

/*
 * Guest page tables may point anywhere: read RAM only, never MMIO, so a
 * hostile guest cannot make introspection poke devices.
 */
bool vmi_read_guest_ram(void *opaque, uint64_t pa, void *buf, size_t len)
{
    AddressSpace *as = opaque;
    uint8_t *out = buf;

    RCU_READ_LOCK_GUARD();
    while (len) {
        hwaddr xlat, chunk = len;
        MemoryRegion *mr = address_space_translate(as, pa, &xlat, &chunk,
                                                   false,
                                                   MEMTXATTRS_UNSPECIFIED);

        if (!memory_region_is_ram(mr) || memory_region_is_ram_device(mr) ||
            chunk == 0) {
            return false;
        }
        memcpy(out, (uint8_t *)memory_region_get_ram_ptr(mr) + xlat, chunk);
        pa += chunk;
        out += chunk;
        len -= chunk;
    }
    return true;
}
