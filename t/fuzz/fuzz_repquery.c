/*
 * fuzz_repquery - libFuzzer target: the query string of the web UI's
 * TLS Connections report and its REST twin (lib/records/report_query.c),
 * which any logged-in browser or API client sends.
 *
 * The input is the query text up to its first NUL. Whatever comes in: an
 * accepted query holds a range and a direction of the tables, at most
 * 1000 rows and a domain that passes the domain check; a refusal is one
 * line of printable ASCII (the value quoted, never raw) and leaves
 * nothing allocated; the same text always gets the same answer.
 */
#include <string.h>

#include "report_query.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

/* check - one parse; its verdict and, refused, its message */
static gboolean check(const char *text, char **msg)
{
    seg_report_query q;
    GError *err = NULL;
    const unsigned char *p;

    if (seg_report_query_parse(text, &q, &err)) {
        if (err != NULL || q.range < seg_report_ranges
            || q.range >= seg_report_ranges + seg_report_nranges
            || q.direction < seg_report_directions
            || q.direction >= seg_report_directions + seg_report_ndirections
            || q.top > SEG_REPORT_TOP_MAX
            || (q.domain != NULL && !seg_report_domain_check(q.domain)))
            __builtin_trap();
        seg_report_query_clear(&q);
        *msg = NULL;
        return TRUE;
    }
    if (err == NULL || q.domain != NULL || *err->message == 0)
        __builtin_trap();
    for (p = (const unsigned char *) err->message; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            __builtin_trap();
    *msg = g_strdup(err->message);
    g_error_free(err);
    return FALSE;
}

/* LLVMFuzzerTestOneInput - one query string */
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    g_autofree char *text = g_strndup((const char *) data, size);
    g_autofree char *m1 = NULL, *m2 = NULL;

    if (check(text, &m1) != check(text, &m2) || g_strcmp0(m1, m2) != 0)
        __builtin_trap();
    return 0;
}
