/*
 * warnings - the usable-cipher warnings of a configuration (SPEC section 2).
 *
 * For each service, the usable-version analysis (tls/usable.c) runs with
 * what the service's target enforces: the certificate of a listening
 * service, security level 1 for Postfix's smtp at the verify modes. An
 * enabled version that cannot negotiate gives one warning line, shown at
 * edit, commit and apply time. A certificate file is read by a reader
 * the caller may give (segtls-policyd checks where the file really is);
 * by default with seg_file_read_bounded(), which never blocks on a FIFO.
 * So does a word of the cipher string that
 * OpenSSL does not know and skips without a word (a typo: "MEDUIM").
 */
#include <string.h>

#include "cipherstr.h"
#include "error.h"
#include "safefile.h"
#include "tlsver.h"
#include "usable.h"
#include "warnings.h"

/* join_human - "TLS v1.1", "TLS v1.1 and TLS v1.2", "A, B and C" */
static void join_human(GString *out, unsigned mask)
{
    guint n = 0, total = 0;

    for (const seg_tlsver *v = seg_tlsver_table;
         v < seg_tlsver_table + SEG_TLS_NVERS; v++)
        total += (mask & v->bit) != 0;
    for (const seg_tlsver *v = seg_tlsver_table;
         v < seg_tlsver_table + SEG_TLS_NVERS; v++) {
        if (!(mask & v->bit))
            continue;
        if (n > 0)
            g_string_append(out, n + 1 == total ? " and " : ", ");
        g_string_append(out, v->human);
        n++;
    }
}

/*
 * unknown_words - "Warning: Inbound SMTP: OpenSSL does not know "MEDUIM"
 * in the cipher string and ignores it." when the string has such words
 */
static void unknown_words(const char *title, const char *ciphers, GPtrArray *out)
{
    g_autoptr(GPtrArray) words = seg_cipher_string_unknown(ciphers);
    GString *line;

    if (words == NULL)
        return;
    line = g_string_new(NULL);
    g_string_append_printf(line, "Warning: %s: OpenSSL does not know ", title);
    for (guint i = 0; i < words->len; i++)
        g_string_append_printf(line, "%s\"%s\"",
                               i == 0 ? "" : i + 1 == words->len ? " and " : ", ",
                               (char *) g_ptr_array_index(words, i));
    g_string_append_printf(line, " in the cipher string and ignores %s.",
                           words->len == 1 ? "it" : "them");
    g_ptr_array_add(out, g_string_free(line, FALSE));
}

/* service_params - what a service's target enforces */
static void service_params(const seg_settings *s, seg_service svc,
                           seg_tls_role *role, int *seclevel)
{
    seg_tls_mode tls = s->svc[svc].tls;

    *role = svc == SEG_SVC_OUTBOUND ? SEG_ROLE_CLIENT : SEG_ROLE_SERVER;
    *seclevel = svc == SEG_SVC_OUTBOUND
        && (tls == SEG_TLSMODE_PREFERRED_VERIFY
            || tls == SEG_TLSMODE_REQUIRED_VERIFY) ? 1 : 0;
}

/* read_default - a certificate file read by seg_file_read_bounded() */
static gboolean read_default(const char *path, char **pem, gsize *len,
                             gpointer data, GError **error)
{
    return seg_file_read_bounded(path, SEG_FILE_MAX_CERT, pem, len, NULL, error);
}

/* analyse - usable mask of one service; warning lines into out */
static unsigned analyse(const seg_settings *s, seg_service svc,
                        seg_cert_reader reader, gpointer data, GPtrArray *out)
{
    const seg_service_settings *ss = &s->svc[svc];
    const char *title = seg_service_title(svc);
    const char *cert = ss->certificate;
    g_autoptr(GError) error = NULL;
    g_autofree char *pem = NULL;
    unsigned enabled = ss->methods;
    unsigned usable = 0;
    seg_tls_role role;
    gsize   len = 0;
    int seclevel;

    if (out)
        unknown_words(title, ss->ciphers, out);
    service_params(s, svc, &role, &seclevel);
    if (role == SEG_ROLE_CLIENT || cert == NULL || *cert == 0)
        cert = NULL;
    if (cert != NULL && !(reader ? reader : read_default)(cert, &pem, &len, data,
                                                          &error)) {
        if (out)
            g_ptr_array_add(out, g_strdup_printf("Warning: %s: cannot load "
                                                 "certificate %s: %s", title,
                                                 cert, error->message));
        g_clear_error(&error);
        cert = NULL;
    }
    if (!seg_usable_versions_pem(ss->ciphers, enabled, role, pem, len, cert,
                                 seclevel, &usable, &error)) {
        if (out)
            g_ptr_array_add(out, g_strdup_printf("Warning: %s: %s", title,
                                                 error->message));
        if (error->code != SEG_ERROR_IO)
            return 0;
        g_clear_error(&error);
        if (!seg_usable_versions_pem(ss->ciphers, enabled, role, NULL, 0, NULL,
                                     seclevel, &usable, &error)) {
            if (out)
                g_ptr_array_add(out, g_strdup_printf("Warning: %s: %s", title,
                                                     error->message));
            return 0;
        }
    }
    if (out && usable != enabled) {
        unsigned lost = enabled & ~usable;
        gboolean one = seg_methods_lowest(lost) == lost;
        GString *line = g_string_new(NULL);

        g_string_append_printf(line, "Warning: %s: ", title);
        join_human(line, lost);
        g_string_append_printf(line, " %s enabled but no cipher in the cipher "
                               "string can be used with %s; ",
                               one ? "is" : "are", one ? "it" : "them");
        if (usable == 0) {
            g_string_append(line, "no TLS version can be negotiated.");
        } else {
            g_string_append(line, "only ");
            join_human(line, usable);
            g_string_append(line, " can be negotiated.");
        }
        g_ptr_array_add(out, g_string_free(line, FALSE));
    }
    return usable;
}

/* seg_settings_analyse - each service's warnings and usable versions */
void seg_settings_analyse(const seg_settings *s, seg_cert_reader reader,
                          gpointer data, seg_analysis *a)
{
    for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
        a->warnings[svc] = g_ptr_array_new_with_free_func(g_free);
        a->usable[svc] = analyse(s, (seg_service) svc, reader, data,
                                 a->warnings[svc]);
    }
}

/* seg_analysis_clear - free what seg_settings_analyse filled in */
void seg_analysis_clear(seg_analysis *a)
{
    for (int svc = 0; svc < SEG_SVC_COUNT; svc++)
        g_clear_pointer(&a->warnings[svc], g_ptr_array_unref);
}

/* seg_settings_warnings - usable-cipher warnings of all services */
GPtrArray *seg_settings_warnings(const seg_settings *s)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

    for (int svc = 0; svc < SEG_SVC_COUNT; svc++)
        analyse(s, (seg_service) svc, NULL, NULL, out);
    return out;
}

/* seg_service_usable - usable mask of one service */
unsigned seg_service_usable(const seg_settings *s, seg_service svc)
{
    g_return_val_if_fail(svc < SEG_SVC_COUNT, 0);
    return analyse(s, svc, NULL, NULL, NULL);
}
