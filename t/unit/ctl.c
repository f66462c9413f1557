/*
 * ctl - unit tests of the settings <-> JSON mapping of the control
 * protocol, of the client's error for an unreachable daemon, and of the
 * committed default file conf/segtls.conf (it must be exactly what
 * seg_settings_to_keyfile writes for the defaults).
 */
#include "ctl.h"
#include "error.h"
#include "store.h"

/* test_json_roundtrip - every key survives to_json/from_json */
static void test_json_roundtrip(void)
{
    g_autoptr(seg_settings) s = seg_settings_new_default();
    g_autoptr(seg_settings) back = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonObject) obj = NULL;
    const char *const *key;

    g_assert_true(seg_settings_set(s, "inbound.methods", "1.1-1.3", NULL));
    g_assert_true(seg_settings_set(s, "outbound.tls", "required-verify", NULL));
    obj = seg_settings_to_json(s);
    for (key = seg_settings_keys(); *key != NULL; key++)
        g_assert_true(json_object_has_member(obj, *key));
    g_assert_cmpuint(json_object_get_size(obj), ==,
                     g_strv_length((char **) seg_settings_keys()));
    g_assert_cmpstr(json_object_get_string_member(obj, "inbound.methods"), ==,
                    "1.1-1.3");
    back = seg_settings_from_json(obj, &err);
    g_assert_no_error(err);
    g_assert_true(seg_settings_equal(s, back));
}

/* test_json_refused - wrong types, unknown keys and bad values */
static void test_json_refused(void)
{
    g_autoptr(JsonObject) obj = json_object_new();
    g_autoptr(GError) err = NULL;

    json_object_set_int_member(obj, "inbound.methods", 12);
    g_assert_null(seg_settings_from_json(obj, &err));
    g_assert_cmpstr(err->message, ==, "inbound.methods: value must be a string");
    g_clear_error(&err);
    json_object_remove_member(obj, "inbound.methods");
    json_object_set_string_member(obj, "inbound.methods", "1.0,1.2");
    g_assert_null(seg_settings_from_json(obj, &err));
    g_assert_cmpstr(err->message, ==, "inbound.methods: \"1.0,1.2\": TLS v1.0 "
                    "and TLS v1.2 cannot be enabled without TLS v1.1");
}

/* test_unreachable - the client names the socket and the reason */
static void test_unreachable(void)
{
    g_autoptr(JsonObject) req = seg_ctl_request("show");
    g_autoptr(GError) err = NULL;

    g_assert_null(seg_ctl_call("/nonexistent/segtls.sock", req, &err));
    g_assert_cmpstr(err->message, ==, "cannot reach segtls-policyd at "
                    "/nonexistent/segtls.sock: No such file or directory");
}

/* test_check - ok:true passes, anything else gives its error */
static void test_check(void)
{
    g_autoptr(JsonObject) good = json_object_new();
    g_autoptr(JsonObject) bad = json_object_new();
    g_autoptr(GError) err = NULL;

    json_object_set_boolean_member(good, "ok", TRUE);
    g_assert_true(seg_ctl_check(good, NULL));
    json_object_set_boolean_member(bad, "ok", FALSE);
    json_object_set_string_member(bad, "error", "no such thing");
    g_assert_false(seg_ctl_check(bad, &err));
    g_assert_cmpstr(err->message, ==, "no such thing");
}

/* test_socket_path - option, then environment, then default */
static void test_socket_path(void)
{
    g_unsetenv("SEGTLS_SOCKET");
    g_assert_cmpstr(seg_ctl_socket_path(NULL), ==, SEG_DEFAULT_SOCKET);
    g_setenv("SEGTLS_SOCKET", "/tmp/x.sock", TRUE);
    g_assert_cmpstr(seg_ctl_socket_path(NULL), ==, "/tmp/x.sock");
    g_assert_cmpstr(seg_ctl_socket_path("/o.sock"), ==, "/o.sock");
    g_unsetenv("SEGTLS_SOCKET");
}

/* test_default_conf - conf/segtls.conf is the defaults, byte for byte */
static void test_default_conf(void)
{
    const char *top = g_getenv("SEGTLS_TOP");
    g_autofree char *path = g_build_filename(top ? top : ".", "conf",
                                             "segtls.conf", NULL);
    g_autoptr(seg_settings) s = seg_settings_new_default();
    g_autoptr(GError) err = NULL;
    g_autofree char *want = NULL;
    g_autofree char *got = NULL;
    gsize   len;

    want = seg_settings_to_keyfile(s, &len);
    g_assert_true(g_file_get_contents(path, &got, NULL, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(got, ==, want);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ctl/json-roundtrip", test_json_roundtrip);
    g_test_add_func("/ctl/json-refused", test_json_refused);
    g_test_add_func("/ctl/unreachable", test_unreachable);
    g_test_add_func("/ctl/check", test_check);
    g_test_add_func("/ctl/socket-path", test_socket_path);
    g_test_add_func("/ctl/default-conf", test_default_conf);
    return g_test_run();
}
