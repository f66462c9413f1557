/*
 * webreport - Monitor > TLS Connections: the gateway's TLS Connections
 * report in the web UI, and its REST twin.
 *
 *   GET /report                           the page
 *   GET /api/v1/reports/tls-connections   the same report as JSON
 *
 * Both take the query fields range (hour, day, week, month: the
 * gateway's Time Range, ending now; or all), direction (both, inbound,
 * outbound), domain and top (rows per direction, 0 for all), and read
 * the records of --mail-log with the one report of lib/records/report.h:
 * the page shows its HTML fragment (tables and server-rendered SVG
 * charts, no script), the API its JSON, so both say what `segtls report`
 * says. A bad field gets 400 and one line naming it. The file is read
 * and the report made in a worker thread: a month of a busy host takes
 * seconds, and the daemon's main loop serves on meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "error.h"
#include "logread.h"
#include "report.h"
#include "report_query.h"
#include "web.h"

/* One report made off the main loop. */
typedef struct report_call {
    web_req    *r;
    seg_report_query q;
    gboolean    json;
    char       *path;
    char       *out;            /* the rendering, or NULL */
    char       *error;          /* why there is none */
} report_call;

/* report_thread - read the records, make the report, render it */
static void report_thread(GTask *task, gpointer src, gpointer data, GCancellable *cancel)
{
    report_call *c = data;
    seg_report_opts o = {
        .since = G_MININT64,
        .until = G_MAXINT64,
        .dirs = c->q.direction->dirs,
        .domain = c->q.domain,
        .top = c->q.top,
    };
    g_autoptr(seg_report) rep = NULL;
    int     fd;

    if (c->q.range->seconds > 0)
        o.since = g_get_real_time() / G_USEC_PER_SEC - c->q.range->seconds;
    if ((fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
        c->error = g_strdup_printf("cannot read the records %s: %s", c->path,
                                   g_strerror(errno));
        g_task_return_boolean(task, TRUE);
        return;
    }
    rep = seg_report_new(&o);
    if (!seg_logread_fd(c->path, fd, seg_report_line, rep))
        c->error = g_strdup_printf("cannot read the records %s to their end", c->path);
    else
        c->out = c->json ? seg_report_json(rep) : seg_report_html_body(rep);
    g_task_return_boolean(task, TRUE);
}

/* option - one <option>, selected when it is the current one */
static void option(GString *b, const char *value, const char *label, gboolean sel)
{
    g_string_append_printf(b, "<option value=\"%s\"%s>%s</option>", value,
                           sel ? " selected" : "", label);
}

/* query_form - the report's fields, as the gateway's Time Range line */
static void query_form(GString *b, const seg_report_query *q)
{
    g_autofree char *domain = g_markup_escape_text(q->domain ? q->domain : "", -1);

    g_string_append(b, "<form method=\"get\" action=\"/report\" class=\"report-query\">"
                    "<label>Time Range: <select name=\"range\" id=\"range\">");
    for (guint i = 0; i < seg_report_nranges; i++)
        option(b, seg_report_ranges[i].name, seg_report_ranges[i].label,
               &seg_report_ranges[i] == q->range);
    g_string_append(b, "</select></label> <label>Direction: <select name=\"direction\" "
                    "id=\"direction\">");
    for (guint i = 0; i < seg_report_ndirections; i++)
        option(b, seg_report_directions[i].name, seg_report_directions[i].label,
               &seg_report_directions[i] == q->direction);
    g_string_append_printf(b, "</select></label> <label>Domain: <input name=\"domain\" "
                           "id=\"domain\" value=\"%s\" placeholder=\"every domain\">"
                           "</label> <label>Rows: <input name=\"top\" id=\"top\" "
                           "value=\"%u\" size=\"4\"></label> <button type=\"submit\" "
                           "id=\"report-apply\">Show</button></form>\n", domain, q->top);
}

/* report_done - back in the main loop: the page or the JSON */
static void report_done(GObject *src, GAsyncResult *res, gpointer data)
{
    report_call *c = data;
    web_req *r = c->r;

    if (r->gone) {
        /* the client went away: nothing to send */
    } else if (c->json) {
        if (c->out != NULL)
            web_send(r, 200, "application/json", g_steal_pointer(&c->out));
        else
            web_send_error(r, 503, c->error);
    } else {
        GString *b = g_string_new(NULL);

        query_form(b, &c->q);
        if (c->out != NULL)
            g_string_append(b, c->out);
        else {
            g_autofree char *e = g_markup_escape_text(c->error, -1);

            g_string_append_printf(b, "<h1>TLS Connections</h1>\n<p class=\"error\" "
                                   "id=\"error\">%s</p>\n", e);
        }
        web_page_frame(r, c->out ? 200 : 503, "Monitor &#8250; TLS Connections",
                       "TLS Connections", b);
    }
    g_object_unref(r->msg);
    seg_report_query_clear(&c->q);
    g_free(c->path);
    g_free(c->out);
    g_free(c->error);
    g_free(c);
}

/* report - check the query, then make the report in a worker thread */
static void report(web_req *r, gboolean json)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GTask) task = NULL;
    report_call *c = g_new0(report_call, 1);

    if (!seg_report_query_parse(g_uri_get_query(soup_server_message_get_uri(r->msg)),
                                &c->q, &err)) {
        g_free(c);
        if (json)
            web_send_error(r, 400, err->message);
        else
            web_page_error(r, 400, err->message);
        return;
    }
    c->r = r;
    c->json = json;
    c->path = g_strdup(web_opts()->mail_log);
    g_object_ref(r->msg);
    web_pause(r);
    task = g_task_new(NULL, NULL, report_done, c);
    g_task_set_task_data(task, c, NULL);
    g_task_run_in_thread(task, report_thread);
}

/* web_page_report - GET /report: Monitor > TLS Connections */
void web_page_report(web_req *r)
{
    report(r, FALSE);
}

/* web_api_report - GET /api/v1/reports/tls-connections */
void web_api_report(web_req *r)
{
    report(r, TRUE);
}
