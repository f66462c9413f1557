/*
 * report_query - what a TLS Connections report is asked for, checked:
 * the web UI's and the REST API's query string (range, direction,
 * domain, top) and the words `segtls report` takes for the same.
 *
 * A query string is hostile text: it is decoded by GLib's URI parser
 * (form encoding), every field must be known, and every value is checked
 * before it reaches the report. A refusal is one line that names the
 * field and shows the value quoted (seg_quote_value: a newline in a
 * value shows as \n).
 */
#ifndef SEGTLS_REPORT_QUERY_H
#define SEGTLS_REPORT_QUERY_H

#include <glib.h>

#define SEG_REPORT_TOP_MAX      1000    /* rows a query may ask for */
#define SEG_REPORT_DOMAIN_MAX   253

/* A time range, as the gateway offers them: ending now. */
typedef struct seg_report_range {
    const char *name;           /* hour, day, week, month, all */
    const char *label;          /* as the page shows it */
    gint64      seconds;        /* 0: every record */
} seg_report_range;

/* A direction: both, inbound, outbound. */
typedef struct seg_report_direction {
    const char *name;
    const char *label;
    guint       dirs;           /* SEG_REPORT_INBOUND | SEG_REPORT_OUTBOUND */
} seg_report_direction;

extern const seg_report_range seg_report_ranges[];
extern const guint seg_report_nranges;
extern const seg_report_direction seg_report_directions[];
extern const guint seg_report_ndirections;

/* What was asked, checked. */
typedef struct seg_report_query {
    const seg_report_range *range;
    const seg_report_direction *direction;
    char       *domain;         /* NULL: every domain */
    guint       top;            /* 0: every row */
} seg_report_query;

/*
 * seg_report_query_parse - a query string ("range=week&top=5"; NULL or
 * empty: the defaults, day, both, every domain, 20 rows) into q. FALSE
 * with one line naming the first bad field (in name order); q then holds
 * nothing to free.
 */
gboolean seg_report_query_parse(const char *text, seg_report_query *q, GError **error);
/* seg_report_query_clear - a parsed query's strings */
void    seg_report_query_clear(seg_report_query *q);

/* seg_report_direction_find - a direction by its name, or NULL */
const seg_report_direction *seg_report_direction_find(const char *name);

/*
 * seg_report_domain_check - a remote domain as a report filter: 1 to 253
 * bytes of UTF-8 without spaces or control characters (an IDN may come
 * in either form; the report compares it as written)
 */
gboolean seg_report_domain_check(const char *domain);

#endif
