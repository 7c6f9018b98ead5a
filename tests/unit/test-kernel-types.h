/*
 * The structure layouts of the synthetic kernel the unit and fuzz tests
 * walk, as a profile's "user_types" object.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TEST_KERNEL_TYPES_H
#define TEST_KERNEL_TYPES_H

#define TEST_KERNEL_TYPES_JSON \
    "{\"task_struct\": {\"size\": 9792, \"fields\": {" \
    "  \"pid\": {\"offset\": 2416}, \"tgid\": {\"offset\": 2420}," \
    "  \"comm\": {\"offset\": 2976}, \"tasks\": {\"offset\": 2200}," \
    "  \"real_parent\": {\"offset\": 2440}, \"mm\": {\"offset\": 2296}," \
    "  \"cred\": {\"offset\": 2960}, \"children\": {\"offset\": 2456}," \
    "  \"sibling\": {\"offset\": 2472}, \"exit_code\": {\"offset\": 2488}," \
    "  \"exit_state\": {\"offset\": 2492}}}," \
    "  \"mm_struct\": {\"size\": 1000, \"fields\": {" \
    "  \"pgd\": {\"offset\": 72}, \"exe_file\": {\"offset\": 944}," \
    "  \"arg_start\": {\"offset\": 304}, \"arg_end\": {\"offset\": 312}}}," \
    "  \"file\": {\"size\": 232, \"fields\": {" \
    "  \"f_path\": {\"offset\": 16}}}," \
    "  \"path\": {\"size\": 16, \"fields\": {" \
    "  \"mnt\": {\"offset\": 0}, \"dentry\": {\"offset\": 8}}}," \
    "  \"dentry\": {\"size\": 192, \"fields\": {" \
    "  \"d_parent\": {\"offset\": 24}, \"d_name\": {\"offset\": 32}}}," \
    "  \"qstr\": {\"size\": 16, \"fields\": {" \
    "  \"name\": {\"offset\": 8}}}," \
    "  \"mount\": {\"size\": 320, \"fields\": {" \
    "  \"mnt_parent\": {\"offset\": 16}," \
    "  \"mnt_mountpoint\": {\"offset\": 24}, \"mnt\": {\"offset\": 32}}}," \
    "  \"vfsmount\": {\"size\": 32, \"fields\": {" \
    "  \"mnt_root\": {\"offset\": 0}}}," \
    "  \"cred\": {\"size\": 176, \"fields\": {" \
    "  \"uid\": {\"offset\": 8}}}," \
    "  \"pt_regs\": {\"size\": 168, \"fields\": {" \
    "  \"ax\": {\"offset\": 80}}}}"

#endif
