/*
 * usable - unit tests of the handshake analysis and its warnings.
 *
 * Real in-memory handshakes; the ECDSA and RSA certificates the tests
 * configure are generated at run time into a temporary directory.
 */
#include <string.h>
#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "error.h"
#include "settings.h"
#include "tlsver.h"
#include "usable.h"
#include "warnings.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#define V10 SEG_TLS_V10
#define V11 SEG_TLS_V11
#define V12 SEG_TLS_V12
#define V13 SEG_TLS_V13

static char *tmpdir;
static char *ec_pem;            /* ECDSA P-256 key + certificate */
static char *rsa_pem;           /* RSA-2048 key + certificate */
static char *cert_only_pem;     /* certificate without key */
static char *mismatch_pem;      /* RSA key + ECDSA certificate */

/* make_cert - a self-signed certificate for a key */
static X509 *make_cert(EVP_PKEY *key)
{
    X509 *x = X509_new();

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *) "segtls test", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    g_assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    return x;
}

/* write_pem - key (optional) then certificate, as a chain file */
static char *write_pem(const char *name, EVP_PKEY *key, X509 *cert)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    FILE *fp = fopen(path, "w");

    g_assert_nonnull(fp);
    if (key)
        g_assert_true(PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL));
    g_assert_true(PEM_write_X509(fp, cert));
    fclose(fp);
    return path;
}

/* make_files - the certificate files of the tests */
static void make_files(void)
{
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    X509 *ec_cert = make_cert(ec);
    X509 *rsa_cert = make_cert(rsa);

    tmpdir = g_dir_make_tmp("segtls-usable-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    ec_pem = write_pem("ec.pem", ec, ec_cert);
    rsa_pem = write_pem("rsa.pem", rsa, rsa_cert);
    cert_only_pem = write_pem("certonly.pem", NULL, rsa_cert);
    mismatch_pem = write_pem("mismatch.pem", rsa, ec_cert);
    X509_free(ec_cert);
    X509_free(rsa_cert);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
}

/* remove_files - clean up the temporary directory */
static void remove_files(void)
{
    char *files[] = {ec_pem, rsa_pem, cert_only_pem, mismatch_pem};

    for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
        g_unlink(files[i]);
        g_free(files[i]);
    }
    g_rmdir(tmpdir);
    g_free(tmpdir);
}

/* usable - seg_usable_versions that must succeed */
static unsigned usable(const char *ciphers, unsigned methods,
                       seg_tls_role role, const char *cert, int seclevel)
{
    g_autoptr(GError) error = NULL;
    unsigned mask = 0xdead;

    g_assert_true(seg_usable_versions(ciphers, methods, role, cert, seclevel,
                                      &mask, &error));
    g_assert_no_error(error);
    return mask;
}

/* check_warnings - the exact warning lines of some settings */
static void check_warnings(const seg_settings *s, const char *const *want)
{
    g_autoptr(GPtrArray) got = seg_settings_warnings(s);
    guint n = g_strv_length((char **) want);

    for (guint i = 0; i < got->len; i++)
        g_test_message("warning: %s", (char *) got->pdata[i]);
    for (guint i = 0; i < MIN(n, got->len); i++)
        g_assert_cmpstr(got->pdata[i], ==, want[i]);
    g_assert_cmpuint(got->len, ==, n);
}

/* test_default_gui - !TLSv1 leaves only TLS 1.2 of 1.1-1.2 */
static void test_default_gui(void)
{
    g_autoptr(seg_settings) s = seg_settings_new_default();
    static const char *const want[] = {
        "Warning: GUI HTTPS: TLS v1.1 is enabled but no cipher in the cipher "
        "string can be used with it; only TLS v1.2 can be negotiated.",
        "Warning: Inbound SMTP: TLS v1.1 is enabled but no cipher in the "
        "cipher string can be used with it; only TLS v1.2 can be negotiated.",
        NULL,
    };

    g_assert_cmpuint(usable(SEG_DEFAULT_GUI_CIPHERS, V11 | V12,
                            SEG_ROLE_SERVER, NULL, 0), ==, V12);
    g_assert_cmpuint(usable(SEG_DEFAULT_GUI_CIPHERS, SEG_TLS_ALL,
                            SEG_ROLE_SERVER, NULL, 0), ==, V12 | V13);
    check_warnings(s, want);
    g_assert_cmpuint(seg_service_usable(s, SEG_SVC_GUI), ==, V12);
    g_assert_cmpuint(seg_service_usable(s, SEG_SVC_INBOUND), ==, V12);
    /* the outbound default keeps AES128/AES256, TLS 1.1 works */
    g_assert_cmpuint(seg_service_usable(s, SEG_SVC_OUTBOUND), ==, V11 | V12);
}

/* test_all - "ALL" negotiates every version, as server and as client */
static void test_all(void)
{
    g_autoptr(seg_settings) s = seg_settings_new_default();
    static const char *const none[] = {NULL};
    static const char *const keys[] = {
        "gui.ciphers", "inbound.ciphers", "outbound.ciphers",
        "gui.methods", "inbound.methods", "outbound.methods",
    };

    g_assert_cmpuint(usable("ALL", SEG_TLS_ALL, SEG_ROLE_SERVER, NULL, 0),
                     ==, SEG_TLS_ALL);
    g_assert_cmpuint(usable("ALL", SEG_TLS_ALL, SEG_ROLE_CLIENT, NULL, 0),
                     ==, SEG_TLS_ALL);
    g_assert_cmpuint(usable("ALL", SEG_TLS_ALL, SEG_ROLE_SERVER, rsa_pem, 0),
                     ==, SEG_TLS_ALL);
    g_assert_cmpuint(usable("ALL", V11 | V12, SEG_ROLE_SERVER, NULL, 0),
                     ==, V11 | V12);
    for (guint i = 0; i < G_N_ELEMENTS(keys); i++)
        g_assert_true(seg_settings_set(s, keys[i], i < 3 ? "ALL" : "1.0-1.3",
                                       NULL));
    check_warnings(s, none);
    /* the cipher string never touches TLS 1.3 */
    g_assert_cmpuint(usable("AES256-SHA", V13, SEG_ROLE_SERVER, NULL, 0),
                     ==, V13);
    g_assert_cmpuint(usable("AES256-SHA", V13, SEG_ROLE_CLIENT, NULL, 1),
                     ==, V13);
}

/* test_ecdsa - an ECDSA certificate with !ECDSA leaves only TLS 1.3 */
static void test_ecdsa(void)
{
    g_autoptr(seg_settings) s = seg_settings_new_default();
    static const char *const want[] = {
        "Warning: GUI HTTPS: TLS v1.2 is enabled but no cipher in the cipher "
        "string can be used with it; only TLS v1.3 can be negotiated.",
        "Warning: Inbound SMTP: TLS v1.1 is enabled but no cipher in the "
        "cipher string can be used with it; only TLS v1.2 can be negotiated.",
        NULL,
    };
    static const char *const want_none[] = {
        "Warning: GUI HTTPS: TLS v1.2 is enabled but no cipher in the cipher "
        "string can be used with it; no TLS version can be negotiated.",
        NULL,
    };

    g_assert_cmpuint(usable(SEG_DEFAULT_GUI_CIPHERS, V12 | V13,
                            SEG_ROLE_SERVER, ec_pem, 0), ==, V13);
    g_assert_cmpuint(usable("ALL", V12 | V13, SEG_ROLE_SERVER, ec_pem, 0),
                     ==, V12 | V13);
    g_assert_true(seg_settings_set(s, "gui.certificate", ec_pem, NULL));
    g_assert_true(seg_settings_set(s, "gui.methods", "1.2-1.3", NULL));
    check_warnings(s, want);
    g_assert_cmpuint(seg_service_usable(s, SEG_SVC_GUI), ==, V13);

    /* nothing left at all */
    g_assert_true(seg_settings_set(s, "gui.methods", "1.2", NULL));
    g_assert_true(seg_settings_set(s, "inbound.ciphers", "ALL", NULL));
    check_warnings(s, want_none);
    g_assert_cmpuint(seg_service_usable(s, SEG_SVC_GUI), ==, 0);
}

/* test_verify_seclevel - Postfix's level 1 at verify rules out 1.0/1.1 */
static void test_verify_seclevel(void)
{
    g_autoptr(seg_settings) s = seg_settings_new_default();
    static const char *const none[] = {NULL};
    static const char *const want[] = {
        "Warning: Outbound SMTP: TLS v1.0 and TLS v1.1 are enabled but no "
        "cipher in the cipher string can be used with them; only TLS v1.2 and "
        "TLS v1.3 can be negotiated.",
        NULL,
    };
    static const char *const want3[] = {
        "Warning: Outbound SMTP: TLS v1.0 and TLS v1.1 are enabled but no "
        "cipher in the cipher string can be used with them; only TLS v1.2 "
        "can be negotiated.",
        NULL,
    };

    g_assert_cmpuint(usable("ALL", SEG_TLS_ALL, SEG_ROLE_CLIENT, NULL, 1),
                     ==, V12 | V13);
    g_assert_true(seg_settings_set(s, "gui.ciphers", "ALL", NULL));
    g_assert_true(seg_settings_set(s, "inbound.ciphers", "ALL", NULL));
    g_assert_true(seg_settings_set(s, "outbound.ciphers", "ALL", NULL));
    g_assert_true(seg_settings_set(s, "outbound.methods", "1.0-1.3", NULL));
    check_warnings(s, none);
    g_assert_cmpuint(seg_service_usable(s, SEG_SVC_OUTBOUND), ==, SEG_TLS_ALL);
    g_assert_true(seg_settings_set(s, "outbound.tls", "preferred-verify", NULL));
    check_warnings(s, want);
    g_assert_cmpuint(seg_service_usable(s, SEG_SVC_OUTBOUND), ==, V12 | V13);
    g_assert_true(seg_settings_set(s, "outbound.tls", "required-verify", NULL));
    check_warnings(s, want);
    g_assert_true(seg_settings_set(s, "outbound.methods", "1.0-1.2", NULL));
    check_warnings(s, want3);
    g_assert_true(seg_settings_set(s, "outbound.tls", "required", NULL));
    check_warnings(s, none);
}

/* test_bad_certificate - an unloadable certificate warns, analysis goes on */
static void test_bad_certificate(void)
{
    static const struct {
        char **path;
        const char *reason;
    } t[] = {
        {NULL, "No such file or directory"},
        {&cert_only_pem, "no private key found"},
        {&mismatch_pem, "the private key does not match the certificate"},
        {&tmpdir, "not a regular file"},
    };

    for (guint i = 0; i < G_N_ELEMENTS(t); i++) {
        g_autoptr(seg_settings) s = seg_settings_new_default();
        g_autoptr(GError) error = NULL;
        const char *path = t[i].path ? *t[i].path : "/nonexistent/x.pem";
        g_autofree char *w0 = g_strdup_printf(
            "Warning: Inbound SMTP: cannot load certificate %s: %s",
            path, t[i].reason);
        const char *want[] = {
            w0,
            "Warning: Inbound SMTP: TLS v1.1 is enabled but no cipher in the "
            "cipher string can be used with it; only TLS v1.2 can be "
            "negotiated.",
            NULL,
        };
        unsigned mask = 0xdead;

        g_assert_false(seg_usable_versions("ALL", V12, SEG_ROLE_SERVER, path,
                                           0, &mask, &error));
        g_assert_error(error, SEG_ERROR, SEG_ERROR_IO);
        g_assert_cmpuint(mask, ==, 0xdead);
        g_assert_true(seg_settings_set(s, "gui.ciphers", "ALL", NULL));
        g_assert_true(seg_settings_set(s, "inbound.certificate", path, NULL));
        check_warnings(s, want);
        g_assert_cmpuint(seg_service_usable(s, SEG_SVC_INBOUND), ==, V12);
    }
}

/* test_describe - `openssl ciphers -v` lines, TLS 1.3 suites first */
static void test_describe(void)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GString) high = g_string_new(NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) none = g_string_new(NULL);
    g_autofree char *openssl = g_find_program_in_path("openssl");

    g_assert_true(seg_cipher_describe("AES256-SHA", out, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(out->str, ==,
        "TLS_AES_256_GCM_SHA384         TLSv1.3 Kx=any      Au=any   Enc=AESGCM(256)            Mac=AEAD\n"
        "TLS_CHACHA20_POLY1305_SHA256   TLSv1.3 Kx=any      Au=any   Enc=CHACHA20/POLY1305(256) Mac=AEAD\n"
        "TLS_AES_128_GCM_SHA256         TLSv1.3 Kx=any      Au=any   Enc=AESGCM(128)            Mac=AEAD\n"
        "AES256-SHA                     SSLv3   Kx=RSA      Au=RSA   Enc=AES(256)               Mac=SHA1\n");

    /* the same lines as `openssl ciphers -v HIGH:@SECLEVEL=0` */
    g_assert_true(seg_cipher_describe("HIGH:@SECLEVEL=0", high, NULL));
    if (openssl) {
        const char *argv[] = {"openssl", "ciphers", "-v", "HIGH:@SECLEVEL=0",
                              NULL};
        g_autofree char *std_out = NULL;
        int status;

        g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL,
                                   G_SPAWN_SEARCH_PATH
                                   | G_SPAWN_STDERR_TO_DEV_NULL,
                                   NULL, NULL, &std_out, NULL, &status, NULL));
        g_assert_cmpstr(high->str, ==, std_out);
    }
    g_assert_false(seg_cipher_describe("HIGH;", none, &error));
    g_assert_cmpstr(error->message, ==,
                    "character ';' is not allowed in a cipher string");
    g_assert_cmpuint(none->len, ==, 0);
}

/* test_speed - warnings are cheap once the built-in keys exist */
static void test_speed(void)
{
    g_autoptr(seg_settings) s = seg_settings_new_default();
    gint64 t0;
    gint64 us;

    g_ptr_array_unref(seg_settings_warnings(s));
    t0 = g_get_monotonic_time();
    for (int i = 0; i < 10; i++)
        g_ptr_array_unref(seg_settings_warnings(s));
    us = (g_get_monotonic_time() - t0) / 10;
    g_test_message("seg_settings_warnings: %" G_GINT64_FORMAT " us", us);
    /* generous for ASan; valgrind is some 100 times slower */
    g_assert_cmpint(us, <, RUNNING_ON_VALGRIND ? 20000000 : 500000);
}

int main(int argc, char **argv)
{
    int rc;

    g_test_init(&argc, &argv, NULL);
    make_files();
    g_test_add_func("/usable/default_gui", test_default_gui);
    g_test_add_func("/usable/all", test_all);
    g_test_add_func("/usable/ecdsa", test_ecdsa);
    g_test_add_func("/usable/verify_seclevel", test_verify_seclevel);
    g_test_add_func("/usable/bad_certificate", test_bad_certificate);
    g_test_add_func("/usable/describe", test_describe);
    g_test_add_func("/usable/speed", test_speed);
    rc = g_test_run();
    remove_files();
    return rc;
}
