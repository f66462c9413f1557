/*
 * report_query - a TLS Connections report's query, checked (see
 * report_query.h).
 *
 * One table per field; the parser looks each value up or checks it and
 * refuses the first bad field with its name and its value quoted.
 */
#include <string.h>

#include "error.h"
#include "quote.h"
#include "report.h"
#include "report_query.h"

#define DEFAULT_RANGE   1               /* day */
#define DEFAULT_TOP     20

const seg_report_range seg_report_ranges[] = {
    {"hour", "Hour", 3600},
    {"day", "Day", 86400},
    {"week", "Week", 7 * 86400},
    {"month", "Month", 30 * 86400},
    {"all", "All records", 0},
};
const guint seg_report_nranges = G_N_ELEMENTS(seg_report_ranges);

const seg_report_direction seg_report_directions[] = {
    {"both", "Inbound and outbound", SEG_REPORT_BOTH},
    {"inbound", "Inbound", SEG_REPORT_INBOUND},
    {"outbound", "Outbound", SEG_REPORT_OUTBOUND},
};
const guint seg_report_ndirections = G_N_ELEMENTS(seg_report_directions);

/* seg_report_direction_find - a direction by its name, or NULL */
const seg_report_direction *seg_report_direction_find(const char *name)
{
    for (guint i = 0; i < seg_report_ndirections; i++)
        if (strcmp(seg_report_directions[i].name, name) == 0)
            return &seg_report_directions[i];
    return NULL;
}

/* range_find - a range by its name, or NULL */
static const seg_report_range *range_find(const char *name)
{
    for (guint i = 0; i < seg_report_nranges; i++)
        if (strcmp(seg_report_ranges[i].name, name) == 0)
            return &seg_report_ranges[i];
    return NULL;
}

/* seg_report_domain_check - 1-253 bytes of UTF-8, no space or control character */
gboolean seg_report_domain_check(const char *domain)
{
    const unsigned char *p;

    if (domain == NULL || *domain == 0 || strlen(domain) > SEG_REPORT_DOMAIN_MAX
        || !g_utf8_validate(domain, -1, NULL))
        return FALSE;
    for (p = (const unsigned char *) domain; *p; p++)
        if (*p <= ' ' || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
            return FALSE;               /* C0, space, DEL, C1 (UTF-8 C2 80..9F) */
    return TRUE;
}

/* top_parse - "0".."1000" */
static gboolean top_parse(const char *v, guint *top)
{
    char   *end;
    guint64 n;

    if (*v < '0' || *v > '9')
        return FALSE;
    n = g_ascii_strtoull(v, &end, 10);
    if (*end != 0 || n > SEG_REPORT_TOP_MAX)
        return FALSE;
    *top = (guint) n;
    return TRUE;
}

/* set_range, set_direction, set_top, set_domain - one field into q; FALSE: bad value */
static gboolean set_range(const char *v, seg_report_query *q)
{
    return (q->range = range_find(v)) != NULL;
}

static gboolean set_direction(const char *v, seg_report_query *q)
{
    return (q->direction = seg_report_direction_find(v)) != NULL;
}

static gboolean set_top(const char *v, seg_report_query *q)
{
    return top_parse(v, &q->top);
}

static gboolean set_domain(const char *v, seg_report_query *q)
{
    if (*v == 0)
        return TRUE;                    /* the form's empty field: every domain */
    if (!seg_report_domain_check(v))
        return FALSE;
    g_free(q->domain);
    q->domain = g_strdup(v);
    return TRUE;
}

/* The fields: how each is set, and what it accepts as the refusal says it. */
static const struct field {
    const char *name;
    gboolean  (*set)(const char *v, seg_report_query *q);
    const char *accepts;
} fields[] = {
    {"direction", set_direction, "both, inbound or outbound"},
    {"domain", set_domain, "not a domain"},
    {"range", set_range, "hour, day, week, month or all"},
    {"top", set_top, "0 to 1000 rows (0: all)"},
};

/* seg_report_query_parse - a query string into q, checked */
gboolean seg_report_query_parse(const char *text, seg_report_query *q, GError **error)
{
    g_autoptr(GHashTable) f = NULL;
    g_autoptr(GList) keys = NULL;

    q->range = &seg_report_ranges[DEFAULT_RANGE];
    q->direction = &seg_report_directions[0];
    q->domain = NULL;
    q->top = DEFAULT_TOP;
    if (text == NULL || *text == 0)
        return TRUE;
    if ((f = g_uri_parse_params(text, -1, "&", G_URI_PARAMS_WWW_FORM, NULL)) == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "the query is not a form");
        return FALSE;
    }
    /* in name order, so that the same query is always refused the same way */
    keys = g_list_sort(g_hash_table_get_keys(f), (GCompareFunc) strcmp);
    for (GList *l = keys; l; l = l->next) {
        const char *k = l->data, *v = g_hash_table_lookup(f, k);
        guint   i;

        for (i = 0; i < G_N_ELEMENTS(fields) && strcmp(fields[i].name, k) != 0; i++)
            ;
        if (i == G_N_ELEMENTS(fields)) {
            g_autofree char *qk = seg_quote_value(k);

            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "unknown field %s: range, direction, domain or top", qk);
        } else if (!fields[i].set(v, q)) {
            g_autofree char *qv = seg_quote_value(v);

            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s %s: %s", k, qv,
                        fields[i].accepts);
        } else {
            continue;
        }
        seg_report_query_clear(q);
        return FALSE;
    }
    return TRUE;
}

/* seg_report_query_clear - a parsed query's strings */
void seg_report_query_clear(seg_report_query *q)
{
    g_clear_pointer(&q->domain, g_free);
}
