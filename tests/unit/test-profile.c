/*
 * Unit tests: ISF profile parsing, including malformed files.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "accel/vmi/core/vmi-profile.h"

static const char good[] =
    "{\"metadata\": {\"format\": \"6.2.0\"},"
    " \"base_types\": {}, \"enums\": {},"
    " \"user_types\": {\"task_struct\": {\"kind\": \"struct\", \"size\": 9792,"
    "   \"fields\": {\"pid\": {\"offset\": 2416, \"type\": {\"kind\": \"base\","
    "   \"name\": \"int\"}}, \"comm\": {\"offset\": 2976}}}},"
    " \"symbols\": {\"init_task\": {\"address\": 18446744071606217280},"
    "   \"current_task\": {\"address\": 129920},"
    "   \"linux_banner\": {\"address\": 18446744071597758720,"
    "     \"constant_data\": \"TGludXggdmVyc2lvbiA2LjEuMAo=\"}}}";

static char *write_tmp(const char *text, size_t len)
{
    char *path = NULL;
    int fd = g_file_open_tmp("vmi-profile-XXXXXX.json", &path, NULL);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, text, len), ==, (ssize_t)len);
    close(fd);
    return path;
}

static void test_good(void)
{
    char *path = write_tmp(good, strlen(good)), *err = NULL;
    VmiProfile *p = vmi_profile_load(path, &err);
    uint64_t v;

    g_assert_null(err);
    g_assert_nonnull(p);
    g_assert_true(vmi_profile_symbol(p, "init_task", &v));
    g_assert_cmphex(v, ==, 0xffffffff82a1aa40ULL);
    g_assert_true(vmi_profile_symbol(p, "current_task", &v));
    g_assert_cmphex(v, ==, 0x1fb80);
    g_assert_false(vmi_profile_symbol(p, "nope", &v));
    g_assert_true(vmi_profile_field(p, "task_struct", "pid", &v));
    g_assert_cmpuint(v, ==, 2416);
    g_assert_false(vmi_profile_field(p, "task_struct", "nope", &v));
    g_assert_true(vmi_profile_type_size(p, "task_struct", &v));
    g_assert_cmpuint(v, ==, 9792);
    g_assert_cmpstr(p->banner, ==, "Linux version 6.1.0");
    vmi_profile_free(p);
    unlink(path);
    g_free(path);
}

static void expect_error(const char *text, size_t len, const char *needle)
{
    char *path = write_tmp(text, len), *err = NULL;
    VmiProfile *p = vmi_profile_load(path, &err);

    g_assert_null(p);
    g_assert_nonnull(err);
    if (!strstr(err, needle) || !strstr(err, path)) {
        g_error("error '%s' lacks '%s' or the file name", err, needle);
    }
    g_free(err);
    unlink(path);
    g_free(path);
}

static void expect_error_str(const char *text, const char *needle)
{
    expect_error(text, strlen(text), needle);
}

static void test_malformed(void)
{
    expect_error("", 0, "empty");
    expect_error_str("{\"symbols\": {", "truncated");
    expect_error_str("{\"symbols\" 1}", "malformed JSON at byte");
    expect_error_str("[1, 2]", "top level is not an object");
    expect_error_str("{\"user_types\": {}}", "no 'symbols'");
    expect_error_str("{\"symbols\": {}}", "no 'user_types'");
    expect_error_str("{\"symbols\": {\"a\": {}}, \"user_types\": {}}",
                 "symbol 'a' has no address");
    expect_error_str("{\"symbols\": {\"a\": {\"address\": -5}}, \"user_types\": {}}", "symbol 'a' has a bad address");
    expect_error_str("{\"symbols\": {}, \"user_types\": {\"t\": {\"fields\":"
                 " {\"f\": {\"offset\": \"x\"}}}}}", "field 't.f'");
    expect_error_str("{\"symbols\": {}, \"user_types\": {}} trailing",
                 "trailing data");
    expect_error_str("{\"symbols\": {}, \"user_types\": {\"t\": {\"fields\":"
                 " {\"b\": {\"offset\": 4, \"type\": {\"kind\": \"bitfield\","
                 " \"bit_position\": 60, \"bit_length\": 7}}}}}}",
                 "bitfield 't.b'");
    expect_error_str("{\"symbols\": {}, \"user_types\": {}, \"base_types\":"
                 " {\"uid_t\": {\"kind\": \"int\"}}}", "base type 'uid_t'");
    expect_error_str("{\"symbols\": {}, \"user_types\": {}, \"base_types\":"
                 " []}", "'base_types' is not an object");
    /* NUL bytes inside the file */
    expect_error("{\"symbols\": {}\0, \"user_types\": {}}", 34, "malformed");
}

/* A bitfield member (7.x's syscall_metadata.nb_args) keeps its bits. */
static void test_bitfield(void)
{
    static const char text[] =
        "{\"symbols\": {}, \"user_types\": {\"syscall_metadata\": {"
        " \"fields\": {"
        "  \"nb_args\": {\"offset\": 12, \"type\": {\"kind\": \"bitfield\","
        "   \"bit_position\": 0, \"bit_length\": 7,"
        "   \"type\": {\"kind\": \"base\", \"name\": \"unsigned char\"}}},"
        "  \"user_arg_is_str\": {\"offset\": 12, \"type\": {\"kind\":"
        "   \"bitfield\", \"bit_position\": 7, \"bit_length\": 1}},"
        "  \"types\": {\"offset\": 16, \"type\": {\"kind\": \"pointer\"}}"
        "}}}}";
    char *err = NULL;
    VmiProfile *p = vmi_profile_parse("t.json", text, strlen(text), &err);
    unsigned pos = 99, len = 99;
    uint64_t off;

    g_assert_null(err);
    g_assert_true(vmi_profile_field(p, "syscall_metadata", "nb_args", &off));
    g_assert_cmpuint(off, ==, 12);
    g_assert_true(vmi_profile_bitfield(p, "syscall_metadata", "nb_args",
                                       &pos, &len));
    g_assert_cmpuint(pos, ==, 0);
    g_assert_cmpuint(len, ==, 7);
    g_assert_true(vmi_profile_bitfield(p, "syscall_metadata",
                                       "user_arg_is_str", &pos, &len));
    g_assert_cmpuint(pos, ==, 7);
    g_assert_cmpuint(len, ==, 1);
    g_assert_false(vmi_profile_bitfield(p, "syscall_metadata", "types",
                                        &pos, &len));
    vmi_profile_free(p);
}

/*
 * Base types give each integer type named in a prototype its size and
 * sign, whatever the spelling.
 */
static void test_scalar(void)
{
    static const char text[] =
        "{\"symbols\": {}, \"user_types\": {}, \"base_types\": {"
        " \"long unsigned int\": {\"kind\": \"int\", \"size\": 8,"
        "   \"signed\": false},"
        " \"int\": {\"kind\": \"int\", \"size\": 4, \"signed\": true},"
        " \"uid_t\": {\"kind\": \"int\", \"size\": 4, \"signed\": false},"
        " \"umode_t\": {\"kind\": \"int\", \"size\": 2, \"signed\": false},"
        " \"cap_user_header_t\": {\"kind\": \"pointer\", \"size\": 8},"
        " \"__int128\": {\"kind\": \"int\", \"size\": 16, \"signed\": true},"
        " \"float\": {\"kind\": \"float\", \"size\": 4}}}";
    char *err = NULL;
    VmiProfile *p = vmi_profile_parse("t.json", text, strlen(text), &err);
    unsigned size = 0;
    bool is_signed = false;

    g_assert_null(err);
    g_assert_true(vmi_profile_scalar(p, "unsigned long", &size, &is_signed));
    g_assert_cmpuint(size, ==, 8);
    g_assert_false(is_signed);
    g_assert_true(vmi_profile_scalar(p, "long unsigned int", &size,
                                     &is_signed));
    g_assert_cmpuint(size, ==, 8);
    g_assert_true(vmi_profile_scalar(p, "signed int", &size, &is_signed));
    g_assert_cmpuint(size, ==, 4);
    g_assert_true(is_signed);
    g_assert_true(vmi_profile_scalar(p, "const uid_t", &size, &is_signed));
    g_assert_cmpuint(size, ==, 4);
    g_assert_false(is_signed);
    g_assert_true(vmi_profile_scalar(p, "umode_t", &size, &is_signed));
    g_assert_cmpuint(size, ==, 2);
    /* pointers, unknown and unsupported types have no integer width */
    g_assert_false(vmi_profile_scalar(p, "cap_user_header_t", &size,
                                      &is_signed));
    g_assert_false(vmi_profile_scalar(p, "int *", &size, &is_signed));
    g_assert_false(vmi_profile_scalar(p, "pid_t", &size, &is_signed));
    g_assert_false(vmi_profile_scalar(p, "__int128", &size, &is_signed));
    g_assert_false(vmi_profile_scalar(p, "float", &size, &is_signed));
    g_assert_false(vmi_profile_scalar(p, "", &size, &is_signed));
    vmi_profile_free(p);
}

static void test_missing_file(void)
{
    char *err = NULL;

    g_assert_null(vmi_profile_load("/nonexistent/profile.json", &err));
    g_assert_nonnull(strstr(err, "/nonexistent/profile.json"));
    g_assert_nonnull(strstr(err, "No such file"));
    g_free(err);
    g_assert_null(vmi_profile_load("/", &err));
    g_assert_nonnull(strstr(err, "not a regular file"));
    g_free(err);
}

static void test_deep_nesting(void)
{
    GString *s = g_string_new("{\"symbols\": ");

    for (int i = 0; i < 100000; i++) {
        g_string_append_c(s, '[');
    }
    expect_error(s->str, s->len, "profile");
    g_string_free(s, true);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmi/profile/good", test_good);
    g_test_add_func("/vmi/profile/malformed", test_malformed);
    g_test_add_func("/vmi/profile/missing-file", test_missing_file);
    g_test_add_func("/vmi/profile/bitfield", test_bitfield);
    g_test_add_func("/vmi/profile/scalar", test_scalar);
    g_test_add_func("/vmi/profile/deep-nesting", test_deep_nesting);
    return g_test_run();
}
