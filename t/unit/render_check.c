/*
 * render_check - unit tests of the renderers' own checks.
 *
 * Hostile values are written straight into the settings struct, past
 * seg_settings_set(), and every renderer must refuse them with an error
 * naming the setting, rendering nothing. The OpenSSL checks of apply
 * must refuse configuration texts that OpenSSL would not use as written.
 * The golden output of the renderers is tested by t/render.t.
 */
#include <string.h>

#include "apply.h"
#include "cipherstr.h"
#include "error.h"
#include "render.h"
#include "render_client.h"
#include "render_nginx.h"
#include "tlsver.h"

static const char *const smtpd[] = {"smtp/inet", NULL};
static const char *const smtp[] = {"smtp/unix", NULL};
static const seg_render_target good_target = {
    .smtpd_services = smtpd, .smtp_services = smtp,
    .tls_config_file = "/etc/segtls/postfix-tls.cnf",
};

/* One hostile value: which field, what goes in, what the error says. */
typedef struct hostile {
    const char *name;
    int         field;
    const char *value;
    const char *message;
} hostile;

enum { F_GUI_CIPHERS, F_IN_CIPHERS, F_OUT_CIPHERS, F_IN_CERT, F_GUI_CERT, F_CA };

static const hostile hostiles[] = {
    {"newline", F_IN_CIPHERS, "HIGH\nsmtpd_tls_security_level = none",
     "inbound.ciphers: "},
    {"semicolon", F_GUI_CIPHERS, "HIGH; ssl_verify_client off", "gui.ciphers: "},
    {"brace", F_GUI_CIPHERS, "HIGH}", "gui.ciphers: "},
    {"open brace", F_OUT_CIPHERS, "{HIGH", "outbound.ciphers: "},
    {"quote", F_GUI_CIPHERS, "HIGH'", "gui.ciphers: "},
    {"double quote", F_IN_CIPHERS, "HIGH\"", "inbound.ciphers: "},
    {"hash", F_IN_CIPHERS, "HIGH#x", "inbound.ciphers: "},
    {"dollar", F_OUT_CIPHERS, "$myhostname", "outbound.ciphers: "},
    {"blank", F_IN_CIPHERS, "HIGH -o x=y", "inbound.ciphers: "},
    {"empty", F_IN_CIPHERS, "", "inbound.ciphers: "},
    {"no cipher", F_IN_CIPHERS, "NOSUCHCIPHER", "inbound.ciphers: "},
    {"cert newline", F_IN_CERT, "/etc/a.pem\nsmtpd_tls_security_level=none",
     "inbound.certificate: "},
    {"cert semicolon", F_GUI_CERT, "/etc/a.pem; include /etc/shadow",
     "gui.certificate: "},
    {"cert blank", F_IN_CERT, "/etc/a.pem /etc/b.pem", "inbound.certificate: "},
    {"cert comma", F_IN_CERT, "/etc/a.pem,/etc/b.pem", "inbound.certificate: "},
    {"cert relative", F_GUI_CERT, "a.pem", "gui.certificate: "},
    {"cert dollar", F_GUI_CERT, "/etc/$x.pem", "gui.certificate: "},
    {"ca brace", F_CA, "/etc/}ca.pem", "outbound.ca_file: "},
    {"ca quote", F_CA, "/etc/'ca.pem", "outbound.ca_file: "},
};

/* field - the string field a hostile case writes */
static char **field(seg_settings *s, int f)
{
    switch (f) {
    case F_GUI_CIPHERS: return &s->svc[SEG_SVC_GUI].ciphers;
    case F_IN_CIPHERS: return &s->svc[SEG_SVC_INBOUND].ciphers;
    case F_OUT_CIPHERS: return &s->svc[SEG_SVC_OUTBOUND].ciphers;
    case F_IN_CERT: return &s->svc[SEG_SVC_INBOUND].certificate;
    case F_GUI_CERT: return &s->svc[SEG_SVC_GUI].certificate;
    default: return &s->outbound_ca_file;
    }
}

/* refused - every renderer refuses s with a message starting with prefix */
static void refused(const seg_settings *s, const seg_render_target *t,
                    const char *prefix)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) notices = g_ptr_array_new_with_free_func(g_free);
    seg_render *r = seg_render_new(s, t, &err);
    char   *text;

    g_assert_null(r);
    g_assert_error(err, SEG_ERROR, SEG_ERROR_INVALID);
    if (!g_str_has_prefix(err->message, prefix))
        g_error("message \"%s\" does not start with \"%s\"", err->message, prefix);
    if (t != &good_target)
        return;
    g_clear_error(&err);
    text = seg_render_nginx(s, notices, &err);
    g_assert_null(text);
    g_assert_nonnull(err);
    g_clear_error(&err);
    text = seg_render_client(s, notices, &err);
    g_assert_null(text);
    g_assert_nonnull(err);
    g_assert_cmpuint(notices->len, ==, 0);
}

/* test_hostile - each hostile value is refused by every renderer */
static void test_hostile(void)
{
    for (guint i = 0; i < G_N_ELEMENTS(hostiles); i++) {
        g_autoptr(seg_settings) s = seg_settings_new_default();
        char  **f = field(s, hostiles[i].field);

        g_test_message("%s", hostiles[i].name);
        g_free(*f);
        *f = g_strdup(hostiles[i].value);
        if (hostiles[i].field == F_CA)
            s->svc[SEG_SVC_OUTBOUND].tls = SEG_TLSMODE_REQUIRED_VERIFY;
        refused(s, &good_target, hostiles[i].message);
    }
}

/* test_methods - gaps, nothing, unknown bits and bad modes are refused */
static void test_methods(void)
{
    static const unsigned bad[] = {0, SEG_TLS_V10 | SEG_TLS_V12,
                                   SEG_TLS_V11 | SEG_TLS_V13, 0x10, 0x1f};

    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(seg_settings) s = seg_settings_new_default();

        s->svc[SEG_SVC_OUTBOUND].methods = bad[i];
        refused(s, &good_target, "outbound.methods: ");
    }
    g_autoptr(seg_settings) s = seg_settings_new_default();

    s->svc[SEG_SVC_INBOUND].tls = SEG_TLSMODE_REQUIRED_VERIFY;
    refused(s, &good_target, "inbound.tls: ");
    s->svc[SEG_SVC_INBOUND].tls = SEG_TLSMODE_PREFERRED;
    s->svc[SEG_SVC_OUTBOUND].tls = (seg_tls_mode) 42;
    refused(s, &good_target, "outbound.tls: ");
}

/* test_target - hostile service names and tls_config_file paths */
static void test_target(void)
{
    static const char *const bad_services[] = {
        "smtp/inet -o smtpd_tls_security_level=none", "smtp", "/inet",
        "smtp/inet\n", "smtp/tcp", "sm;tp/inet", "smtp/inet/x",
    };
    static const char *const bad_paths[] = {
        "relative.cnf", "/etc/a b.cnf", "/etc/a;b.cnf", "/etc/a\nb.cnf", "/etc/#.cnf",
    };
    g_autoptr(seg_settings) s = seg_settings_new_default();

    for (guint i = 0; i < G_N_ELEMENTS(bad_services); i++) {
        const char *one[] = {bad_services[i], NULL};
        seg_render_target t = {.smtpd_services = one, .smtp_services = smtp,
                               .tls_config_file = "/etc/x.cnf"};
        seg_render_target u = {.smtpd_services = smtpd, .smtp_services = one,
                               .tls_config_file = "/etc/x.cnf"};
        seg_render_target v = {.smtpd_services = smtpd, .smtp_services = smtp,
                               .tls_config_file = "/etc/x.cnf", .own_level = one};

        refused(s, &t, "master.cf service ");
        refused(s, &u, "master.cf service ");
        refused(s, &v, "master.cf service ");
    }
    for (guint i = 0; i < G_N_ELEMENTS(bad_paths); i++) {
        seg_render_target t = {.smtpd_services = smtpd, .smtp_services = smtp,
                               .tls_config_file = bad_paths[i]};

        refused(s, &t, "tls_config_file: ");
    }
}

/* test_good - the defaults render, with the values where they belong */
static void test_good(void)
{
    g_autoptr(seg_settings) s = seg_settings_new_default();
    g_autoptr(GError) err = NULL;
    g_autoptr(seg_render) r = seg_render_new(s, &good_target, &err);

    g_assert_no_error(err);
    g_assert_nonnull(r);
    /* main.cf gets the logging only; the TLS settings go to the services */
    g_assert_cmpuint(r->main_cf->len, ==, 3);
    g_assert_cmpstr(g_ptr_array_index(r->main_cf, 1), ==,
                    "smtpd_client_port_logging = yes");
    g_assert_cmpstr(g_ptr_array_index(r->master_cf, 1), ==,
                    "smtp/inet/smtpd_tls_protocols=>=TLSv1.1,<=TLSv1.2");
    g_assert_nonnull(strstr(r->nginx, "ssl_protocols TLSv1.1 TLSv1.2;\n"));
    g_assert_nonnull(strstr(r->client, "MinProtocol = TLSv1.1\n"));
    g_assert_cmpuint(r->notices->len, ==, 1);
}

/* test_openssl_conf - apply's OpenSSL check of configuration texts */
static void test_openssl_conf(void)
{
    static const char *const apps[] = {"openssl_conf", NULL};
    static const struct {
        const char *suites;
        gboolean    ok;
    } cases[] = {
        {SEG_TLS13_SUITES, TRUE},
        {"TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256", FALSE},
        {"TLS_NO_SUCH_SUITE", FALSE},
        {"TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384", FALSE},
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *text = g_strdup_printf(
            "openssl_conf = a\n[a]\nssl_conf = b\n[b]\nsystem_default = c\n"
            "[c]\nCiphersuites = %s\n", cases[i].suites);

        g_assert_cmpint(seg_apply_check_openssl_conf("t.cnf", text, apps, &err),
                        ==, cases[i].ok);
        g_assert_true(cases[i].ok ? err == NULL : err != NULL);
    }
    g_autoptr(GError) err = NULL;

    g_assert_false(seg_apply_check_openssl_conf(
        "t.cnf", "openssl_conf = a\n[a]\nssl_conf = b\n[b]\nsystem_default = c\n"
        "[c]\nMinProtocol = TLSv9\n", apps, &err));
    g_assert_nonnull(strstr(err->message, "MinProtocol = TLSv9"));
    g_clear_error(&err);
    g_assert_false(seg_apply_check_openssl_conf("t.cnf", "x = y\n", apps, &err));
    g_assert_nonnull(strstr(err->message, "no ssl_conf system_default"));
}

/* test_rendered_conf - what the renderers write passes the OpenSSL check */
static void test_rendered_conf(void)
{
    static const char *const pf_apps[] = {
        SEG_RENDER_APP_INBOUND, SEG_RENDER_APP_OUTBOUND, NULL,
    };
    static const char *const client_apps[] = {"openssl_conf", NULL};
    g_autoptr(seg_settings) s = seg_settings_new_default();
    g_autoptr(GError) err = NULL;
    g_autoptr(seg_render) r = NULL;

    s->other_client_tlsv1_0 = TRUE;
    s->peer_cert_x509 = TRUE;
    r = seg_render_new(s, &good_target, &err);
    g_assert_no_error(err);
    g_assert_true(seg_apply_check_openssl_conf("tls", r->postfix_tls, pf_apps, &err));
    g_assert_no_error(err);
    g_assert_true(seg_apply_check_openssl_conf("client", r->client, client_apps, &err));
    g_assert_no_error(err);
}

/* main - run the tests */
int     main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/render/hostile", test_hostile);
    g_test_add_func("/render/methods", test_methods);
    g_test_add_func("/render/target", test_target);
    g_test_add_func("/render/good", test_good);
    g_test_add_func("/render/openssl_conf", test_openssl_conf);
    g_test_add_func("/render/rendered_conf", test_rendered_conf);
    return g_test_run();
}
