/*
 * kvm-vmi: per-vCPU event rings
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/lockable.h"
#include "qemu/thread.h"
#include "hw/boards.h"
#include "hw/core/cpu.h"
#include "system/cpus.h"
#include "system/vmi.h"
#include "accel/vmi/events/vmi-ring.h"
#include "accel/vmi/events/vmi-delivery.h"
#include "accel/vmi/trace.h"

/* Single producer (the vCPU's thread), single consumer (the main loop). */
typedef struct VmiRing {
    VmiEvent **slots;
    uint32_t head;
    uint32_t tail;
    /* bytes of the events pushed (by the vCPU) and emitted (by the drain) */
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t trapped;
    uint64_t dropped;
    uint64_t filtered;
    uint64_t produced;          /* events built: emitted + dropped + queued */
    uint64_t emitted;
    uint64_t lost_reported;     /* @dropped at the last VMI_EVENTS_LOST */
    /*
     * overflow=block: events queued while the vCPU could not wait (the
     * VM stopping), at most vmi.ring_size, drained after the ring; under
     * vmi.room_lock.
     */
    GQueue overflow;
    uint32_t overflow_len;      /* also read without the lock */
    uint64_t overflow_bytes;
} VmiRing;

/* overflow=block: how long a vCPU waits before it looks around again */
#define VMI_ROOM_WAIT_MS    100

static struct {
    VmiRing *rings;
    unsigned nr_rings;
    uint32_t *heads;        /* the consumer's view of each ring's head */
    uint32_t ring_size;     /* a power of 2, fixed once the rings exist */
    uint64_t ring_bytes;    /* per vCPU; 0 until -vmi or vmi-enable */
    VmiOverflow overflow;
    QemuMutex room_lock;    /* with @room, full rings' vCPUs wait for space */
    QemuCond room;
    unsigned waiters;
    /*
     * The last sequence number given to an event, lost ones included;
     * its own cache line, as every vCPU bumps it.
     */
    QEMU_ALIGNED(64) uint64_t seq;
} vmi;

void vmi_rings_configure(uint32_t slots, uint64_t bytes)
{
    if (slots) {
        vmi.ring_size = slots;
    }
    if (bytes) {
        vmi.ring_bytes = bytes;
    }
}


/*
 * The rings, made once: ring-size slots for every vCPU the machine may
 * have (maxcpus, for hotplug).  maxcpus x ring-size can be more than the
 * host gives: fail vmi-enable or -vmi with the sizes, not abort QEMU.
 */
bool vmi_rings_init(Error **errp)
{
    MachineState *ms = MACHINE(qdev_get_machine());
    unsigned n = ms->smp.max_cpus;
    uint32_t size = vmi.ring_size ? vmi.ring_size : VMI_RING_SIZE;
    uint64_t bytes = (uint64_t)n * size * sizeof(VmiEvent *);
    VmiRing *rings = NULL;
    unsigned i = 0;

    if (vmi.rings) {
        return true;
    }
    if (bytes <= SIZE_MAX) {
        rings = g_try_new0(VmiRing, n);
    }
    for (; rings && i < n; i++) {
        rings[i].slots = g_try_new0(VmiEvent *, size);
        if (!rings[i].slots) {
            break;
        }
        g_queue_init(&rings[i].overflow);
    }
    if (!rings || i < n) {
        while (rings && i-- > 0) {
            g_free(rings[i].slots);
        }
        g_free(rings);
        error_setg(errp, "cannot allocate the event rings: %u vCPUs "
                   "(maxcpus) x %" PRIu32 " events (ring-size) x %zu "
                   "bytes = %" PRIu64 " MiB; lower ring-size or maxcpus",
                   n, size, sizeof(VmiEvent *), bytes / MiB);
        return false;
    }
    vmi.ring_size = size;
    if (!vmi.ring_bytes) {
        vmi.ring_bytes = VMI_RING_BYTES;
    }
    vmi.rings = rings;
    vmi.nr_rings = n;
    vmi.heads = g_new0(uint32_t, n);
    qemu_mutex_init(&vmi.room_lock);
    qemu_cond_init(&vmi.room);
    return true;
}

uint32_t vmi_rings_slots(void)
{
    return vmi.ring_size ? vmi.ring_size : VMI_RING_SIZE;
}

uint64_t vmi_rings_byte_budget(void)
{
    return vmi.ring_bytes ? vmi.ring_bytes : VMI_RING_BYTES;
}

unsigned vmi_rings_count(void)
{
    return vmi.nr_rings;
}

void vmi_rings_set_overflow(VmiOverflow overflow)
{
    qatomic_set(&vmi.overflow, overflow);
}

VmiOverflow vmi_rings_overflow(void)
{
    return qatomic_read(&vmi.overflow);
}

void vmi_rings_reset_counters(void)
{
    for (unsigned i = 0; i < vmi.nr_rings; i++) {
        VmiRing *r = &vmi.rings[i];

        qatomic_set(&r->trapped, 0);
        qatomic_set(&r->dropped, 0);
        qatomic_set(&r->filtered, 0);
        qatomic_set(&r->emitted, 0);
        qatomic_set(&r->produced, 0);
        r->lost_reported = 0;
    }
    qatomic_set(&vmi.seq, 0);
}

void vmi_ring_stats(unsigned index, VmiRingStats *st)
{
    VmiRing *r = &vmi.rings[index];

    st->trapped = qatomic_read(&r->trapped);
    st->dropped = qatomic_read(&r->dropped);
    st->filtered = qatomic_read(&r->filtered);
    st->emitted = qatomic_read(&r->emitted);
    st->produced = qatomic_read(&r->produced);
}

uint64_t vmi_ring_take_new_drops(unsigned index)
{
    VmiRing *r = &vmi.rings[index];
    uint64_t dropped = qatomic_read(&r->dropped);
    uint64_t n = dropped - r->lost_reported;

    r->lost_reported = dropped;
    return n;
}

VmiRing *vmi_ring_for(CPUState *cs)
{
    return cs->cpu_index < vmi.nr_rings ? &vmi.rings[cs->cpu_index] : NULL;
}

/* Bytes of @r's events not yet emitted */
static uint64_t ring_bytes_used(VmiRing *r)
{
    return qatomic_read(&r->bytes_in) - qatomic_read(&r->bytes_out);
}

/*
 * Full when its slots are, or its byte budget: an event is taken while
 * the ring is under budget, so the ring holds at most the budget plus
 * one event.
 */
static bool ring_full(VmiRing *r)
{
    return r->head - qatomic_load_acquire(&r->tail) >= vmi.ring_size ||
           ring_bytes_used(r) >= vmi.ring_bytes;
}


static bool blocking(void)
{
    return qatomic_read(&vmi.overflow) == VMI_OVERFLOW_BLOCK;
}

/* True if an event offered now would be dropped: skip building it. */
bool vmi_ring_would_drop(VmiRing *r)
{
    return ring_full(r) && !blocking();
}

static void ring_push(VmiRing *r, VmiEvent *ev)
{
    uint32_t head = r->head;

    r->slots[head & (vmi.ring_size - 1)] = ev;
    qatomic_set(&r->bytes_in, r->bytes_in + ev->bytes);
    qatomic_store_release(&r->head, head + 1);
    /*
     * Wake the consumer only when it may have gone idle (the ring was
     * empty); otherwise it sees this event when it looks at the head
     * again after publishing its tail.  Pairs with vmi_drain().
     */
    smp_mb();
    if (qatomic_read(&r->tail) == head) {
        vmi_delivery_kick();
    }
}

void vmi_ring_count_trap(VmiRing *r)
{
    qatomic_set(&r->trapped, r->trapped + 1);
}

static void ring_count_drop(VmiRing *r)
{
    qatomic_set(&r->dropped, r->dropped + 1);
}

static void ring_count_produced(VmiRing *r)
{
    qatomic_set(&r->produced, r->produced + 1);
}

void vmi_ring_count_filtered(VmiRing *r)
{
    qatomic_set(&r->filtered, r->filtered + 1);
}


void vmi_ring_lose(VmiRing *r)
{
    /* lost like an offered one: its number makes the gap */
    qatomic_inc(&vmi.seq);
    ring_count_produced(r);
    ring_count_drop(r);
}

/*
 * overflow=block: wait until the ring has room and nothing is left in
 * its overflow queue.  A vCPU must not wait while the main loop waits
 * for it (the VM stopping, work queued for it, a kick: the main loop may
 * be waiting for an RCU grace period, and the vCPU is in a read-side
 * section), nor while it holds the BQL, which the drain needs (TCG
 * delivers int $0x80 with it held): false then.
 */
static bool ring_wait_room(CPUState *cs, VmiRing *r)
{
    bool room;

    if (bql_locked()) {
        return !ring_full(r) && !qatomic_read(&r->overflow_len);
    }

    QEMU_LOCK_GUARD(&vmi.room_lock);
    vmi.waiters++;
    for (;;) {
        room = !ring_full(r) && !r->overflow_len;
        if (room || !vmi_hooks_enabled() || qatomic_read(&cs->stop) ||
            qatomic_read(&cs->exit_request) || !cpu_work_list_empty(cs)) {
            break;
        }
        vmi_delivery_kick();
        qemu_cond_timedwait(&vmi.room, &vmi.room_lock, VMI_ROOM_WAIT_MS);
    }
    vmi.waiters--;
    return room;
}

static bool overflow_push(VmiRing *r, VmiEvent *ev)
{
    QEMU_LOCK_GUARD(&vmi.room_lock);
    if (r->overflow_len >= vmi.ring_size ||
        r->overflow_bytes >= vmi.ring_bytes) {
        return false;
    }
    g_queue_push_tail(&r->overflow, ev);
    r->overflow_bytes += ev->bytes;
    qatomic_set(&r->overflow_len, r->overflow_len + 1);
    vmi_delivery_kick();
    return true;
}

/* Queue @ev; if the ring is full, wait or count it lost (overflow=). */
void vmi_ring_offer(CPUState *cs, VmiRing *r, VmiEvent *ev)
{
    ev->seq = qatomic_fetch_inc(&vmi.seq) + 1;
    ev->bytes = vmi_event_bytes(ev);
    ring_count_produced(r);
    if (!ring_full(r) && !qatomic_read(&r->overflow_len)) {
        ring_push(r, ev);
        return;
    }
    trace_vmi_ring_full(cs->cpu_index, blocking());
    if (blocking()) {
        if (ring_wait_room(cs, r)) {
            ring_push(r, ev);
            return;
        }
        if (overflow_push(r, ev)) {
            return;
        }
    }
    ring_count_drop(r);
    vmi_event_free(ev);
}

/* Consumer */


/*
 * The next event of @r to emit, if any: the ring's oldest (up to @head,
 * the producer's position the drain last read), then, once the ring is
 * empty, the oldest of its overflow queue (overflow=block: what its vCPU
 * queued while it could not wait), which is newer than anything in the
 * ring.
 */
static VmiEvent *ring_next(VmiRing *r, uint32_t head)
{
    if (r->tail != head) {
        return r->slots[r->tail & (vmi.ring_size - 1)];
    }
    if (qatomic_read(&r->overflow_len)) {
        QEMU_LOCK_GUARD(&vmi.room_lock);
        return g_queue_peek_head(&r->overflow);
    }
    return NULL;
}


/* Remove ring_next(@r, @head) and return it. */
static VmiEvent *ring_take_next(VmiRing *r, uint32_t head)
{
    VmiEvent *ev;

    if (r->tail != head) {
        ev = r->slots[r->tail & (vmi.ring_size - 1)];
        /* the slot and the bytes are the producer's again */
        qatomic_set(&r->bytes_out, r->bytes_out + ev->bytes);
        qatomic_store_release(&r->tail, r->tail + 1);
    } else {
        WITH_QEMU_LOCK_GUARD(&vmi.room_lock) {
            ev = g_queue_pop_head(&r->overflow);
            r->overflow_bytes -= ev->bytes;
            qatomic_set(&r->overflow_len, r->overflow_len - 1);
        }
    }
    qatomic_set(&r->emitted, r->emitted + 1);
    return ev;
}


/*
 * The ring whose next event has the lowest sequence number: each vCPU's
 * ring is in order, and merging them by number delivers every task's
 * events in the order they happened, even when its entry and its exit
 * were trapped on different vCPUs.  @heads are the producers' positions
 * as last read; a ring that looks empty is read again.
 */
static VmiRing *ring_lowest(uint32_t *heads, uint32_t **head)
{
    VmiRing *best = NULL;
    uint64_t best_seq = UINT64_MAX;

    for (unsigned i = 0; i < vmi.nr_rings; i++) {
        VmiRing *r = &vmi.rings[i];
        VmiEvent *ev;

        if (r->tail == heads[i]) {
            heads[i] = qatomic_load_acquire(&r->head);
        }
        ev = ring_next(r, heads[i]);
        if (ev && ev->seq < best_seq) {
            best = r;
            best_seq = ev->seq;
            *head = &heads[i];
        }
    }
    return best;
}


void vmi_rings_consume_begin(void)
{
    for (unsigned i = 0; i < vmi.nr_rings; i++) {
        vmi.heads[i] = qatomic_load_acquire(&vmi.rings[i].head);
    }
}

VmiEvent *vmi_rings_pop(uint64_t upto)
{
    uint32_t *head;
    VmiRing *r = ring_lowest(vmi.heads, &head);

    if (!r || ring_next(r, *head)->seq > upto) {
        return NULL;
    }
    return ring_take_next(r, *head);
}

uint64_t vmi_rings_last_seq(void)
{
    return qatomic_read(&vmi.seq);
}

/* Whether any ring has events left (after the drain published its tails) */
bool vmi_rings_pending(void)
{
    /* pairs with ring_push(): see its head, or it sees our tail */
    smp_mb();
    for (unsigned i = 0; i < vmi.nr_rings; i++) {
        VmiRing *r = &vmi.rings[i];

        if (r->tail != qatomic_read(&r->head) ||
            qatomic_read(&r->overflow_len)) {
            return true;
        }
    }
    return false;
}

void vmi_rings_wake(bool all)
{
    if (!vmi.nr_rings) {
        return;
    }
    QEMU_LOCK_GUARD(&vmi.room_lock);
    if (all || vmi.waiters) {
        qemu_cond_broadcast(&vmi.room);
    }
}
