/*
 * kvm-vmi: a system call's parameters, named, typed and decoded
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What an OS layer decodes at a system call's entry, in the form the
 * core carries to consumers; the OS layer owns how (os/linux/ reads the
 * kernel's own prototypes).
 */

#ifndef VMI_PARAMS_H
#define VMI_PARAMS_H

#define VMI_MAX_ARGS        6

typedef enum VmiParamKind {
    VMI_PARAM_VALUE,        /* only the raw value */
    VMI_PARAM_STRING,       /* NUL-terminated string in user memory */
    VMI_PARAM_STRINGS,      /* NULL-terminated array of strings */
    VMI_PARAM_FD,           /* file descriptor, AT_FDCWD */
    VMI_PARAM_FLAGS,        /* flag set by name */
    VMI_PARAM_SOCKADDR,     /* struct sockaddr in user memory */
} VmiParamKind;

typedef struct VmiSockAddress {
    char *family;           /* "AF_INET", "AF_INET6", "AF_UNIX" or number */
    char *address;          /* AF_INET, AF_INET6 */
    int port;               /* AF_INET, AF_INET6; -1 otherwise */
    char *path;             /* AF_UNIX; abstract names start with '@' */
} VmiSockAddress;

typedef struct VmiParam {
    char *name;
    char *type;
    uint64_t raw;
    VmiParamKind kind;
    char *text;             /* STRING, FD, FLAGS */
    char **strings;         /* STRINGS */
    VmiSockAddress sockaddr;    /* SOCKADDR */
    /*
     * an integer parameter: @raw at its type's width, sign-extended if
     * the type is signed
     */
    bool has_int;
    bool int_signed;
    uint64_t int_value;
    bool truncated;
    bool unreadable;
} VmiParam;

typedef struct VmiParams {
    unsigned n;
    VmiParam p[VMI_MAX_ARGS];
} VmiParams;

void vmi_params_clear(VmiParams *ps);

#endif
