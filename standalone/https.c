/*
 * https - GUI HTTPS of segtls-standalone.
 *
 * TLS from the first byte under the gui.* settings, then one HTTP/1.x
 * request per connection (headers at most SA_REQ_MAX bytes):
 *
 *   GET /             a small HTML status page: the settings, what each
 *                     service can negotiate (computed in a worker thread
 *                     after each settings load), the last records
 *   GET /status.json  the same as JSON
 *   anything else     404 (405 for methods other than GET and HEAD)
 *
 * With --gui-proxy every request goes to segtls-policyd's web UI instead
 * (gui_proxy.c).
 *
 * Records (gui_logs): "GUI HTTPS TLS success protocol P cipher C address
 * IP port PORT", and "Warning: SSL error with client IP:PORT - (code,
 * 'string')" for a failed handshake; each answer the gateway's request
 * line (log.c, lib/records/guirec.h). A connection refused or cut for any
 * other reason gets exactly one record in the gateway's connection-error
 * shape (SPEC 9.1), "Error in https connection from host IP port PORT -
 * REASON": too many connections (--max-conns), a handshake, request or
 * response that timed out.
 */
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "msg.h"
#include "standalone.h"
#include "tlsver.h"
#include "usable.h"
#include "warnings.h"

#define SA_HTTP_TIMEOUT 30

/* conn_error - the gateway's connection-error record */
static void conn_error(const char *ip, guint port, const char *reason)
{
    sa_gui_record(FALSE, "Error in https connection from host %s port %u - %s",
                  ip, port, reason);
}

typedef struct request {
    sa_conn    *c;
    gboolean    head;
    const char *path;           /* of the request being answered, or NULL */
} request;

/*
 * What each service can negotiate is found by in-memory handshakes
 * (usable.c), which take a noticeable time: they run in a worker thread
 * after every settings load, one computation at a time, and the page
 * shows "unknown" until the answer is there.
 */
static unsigned usable[SEG_SVC_COUNT];
static gboolean usable_known;
static gboolean usable_running;
static gboolean usable_again;

/* usable_thread - the handshakes, off the main loop */
static void usable_thread(GTask *task, gpointer src, gpointer data, GCancellable *cancel)
{
    seg_settings *s = data;
    unsigned *out = g_new0(unsigned, SEG_SVC_COUNT);

    for (int i = 0; i < SEG_SVC_COUNT; i++)
        out[i] = seg_service_usable(s, (seg_service) i);
    g_task_return_pointer(task, out, g_free);
}

/* usable_done - back in the main loop */
static void usable_done(GObject *src, GAsyncResult *res, gpointer data)
{
    g_autofree unsigned *out = g_task_propagate_pointer(G_TASK(res), NULL);

    usable_running = FALSE;
    if (usable_again) {
        sa_https_settings_changed();
        return;
    }
    memcpy(usable, out, sizeof(usable));
    usable_known = TRUE;
}

/* sa_https_settings_changed - recompute the usable versions */
void sa_https_settings_changed(void)
{
    g_autoptr(GTask) task = NULL;
    seg_settings *s;

    usable_known = FALSE;
    if (usable_running) {
        usable_again = TRUE;
        return;
    }
    usable_again = FALSE;
    usable_running = TRUE;
    s = seg_settings_copy(sa.settings);
    for (int i = 0; i < SEG_SVC_COUNT; i++)
        if (sa.opt.cert && i != SEG_SVC_OUTBOUND) {
            g_free(s->svc[i].certificate);
            s->svc[i].certificate = g_strdup(sa.opt.cert);
        }
    task = g_task_new(NULL, NULL, usable_done, NULL);
    g_task_set_task_data(task, s, (GDestroyNotify) seg_settings_free);
    g_task_run_in_thread(task, usable_thread);
}

/* usable_text - "1.2-1.3", "" (none) or "unknown" (not computed yet) */
static char *usable_text(seg_service svc, gboolean human)
{
    if (!usable_known)
        return g_strdup("unknown");
    if (usable[svc] == 0)
        return g_strdup(human ? "none" : "");
    return human ? seg_methods_human(usable[svc]) : seg_methods_value(usable[svc]);
}

/* status_json - the status document */
static char *status_json(void)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    GPtrArray *recent = sa_log_recent();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "version");
    json_builder_add_string_value(b, SEGTLS_VERSION);
    json_builder_set_member_name(b, "settings");
    json_builder_begin_object(b);
    for (const char *const *k = seg_settings_keys(); *k; k++) {
        g_autofree char *v = seg_settings_get(sa.settings, *k);

        json_builder_set_member_name(b, *k);
        json_builder_add_string_value(b, v);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "services");
    json_builder_begin_object(b);
    for (int i = 0; i < SEG_SVC_COUNT; i++) {
        g_autofree char *en = seg_methods_value(sa.settings->svc[i].methods);
        g_autofree char *us = usable_text((seg_service) i, FALSE);

        json_builder_set_member_name(b, seg_service_key((seg_service) i));
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "title");
        json_builder_add_string_value(b, seg_service_title((seg_service) i));
        json_builder_set_member_name(b, "methods");
        json_builder_add_string_value(b, en);
        json_builder_set_member_name(b, "usable");
        json_builder_add_string_value(b, us);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "queue");
    json_builder_add_int_value(b, sa_spool_count());
    json_builder_set_member_name(b, "records");
    json_builder_begin_array(b);
    for (guint i = 0; i < recent->len; i++)
        json_builder_add_string_value(b, recent->pdata[i]);
    json_builder_end_array(b);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    return json_generator_to_data(gen, NULL);
}

/* html_row - one escaped table row */
static void html_row(GString *out, const char *key, const char *value)
{
    g_autofree char *k = g_markup_escape_text(key, -1);
    g_autofree char *v = g_markup_escape_text(value, -1);

    g_string_append_printf(out, "<tr><th>%s</th><td>%s</td></tr>\n", k, v);
}

/* status_html - the status page */
static char *status_html(void)
{
    GString *out = g_string_new(NULL);
    GPtrArray *recent = sa_log_recent();

    g_string_append(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                    "<title>segtls standalone</title></head><body>\n"
                    "<h1>segtls standalone " SEGTLS_VERSION "</h1>\n"
                    "<h2>Settings</h2>\n<table>\n");
    for (const char *const *k = seg_settings_keys(); *k; k++) {
        g_autofree char *v = seg_settings_get(sa.settings, *k);

        html_row(out, *k, v);
    }
    g_string_append(out, "</table>\n<h2>Usable versions</h2>\n<table>\n");
    for (int i = 0; i < SEG_SVC_COUNT; i++) {
        g_autofree char *h = usable_text((seg_service) i, TRUE);

        html_row(out, seg_service_title((seg_service) i), h);
    }
    g_string_append_printf(out, "</table>\n<p>Messages in the queue: %u</p>\n"
                           "<h2>Last records</h2>\n<pre>\n", sa_spool_count());
    for (guint i = 0; i < recent->len; i++) {
        g_autofree char *l = g_markup_escape_text(recent->pdata[i], -1);

        g_string_append_printf(out, "%s\n", l);
    }
    g_string_append(out, "</pre>\n</body></html>\n");
    return g_string_free(out, FALSE);
}

/* respond - status line, headers, body; then close */
static void respond(request *r, int code, const char *reason, const char *type, const char *body)
{
    gsize   len = strlen(body);

    sa_gui_request(r->c->peer_ip, code, r->path ? (r->head ? "HEAD" : "GET") : NULL, r->path);
    sa_conn_printf(r->c, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                   "Content-Length: %zu\r\nCache-Control: no-store\r\n"
                   "Connection: close\r\n\r\n", code, reason, type, len);
    if (!r->head)
        sa_conn_write(r->c, body, len);
    sa_conn_close(r->c, TRUE);
}

/* on_input - wait for the whole header, then answer */
static void on_input(sa_conn *c)
{
    request *r = c->ctx;
    g_autofree char *path = NULL;
    g_autofree char *body = NULL;
    sa_http_result res;

    if (c->in->len == 0)                /* the peer closed; nothing to answer */
        return;
    if (sa.opt.gui_proxy != NULL) {     /* the web UI of segtls-policyd */
        sa_gui_proxy_take(c);
        return;
    }
    res = sa_http_parse((char *) c->in->data, c->in->len, &r->head, &path);
    if (res == SA_HTTP_MORE)
        return;
    if (res == SA_HTTP_TOO_LARGE) {
        respond(r, 431, "Request Header Fields Too Large", "text/plain",
                "request too large\n");
        return;
    }
    g_byte_array_set_size(c->in, 0);
    r->path = path;
    if (res == SA_HTTP_BAD) {
        respond(r, 400, "Bad Request", "text/plain", "bad request\n");
    } else if (res == SA_HTTP_METHOD) {
        respond(r, 405, "Method Not Allowed", "text/plain", "method not allowed\n");
    } else if (strcmp(path, "/") == 0) {
        body = status_html();
        respond(r, 200, "OK", "text/html; charset=utf-8", body);
    } else if (strcmp(path, "/status.json") == 0) {
        body = status_json();
        respond(r, 200, "OK", "application/json", body);
    } else {
        respond(r, 404, "Not Found", "text/plain", "not found\n");
    }
}

/* on_tls_done - the gui_logs records */
static void on_tls_done(sa_conn *c, const char *fail)
{
    if (fail) {
        sa_gui_record(TRUE, "SSL error with client %s:%u - %s", c->peer_ip,
                      c->peer_port, fail);
        return;
    }
    sa_gui_record(FALSE, "GUI HTTPS TLS success protocol %s cipher %s address %s port %u",
                  SSL_get_version(c->ssl),
                  SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)),
                  c->peer_ip, c->peer_port);
}

/* on_timeout - a handshake, request or response that took too long */
static void on_timeout(sa_conn *c)
{
    const char *what = c->handshaking || c->tls_pending ? "TLS handshake timed out"
        : c->closing ? "response timed out" : "request timed out";

    conn_error(c->peer_ip, c->peer_port, what);
    sa_conn_close(c, FALSE);
}

/* on_closed - free the request */
static void on_closed(sa_conn *c)
{
    g_free(c->ctx);
}

static const sa_conn_ops https_ops = {
    .input = on_input,
    .tls_done = on_tls_done,
    .timeout = on_timeout,
    .closed = on_closed,
};

/* https_refuse - no TLS context, or the listener is full: record, close */
static void https_refuse(int fd, sa_listener *l)
{
    char    ip[64];
    guint   port;

    sa_peer_name(fd, ip, sizeof(ip), &port);
    conn_error(ip, port, sa.gui_ctx ? "too many connections" : "TLS is not configured");
    close(fd);
}

/* https_accept - a new GUI connection: TLS at once */
static void https_accept(int fd, sa_listener *l)
{
    request *r;

    if (sa.gui_ctx == NULL) {
        https_refuse(fd, l);
        return;
    }
    r = g_new0(request, 1);
    r->c = sa_conn_new(fd, l, &https_ops, r);
    sa_conn_starttls(r->c, sa.gui_ctx, TRUE);
    sa_conn_timeout(r->c, MIN(sa.opt.timeout, SA_HTTP_TIMEOUT));
    sa_conn_pump(r->c);
}

const sa_listen_ops sa_https_listen_ops = {
    .accept = https_accept,
    .refuse = https_refuse,
};
