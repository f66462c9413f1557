/*
 * cipherstr - OpenSSL cipher strings and the fixed TLS 1.3 suites.
 *
 * The cipher string of a service governs TLS 1.0-1.2 only; TLS 1.3 always
 * offers the three fixed suites below, in that order (SPEC section 2).
 */
#ifndef SEGTLS_CIPHERSTR_H
#define SEGTLS_CIPHERSTR_H

#include <glib.h>

/* The fixed TLS 1.3 suites, in order, colon separated. */
#define SEG_TLS13_SUITES \
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"

/*
 * seg_cipher_string_check - alphabet (A-Za-z0-9 : + - ! @ = . _ ,),
 * length (1..4096) and OpenSSL acceptance (SSL_CTX_set_cipher_list).
 * Message without the key prefix: "character ';' is not allowed in a
 * cipher string", "OpenSSL accepts no cipher in \"FOO\"".
 */
gboolean seg_cipher_string_check(const char *ciphers, GError **error);

/*
 * seg_cipher_string_unknown - the words of a cipher string that OpenSSL
 * does not know and silently skips ("MEDUIM" in "HIGH:MEDUIM:!aNULL"),
 * as written, in order, each once; NULL when every word is known. The
 * string is read by OpenSSL's grammar: elements separated by ':' ',' ' '
 * or ';', each with an optional '!', '-' or '+' prefix and words joined
 * by '+' (ECDH+aRSA), "@STRENGTH" and "@SECLEVEL=n", "DEFAULT" only at the
 * very start. A word is known when it is one of OpenSSL's aliases (its
 * SSL_TXT_* names), the name of a cipher this OpenSSL has, or a retired
 * name whose ciphers no OpenSSL 3 has (EXP, EXPORT, SSLv2, ...).
 */
GPtrArray *seg_cipher_string_unknown(const char *ciphers);

#endif
