/*
 * QEMU's osdep.h for kvm-vmi's guest-walking code built outside QEMU, in
 * unit and fuzz tests: the same sources include "qemu/osdep.h" first, as
 * QEMU requires, and get the system headers they need from here.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef STANDALONE_QEMU_OSDEP_H
#define STANDALONE_QEMU_OSDEP_H

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <endian.h>
#include <unistd.h>
#include <glib.h>


#endif
