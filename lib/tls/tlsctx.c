/*
 * tlsctx - OpenSSL contexts built from one service's settings.
 *
 * See tlsctx.h. The version mask maps to a min/max protocol pair (the
 * mask is contiguous, the settings core guarantees it); the cipher string
 * never touches TLS 1.3, whose suites are always SEG_TLS13_SUITES.
 */
#include <errno.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cipherstr.h"
#include "error.h"
#include "tlsctx.h"
#include "tlserr.h"
#include "tlsver.h"

/* seg_tlsctx_apply - versions, ciphers, suites, seclevel, renegotiation */
gboolean seg_tlsctx_apply(SSL_CTX *ctx, unsigned methods, const char *ciphers,
                          gboolean renegotiation, int seclevel, GError **error)
{
    const seg_tlsver *lo, *hi;

    methods &= SEG_TLS_ALL;
    lo = methods ? seg_tlsver_by_bit(seg_methods_lowest(methods)) : NULL;
    hi = methods ? seg_tlsver_by_bit(seg_methods_highest(methods)) : NULL;
    if (lo == NULL || hi == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "no TLS version enabled");
        return FALSE;
    }
    if (!SSL_CTX_set_min_proto_version(ctx, lo->ossl_version)
        || !SSL_CTX_set_max_proto_version(ctx, hi->ossl_version)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS,
                    "OpenSSL refuses the version range %s-%s", lo->value, hi->value);
        return FALSE;
    }
    if (seclevel == SEG_SECLEVEL_AUTO)
        seclevel = (methods & (SEG_TLS_V10 | SEG_TLS_V11)) ? 0 : -1;
    if (seclevel >= 0)
        SSL_CTX_set_security_level(ctx, seclevel);
    if (ciphers != NULL && *ciphers != 0
        && !SSL_CTX_set_cipher_list(ctx, ciphers)) {
        ERR_clear_error();
        /* Only TLS 1.3 enabled: the TLS <= 1.2 list does not matter. */
        if (methods != SEG_TLS_V13) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_TLS,
                        "OpenSSL accepts no cipher in \"%s\"", ciphers);
            return FALSE;
        }
    }
    if (!SSL_CTX_set_ciphersuites(ctx, SEG_TLS13_SUITES)) {
        ERR_clear_error();
        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS,
                    "OpenSSL refuses the TLS 1.3 suites " SEG_TLS13_SUITES);
        return FALSE;
    }
    if (renegotiation) {
        SSL_CTX_clear_options(ctx, SSL_OP_NO_RENEGOTIATION);
        SSL_CTX_set_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
    } else {
        SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
        SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    }
    return TRUE;
}

/* seg_tlsctx_server - a server context for a listening service */
SSL_CTX *seg_tlsctx_server(unsigned methods, const char *ciphers, gboolean renegotiation,
                           const char *cert_file, int seclevel, GError **error)
{
    SSL_CTX *ctx;
    char    buf[256];

    if (cert_file == NULL || *cert_file == 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "no certificate configured");
        return NULL;
    }
    if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS, "SSL_CTX_new failed");
        return NULL;
    }
    if (!seg_tlsctx_apply(ctx, methods, ciphers, renegotiation, seclevel, error))
        goto fail;
    if (SSL_CTX_use_PrivateKey_file(ctx, cert_file, SSL_FILETYPE_PEM) != 1
        || SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1
        || SSL_CTX_check_private_key(ctx) != 1) {
        seg_tlserr_read(buf, sizeof(buf), 0);
        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS,
                    "%s: cannot load key and certificate chain: %s", cert_file, buf);
        goto fail;
    }
    /* No session cache and no tickets, TLS 1.3 (num_tickets) or TLS 1.2
     * (SSL_OP_NO_TICKET): an MTA seldom resumes, and each ticket costs an
     * encryption and a record per handshake. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    /* The chain sent is the one in cert_file. Without NO_AUTO_CHAIN a
     * file holding only the leaf makes OpenSSL build a chain from the
     * context's trust store on every handshake (X509_verify_cert); that
     * store is empty here, so the search can only ever find the leaf. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                     | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                     | SSL_MODE_NO_AUTO_CHAIN);
    return ctx;

fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* seg_tlsctx_client - a client context */
SSL_CTX *seg_tlsctx_client(unsigned methods, const char *ciphers, int seclevel,
                           const char *ca_file, gboolean x509_strict, GError **error)
{
    SSL_CTX *ctx;
    char    buf[256];

    if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS, "SSL_CTX_new failed");
        return NULL;
    }
    if (!seg_tlsctx_apply(ctx, methods, ciphers, TRUE, seclevel, error))
        goto fail;
    if (ca_file != NULL && *ca_file != 0
        && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        seg_tlserr_read(buf, sizeof(buf), 0);
        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS,
                    "%s: cannot load CA certificates: %s", ca_file, buf);
        goto fail;
    }
    if (x509_strict)
        X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_X509_STRICT);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                     | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return ctx;

fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* seg_tls_error_tuple - "(CODE, 'error:...')" */
char *seg_tls_error_tuple(unsigned long code)
{
    char    buf[SEG_TLSERR_TUPLE_MAX];

    seg_tlserr_tuple(code, NULL, buf, sizeof(buf));
    return g_strdup(buf);
}

/* seg_tls_failure - the tuple for a failed SSL call (tlserr.h: the last error) */
char *seg_tls_failure(SSL *ssl, int ret, int saved_errno)
{
    char    text[SEG_TLSERR_TEXT_MAX], buf[SEG_TLSERR_TUPLE_MAX];
    unsigned long code = seg_tlserr_read(text, sizeof(text), 0);

    if (code != 0) {
        seg_tlserr_tuple(code, text, buf, sizeof(buf));
        return g_strdup(buf);
    }
    if (saved_errno != 0)
        return g_strdup_printf("(0, '%s')", g_strerror(saved_errno));
    return g_strdup("(0, 'connection closed by peer')");
}

/* seg_tls_check_peer - chain verdict and name match */
char *seg_tls_check_peer(SSL *ssl, gboolean chain, const char *host)
{
    X509   *cert = SSL_get1_peer_certificate(ssl);
    long    vr;
    int     ok;

    if (cert == NULL)
        return g_strdup("peer presented no certificate");
    if (chain && (vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
        X509_free(cert);
        return g_strdup_printf("certificate verification failed: %s",
                               X509_verify_cert_error_string(vr));
    }
    if (host != NULL && *host != 0) {
        if (g_hostname_is_ip_address(host))
            ok = X509_check_ip_asc(cert, host, 0);
        else
            ok = X509_check_host(cert, host, strlen(host), 0, NULL);
        if (ok != 1) {
            X509_free(cert);
            return g_strdup_printf("certificate name does not match %s", host);
        }
    }
    X509_free(cert);
    return NULL;
}
