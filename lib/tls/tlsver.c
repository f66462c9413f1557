/*
 * tlsver - TLS protocol versions and the method encodings.
 *
 * One table names each version in every spelling segtls meets; every
 * lookup scans it. The method helpers turn a version mask into the
 * settings value ("1.1-1.2"), the gateway listing token
 * ("tlsv1_1tlsv1_2"), the menu default ("2-3") and back, and enforce the
 * "at least one" and "only in sequence" rules.
 */
#include <string.h>
#include <openssl/ssl.h>

#include "error.h"
#include "quote.h"
#include "tlsver.h"

const seg_tlsver seg_tlsver_table[SEG_TLS_NVERS] = {
    {SEG_TLS_V10, "1.0", "tlsv1_0", 4, "TLS v1.0", "TLSv1", "TLSv1",
     "TLSv1", TLS1_VERSION, "-tls1"},
    {SEG_TLS_V11, "1.1", "tlsv1_1", 3, "TLS v1.1", "TLSv1.1", "TLSv1.1",
     "TLSv1.1", TLS1_1_VERSION, "-tls1_1"},
    {SEG_TLS_V12, "1.2", "tlsv1_2", 2, "TLS v1.2", "TLSv1.2", "TLSv1.2",
     "TLSv1.2", TLS1_2_VERSION, "-tls1_2"},
    {SEG_TLS_V13, "1.3", "tlsv1_3", 1, "TLS v1.3", "TLSv1.3", "TLSv1.3",
     "TLSv1.3", TLS1_3_VERSION, "-tls1_3"},
};

#define FOREACH_VER(v) \
    for (const seg_tlsver *v = seg_tlsver_table; \
         v < seg_tlsver_table + SEG_TLS_NVERS; v++)

/* seg_tlsver_by_bit - look up a version by its mask bit */
const seg_tlsver *seg_tlsver_by_bit(unsigned bit)
{
    FOREACH_VER(v)
        if (v->bit == bit)
            return v;
    return NULL;
}

/* seg_tlsver_by_value - look up a version by its settings value */
const seg_tlsver *seg_tlsver_by_value(const char *value)
{
    FOREACH_VER(v)
        if (value && strcmp(v->value, value) == 0)
            return v;
    return NULL;
}

/* seg_tlsver_by_menu - look up a version by its menu number */
const seg_tlsver *seg_tlsver_by_menu(int menu)
{
    FOREACH_VER(v)
        if (v->menu == menu)
            return v;
    return NULL;
}

/* seg_tlsver_by_ossl - look up a version by its OpenSSL constant */
const seg_tlsver *seg_tlsver_by_ossl(int ossl_version)
{
    FOREACH_VER(v)
        if (v->ossl_version == ossl_version)
            return v;
    return NULL;
}

/* seg_tlsver_by_openssl_name - look up a version by SSL_get_version() */
const seg_tlsver *seg_tlsver_by_openssl_name(const char *name)
{
    FOREACH_VER(v)
        if (name && strcmp(v->openssl, name) == 0)
            return v;
    return NULL;
}

/* seg_methods_lowest - lowest bit of a mask */
unsigned seg_methods_lowest(unsigned mask)
{
    mask &= SEG_TLS_ALL;
    return mask & -mask;
}

/* seg_methods_highest - highest bit of a mask */
unsigned seg_methods_highest(unsigned mask)
{
    unsigned high = 0;

    FOREACH_VER(v)
        if (mask & v->bit)
            high = v->bit;
    return high;
}

/* is_contiguous - one run of versions (or empty) */
static gboolean is_contiguous(unsigned mask)
{
    mask &= SEG_TLS_ALL;
    if (mask == 0)
        return TRUE;
    mask /= seg_methods_lowest(mask);
    return (mask & (mask + 1)) == 0;
}

/* join_and - "A", "A and B", "A, B and C" */
static void join_and(GString *out, const char *const *names, guint n)
{
    for (guint i = 0; i < n; i++) {
        if (i > 0)
            g_string_append(out, i + 1 == n ? " and " : ", ");
        g_string_append(out, names[i]);
    }
}

/* seg_methods_check - enforce "at least one" and "only in sequence" */
gboolean seg_methods_check(unsigned mask, GError **error)
{
    const seg_tlsver *below = NULL;
    const seg_tlsver *above = NULL;
    const char *missing[SEG_TLS_NVERS];
    guint nmissing = 0;
    const char *pair[2];

    mask &= SEG_TLS_ALL;
    if (mask == 0) {
        g_set_error_literal(error, SEG_ERROR, SEG_ERROR_INVALID,
                            "at least one TLS version must be enabled");
        return FALSE;
    }
    if (is_contiguous(mask))
        return TRUE;

    /* The first gap: enabled below it, missing ones, enabled above. */
    FOREACH_VER(v) {
        if (mask & v->bit) {
            if (nmissing > 0) {
                above = v;
                break;
            }
            below = v;
        } else if (below) {
            missing[nmissing++] = v->human;
        }
    }
    g_assert(below && above);
    pair[0] = below->human;
    pair[1] = above->human;

    g_autoptr(GString) msg = g_string_new(NULL);
    join_and(msg, pair, 2);
    g_string_append(msg, " cannot be enabled without ");
    join_and(msg, missing, nmissing);
    g_set_error_literal(error, SEG_ERROR, SEG_ERROR_INVALID, msg->str);
    return FALSE;
}

/* seg_methods_token - gateway listing token, oldest first */
char *seg_methods_token(unsigned mask)
{
    GString *out = g_string_new(NULL);

    FOREACH_VER(v)
        if (mask & v->bit)
            g_string_append(out, v->token);
    return g_string_free(out, FALSE);
}

/* seg_methods_value - settings value: "1.1-1.2", "1.3", or "1.0,1.2" */
char *seg_methods_value(unsigned mask)
{
    const seg_tlsver *lo = seg_tlsver_by_bit(seg_methods_lowest(mask));
    const seg_tlsver *hi = seg_tlsver_by_bit(seg_methods_highest(mask));

    if (lo == NULL)
        return g_strdup("");
    if (lo == hi)
        return g_strdup(lo->value);
    if (is_contiguous(mask))
        return g_strdup_printf("%s-%s", lo->value, hi->value);

    GString *out = g_string_new(NULL);
    FOREACH_VER(v)
        if (mask & v->bit)
            g_string_append_printf(out, "%s%s", out->len ? "," : "", v->value);
    return g_string_free(out, FALSE);
}

/* seg_methods_menu_default - menu numbers as a range, low number first */
char *seg_methods_menu_default(unsigned mask)
{
    const seg_tlsver *lo = seg_tlsver_by_bit(seg_methods_lowest(mask));
    const seg_tlsver *hi = seg_tlsver_by_bit(seg_methods_highest(mask));

    if (lo == NULL)
        return g_strdup("");
    if (lo == hi)
        return g_strdup_printf("%d", lo->menu);
    if (is_contiguous(mask))
        return g_strdup_printf("%d-%d", hi->menu, lo->menu);

    GString *out = g_string_new(NULL);
    for (int menu = 1; menu <= SEG_TLS_NVERS; menu++)
        if (mask & seg_tlsver_by_menu(menu)->bit)
            g_string_append_printf(out, "%s%d", out->len ? "," : "", menu);
    return g_string_free(out, FALSE);
}

/* seg_methods_human - "TLS v1.1, TLS v1.2" */
char *seg_methods_human(unsigned mask)
{
    GString *out = g_string_new(NULL);

    FOREACH_VER(v)
        if (mask & v->bit)
            g_string_append_printf(out, "%s%s", out->len ? ", " : "", v->human);
    return g_string_free(out, FALSE);
}

/* range_bits - the versions from a to b, in either order */
static unsigned range_bits(const seg_tlsver *a, const seg_tlsver *b)
{
    unsigned lo = MIN(a->bit, b->bit);
    unsigned hi = MAX(a->bit, b->bit);

    return (hi | (hi - 1)) & ~(lo - 1);
}

/* parse_menu_number - one trimmed menu number */
static const seg_tlsver *parse_menu_number(char *text, GError **error)
{
    guint64 n;

    g_strstrip(text);
    if (*text == 0) {
        g_set_error_literal(error, SEG_ERROR, SEG_ERROR_INVALID,
                            "empty menu choice");
        return NULL;
    }
    if (text[strspn(text, "0123456789")] != 0) {
        g_autofree char *q = seg_quote_value(text);

        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "%s is not a menu number", q);
        return NULL;
    }
    n = g_ascii_strtoull(text, NULL, 10);
    if (strlen(text) > 9 || seg_tlsver_by_menu((int) n) == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "menu number %s is out of range 1-%d", text, SEG_TLS_NVERS);
        return NULL;
    }
    return seg_tlsver_by_menu((int) n);
}

/* seg_methods_parse_menu - parse gateway menu input */
gboolean seg_methods_parse_menu(const char *input, unsigned *mask,
                                GError **error)
{
    g_auto(GStrv) items = g_strsplit(input ? input : "", ",", -1);
    unsigned result = 0;

    if (items[0] == NULL) {             /* "" splits into no items */
        g_set_error_literal(error, SEG_ERROR, SEG_ERROR_INVALID,
                            "empty menu choice");
        return FALSE;
    }
    for (char **item = items; *item; item++) {
        char *dash = strchr(*item, '-');
        const seg_tlsver *a, *b;

        if (dash)
            *dash = 0;
        if ((a = parse_menu_number(*item, error)) == NULL)
            return FALSE;
        b = a;
        if (dash && (b = parse_menu_number(dash + 1, error)) == NULL)
            return FALSE;
        result |= range_bits(a, b);
    }
    if (!seg_methods_check(result, error))
        return FALSE;
    *mask = result;
    return TRUE;
}

/* not_a_version - the error for an unknown version text */
static gboolean not_a_version(const char *text, GError **error)
{
    g_autofree char *q = seg_quote_value(text);

    g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                "%s is not a TLS version (1.0, 1.1, 1.2, 1.3)", q);
    return FALSE;
}

/* parse_tokens - concatenated listing tokens, any order */
static gboolean parse_tokens(const char *text, unsigned *mask, GError **error)
{
    const char *p = text;

    while (*p) {
        const seg_tlsver *found = NULL;

        FOREACH_VER(v)
            if (g_ascii_strncasecmp(p, v->token, strlen(v->token)) == 0)
                found = v;
        if (found == NULL)
            return not_a_version(p, error);
        *mask |= found->bit;
        p += strlen(found->token);
    }
    return TRUE;
}

/* parse_version - one trimmed settings version */
static const seg_tlsver *parse_version(char *text, GError **error)
{
    const seg_tlsver *v;

    g_strstrip(text);
    if ((v = seg_tlsver_by_value(text)) == NULL)
        not_a_version(text, error);
    return v;
}

/* seg_methods_parse_value - parse a settings value or a listing token */
gboolean seg_methods_parse_value(const char *input, unsigned *mask,
                                 GError **error)
{
    g_autofree char *copy = g_strstrip(g_strdup(input ? input : ""));
    unsigned result = 0;

    if (g_ascii_strncasecmp(copy, "tlsv", 4) == 0) {
        if (!parse_tokens(copy, &result, error))
            return FALSE;
    } else if (*copy) {
        g_auto(GStrv) items = g_strsplit(copy, ",", -1);

        for (char **item = items; *item; item++) {
            char *dash = strchr(*item, '-');
            const seg_tlsver *a, *b;

            if (dash)
                *dash = 0;
            if ((a = parse_version(*item, error)) == NULL)
                return FALSE;
            b = a;
            if (dash && (b = parse_version(dash + 1, error)) == NULL)
                return FALSE;
            result |= range_bits(a, b);
        }
    }
    if (!seg_methods_check(result, error))
        return FALSE;
    *mask = result;
    return TRUE;
}
