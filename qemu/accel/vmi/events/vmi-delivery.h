/*
 * kvm-vmi: delivery of events to their consumers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A main-loop bottom half moves events from the rings to QMP or to the
 * chardev sink, in the order they were produced and only while the
 * consumer keeps up; VMI_EVENTS_LOST reports what the rings dropped.
 */

#ifndef VMI_DELIVERY_H
#define VMI_DELIVERY_H

/* Events are waiting in a ring (any thread). */
void vmi_delivery_kick(void);
/*
 * A session starts: counters start again, losses are reported from now
 * on, and events go to chardev @chardev if not NULL, else to QMP, where
 * the drain keeps pace with QMP client @follow (the one that enabled
 * tracing) if not NULL, else with the fastest.
 */
bool vmi_delivery_start(const char *chardev, Monitor *follow, Error **errp);
/* Events QMP clients skipped, having fallen behind, this session */
uint64_t vmi_delivery_skipped(void);
/*
 * The session ended: deliver what was trapped, report what was lost and
 * give the chardev back.
 */
void vmi_delivery_stop(void);
/* Calls in flight a reset or a new kernel ended (any thread) */
void vmi_delivery_count_abandoned(uint64_t calls);
uint64_t vmi_delivery_abandoned(void);
/* Events delivered since the session started */
uint64_t vmi_delivery_events(void);
/* The chardev events go to, or NULL for QMP */
const char *vmi_delivery_chardev(void);

#endif
