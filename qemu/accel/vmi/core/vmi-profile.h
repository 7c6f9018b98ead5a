/*
 * kvm-vmi: guest kernel profiles (Volatility3 ISF JSON)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VMI_PROFILE_H
#define VMI_PROFILE_H

/* Profiles larger than this are refused rather than parsed. */
#define VMI_PROFILE_MAX_SIZE    (512 * 1024 * 1024)

typedef struct VmiProfile {
    char *path;
    GHashTable *symbols;    /* name -> uint64_t * link-time address */
    GHashTable *fields;     /* "struct.field" -> byte offset (in a pointer) */
    GHashTable *sizes;      /* "struct" -> size (in a pointer) */
    /* "struct.field" -> bit position | bit length << 16, for bitfields */
    GHashTable *bitfields;
    /*
     * integer types and typedefs by canonical C name (see
     * vmi_profile_scalar) -> size | VMI_SCALAR_SIGNED | VMI_SCALAR_POINTER
     */
    GHashTable *scalars;
    char *banner;           /* linux_banner's text, from constant_data */
} VmiProfile;

/*
 * Parse the ISF file at @path.  On failure return NULL and set *@err to
 * a message that names the file and what is wrong with it.
 */
VmiProfile *vmi_profile_load(const char *path, char **err);
VmiProfile *vmi_profile_parse(const char *path, const char *text, size_t len,
                              char **err);
void vmi_profile_free(VmiProfile *p);

bool vmi_profile_symbol(const VmiProfile *p, const char *name, uint64_t *addr);
bool vmi_profile_field(const VmiProfile *p, const char *type,
                       const char *field, uint64_t *offset);
/*
 * For a bitfield member, its first bit and width within the storage unit
 * at its offset; false for any other member.
 */
bool vmi_profile_bitfield(const VmiProfile *p, const char *type,
                          const char *field, unsigned *bit_position,
                          unsigned *bit_length);
#define VMI_SCALAR_SIGNED   0x100
#define VMI_SCALAR_POINTER  0x200

/*
 * The size and signedness of the integer type a system call prototype
 * names (@c_type, e.g. "unsigned long", "const uid_t", "pid_t"), from the
 * profile's base types (the kernel's BTF); false for pointers and types
 * it does not know.  Spellings are compared after dropping qualifiers and
 * "signed", adding an implied "int" and ordering the words, so "unsigned
 * long" finds BTF's "long unsigned int".
 */
bool vmi_profile_scalar(const VmiProfile *p, const char *c_type,
                        unsigned *size, bool *is_signed);
bool vmi_profile_type_size(const VmiProfile *p, const char *type,
                           uint64_t *size);

#endif
