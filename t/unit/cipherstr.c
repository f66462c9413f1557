/*
 * cipherstr - unit tests of the cipher-string words OpenSSL does not know.
 *
 * Each case is a real cipher string with the words OpenSSL skips. What
 * OpenSSL really selects proves the claim: the string minus those words
 * selects exactly the same ciphers, in the same order, as the string.
 * The gateway's default strings have no such word, and a typo in a
 * service's string becomes a warning line.
 */
#include <string.h>
#include <openssl/ssl.h>

#include "cipherstr.h"
#include "settings.h"
#include "warnings.h"

/* selected - OpenSSL's TLS <= 1.2 list for a string, names joined by ':' */
static char *selected(const char *ciphers)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    GString *out = g_string_new(NULL);

    SSL_CTX_set_security_level(ctx, 0);
    if (SSL_CTX_set_cipher_list(ctx, ciphers)) {
        STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);

        for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
            const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);

            if (strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") != 0)
                g_string_append_printf(out, "%s:", SSL_CIPHER_get_name(c));
        }
    }
    SSL_CTX_free(ctx);
    return g_string_free(out, FALSE);
}

/* joined - the unknown words as "a|b", "" for none */
static char *joined(const char *ciphers)
{
    g_autoptr(GPtrArray) w = seg_cipher_string_unknown(ciphers);

    if (w == NULL)
        return g_strdup("");
    g_ptr_array_add(w, NULL);
    return g_strjoinv("|", (char **) w->pdata);
}

/* test_words - real strings, their unknown words, OpenSSL's own list */
static void test_words(void)
{
    static const struct {
        const char *ciphers;
        const char *unknown;
        const char *without;    /* the string without the unknown words */
    } t[] = {
        {"HIGH:MEDUIM:!aNULL", "MEDUIM", "HIGH:!aNULL"},
        {"HIGH:MEDIUM:!aNULL", "", NULL},
        {"DEFAULT:!aNUL", "aNUL", "DEFAULT"},
        /* DEFAULT counts only as the first seven characters */
        {"HIGH:DEFAULT", "DEFAULT", "HIGH"},
        {"DEFAULT:!MD5", "", NULL},
        {"ECDH+aRAS:AES256", "aRAS", "AES256"},
        {"ECDH+aRSA:AES256", "", NULL},
        {"AES256:@SECLEVEL=0:@STRENGTH", "", NULL},
        /* case matters; TLS 1.3 suite names are not cipher-string words */
        {"high:AES128", "high", "AES128"},
        {"TLS_AES_128_GCM_SHA256:AES128", "TLS_AES_128_GCM_SHA256", "AES128"},
        {"ECDHE-RSA-AES128-GCM-SHA256,AES256-SHA ECDHE-RSA-AES256-SHA", "", NULL},
        {"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA265",
         "ECDHE-RSA-AES128-GCM-SHA265", "ECDHE-RSA-AES128-GCM-SHA256"},
        /* each once, in order, whatever the prefix */
        {"ALL:+MEDUIM:-HIHG:!MEDUIM:AES", "MEDUIM|HIHG", "ALL:AES"},
        /* retired names: nothing to select or remove in OpenSSL 3 */
        {"HIGH:!EXP:-EXPORT:!SSLv2:!kDHr", "", NULL},
    };

    for (guint i = 0; i < G_N_ELEMENTS(t); i++) {
        g_autofree char *got = joined(t[i].ciphers);

        g_assert_cmpstr(got, ==, t[i].unknown);
        if (t[i].without) {
            g_autofree char *a = selected(t[i].ciphers);
            g_autofree char *b = selected(t[i].without);

            g_assert_cmpstr(a, !=, "");
            g_assert_cmpstr(a, ==, b);
        }
    }
}

/* test_defaults - the gateway's default strings have no unknown word */
static void test_defaults(void)
{
    g_autoptr(seg_settings) s = seg_settings_new_default();

    for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
        g_autoptr(GPtrArray) w = seg_cipher_string_unknown(s->svc[svc].ciphers);

        g_assert_null(w);
    }
}

/* test_warning - the warning line of a typo, with the service's title */
static void test_warning(void)
{
    g_autoptr(seg_settings) s = seg_settings_new_default();
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) w = NULL;

    g_assert_true(seg_settings_set(s, "inbound.ciphers", "HIGH:MEDUIM:!aNULL", &error));
    g_assert_true(seg_settings_set(s, "outbound.ciphers", "HIHG:MEDUIM:AES", &error));
    w = seg_settings_warnings(s);
    g_assert_true(g_ptr_array_find_with_equal_func(w,
        "Warning: Inbound SMTP: OpenSSL does not know \"MEDUIM\" in the cipher "
        "string and ignores it.", g_str_equal, NULL));
    g_assert_true(g_ptr_array_find_with_equal_func(w,
        "Warning: Outbound SMTP: OpenSSL does not know \"HIHG\" and \"MEDUIM\" "
        "in the cipher string and ignores them.", g_str_equal, NULL));
    for (guint i = 0; i < w->len; i++)
        g_assert_false(g_str_has_prefix(g_ptr_array_index(w, i),
                                        "Warning: GUI HTTPS: OpenSSL"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cipherstr/words", test_words);
    g_test_add_func("/cipherstr/defaults", test_defaults);
    g_test_add_func("/cipherstr/warning", test_warning);
    return g_test_run();
}
