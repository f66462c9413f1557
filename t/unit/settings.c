/*
 * settings - unit tests of the settings table, its rules and messages.
 */
#include <string.h>

#include "cipherstr.h"
#include "error.h"
#include "quote.h"
#include "settings.h"
#include "tlsver.h"

/* test_keys - listing order and lookups */
static void test_keys(void)
{
    static const char *const want[] = {
        "gui.methods", "gui.ciphers", "gui.renegotiation", "gui.certificate",
        "inbound.methods", "inbound.ciphers", "inbound.renegotiation",
        "inbound.tls", "inbound.certificate", "outbound.methods",
        "outbound.ciphers", "outbound.tls", "outbound.ca_file",
        "other_client.tlsv1_0", "peer_cert.fqdn", "peer_cert.x509", NULL,
    };
    const char *const *keys = seg_settings_keys();

    for (guint i = 0; i < G_N_ELEMENTS(want); i++)
        g_assert_cmpstr(keys[i], ==, want[i]);
    for (guint i = 0; want[i]; i++)
        g_assert_true(seg_settings_has_key(want[i]));
    g_assert_false(seg_settings_has_key("foo.bar"));
    g_assert_false(seg_settings_has_key("gui"));
    g_assert_false(seg_settings_has_key(""));
    g_assert_cmpstr(seg_service_key(SEG_SVC_GUI), ==, "gui");
    g_assert_cmpstr(seg_service_key(SEG_SVC_INBOUND), ==, "inbound");
    g_assert_cmpstr(seg_service_key(SEG_SVC_OUTBOUND), ==, "outbound");
    g_assert_cmpstr(seg_service_title(SEG_SVC_GUI), ==, "GUI HTTPS");
    g_assert_cmpstr(seg_service_title(SEG_SVC_INBOUND), ==, "Inbound SMTP");
    g_assert_cmpstr(seg_service_title(SEG_SVC_OUTBOUND), ==, "Outbound SMTP");
}

/* test_defaults - every key's default, as text and as stored */
static void test_defaults(void)
{
    static const struct {
        const char *key, *value;
    } want[] = {
        {"gui.methods", "1.1-1.2"},
        {"gui.ciphers", SEG_DEFAULT_GUI_CIPHERS},
        {"gui.renegotiation", "enabled"},
        {"gui.certificate", ""},
        {"inbound.methods", "1.1-1.2"},
        {"inbound.ciphers", SEG_DEFAULT_INBOUND_CIPHERS},
        {"inbound.renegotiation", "enabled"},
        {"inbound.tls", "preferred"},
        {"inbound.certificate", ""},
        {"outbound.methods", "1.1-1.2"},
        {"outbound.ciphers", SEG_DEFAULT_OUTBOUND_CIPHERS},
        {"outbound.tls", "preferred"},
        {"outbound.ca_file", ""},
        {"other_client.tlsv1_0", "off"},
        {"peer_cert.fqdn", "off"},
        {"peer_cert.x509", "off"},
    };
    g_autoptr(seg_settings) s = seg_settings_new_default();

    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        g_autofree char *got = seg_settings_get(s, want[i].key);

        g_assert_cmpstr(got, ==, want[i].value);
    }
    g_assert_null(seg_settings_get(s, "foo.bar"));
    g_assert_cmpstr(SEG_DEFAULT_GUI_CIPHERS, ==,
                    "HIGH:MEDIUM:@STRENGTH:!aNULL:!eNULL:!LOW:!DES:!MD5:!EXP:"
                    "!PSK:!DSS:!RC2:!RC4:!SEED:!ECDSA:!ADH:!IDEA:!3DES:!SSLv2:"
                    "!SSLv3:!TLSv1:-aNULL:-EXPORT:-IDEA:!DHE-RSA-AES128-CCM:"
                    "!DHE-RSA-AES256-CCM:!DHE-RSA-AES256-SHA");
    for (int svc = 0; svc < SEG_SVC_COUNT; svc++)
        g_assert_cmpuint(s->svc[svc].methods, ==, SEG_TLS_V11 | SEG_TLS_V12);
    g_assert_true(s->svc[SEG_SVC_GUI].renegotiation);
    g_assert_true(s->svc[SEG_SVC_INBOUND].renegotiation);
    g_assert_cmpint(s->svc[SEG_SVC_INBOUND].tls, ==, SEG_TLSMODE_PREFERRED);
    g_assert_cmpint(s->svc[SEG_SVC_OUTBOUND].tls, ==, SEG_TLSMODE_PREFERRED);
    g_assert_false(s->other_client_tlsv1_0);
    g_assert_false(s->peer_cert_fqdn);
    g_assert_false(s->peer_cert_x509);
    g_assert_cmpstr(s->outbound_ca_file, ==, "");
    g_assert_cmpuint(seg_settings_other_client_methods(s), ==,
                     SEG_TLS_V11 | SEG_TLS_V12);
    g_assert_true(seg_settings_set(s, "other_client.tlsv1_0", "on", NULL));
    g_assert_cmpuint(seg_settings_other_client_methods(s), ==,
                     SEG_TLS_V10 | SEG_TLS_V11 | SEG_TLS_V12);
}

/* test_roundtrip - accepted values and their canonical text */
static void test_roundtrip(void)
{
    static const struct {
        const char *key, *in, *out;
    } t[] = {
        {"gui.methods", "1.3", "1.3"},
        {"gui.methods", "tlsv1_1tlsv1_2tlsv1_3", "1.1-1.3"},
        {"inbound.methods", "1.0,1.1", "1.0-1.1"},
        {"outbound.methods", "1.3-1.0", "1.0-1.3"},
        {"gui.ciphers", "HIGH:!aNULL", "HIGH:!aNULL"},
        {"inbound.ciphers", "AES256-SHA", "AES256-SHA"},
        {"outbound.ciphers", "ALL:@SECLEVEL=0", "ALL:@SECLEVEL=0"},
        {"gui.renegotiation", "disabled", "disabled"},
        {"gui.renegotiation", "OFF", "disabled"},
        {"inbound.renegotiation", "no", "disabled"},
        {"inbound.renegotiation", "Yes", "enabled"},
        {"inbound.renegotiation", "0", "disabled"},
        {"inbound.renegotiation", "true", "enabled"},
        {"peer_cert.fqdn", "enabled", "on"},
        {"peer_cert.fqdn", "FALSE", "off"},
        {"peer_cert.x509", "1", "on"},
        {"peer_cert.x509", "disabled", "off"},
        {"other_client.tlsv1_0", "ON", "on"},
        {"inbound.tls", "no", "no"},
        {"inbound.tls", "Required", "required"},
        {"inbound.tls", "preferred", "preferred"},
        {"outbound.tls", "preferred-verify", "preferred-verify"},
        {"outbound.tls", "required-verify", "required-verify"},
        {"outbound.tls", "required", "required"},
        {"gui.certificate", "/etc/ssl/private/gui.pem", "/etc/ssl/private/gui.pem"},
        {"inbound.certificate", "/etc/postfix/chain.pem", "/etc/postfix/chain.pem"},
        {"inbound.certificate", "", ""},
        {"outbound.ca_file", "/etc/ssl/certs/ca-certificates.crt",
         "/etc/ssl/certs/ca-certificates.crt"},
    };
    g_autoptr(seg_settings) s = seg_settings_new_default();

    for (guint i = 0; i < G_N_ELEMENTS(t); i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *got = NULL;
        g_autofree char *again = NULL;
        g_autoptr(seg_settings) c = NULL;

        g_assert_true(seg_settings_set(s, t[i].key, t[i].in, &error));
        g_assert_no_error(error);
        got = seg_settings_get(s, t[i].key);
        g_assert_cmpstr(got, ==, t[i].out);
        /* the canonical text parses back to the same settings */
        c = seg_settings_copy(s);
        g_assert_true(seg_settings_set(c, t[i].key, got, NULL));
        again = seg_settings_get(c, t[i].key);
        g_assert_cmpstr(again, ==, got);
        g_assert_true(seg_settings_equal(s, c));
    }
}

/* test_refused - refused values leave the settings alone */
static void test_refused(void)
{
    static const struct {
        const char *key, *value, *message;
    } t[] = {
        {"inbound.methods", "1.0,1.2",
         "inbound.methods: \"1.0,1.2\": TLS v1.0 and TLS v1.2 cannot be "
         "enabled without TLS v1.1"},
        {"gui.methods", "tlsv1_1tlsv1_3",
         "gui.methods: \"tlsv1_1tlsv1_3\": TLS v1.1 and TLS v1.3 cannot be "
         "enabled without TLS v1.2"},
        {"outbound.methods", "1.0,1.3",
         "outbound.methods: \"1.0,1.3\": TLS v1.0 and TLS v1.3 cannot be "
         "enabled without TLS v1.1 and TLS v1.2"},
        {"outbound.methods", "",
         "outbound.methods: \"\": at least one TLS version must be enabled"},
        {"gui.methods", "1.4",
         "gui.methods: \"1.4\": \"1.4\" is not a TLS version (1.0, 1.1, 1.2, 1.3)"},
        {"gui.ciphers", "HIGH\nsmtpd_milters = inet:evil:1",
         "gui.ciphers: \"HIGH\\nsmtpd_milters = inet:evil:1\": character "
         "'\\n' is not allowed in a cipher string"},
        {"inbound.ciphers", "HIGH;x",
         "inbound.ciphers: \"HIGH;x\": character ';' is not allowed in a "
         "cipher string"},
        {"inbound.ciphers", "HIGH x",
         "inbound.ciphers: \"HIGH x\": character ' ' is not allowed in a "
         "cipher string"},
        {"inbound.ciphers", "HIGH\tx",
         "inbound.ciphers: \"HIGH\\tx\": character '\\t' is not allowed in a "
         "cipher string"},
        {"inbound.ciphers", "HIGH\x01",
         "inbound.ciphers: \"HIGH\\001\": character '\\x01' is not allowed in "
         "a cipher string"},
        {"outbound.ciphers", "HIGH\"",
         "outbound.ciphers: \"HIGH\\\"\": character '\"' is not allowed in a "
         "cipher string"},
        {"outbound.ciphers", "HIGH{}", "outbound.ciphers: \"HIGH{}\": "
         "character '{' is not allowed in a cipher string"},
        {"outbound.ciphers", "$x", "outbound.ciphers: \"$x\": "
         "character '$' is not allowed in a cipher string"},
        {"outbound.ciphers", "#", "outbound.ciphers: \"#\": "
         "character '#' is not allowed in a cipher string"},
        {"gui.ciphers", "", "gui.ciphers: \"\": cipher string is empty"},
        {"gui.ciphers", "FOO",
         "gui.ciphers: \"FOO\": OpenSSL accepts no cipher in \"FOO\""},
        {"gui.ciphers", "TLS_AES_256_GCM_SHA384",
         "gui.ciphers: \"TLS_AES_256_GCM_SHA384\": OpenSSL accepts no cipher "
         "in \"TLS_AES_256_GCM_SHA384\""},
        {"gui.renegotiation", "maybe",
         "gui.renegotiation: \"maybe\": must be enabled or disabled"},
        {"peer_cert.fqdn", "2", "peer_cert.fqdn: \"2\": must be on or off"},
        {"inbound.tls", "preferred-verify",
         "inbound.tls: \"preferred-verify\": must be one of no, preferred, "
         "required"},
        {"inbound.tls", "required-verify",
         "inbound.tls: \"required-verify\": must be one of no, preferred, "
         "required"},
        {"outbound.tls", "verify",
         "outbound.tls: \"verify\": must be one of no, preferred, required, "
         "preferred-verify, required-verify"},
        {"gui.certificate", "relative/x.pem",
         "gui.certificate: \"relative/x.pem\": path must be absolute"},
        {"gui.certificate", "/etc/a b.pem",
         "gui.certificate: \"/etc/a b.pem\": character ' ' is not allowed in "
         "a path"},
        {"inbound.certificate", "/etc/x.pem\nsmtpd_milters=inet:evil:1",
         "inbound.certificate: \"/etc/x.pem\\nsmtpd_milters=inet:evil:1\": "
         "character '\\n' is not allowed in a path"},
        {"outbound.ca_file", "/etc/x;y",
         "outbound.ca_file: \"/etc/x;y\": character ';' is not allowed in a "
         "path"},
        {"outbound.ca_file", "/etc/$x",
         "outbound.ca_file: \"/etc/$x\": character '$' is not allowed in a "
         "path"},
        {"outbound.ca_file", "/etc/x'", "outbound.ca_file: \"/etc/x'\": "
         "character '\\'' is not allowed in a path"},
        /* the renderers' rule (issue 13.5): a comma splits a main.cf list, a
         * backquote and a tab too; over 1024 bytes: test_refused_long_path */
        {"inbound.certificate", "/etc/ssl/a,b.pem", "inbound.certificate: "
         "\"/etc/ssl/a,b.pem\": character ',' is not allowed in a path"},
        {"gui.certificate", "/etc/`id`.pem", "gui.certificate: \"/etc/`id`.pem\": "
         "character '`' is not allowed in a path"},
        {"outbound.ca_file", "/etc/ssl/x\ty", "outbound.ca_file: \"/etc/ssl/x\\ty\": "
         "character '\\t' is not allowed in a path"},
        {"outbound.ca_file", "/etc/x\\y", "outbound.ca_file: \"/etc/x\\\\y\": "
         "character '\\\\' is not allowed in a path"},
        {"gui.certificate", "/etc/{x}", "gui.certificate: \"/etc/{x}\": "
         "character '{' is not allowed in a path"},
        {"gui.certificate", "/etc/#x", "gui.certificate: \"/etc/#x\": "
         "character '#' is not allowed in a path"},
    };
    g_autoptr(seg_settings) s = seg_settings_new_default();
    g_autoptr(seg_settings) orig = seg_settings_new_default();

    for (guint i = 0; i < G_N_ELEMENTS(t); i++) {
        g_autoptr(GError) error = NULL;

        g_assert_false(seg_settings_set(s, t[i].key, t[i].value, &error));
        g_assert_error(error, SEG_ERROR, SEG_ERROR_INVALID);
        g_assert_cmpstr(error->message, ==, t[i].message);
        g_assert_null(strchr(error->message, '\n'));
        g_assert_true(seg_settings_equal(s, orig));
    }
}

/* test_refused_long - a 4097-byte cipher string; long values truncated */
static void test_refused_long(void)
{
    g_autoptr(seg_settings) s = seg_settings_new_default();
    g_autoptr(seg_settings) orig = seg_settings_new_default();
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) error2 = NULL;
    g_autofree char *big = g_strnfill(4097, 'A');
    g_autofree char *max = g_strnfill(4096, 'A');
    g_autofree char *head = g_strnfill(80, 'A');
    g_autofree char *want = g_strdup_printf(
        "gui.ciphers: \"%s...\": cipher string is longer than 4096 bytes", head);
    g_autofree char *want2 = g_strdup_printf(
        "gui.ciphers: \"%s...\": OpenSSL accepts no cipher in \"%s...\"",
        head, head);
    g_autofree char *eighty = g_strdup_printf("%s", head);
    g_autofree char *q80 = seg_quote_value(eighty);
    g_autofree char *want80 = g_strdup_printf("\"%s\"", head);

    g_assert_false(seg_settings_set(s, "gui.ciphers", big, &error));
    g_assert_error(error, SEG_ERROR, SEG_ERROR_INVALID);
    g_assert_cmpstr(error->message, ==, want);
    /* 4096 bytes pass the length rule; OpenSSL then says no */
    g_assert_false(seg_settings_set(s, "gui.ciphers", max, &error2));
    g_assert_cmpstr(error2->message, ==, want2);
    g_assert_true(seg_settings_equal(s, orig));
    g_assert_cmpstr(q80, ==, want80);
}

/* test_refused_long_path - 1025 bytes are refused, as the renderers refuse them */
static void test_refused_long_path(void)
{
    g_autoptr(seg_settings) s = seg_settings_new_default();
    g_autoptr(GError) error = NULL;
    g_autofree char *tail = g_strnfill(1019, 'a');
    g_autofree char *ok = g_strdup_printf("/etc/%s", tail);      /* 1024 */
    g_autofree char *big = g_strdup_printf("/etc/a%s", tail);    /* 1025 */

    g_assert_true(seg_settings_set(s, "gui.certificate", ok, NULL));
    g_assert_false(seg_settings_set(s, "gui.certificate", big, &error));
    g_assert_true(g_str_has_suffix(error->message, "...\": path is longer than 1024 bytes"));
}

/* test_unknown - unknown keys */
static void test_unknown(void)
{
    g_autoptr(seg_settings) s = seg_settings_new_default();
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) error2 = NULL;

    g_assert_false(seg_settings_set(s, "foo.bar", "1", &error));
    g_assert_error(error, SEG_ERROR, SEG_ERROR_UNKNOWN_KEY);
    g_assert_cmpstr(error->message, ==, "foo.bar: no such setting");
    g_assert_false(seg_settings_set(s, "foo\nbar", "1", &error2));
    g_assert_cmpstr(error2->message, ==, "\"foo\\nbar\": no such setting");
}

/* test_modes - tls mode names */
static void test_modes(void)
{
    static const char *const names[] = {
        "no", "preferred", "required", "preferred-verify", "required-verify",
    };
    seg_tls_mode m;

    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        g_assert_cmpstr(seg_tls_mode_name((seg_tls_mode) i), ==, names[i]);
        g_assert_true(seg_tls_mode_parse(names[i], TRUE, &m));
        g_assert_cmpint(m, ==, (seg_tls_mode) i);
        g_assert_cmpint(seg_tls_mode_parse(names[i], FALSE, &m), ==, i < 3);
    }
    g_assert_false(seg_tls_mode_parse("may", TRUE, &m));
    g_assert_false(seg_tls_mode_parse(NULL, TRUE, &m));
}

/* test_equal_copy - equality and deep copies */
static void test_equal_copy(void)
{
    g_autoptr(seg_settings) a = seg_settings_new_default();
    g_autoptr(seg_settings) b = seg_settings_new_default();
    g_autoptr(seg_settings) c = NULL;
    const char *const *keys = seg_settings_keys();

    g_assert_true(seg_settings_equal(a, b));
    g_assert_true(seg_settings_set(a, "outbound.ciphers", "HIGH", NULL));
    g_assert_false(seg_settings_equal(a, b));
    c = seg_settings_copy(a);
    g_assert_true(seg_settings_equal(a, c));
    g_assert_true(c->svc[SEG_SVC_OUTBOUND].ciphers
                  != a->svc[SEG_SVC_OUTBOUND].ciphers);
    g_assert_true(seg_settings_set(a, "outbound.ciphers", "AES128", NULL));
    g_assert_false(seg_settings_equal(a, c));
    g_assert_cmpstr(c->svc[SEG_SVC_OUTBOUND].ciphers, ==, "HIGH");
    g_assert_true(seg_settings_set(c, "outbound.ciphers", "AES128", NULL));
    g_assert_true(seg_settings_equal(a, c));

    /* each key on its own makes a difference */
    static const char *const other[] = {
        "1.3", "HIGH", "disabled", "/x.pem", "1.3", "HIGH", "disabled", "no",
        "/x.pem", "1.3", "HIGH", "required-verify", "/ca.pem", "on", "on", "on",
    };
    for (guint i = 0; keys[i]; i++) {
        g_autoptr(seg_settings) d = seg_settings_new_default();

        g_assert_true(seg_settings_set(d, keys[i], other[i], NULL));
        g_assert_false(seg_settings_equal(d, b));
        g_assert_false(seg_settings_equal(b, d));
    }
    seg_settings_free(NULL);
}

/* test_cipher_check - the cipher string rules on their own */
static void test_cipher_check(void)
{
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;

    g_assert_true(seg_cipher_string_check(SEG_DEFAULT_GUI_CIPHERS, NULL));
    g_assert_true(seg_cipher_string_check(SEG_DEFAULT_OUTBOUND_CIPHERS, NULL));
    g_assert_true(seg_cipher_string_check("ALL:@SECLEVEL=0", NULL));
    g_assert_true(seg_cipher_string_check("ECDHE-RSA-AES128-GCM-SHA256", NULL));
    g_assert_false(seg_cipher_string_check(NULL, &e1));
    g_assert_cmpstr(e1->message, ==, "cipher string is empty");
    g_assert_false(seg_cipher_string_check("HIGH\x7f", &e2));
    g_assert_cmpstr(e2->message, ==,
                    "character '\\x7f' is not allowed in a cipher string");
    g_assert_false(seg_cipher_string_check("@SECLEVEL=0", &e3));
    g_assert_cmpstr(e3->message, ==,
                    "OpenSSL accepts no cipher in \"@SECLEVEL=0\"");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/settings/keys", test_keys);
    g_test_add_func("/settings/defaults", test_defaults);
    g_test_add_func("/settings/roundtrip", test_roundtrip);
    g_test_add_func("/settings/refused", test_refused);
    g_test_add_func("/settings/refused_long", test_refused_long);
    g_test_add_func("/settings/refused_long_path", test_refused_long_path);
    g_test_add_func("/settings/unknown", test_unknown);
    g_test_add_func("/settings/modes", test_modes);
    g_test_add_func("/settings/equal_copy", test_equal_copy);
    g_test_add_func("/settings/cipher_check", test_cipher_check);
    return g_test_run();
}
