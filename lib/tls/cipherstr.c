/*
 * cipherstr - validation of OpenSSL cipher strings.
 *
 * A cipher string ends up in main.cf, master.cf and nginx.conf, so it is
 * held to the cipher-string alphabet and a length limit before OpenSSL is
 * asked whether it selects any cipher at all.
 */
#include <string.h>
#include <openssl/ssl.h>
#include <openssl/err.h>

#include "cipherstr.h"
#include "error.h"
#include "quote.h"

#define CIPHERS_MAX 4096

static const char cipher_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    ":+-!@=._,";

/* seg_cipher_string_check - alphabet, length and OpenSSL acceptance */
gboolean seg_cipher_string_check(const char *ciphers, GError **error)
{
    size_t len = ciphers ? strlen(ciphers) : 0;
    size_t bad;
    SSL_CTX *ctx;
    int ok;

    if (len == 0) {
        g_set_error_literal(error, SEG_ERROR, SEG_ERROR_INVALID,
                            "cipher string is empty");
        return FALSE;
    }
    if (len > CIPHERS_MAX) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "cipher string is longer than %d bytes", CIPHERS_MAX);
        return FALSE;
    }
    if ((bad = strspn(ciphers, cipher_alphabet)) < len) {
        g_autofree char *name = seg_quote_char((guchar) ciphers[bad]);

        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "character '%s' is not allowed in a cipher string", name);
        return FALSE;
    }
    if ((ctx = SSL_CTX_new(TLS_method())) == NULL) {
        g_set_error_literal(error, SEG_ERROR, SEG_ERROR_TLS,
                            "cannot create an OpenSSL context");
        ERR_clear_error();
        return FALSE;
    }
    ok = SSL_CTX_set_cipher_list(ctx, ciphers);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    if (!ok) {
        g_autofree char *q = seg_quote_value(ciphers);

        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "OpenSSL accepts no cipher in %s", q);
        return FALSE;
    }
    return TRUE;
}
