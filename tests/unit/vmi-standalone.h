/*
 * Build kvm-vmi's guest-walking code outside QEMU, for unit and fuzz tests.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VMI_STANDALONE_H
#define VMI_STANDALONE_H

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

#define le64_to_cpu(x) le64toh(x)
#define le32_to_cpu(x) le32toh(x)

#endif
