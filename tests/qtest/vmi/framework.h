/*
 * kvm-vmi qtest: what the tests of every area share
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Like tests/qtest/migration/framework.h: the helpers every area's tests
 * use (framework.c), and the function of each area that registers its
 * tests, called by vmi-test.c's main().
 */

#ifndef VMI_TEST_FRAMEWORK_H
#define VMI_TEST_FRAMEWORK_H

#include "vmi/guest.h"

/* QMP: the result of a command that must work, the error of one that fails */
QDict *qmp_ok(Guest *g, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
char *qmp_error(Guest *g, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
uint64_t dict_uint(QDict *d, const char *key);
void check_accel(Guest *g);

/* VMI_SYSCALL events */
const char *ev_str(QDict *ev, const char *key);
/* The string (or fd) parameter @name of @ev, or NULL */
const char *ev_param_str(QDict *ev, const char *name);
int64_t ev_pid(QDict *ev);
bool ev_is(QDict *ev, const char *dir, const char *name);
QDict *ev_param(QDict *ev, const char *name);
GPtrArray *events_of(Guest *g, long pid);
QDict *next_event(GPtrArray *evs, guint *i, const char *dir,
                  const char *name);
guint after_last_exec(GPtrArray *evs);

/* VMI_PROCESS_START, VMI_PROCESS_EXIT */
QDict *process_event(Guest *g, const char *event, const char *kind,
                     long pid);
QDict *wait_process_event(Guest *g, const char *event, const char *kind,
                          long pid);
void check_argv(QDict *ev, const char *expect);

/* query-vmi's counters */
int64_t sum_vcpus(Guest *g, const char *key);
void wait_delivered(Guest *g);
void check_no_drops(Guest *g);
void check_kvm_counters_max(Guest *g, int64_t max_ioctls);
void check_kvm_counters(Guest *g);

/* Each area registers its tests (in the order main() calls them) */
void vmi_test_add_cmdline(void);
void vmi_test_add_syscalls(void);
void vmi_test_add_processes(void);
void vmi_test_add_delivery(void);
void vmi_test_add_lifecycle(void);
void vmi_test_add_kvm(void);
void vmi_test_add_memory(void);
void vmi_test_add_qmp(void);
void vmi_test_add_bench(void);

#endif
