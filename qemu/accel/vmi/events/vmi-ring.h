/*
 * kvm-vmi: per-vCPU event rings
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Each vCPU's thread produces into its own ring (single producer), and
 * delivery consumes all of them in the order of the events' sequence
 * numbers (single consumer).  A ring is bounded in events and in bytes;
 * what does not fit waits (overflow=block, where waiting is safe) or is
 * counted lost.
 */

#ifndef VMI_RING_H
#define VMI_RING_H

#include "qemu/units.h"
#include "hw/core/cpu.h"
#include "accel/vmi/events/vmi-event.h"

/*
 * Bytes of events queued per vCPU by default (and in its overflow queue),
 * and the bounds of -vmi ring-bytes=: with events of up to 64 KiB of
 * guest text, a count of slots alone bounds nothing.
 */
#define VMI_RING_BYTES      (64 * MiB)
#define VMI_RING_BYTES_MIN  (1 * MiB)
#define VMI_RING_BYTES_MAX  (64 * GiB)
/* Events queued per vCPU by default, and the bounds of -vmi ring-size= */
#define VMI_RING_SIZE       65536
#define VMI_RING_SIZE_MIN   64
#define VMI_RING_SIZE_MAX   (1u << 20)

typedef struct VmiRing VmiRing;

/* A ring's counters, for query-vmi */
typedef struct VmiRingStats {
    uint64_t trapped;
    uint64_t dropped;
    uint64_t filtered;
    uint64_t produced;
    uint64_t emitted;
} VmiRingStats;

/* Sizes for the rings made later; 0 keeps the default.  -vmi only. */
void vmi_rings_configure(uint32_t slots, uint64_t bytes);
/*
 * Make the rings, once: one per vCPU the machine may have (maxcpus).
 * Fails with the sizes if the host cannot give that much.
 */
bool vmi_rings_init(Error **errp);
uint32_t vmi_rings_slots(void);
uint64_t vmi_rings_byte_budget(void);
unsigned vmi_rings_count(void);
void vmi_rings_set_overflow(VmiOverflow overflow);
VmiOverflow vmi_rings_overflow(void);
/* A new session: counters and sequence numbers start again. */
void vmi_rings_reset_counters(void);
void vmi_ring_stats(unsigned index, VmiRingStats *st);
/* Events @index dropped since the last call (for VMI_EVENTS_LOST) */
uint64_t vmi_ring_take_new_drops(unsigned index);

/* Producer side, on the vCPU's thread */
VmiRing *vmi_ring_for(CPUState *cs);
void vmi_ring_count_trap(VmiRing *r);
void vmi_ring_count_filtered(VmiRing *r);
/* True if an event offered now would be dropped: skip building it. */
bool vmi_ring_would_drop(VmiRing *r);
/* An event not built because it would be dropped: counted, numbered */
void vmi_ring_lose(VmiRing *r);
/* Number @ev and queue it; if the ring is full, wait or count it lost. */
void vmi_ring_offer(CPUState *cs, VmiRing *r, VmiEvent *ev);

/* Consumer side, in the main loop */
/* Start a pass: read how far each producer got. */
void vmi_rings_consume_begin(void);
/*
 * Remove and return the oldest event of all rings (lowest sequence
 * number) if its number is at most @upto; NULL otherwise.
 */
VmiEvent *vmi_rings_pop(uint64_t upto);
/* Whether any ring has events left (after the consumer's last pop) */
bool vmi_rings_pending(void);
/* The last sequence number given, lost events included */
uint64_t vmi_rings_last_seq(void);
/* Wake vCPUs waiting for room (overflow=block); @all even if none wait */
void vmi_rings_wake(bool all);

#endif
