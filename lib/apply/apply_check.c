/*
 * apply_check - OpenSSL's word on everything segtls-apply is about to write.
 *
 * Postfix silently ignores a TLS 1.3 suite it does not know and breaks
 * STARTTLS on a certificate it cannot load, so before any file is
 * touched: each OpenSSL configuration text is parsed with NCONF and every
 * command of every system_default section is given to SSL_CONF_cmd()
 * (which must use it) on a scratch SSL_CTX, whose TLS 1.3 suites must
 * then be exactly the fixed three; each certificate file must load with
 * its key; the verify CA file must load.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "apply.h"
#include "cipherstr.h"
#include "error.h"
#include "tlserr.h"

/* ossl_error - the OpenSSL error as text (seg_tlserr_read; clears the queue) */
static char *ossl_error(void)
{
    char    buf[SEG_TLSERR_TEXT_MAX];

    if (seg_tlserr_read(buf, sizeof(buf), 0) == 0)
        return g_strdup("unknown OpenSSL error");
    return g_strdup(buf);
}

/* check_suites - the TLS 1.3 suites of ctx are exactly SEG_TLS13_SUITES */
static gboolean check_suites(const char *what, SSL_CTX *ctx, GError **error)
{
    STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);
    g_autoptr(GString) got = g_string_new(NULL);

    for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);

        if (strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") == 0)
            g_string_append_printf(got, "%s%s", got->len ? ":" : "",
                                   SSL_CIPHER_standard_name(c));
    }
    if (strcmp(got->str, SEG_TLS13_SUITES) != 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS,
                    "%s: OpenSSL sets the TLS 1.3 suites to \"%s\", not \"%s\"",
                    what, got->str, SEG_TLS13_SUITES);
        return FALSE;
    }
    return TRUE;
}

/* check_section - every command of one system_default section */
static gboolean check_section(const char *what, CONF *conf, const char *sec,
                              GError **error)
{
    STACK_OF(CONF_VALUE) *cmds = NCONF_get_section(conf, sec);
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    SSL_CONF_CTX *cctx = SSL_CONF_CTX_new();
    gboolean ok = FALSE;

    if (cmds == NULL || ctx == NULL || cctx == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS, "%s: no section [%s]",
                    what, sec);
        goto out;
    }
    SSL_CONF_CTX_set_flags(cctx, SSL_CONF_FLAG_FILE | SSL_CONF_FLAG_CLIENT
                           | SSL_CONF_FLAG_SERVER | SSL_CONF_FLAG_CERTIFICATE);
    SSL_CONF_CTX_set_ssl_ctx(cctx, ctx);
    for (int i = 0; i < sk_CONF_VALUE_num(cmds); i++) {
        CONF_VALUE *cv = sk_CONF_VALUE_value(cmds, i);

        if (SSL_CONF_cmd(cctx, cv->name, cv->value) != 2) {
            g_autofree char *why = ossl_error();

            g_set_error(error, SEG_ERROR, SEG_ERROR_TLS,
                        "%s: [%s] %s = %s: OpenSSL refuses it: %s",
                        what, sec, cv->name, cv->value, why);
            goto out;
        }
    }
    if (!SSL_CONF_CTX_finish(cctx)) {
        g_autofree char *why = ossl_error();

        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS, "%s: [%s]: %s", what, sec,
                    why);
        goto out;
    }
    ok = check_suites(what, ctx, error);
out:
    SSL_CONF_CTX_free(cctx);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* seg_apply_check_openssl_conf - parse and use an OpenSSL config text */
gboolean seg_apply_check_openssl_conf(const char *what, const char *text,
                                      const char *const *apps, GError **error)
{
    CONF   *conf = NCONF_new(NULL);
    BIO    *bio = BIO_new_mem_buf(text, -1);
    long    line = 0;
    gboolean ok = FALSE;

    if (conf == NULL || bio == NULL || NCONF_load_bio(conf, bio, &line) <= 0) {
        g_autofree char *why = ossl_error();

        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS, "%s: line %ld: %s",
                    what, line, why);
        goto out;
    }
    for (const char *const *app = apps; *app; app++) {
        const char *sec = NCONF_get_string(conf, NULL, *app);
        const char *ssl = sec ? NCONF_get_string(conf, sec, "ssl_conf") : NULL;
        const char *dflt = ssl ? NCONF_get_string(conf, ssl, "system_default") : NULL;

        if (dflt == NULL) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_TLS,
                        "%s: application %s has no ssl_conf system_default "
                        "section", what, *app);
            goto out;
        }
        if (!check_section(what, conf, dflt, error))
            goto out;
    }
    ok = TRUE;
out:
    ERR_clear_error();
    BIO_free(bio);
    NCONF_free(conf);
    return ok;
}

/* seg_apply_check_certificate - a PEM file with the key and its chain */
gboolean seg_apply_check_certificate(const char *what, const char *path,
                                     GError **error)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    gboolean ok = FALSE;

    if (access(path, R_OK) != 0) {
        int saved = errno;

        g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY,
                    "%s: %s: cannot read the file: %s", what, path,
                    g_strerror(saved));
        goto out;
    }
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY,
                    "%s: %s: not a regular file", what, path);
        goto out;
    }
    if (ctx == NULL
        || SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM) != 1
        || SSL_CTX_use_certificate_chain_file(ctx, path) != 1
        || SSL_CTX_check_private_key(ctx) != 1) {
        g_autofree char *why = ossl_error();

        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS,
                    "%s: %s: not a PEM private key with its certificate "
                    "chain: %s", what, path, why);
        goto out;
    }
    ok = TRUE;
out:
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* seg_apply_check_ca_file - trust anchors OpenSSL can load */
gboolean seg_apply_check_ca_file(const char *what, const char *path,
                                 GError **error)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    gboolean ok = ctx && SSL_CTX_load_verify_locations(ctx, path, NULL) == 1;

    if (!ok) {
        g_autofree char *why = ossl_error();

        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS,
                    "%s: %s: OpenSSL cannot load trust anchors from it: %s",
                    what, path, why);
    }
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}
