/*
 * kvm-vmi: guest kernel profiles (Volatility3 ISF JSON)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Only what introspection needs is kept: every symbol's address, the
 * offsets of the user_types' fields and the kernel banner.  The JSON
 * tree itself is dropped once read, profiles can be tens of MB.
 */

#include "qemu/osdep.h"
#include <json-c/json.h>
#include "accel/vmi/core/vmi-profile.h"

#define FIELD_KEY_MAX   256

static bool fail(char **err, const char *path, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static bool fail(char **err, const char *path, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    *err = g_strdup_printf("profile '%s': %s", path, msg);
    return false;
}

void vmi_profile_free(VmiProfile *p)
{
    if (!p) {
        return;
    }
    g_free(p->path);
    g_hash_table_destroy(p->symbols);
    g_hash_table_destroy(p->fields);
    g_hash_table_destroy(p->bitfields);
    g_hash_table_destroy(p->scalars);
    g_hash_table_destroy(p->sizes);
    g_free(p->banner);
    g_free(p);
}

/* JSON integers may be written as numbers or (for u64) as strings. */
static bool json_to_u64(struct json_object *o, uint64_t *val)
{
    if (json_object_is_type(o, json_type_int)) {
        /* values above INT64_MAX read back as INT64_MAX here */
        if (json_object_get_int64(o) < 0) {
            return false;
        }
        *val = json_object_get_uint64(o);
        return true;
    }
    if (json_object_is_type(o, json_type_string)) {
        const char *s = json_object_get_string(o);
        char *end;

        errno = 0;
        *val = g_ascii_strtoull(s, &end, 0);
        return *s && !*end && errno == 0;
    }
    return false;
}

static bool parse_symbols(VmiProfile *p, struct json_object *symbols,
                          char **err)
{
    json_object_object_foreach(symbols, name, sym) {
        struct json_object *addr, *data;
        uint64_t *value;

        if (!json_object_is_type(sym, json_type_object) ||
            !json_object_object_get_ex(sym, "address", &addr)) {
            return fail(err, p->path, "symbol '%s' has no address", name);
        }
        value = g_new(uint64_t, 1);
        if (!json_to_u64(addr, value)) {
            g_free(value);
            return fail(err, p->path, "symbol '%s' has a bad address", name);
        }
        g_hash_table_insert(p->symbols, g_strdup(name), value);

        if (!strcmp(name, "linux_banner") &&
            json_object_object_get_ex(sym, "constant_data", &data) &&
            json_object_is_type(data, json_type_string)) {
            gsize len;
            guchar *raw = g_base64_decode(json_object_get_string(data), &len);

            p->banner = g_strndup((const char *)raw, len);
            g_strchomp(p->banner);
            g_free(raw);
        }
    }
    return true;
}

#define SCALAR_NAME_MAX     64
#define SCALAR_WORDS_MAX    8

static int compare_words(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * @c_type's canonical spelling in @out: qualifiers and "signed" (but
 * for "signed char") dropped, "int" added where only modifiers are
 * left, words sorted.  False for pointers and what is too long.
 */
static bool canonical_type(const char *c_type, char *out, size_t size)
{
    g_auto(GStrv) words = NULL;
    const char *kept[SCALAR_WORDS_MAX + 1];
    unsigned n = 0;
    bool only_modifiers = true, is_char;
    size_t len = 0;

    if (strlen(c_type) >= SCALAR_NAME_MAX || strchr(c_type, '*')) {
        return false;
    }
    words = g_strsplit(c_type, " ", -1);
    is_char = g_strv_contains((const char *const *)words, "char");
    for (char **w = words; *w; w++) {
        if (!**w || !strcmp(*w, "const") || !strcmp(*w, "volatile") ||
            !strcmp(*w, "__user") || (!strcmp(*w, "signed") && !is_char)) {
            continue;
        }
        if (n == SCALAR_WORDS_MAX) {
            return false;
        }
        only_modifiers &= !strcmp(*w, "unsigned") || !strcmp(*w, "long") ||
                          !strcmp(*w, "short") || !strcmp(*w, "signed");
        kept[n++] = *w;
    }
    if (n == 0) {
        return false;
    }
    if (only_modifiers) {
        if (n == SCALAR_WORDS_MAX) {
            return false;
        }
        kept[n++] = "int";
    }
    qsort(kept, n, sizeof(kept[0]), compare_words);
    for (unsigned i = 0; i < n; i++) {
        int w = snprintf(out + len, size - len, "%s%s", i ? " " : "",
                         kept[i]);

        if (w < 0 || (size_t)w >= size - len) {
            return false;
        }
        len += w;
    }
    return true;
}

/*
 * "base_types": {"uid_t": {"kind": "int", "size": 4, "signed": false},
 * "cap_user_header_t": {"kind": "pointer", ...}}.  Optional; an entry
 * that is not an integer or pointer of 1, 2, 4 or 8 bytes is skipped.
 */
static bool parse_base_types(VmiProfile *p, struct json_object *types,
                             char **err)
{
    json_object_object_foreach(types, tname, type) {
        struct json_object *kind, *size, *sign;
        char key[SCALAR_NAME_MAX];
        uint64_t bytes;
        const char *k;
        unsigned packed;

        if (!json_object_is_type(type, json_type_object) ||
            !json_object_object_get_ex(type, "kind", &kind) ||
            !json_object_is_type(kind, json_type_string) ||
            !json_object_object_get_ex(type, "size", &size) ||
            !json_to_u64(size, &bytes)) {
            return fail(err, p->path, "base type '%s' has no valid kind and "
                        "size", tname);
        }
        k = json_object_get_string(kind);
        if ((strcmp(k, "int") && strcmp(k, "char") && strcmp(k, "bool") &&
             strcmp(k, "pointer")) ||
            (bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8) ||
            !canonical_type(tname, key, sizeof(key))) {
            continue;
        }
        packed = bytes;
        if (!strcmp(k, "pointer")) {
            packed |= VMI_SCALAR_POINTER;
        } else if (json_object_object_get_ex(type, "signed", &sign) &&
                   json_object_get_boolean(sign)) {
            packed |= VMI_SCALAR_SIGNED;
        }
        g_hash_table_insert(p->scalars, g_strdup(key),
                            GUINT_TO_POINTER(packed));
    }
    return true;
}

/* A member whose type is {"kind": "bitfield", ...}: its bits. */
static bool parse_bitfield(VmiProfile *p, const char *tname,
                           const char *fname, struct json_object *field,
                           char **err)
{
    struct json_object *type, *kind, *pos, *len;
    uint64_t bit_position, bit_length;

    if (!json_object_object_get_ex(field, "type", &type) ||
        !json_object_is_type(type, json_type_object) ||
        !json_object_object_get_ex(type, "kind", &kind) ||
        !json_object_is_type(kind, json_type_string) ||
        strcmp(json_object_get_string(kind), "bitfield")) {
        return true;
    }
    if (!json_object_object_get_ex(type, "bit_position", &pos) ||
        !json_to_u64(pos, &bit_position) || bit_position >= 64 ||
        !json_object_object_get_ex(type, "bit_length", &len) ||
        !json_to_u64(len, &bit_length) || bit_length == 0 ||
        bit_position + bit_length > 64) {
        return fail(err, p->path, "bitfield '%s.%s' has no valid "
                    "bit_position/bit_length (within 64 bits)", tname, fname);
    }
    g_hash_table_insert(p->bitfields, g_strdup_printf("%s.%s", tname, fname),
                        GSIZE_TO_POINTER(bit_position | bit_length << 16));
    return true;
}

static bool parse_user_types(VmiProfile *p, struct json_object *types,
                             char **err)
{
    json_object_object_foreach(types, tname, type) {
        struct json_object *size, *fields;
        uint64_t value;

        if (!json_object_is_type(type, json_type_object)) {
            return fail(err, p->path, "type '%s' is not an object", tname);
        }
        if (json_object_object_get_ex(type, "size", &size)) {
            if (!json_to_u64(size, &value)) {
                return fail(err, p->path, "type '%s' has a bad size", tname);
            }
            g_hash_table_insert(p->sizes, g_strdup(tname),
                                GSIZE_TO_POINTER(value));
        }
        if (!json_object_object_get_ex(type, "fields", &fields)) {
            continue;
        }
        if (!json_object_is_type(fields, json_type_object)) {
            return fail(err, p->path, "type '%s': 'fields' is not an object",
                        tname);
        }
        json_object_object_foreach(fields, fname, field) {
            struct json_object *offset;

            if (!json_object_is_type(field, json_type_object) ||
                !json_object_object_get_ex(field, "offset", &offset) ||
                !json_to_u64(offset, &value)) {
                return fail(err, p->path, "field '%s.%s' has no valid offset",
                            tname, fname);
            }
            if (strlen(tname) + strlen(fname) + 2 > FIELD_KEY_MAX) {
                continue;
            }
            g_hash_table_insert(p->fields, g_strdup_printf("%s.%s", tname,
                                                           fname),
                                GSIZE_TO_POINTER(value));
            if (!parse_bitfield(p, tname, fname, field, err)) {
                return false;
            }
        }
    }
    return true;
}

VmiProfile *vmi_profile_parse(const char *path, const char *text, size_t len,
                              char **err)
{
    struct json_tokener *tok;
    struct json_object *root, *symbols, *types;
    enum json_tokener_error jerr;
    VmiProfile *p;
    bool ok;

    if (len > INT_MAX) {
        fail(err, path, "file is too large");
        return NULL;
    }
    tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
    root = json_tokener_parse_ex(tok, text, len);
    jerr = json_tokener_get_error(tok);
    if (!root || jerr != json_tokener_success) {
        if (jerr == json_tokener_continue) {
            fail(err, path, "truncated JSON (file ends inside a value)");
        } else {
            fail(err, path, "malformed JSON at byte %zu: %s",
                 json_tokener_get_parse_end(tok),
                 json_tokener_error_desc(jerr));
        }
        json_object_put(root);
        json_tokener_free(tok);
        return NULL;
    }
    if (json_tokener_get_parse_end(tok) < len &&
        strspn(text + json_tokener_get_parse_end(tok), " \t\r\n") !=
        len - json_tokener_get_parse_end(tok)) {
        fail(err, path, "trailing data after the JSON object at byte %zu",
             json_tokener_get_parse_end(tok));
        json_object_put(root);
        json_tokener_free(tok);
        return NULL;
    }
    json_tokener_free(tok);

    p = g_new0(VmiProfile, 1);
    p->path = g_strdup(path);
    p->symbols = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    p->fields = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    p->sizes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    p->bitfields = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                         NULL);
    p->scalars = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    if (!json_object_is_type(root, json_type_object)) {
        ok = fail(err, path, "not an ISF profile (top level is not an object)");
    } else if (!json_object_object_get_ex(root, "symbols", &symbols) ||
               !json_object_is_type(symbols, json_type_object)) {
        ok = fail(err, path, "not an ISF profile (no 'symbols' object)");
    } else if (!json_object_object_get_ex(root, "user_types", &types) ||
               !json_object_is_type(types, json_type_object)) {
        ok = fail(err, path, "not an ISF profile (no 'user_types' object)");
    } else {
        struct json_object *base;

        ok = parse_symbols(p, symbols, err) && parse_user_types(p, types, err);
        if (ok && json_object_object_get_ex(root, "base_types", &base)) {
            ok = json_object_is_type(base, json_type_object) ?
                 parse_base_types(p, base, err) :
                 fail(err, path, "'base_types' is not an object");
        }
    }
    json_object_put(root);
    if (!ok) {
        vmi_profile_free(p);
        return NULL;
    }
    return p;
}

VmiProfile *vmi_profile_load(const char *path, char **err)
{
    g_autofree char *text = NULL;
    g_autoptr(GError) gerr = NULL;
    struct stat st;
    gsize len;

    if (stat(path, &st) < 0) {
        fail(err, path, "%s", g_strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        fail(err, path, "not a regular file");
        return NULL;
    }
    if (st.st_size > VMI_PROFILE_MAX_SIZE) {
        fail(err, path, "file is too large (%lld bytes, at most %d)",
             (long long)st.st_size, VMI_PROFILE_MAX_SIZE);
        return NULL;
    }
    if (!g_file_get_contents(path, &text, &len, &gerr)) {
        fail(err, path, "%s", gerr->message);
        return NULL;
    }
    if (len == 0) {
        fail(err, path, "file is empty");
        return NULL;
    }
    return vmi_profile_parse(path, text, len, err);
}

bool vmi_profile_symbol(const VmiProfile *p, const char *name, uint64_t *addr)
{
    uint64_t *v = g_hash_table_lookup(p->symbols, name);

    if (!v) {
        return false;
    }
    *addr = *v;
    return true;
}

/* The value kept for "type.field" in @table */
static bool lookup_member(GHashTable *table, const char *type,
                          const char *field, gpointer *value)
{
    char key[FIELD_KEY_MAX];

    return snprintf(key, sizeof(key), "%s.%s", type, field) < (int)sizeof(key)
           && g_hash_table_lookup_extended(table, key, NULL, value);
}

bool vmi_profile_field(const VmiProfile *p, const char *type,
                       const char *field, uint64_t *offset)
{
    gpointer value;

    if (!lookup_member(p->fields, type, field, &value)) {
        return false;
    }
    *offset = GPOINTER_TO_SIZE(value);
    return true;
}

bool vmi_profile_scalar(const VmiProfile *p, const char *c_type,
                        unsigned *size, bool *is_signed)
{
    char key[SCALAR_NAME_MAX];
    gpointer value;
    unsigned packed;

    if (!canonical_type(c_type, key, sizeof(key)) ||
        !g_hash_table_lookup_extended(p->scalars, key, NULL, &value)) {
        return false;
    }
    packed = GPOINTER_TO_UINT(value);
    if (packed & VMI_SCALAR_POINTER) {
        return false;
    }
    *size = packed & 0xff;
    *is_signed = packed & VMI_SCALAR_SIGNED;
    return true;
}

bool vmi_profile_bitfield(const VmiProfile *p, const char *type,
                          const char *field, unsigned *bit_position,
                          unsigned *bit_length)
{
    gpointer value;

    if (!lookup_member(p->bitfields, type, field, &value)) {
        return false;
    }
    *bit_position = GPOINTER_TO_SIZE(value) & 0xffff;
    *bit_length = GPOINTER_TO_SIZE(value) >> 16;
    return true;
}

bool vmi_profile_type_size(const VmiProfile *p, const char *type,
                           uint64_t *size)
{
    gpointer value;

    if (!g_hash_table_lookup_extended(p->sizes, type, NULL, &value)) {
        return false;
    }
    *size = GPOINTER_TO_SIZE(value);
    return true;
}
