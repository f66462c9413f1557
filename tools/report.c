/*
 * segtls-report - the gateway's TLS Connections report from mail_logs.
 *
 * Reads record files (plain, rotated, gzip; stdin with -) or follows the
 * live one (--follow), and prints the report (lib/records/report.h) for
 * a time range, a direction and a domain: a table, --json, --csv or
 * --html. `segtls report ...` runs this program. Errors: one line on
 * stderr; exit 0 ok, 1 a file could not be read, 2 usage.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logread.h"
#include "msg.h"
#include "quote.h"
#include "record.h"
#include "report.h"
#include "report_query.h"

#define FOLLOW_CHECK_MS 500

typedef char *(*render_fn)(seg_report *r);

static volatile sig_atomic_t stop;

typedef struct follow_ctx {
    seg_report *r;
    render_fn   render;
    guint       every;          /* checks per report */
    guint       n;
} follow_ctx;

/* fail - one line on stderr, exit 2 */
G_GNUC_PRINTF(1, 2) G_NORETURN
static void usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("segtls report: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (try segtls report --help)\n", stderr);
    exit(2);
}

/*
 * parse_time - "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" or with a T, local
 * time unless it ends in Z or an offset; a date alone is its midnight,
 * or the next midnight for --until (the whole day counts)
 */
static gint64 parse_time(const char *opt, const char *text, gboolean end_of_day)
{
    g_autoptr(GTimeZone) local = g_time_zone_new_local();
    g_autoptr(GDateTime) dt = NULL;
    g_autofree char *iso = NULL;
    gboolean date_only = strlen(text) == 10;

    if (date_only)
        iso = g_strdup_printf("%sT00:00:00", text);
    else if (strlen(text) == 16 || strlen(text) == 19)
        iso = g_strdup_printf("%.10sT%s%s", text, text + 11, strlen(text) == 16 ? ":00" : "");
    else
        iso = g_strdup(text);
    if (strlen(text) >= 11 && text[10] != ' ' && text[10] != 'T')
        iso[10] = '!';
    dt = g_date_time_new_from_iso8601(iso, local);
    if (dt == NULL) {
        g_autofree char *q = seg_quote_value(text);

        usage_error("%s %s: not a time (YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS])", opt, q);
    }
    if (date_only && end_of_day) {
        GDateTime *next = g_date_time_add_days(dt, 1);

        g_date_time_unref(dt);
        dt = next;
    }
    return g_date_time_to_unix(dt);
}

/* on_signal - --follow: print once more and stop */
static void on_signal(int sig)
{
    stop = 1;
}

/* print - one rendering on stdout */
static void print(seg_report *r, render_fn render)
{
    g_autofree char *text = render(r);

    fputs(text, stdout);
    fflush(stdout);
}

/* follow_line - one line of the followed file */
static void follow_line(void *ctx, const char *line, size_t len)
{
    seg_report_line(((follow_ctx *) ctx)->r, line, len);
}

/* follow_tick - every --interval: the report so far; stop on a signal */
static gboolean follow_tick(void *ctx)
{
    follow_ctx *f = ctx;

    if (stop)
        return FALSE;
    if (++f->n >= f->every) {
        f->n = 0;
        print(f->r, f->render);
        if (f->render != seg_report_json && f->render != seg_report_csv)
            fputs("\f\n", stdout);
    }
    return TRUE;
}

int main(int argc, char **argv)
{
    g_autofree char *since = NULL, *until = NULL, *direction = NULL, *domain = NULL;
    gboolean json = FALSE, csv = FALSE, html = FALSE, follow = FALSE;
    gint    top = 0, interval = 10;
    g_auto(GStrv) files = NULL;
    GOptionEntry entries[] = {
        {"since", 0, 0, G_OPTION_ARG_STRING, &since,
         "Connections from TIME on (YYYY-MM-DD[ HH:MM[:SS]], local time)", "TIME"},
        {"until", 0, 0, G_OPTION_ARG_STRING, &until,
         "Connections before TIME (a date alone: up to the end of that day)", "TIME"},
        {"direction", 0, 0, G_OPTION_ARG_STRING, &direction,
         "inbound, outbound or both (the default)", "DIR"},
        {"domain", 0, 0, G_OPTION_ARG_STRING, &domain, "Only this remote domain", "DOMAIN"},
        {"top", 0, 0, G_OPTION_ARG_INT, &top, "Only the N domains with most connections", "N"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "JSON instead of the table", NULL},
        {"csv", 0, 0, G_OPTION_ARG_NONE, &csv, "CSV instead of the table", NULL},
        {"html", 0, 0, G_OPTION_ARG_NONE, &html, "An HTML page with charts (SVG)", NULL},
        {"follow", 'f', 0, G_OPTION_ARG_NONE, &follow,
         "Follow the live FILE (across logrotate); print every --interval and at SIGINT/SIGTERM",
         NULL},
        {"interval", 0, 0, G_OPTION_ARG_INT, &interval,
         "Seconds between reports with --follow (default 10)", "SECONDS"},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "[FILE...]"},
        G_OPTION_ENTRY_NULL
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("- the TLS Connections report");
    g_autoptr(GError) err = NULL;
    g_autoptr(seg_report) r = NULL;
    seg_report_opts o = {.since = G_MININT64, .until = G_MAXINT64, .dirs = SEG_REPORT_BOTH};
    render_fn render = seg_report_text;
    gboolean ok = TRUE;

    msg_init("segtls report");
    g_set_prgname("segtls report");
    g_option_context_add_main_entries(oc, entries, NULL);
    g_option_context_set_description(oc,
        "FILE: mail_logs records, plain or gzip (default " SEG_RECORD_MAIL_LOGS "; - is stdin).\n"
        "How each count is made: segtls-report(1).");
    if (!g_option_context_parse(oc, &argc, &argv, &err))
        usage_error("%s", err->message);
    if (json + csv + html > 1)
        usage_error("--json, --csv and --html: choose one");
    render = json ? seg_report_json : csv ? seg_report_csv : html ? seg_report_html : seg_report_text;
    if (since)
        o.since = parse_time("--since", since, FALSE);
    if (until)
        o.until = parse_time("--until", until, TRUE);
    if (o.since != G_MININT64 && o.until != G_MAXINT64 && o.since >= o.until)
        usage_error("--since must be before --until");
    if (direction) {
        const seg_report_direction *d = seg_report_direction_find(direction);
        g_autofree char *q = seg_quote_value(direction);

        if (d == NULL)
            usage_error("--direction %s: inbound, outbound or both", q);
        o.dirs = d->dirs;
    }
    if (domain && !seg_report_domain_check(domain)) {
        g_autofree char *q = seg_quote_value(domain);

        usage_error("--domain %s: not a domain", q);
    }
    o.domain = domain;
    if (top < 0)
        usage_error("--top %d: must be 0 or more", top);
    o.top = (guint) top;
    if (interval < 1 || interval > 86400)
        usage_error("--interval %d: 1 to 86400 seconds", interval);
    if (follow && files && (g_strv_length(files) != 1 || strcmp(files[0], "-") == 0))
        usage_error("--follow reads one file");
    r = seg_report_new(&o);
    if (follow) {
        follow_ctx f = {.r = r, .render = render, .every = (guint) interval * 1000 / FOLLOW_CHECK_MS};

        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        if (!seg_logread_follow(files ? files[0] : SEG_RECORD_MAIL_LOGS, FOLLOW_CHECK_MS,
                                follow_line, follow_tick, &f))
            return 1;
    } else if (files == NULL || files[0] == NULL) {
        ok = seg_logread_path(SEG_RECORD_MAIL_LOGS, seg_report_line, r);
    } else {
        for (char **f = files; *f; f++)
            ok &= seg_logread_path(*f, seg_report_line, r);
    }
    if (!ok)
        return 1;                       /* no report from part of the records */
    print(r, render);
    return 0;
}
