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
bool vmi_profile_type_size(const VmiProfile *p, const char *type,
                           uint64_t *size);

#endif
