/*
 * kvm-vmi qtest: ground truth
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What the guest's test programs print, parsed, and the checks that hold
 * the events against it; see truth.c.
 */

#ifndef VMI_TEST_TRUTH_H
#define VMI_TEST_TRUTH_H

#include "vmi/guest.h"

/* "KEY=VALUE" words of a line the guest printed */
char *field(const char *line, const char *key);
long field_long(const char *line, const char *key);
char *line_with(const char *out, const char *prefix);

/* Run a program in the guest and check its events */
void run_truth(Guest *g);
void check_params(Guest *g);
void check_hostile(Guest *g);
void check_processes(Guest *g);
void check_storm(Guest *g);
void check_storm_pid(Guest *g, long pid, guint calls);

#endif
