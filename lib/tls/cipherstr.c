/*
 * cipherstr - validation of OpenSSL cipher strings.
 *
 * A cipher string ends up in main.cf, master.cf and nginx.conf, so it is
 * held to the cipher-string alphabet and a length limit before OpenSSL is
 * asked whether it selects any cipher at all.
 *
 * OpenSSL skips a word it does not know without a word of its own
 * ("HIGH:MEDUIM:!aNULL" is "HIGH:!aNULL"), and OpenSSL 3 has no call that
 * lists such words. seg_cipher_string_unknown() reads the string by
 * OpenSSL's grammar (ssl_cipher_process_rulestr) and looks each word up
 * in what OpenSSL knows: its alias names from <openssl/ssl.h> and the
 * names of the ciphers it has, asked of OpenSSL itself.
 */
#include <string.h>
#include <openssl/ssl.h>
#include <openssl/err.h>

#include "cipherstr.h"
#include "error.h"
#include "quote.h"

#define CIPHERS_MAX 4096

/* OpenSSL's separators of cipher-string elements (ITEM_SEP) */
#define CIPHER_SEPARATORS ":, ;"

/* What a word of a cipher string is made of (OpenSSL's rule parser) */
#define WORD_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.="

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

/*
 * OpenSSL's alias names, from its own header, and the few it accepts
 * without an SSL_TXT_ macro. Retired names come after them: they name
 * ciphers that OpenSSL 3 no longer has at all (export grade, SSL 2,
 * Fortezza, Kerberos), so skipping them changes nothing, and the
 * gateway's own default strings carry some (!EXP, -EXPORT, !SSLv2).
 */
static const char *const known_words[] = {
    SSL_TXT_LOW, SSL_TXT_MEDIUM, SSL_TXT_HIGH, SSL_TXT_FIPS, SSL_TXT_aNULL,
    SSL_TXT_eNULL, SSL_TXT_NULL, SSL_TXT_kRSA, SSL_TXT_kDHr, SSL_TXT_kDHd,
    SSL_TXT_kDH, SSL_TXT_kEDH, SSL_TXT_kDHE, SSL_TXT_kECDHr, SSL_TXT_kECDHe,
    SSL_TXT_kECDH, SSL_TXT_kEECDH, SSL_TXT_kECDHE, SSL_TXT_kPSK,
    SSL_TXT_kRSAPSK, SSL_TXT_kECDHEPSK, SSL_TXT_kDHEPSK, SSL_TXT_kGOST,
    SSL_TXT_kGOST18, SSL_TXT_kSRP, SSL_TXT_aRSA, SSL_TXT_aDSS, SSL_TXT_aDH,
    SSL_TXT_aECDH, SSL_TXT_aECDSA, SSL_TXT_aPSK, SSL_TXT_aGOST94,
    SSL_TXT_aGOST01, SSL_TXT_aGOST12, SSL_TXT_aGOST, SSL_TXT_aSRP, SSL_TXT_DSS,
    SSL_TXT_DH, SSL_TXT_DHE, SSL_TXT_EDH, SSL_TXT_ADH, SSL_TXT_RSA,
    SSL_TXT_ECDH, SSL_TXT_EECDH, SSL_TXT_ECDHE, SSL_TXT_AECDH, SSL_TXT_ECDSA,
    SSL_TXT_PSK, SSL_TXT_SRP, SSL_TXT_DES, SSL_TXT_3DES, SSL_TXT_RC4,
    SSL_TXT_RC2, SSL_TXT_IDEA, SSL_TXT_SEED, SSL_TXT_AES128, SSL_TXT_AES256,
    SSL_TXT_AES, SSL_TXT_AES_GCM, SSL_TXT_AES_CCM, SSL_TXT_AES_CCM_8,
    SSL_TXT_CAMELLIA128, SSL_TXT_CAMELLIA256, SSL_TXT_CAMELLIA,
    SSL_TXT_CHACHA20, SSL_TXT_GOST, SSL_TXT_ARIA, SSL_TXT_ARIA_GCM,
    SSL_TXT_ARIA128, SSL_TXT_ARIA256, SSL_TXT_GOST2012_GOST8912_GOST8912,
    SSL_TXT_CBC, SSL_TXT_MD5, SSL_TXT_SHA1, SSL_TXT_SHA, SSL_TXT_GOST94,
    SSL_TXT_GOST89MAC, SSL_TXT_GOST12, SSL_TXT_GOST89MAC12, SSL_TXT_SHA256,
    SSL_TXT_SHA384, SSL_TXT_SSLV3, SSL_TXT_TLSV1, SSL_TXT_TLSV1_1,
    SSL_TXT_TLSV1_2, SSL_TXT_ALL, SSL_TXT_CMPALL, SSL_TXT_CMPDEF,
    "TLSv1.0", "DTLSv1", "DTLSv1.0", "DTLSv1.2",
    /* retired */
    "EXP", "EXPORT", "EXPORT40", "EXPORT56", "SSLv2", "FZA", "kFZA", "aFZA",
    "eFZA", "KRB5", "kKRB5", "aKRB5",
};

/* known_init - the alias names and every TLS <= 1.2 cipher name OpenSSL has */
static gpointer known_init(gpointer unused)
{
    GHashTable *known = g_hash_table_new(g_str_hash, g_str_equal);
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());

    for (gsize i = 0; i < G_N_ELEMENTS(known_words); i++)
        g_hash_table_add(known, (gpointer) known_words[i]);
    if (ctx != NULL) {
        SSL_CTX_set_security_level(ctx, 0);
        if (SSL_CTX_set_cipher_list(ctx, "ALL:COMPLEMENTOFALL")) {
            STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);

            /* the names are OpenSSL's static strings */
            for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
                const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);

                if (strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") != 0)
                    g_hash_table_add(known, (gpointer) SSL_CIPHER_get_name(c));
            }
        }
        SSL_CTX_free(ctx);
    }
    ERR_clear_error();
    return known;
}

/* known_word - does OpenSSL know this word (len bytes at w)? */
static gboolean known_word(const char *w, size_t len)
{
    static GOnce once = G_ONCE_INIT;
    GHashTable *known = g_once(&once, known_init, NULL);
    g_autofree char *word = g_strndup(w, len);

    return strspn(word, WORD_CHARS) == len && g_hash_table_contains(known, word);
}

/* special_ok - the command after '@': STRENGTH or SECLEVEL=0..5 */
static gboolean special_ok(const char *w, size_t len)
{
    return (len == 8 && strncmp(w, "STRENGTH", 8) == 0)
        || (len == 10 && strncmp(w, "SECLEVEL=", 9) == 0
            && w[9] >= '0' && w[9] <= '5');
}

/* add_unknown - one word (len bytes at w) to the list, once */
static void add_unknown(GPtrArray **out, const char *w, size_t len)
{
    g_autofree char *word = g_strndup(w, len);

    if (*out == NULL)
        *out = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < (*out)->len; i++)
        if (strcmp(g_ptr_array_index(*out, i), word) == 0)
            return;
    g_ptr_array_add(*out, g_steal_pointer(&word));
}

/* seg_cipher_string_unknown - the words OpenSSL would skip */
GPtrArray *seg_cipher_string_unknown(const char *ciphers)
{
    GPtrArray *out = NULL;
    const char *p = ciphers ? ciphers : "";

    /* OpenSSL takes "DEFAULT" only as the first seven characters */
    if (strncmp(p, "DEFAULT", 7) == 0) {
        p += 7;
        if (*p == ':')
            p++;
    }
    while (*p) {
        size_t  len = strcspn(p, CIPHER_SEPARATORS);
        const char *end = p + len;
        const char *w = p;

        if (len == 0) {
            p++;
            continue;
        }
        if (*w == '@') {
            if (!special_ok(w + 1, len - 1))
                add_unknown(&out, w, len);
        } else {
            if (strchr("!-+", *w))
                w++;
            while (w < end) {
                size_t  wl = strcspn(w, "+" CIPHER_SEPARATORS);

                if (wl > 0 && !known_word(w, wl))
                    add_unknown(&out, w, wl);
                w += wl + (w[wl] == '+');
            }
        }
        p = end;
    }
    return out;
}
