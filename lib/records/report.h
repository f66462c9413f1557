/*
 * report - the gateway's TLS Connections report from mail_logs records.
 *
 * Feed record lines (seg_report_line, a seg_logread_fn) in the order they
 * were written; ask for the report at any time (a live file's report
 * counts the connections still open as they are). Connections are joined
 * to domains and messages by their IDs (ICID, DCID, MID, RID):
 *
 *   inbound   one connection per "New SMTP ICID"; its domain is the
 *             registrable domain (Public Suffix List) of the reverse DNS
 *             host when "verified yes", the host itself when it has
 *             none (e.g. localhost), else "unknown"; its messages are
 *             its "Start MID" records
 *   outbound  one connection per "New SMTP DCID" and recipient domain
 *             (the domains of the "To:" records of the RIDs that its
 *             "Delivery start" records name); its messages are those
 *             Delivery start records. A DCID without one takes the
 *             domains last delivered to at the same address and port,
 *             else "[address]:port"
 *   outcome   TLS success: a "TLS success" record; TLS failed: "TLS
 *             failed", "TLS deferring", "TLS was required but ...", or
 *             "STARTTLS command not supported." on a DCID that delivered
 *             nothing; required: the failures that kept mail from going
 *             without TLS (all of those but "TLS failed"); plain: the rest
 *
 * A connection counts when the time of its "New SMTP" record is in
 * [since, until). Rows are sorted by connections, then domain; --top
 * keeps the first N rows, the totals always count every connection
 * once (an outbound connection to two domains is in both rows).
 * Renderers: text table, JSON, CSV, and HTML with an SVG chart of the
 * TLS version share, failures and plain connections over time (no
 * script). Every renderer prints the same numbers.
 */
#ifndef SEGTLS_REPORT_H
#define SEGTLS_REPORT_H

#include <glib.h>

#define SEG_REPORT_INBOUND      1u
#define SEG_REPORT_OUTBOUND     2u
#define SEG_REPORT_BOTH         3u

typedef struct seg_report_opts {
    gint64      since;          /* first second counted (G_MININT64: any) */
    gint64      until;          /* first second not counted (G_MAXINT64: any) */
    guint       dirs;           /* SEG_REPORT_INBOUND | SEG_REPORT_OUTBOUND */
    const char *domain;         /* NULL: every domain */
    guint       top;            /* 0: every row */
} seg_report_opts;

typedef struct seg_report seg_report;

/* seg_report_new - an empty report with these options (copied) */
seg_report *seg_report_new(const seg_report_opts *opts);
/* seg_report_line - one record line (ctx is the report) */
void    seg_report_line(void *report, const char *line, size_t len);
/* seg_report_lines - lines read and lines that were records */
void    seg_report_counts(const seg_report *r, guint64 *lines, guint64 *records);

/* seg_report_text - the table */
char   *seg_report_text(seg_report *r);
/* seg_report_json - the same as a JSON object */
char   *seg_report_json(seg_report *r);
/* seg_report_csv - one line per direction and domain, totals as domain "*" */
char   *seg_report_csv(seg_report *r);
/* seg_report_html_body - the tables and charts as an HTML fragment (for a web UI) */
char   *seg_report_html_body(seg_report *r);
/* seg_report_html - a whole HTML page around seg_report_html_body */
char   *seg_report_html(seg_report *r);

void    seg_report_free(seg_report *r);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(seg_report, seg_report_free)

#endif
