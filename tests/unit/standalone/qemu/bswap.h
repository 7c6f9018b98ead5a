/*
 * QEMU's bswap.h, the part kvm-vmi's guest-walking code uses, for unit
 * and fuzz tests built outside QEMU.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef STANDALONE_QEMU_BSWAP_H
#define STANDALONE_QEMU_BSWAP_H

#include <endian.h>

#define le64_to_cpu(x) le64toh(x)
#define le32_to_cpu(x) le32toh(x)

#endif
