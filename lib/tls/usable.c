/*
 * usable - what can really negotiate, found by real handshakes.
 *
 * For every enabled version a client SSL and a server SSL, joined by a
 * BIO pair and pinned to that version, run a handshake in memory. The
 * side under test has the cipher string, the fixed TLS 1.3 suites and
 * the security level of its target; the other side allows everything at
 * level 0. Without a configured certificate the server uses a built-in
 * RSA-2048 or ECDSA P-256 key (usable_keys.c: fixed, since generating
 * them is slow) with a self-signed certificate made once per process.
 * The configured certificate is parsed from memory: the caller reads the
 * file (seg_file_read_bounded, or a reader of its own that checks more).
 */
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cipherstr.h"
#include "error.h"
#include "quote.h"
#include "safefile.h"
#include "tlserr.h"
#include "tlsver.h"
#include "usable.h"
#include "usable_keys.h"

#define PEER_CIPHERS    "ALL:@SECLEVEL=0"
#define PEER_SUITES     "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:" \
                        "TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:" \
                        "TLS_AES_128_CCM_8_SHA256"
#define HANDSHAKE_STEPS 64

/* A certificate with its key and chain. */
typedef struct cert_key {
    EVP_PKEY   *key;
    X509       *cert;
    STACK_OF(X509) *chain;      /* may be NULL */
} cert_key;

/* cert_key_clear - free what a cert_key holds */
static void cert_key_clear(cert_key *ck)
{
    EVP_PKEY_free(ck->key);
    X509_free(ck->cert);
    sk_X509_pop_free(ck->chain, X509_free);
    memset(ck, 0, sizeof(*ck));
}

/* self_signed - a self-signed certificate for a key */
static X509 *self_signed(EVP_PKEY *key)
{
    X509 *x = X509_new();
    X509_NAME *name;

    if (x == NULL)
        return NULL;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -86400L);
    X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 86400L);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *) "segtls built-in",
                               -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (!X509_sign(x, key, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* builtin_key - read one of the fixed built-in keys */
static EVP_PKEY *builtin_key(const char *pem)
{
    BIO    *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

    BIO_free(bio);
    return key;
}

/* builtin - the built-in key and a certificate for it, once per process */
static const cert_key *builtin(gboolean ecdsa)
{
    static cert_key keys[2];
    static gsize done[2];
    cert_key *ck = keys + (ecdsa ? 1 : 0);
    gsize *once = done + (ecdsa ? 1 : 0);

    if (g_once_init_enter(once)) {
        ck->key = builtin_key(ecdsa ? seg_usable_ecdsa_key_pem
                              : seg_usable_rsa_key_pem);
        if (ck->key == NULL || (ck->cert = self_signed(ck->key)) == NULL)
            g_error("usable: cannot load the built-in %s key and certificate",
                    ecdsa ? "ECDSA" : "RSA");
        g_once_init_leave(once, 1);
    }
    return ck;
}

/* no_passphrase - never prompt for a PEM pass phrase */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void) buf, (void) size, (void) rwflag, (void) u;
    return -1;
}

/* ossl_reason - the reason of the OpenSSL error (seg_tlserr_read), queue cleared */
static const char *ossl_reason(const char *fallback)
{
    unsigned long e = seg_tlserr_read(NULL, 0, 0);
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    return r ? r : fallback;
}

/* parse_pem - private key and chain from PEM text; NULL or the reason */
static const char *parse_pem(const char *pem, gsize len, cert_key *ck)
{
    BIO    *bio = BIO_new_mem_buf(pem, (int) len);
    const char *why = NULL;
    X509   *x;

    if (bio == NULL || len > G_MAXINT) {
        why = "cannot read it";
    } else if ((ck->key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase,
                                                  NULL)) == NULL) {
        why = "no private key found";
    } else {
        (void) BIO_reset(bio);
        while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
            if (ck->cert == NULL) {
                ck->cert = x;
            } else {
                if (ck->chain == NULL)
                    ck->chain = sk_X509_new_null();
                sk_X509_push(ck->chain, x);
            }
        }
        if (ck->cert == NULL)
            why = "no certificate found";
        else if (!X509_check_private_key(ck->cert, ck->key))
            why = "the private key does not match the certificate";
    }
    BIO_free(bio);
    ERR_clear_error();
    return why;
}

/* load_pem - private key and chain from PEM text named name */
static gboolean load_pem(const char *name, const char *pem, gsize len,
                         cert_key *ck, GError **error)
{
    const char *why = parse_pem(pem, len, ck);

    if (why == NULL)
        return TRUE;
    cert_key_clear(ck);
    g_set_error(error, SEG_ERROR, SEG_ERROR_IO,
                "cannot load certificate %s: %s", name, why);
    return FALSE;
}

/* new_ctx - a context for one side; under test or the permissive peer */
static SSL_CTX *new_ctx(gboolean server, const char *ciphers, int seclevel,
                        const cert_key *ck, GError **error)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method()
                               : TLS_client_method());
    const char *suites = ciphers ? SEG_TLS13_SUITES : PEER_SUITES;

    if (ctx == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS,
                    "cannot create an OpenSSL context: %s",
                    ossl_reason("unknown error"));
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (!SSL_CTX_set_cipher_list(ctx, ciphers ? ciphers : PEER_CIPHERS)) {
        g_autofree char *q = seg_quote_value(ciphers ? ciphers : PEER_CIPHERS);

        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "OpenSSL accepts no cipher in %s", q);
        goto fail;
    }
    /* After the list: an @SECLEVEL in it must not win. */
    SSL_CTX_set_security_level(ctx, ciphers ? seclevel : 0);
    if (!SSL_CTX_set_ciphersuites(ctx, suites)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS,
                    "OpenSSL refuses the TLS 1.3 suites: %s",
                    ossl_reason("unknown error"));
        goto fail;
    }
    if (server) {
        SSL_CTX_set_dh_auto(ctx, 1);
        X509_up_ref(ck->cert);
        EVP_PKEY_up_ref(ck->key);
        if (!SSL_CTX_use_cert_and_key(ctx, ck->cert, ck->key, ck->chain, 1)) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_TLS,
                        "cannot use the certificate: %s",
                        ossl_reason("unknown error"));
            X509_free(ck->cert);
            EVP_PKEY_free(ck->key);
            goto fail;
        }
        X509_free(ck->cert);
        EVP_PKEY_free(ck->key);
    }
    ERR_clear_error();
    return ctx;

fail:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

/* handshake - does one version negotiate between the two contexts? */
static gboolean handshake(SSL_CTX *cctx, SSL_CTX *sctx, int version)
{
    SSL *c = SSL_new(cctx);
    SSL *s = SSL_new(sctx);
    BIO *cb = NULL, *sb = NULL;
    gboolean done = FALSE;

    if (c == NULL || s == NULL || !BIO_new_bio_pair(&cb, 0, &sb, 0))
        goto out;
    SSL_set_bio(c, cb, cb);
    SSL_set_bio(s, sb, sb);
    SSL_set_min_proto_version(c, version);
    SSL_set_max_proto_version(c, version);
    SSL_set_min_proto_version(s, version);
    SSL_set_max_proto_version(s, version);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);

    for (int step = 0; step < HANDSHAKE_STEPS && !done; step++) {
        int rc = SSL_do_handshake(c);
        int rs = SSL_do_handshake(s);
        int ec = SSL_get_error(c, rc);
        int es = SSL_get_error(s, rs);

        if (rc == 1 && rs == 1)
            done = SSL_version(c) == version && SSL_version(s) == version;
        else if ((rc != 1 && ec != SSL_ERROR_WANT_READ
                  && ec != SSL_ERROR_WANT_WRITE)
                 || (rs != 1 && es != SSL_ERROR_WANT_READ
                     && es != SSL_ERROR_WANT_WRITE))
            break;
    }
out:
    SSL_free(c);
    SSL_free(s);
    ERR_clear_error();
    return done;
}

/* seg_usable_versions - subset of methods that negotiates */
gboolean seg_usable_versions(const char *ciphers, unsigned methods,
                             seg_tls_role role, const char *certificate,
                             int seclevel, unsigned *usable, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *pem = NULL;
    gsize   len = 0;

    if (role == SEG_ROLE_SERVER && certificate && *certificate
        && !seg_file_read_bounded(certificate, SEG_FILE_MAX_CERT, &pem, &len,
                                  NULL, &err)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO,
                    "cannot load certificate %s: %s", certificate, err->message);
        return FALSE;
    }
    return seg_usable_versions_pem(ciphers, methods, role, pem, len,
                                   certificate, seclevel, usable, error);
}

/* seg_usable_versions_pem - the same with the certificate file's contents */
gboolean seg_usable_versions_pem(const char *ciphers, unsigned methods,
                                 seg_tls_role role, const char *pem, gsize len,
                                 const char *name, int seclevel,
                                 unsigned *usable, GError **error)
{
    cert_key own = {0};
    const cert_key *peers[2];
    SSL_CTX *test = NULL;
    SSL_CTX *other[2] = {NULL, NULL};
    guint npeers;
    unsigned result = 0;
    gboolean ok = FALSE;

    g_return_val_if_fail(ciphers != NULL, FALSE);
    if (role == SEG_ROLE_SERVER) {
        if (pem != NULL && !load_pem(name ? name : "(memory)", pem, len, &own, error))
            return FALSE;
        peers[0] = own.key ? &own : builtin(FALSE);
        npeers = 1;
        if ((test = new_ctx(TRUE, ciphers, seclevel, peers[0], error)) == NULL
            || (other[0] = new_ctx(FALSE, NULL, 0, NULL, error)) == NULL)
            goto out;
    } else {
        peers[0] = builtin(FALSE);
        peers[1] = builtin(TRUE);
        npeers = 2;
        if ((test = new_ctx(FALSE, ciphers, seclevel, NULL, error)) == NULL)
            goto out;
        for (guint i = 0; i < npeers; i++)
            if ((other[i] = new_ctx(TRUE, NULL, 0, peers[i], error)) == NULL)
                goto out;
    }

    for (const seg_tlsver *v = seg_tlsver_table;
         v < seg_tlsver_table + SEG_TLS_NVERS; v++) {
        if (!(methods & v->bit))
            continue;
        for (guint i = 0; i < npeers; i++) {
            gboolean hs = role == SEG_ROLE_SERVER
                ? handshake(other[i], test, v->ossl_version)
                : handshake(test, other[i], v->ossl_version);

            if (hs) {
                result |= v->bit;
                break;
            }
        }
    }
    *usable = result;
    ok = TRUE;

out:
    SSL_CTX_free(test);
    SSL_CTX_free(other[0]);
    SSL_CTX_free(other[1]);
    cert_key_clear(&own);
    return ok;
}

/* seg_cipher_describe - `openssl ciphers -v` lines, TLS 1.3 suites first */
gboolean seg_cipher_describe(const char *ciphers, GString *out, GError **error)
{
    STACK_OF(SSL_CIPHER) *sk;
    SSL_CTX *ctx;
    SSL *ssl = NULL;
    char buf[256];

    if (!seg_cipher_string_check(ciphers, error))
        return FALSE;
    if ((ctx = new_ctx(FALSE, ciphers, 0, NULL, error)) == NULL)
        return FALSE;
    if ((ssl = SSL_new(ctx)) == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_TLS, "cannot create an SSL: %s",
                    ossl_reason("unknown error"));
        SSL_CTX_free(ctx);
        return FALSE;
    }
    sk = SSL_get_ciphers(ssl);
    for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++)
        g_string_append(out, SSL_CIPHER_description(sk_SSL_CIPHER_value(sk, i),
                                                    buf, sizeof(buf)));
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return TRUE;
}
