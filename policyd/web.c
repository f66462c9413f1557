/*
 * web - the web UI and REST API server of segtls-policyd.
 *
 * A libsoup 3 SoupServer on a UNIX stream socket (mode 0660, the group of
 * the GUI HTTPS server in front: nginx's workers or segtls-standalone),
 * in policyd's own main loop. TLS is terminated in front; the proxy says
 * who the client is (X-Real-IP) and that it came over TLS
 * (X-Forwarded-Proto: https). One table routes every request: its
 * method and path, the role it needs, whether it changes anything (then
 * a CSRF token is required with a session) and its handler.
 *
 * Who: a session cookie (login form or POST /api/v1/session), or, for
 * the API only, HTTP Basic (checked by PAM each time, only over TLS).
 * A request that may change something is refused when its Origin is not
 * this server (login forms included), and with a session it needs the
 * session's CSRF token; API bodies must be JSON, which a foreign page
 * cannot send without a preflight this server never answers.
 * Members of the admin group change and commit; other accepted accounts
 * read. Everything that changes settings builds the same control
 * request the CLI sends and runs it through policyd_run() with the web
 * user's name: one validation path, one set of messages, and the commit
 * attributed to that user in the rollback history. API errors are
 * {"error":"the CLI's one line"} with a 4xx status.
 *
 * Every request gets its gui_logs record once its answer is written
 * (request-finished), in the gateway's req: shape (lib/guirec.h).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>

#include "ctl.h"
#include "error.h"
#include "live.h"
#include "msg.h"
#include "quote.h"
#include "web.h"

#define WEB_BODY_MAX    (64 * 1024)     /* request bodies */
#define WEB_LIVE_TIMEOUT 3.0            /* seconds per step of a live probe */

typedef void (*web_handler) (web_req *r);

static void api_login(web_req *r);
static void api_session(web_req *r);
static void api_logout(web_req *r);
static void api_settings(web_req *r);
static void api_committed(web_req *r);
static void api_pending(web_req *r);
static void api_put_pending(web_req *r);
static void api_clear(web_req *r);
static void api_commit(web_req *r);
static void api_analysis(web_req *r);
static void api_status(web_req *r);
static void api_rollbacks(web_req *r);
static void api_restore(web_req *r);
static void api_destinations(web_req *r);
static void api_put_destination(web_req *r);
static void api_delete_destination(web_req *r);
static void api_sendergroups(web_req *r);
static void api_put_sendergroup(web_req *r);
static void api_delete_sendergroup(web_req *r);
static void serve_resource(web_req *r);

/* One route: method, path ("{id}" matches one segment of digits). */
static const struct route {
    const char *method;
    const char *path;
    web_role    role;           /* needed */
    gboolean    change;         /* state-changing: CSRF token with a session */
    web_handler fn;
} routes[] = {
    {"GET", "/", WEB_ROLE_READ, FALSE, web_page_main},
    {"GET", "/login", WEB_ROLE_NONE, FALSE, web_page_login},
    {"POST", "/login", WEB_ROLE_NONE, FALSE, web_page_login_post},
    {"POST", "/logout", WEB_ROLE_READ, TRUE, web_page_logout},
    {"GET", "/edit", WEB_ROLE_ADMIN, FALSE, web_page_edit},
    {"GET", "/report", WEB_ROLE_READ, FALSE, web_page_report},
    {"POST", "/edit", WEB_ROLE_ADMIN, TRUE, web_page_edit_post},
    {"POST", "/commit", WEB_ROLE_ADMIN, TRUE, web_page_commit},
    {"POST", "/clear", WEB_ROLE_ADMIN, TRUE, web_page_clear},
    {"POST", "/rollback", WEB_ROLE_ADMIN, TRUE, web_page_rollback},
    {"POST", "/destinations", WEB_ROLE_ADMIN, TRUE, web_page_dest_post},
    {"POST", "/sendergroups", WEB_ROLE_ADMIN, TRUE, web_page_group_post},
    {"GET", "/static/segtls.css", WEB_ROLE_NONE, FALSE, serve_resource},
    {"GET", "/static/segtls.js", WEB_ROLE_NONE, FALSE, serve_resource},
    {"GET", "/api/v1/openapi.json", WEB_ROLE_NONE, FALSE, serve_resource},
    {"POST", "/api/v1/session", WEB_ROLE_NONE, FALSE, api_login},
    {"GET", "/api/v1/session", WEB_ROLE_READ, FALSE, api_session},
    {"DELETE", "/api/v1/session", WEB_ROLE_READ, TRUE, api_logout},
    {"GET", "/api/v1/settings", WEB_ROLE_READ, FALSE, api_settings},
    {"GET", "/api/v1/settings/committed", WEB_ROLE_READ, FALSE, api_committed},
    {"GET", "/api/v1/settings/pending", WEB_ROLE_READ, FALSE, api_pending},
    {"PUT", "/api/v1/settings/pending", WEB_ROLE_ADMIN, TRUE, api_put_pending},
    {"DELETE", "/api/v1/settings/pending", WEB_ROLE_ADMIN, TRUE, api_clear},
    {"POST", "/api/v1/commit", WEB_ROLE_ADMIN, TRUE, api_commit},
    {"GET", "/api/v1/analysis", WEB_ROLE_READ, FALSE, api_analysis},
    {"GET", "/api/v1/status", WEB_ROLE_READ, FALSE, api_status},
    {"GET", "/api/v1/reports/tls-connections", WEB_ROLE_READ, FALSE, web_api_report},
    {"GET", "/api/v1/rollbacks", WEB_ROLE_READ, FALSE, api_rollbacks},
    {"POST", "/api/v1/rollbacks/{id}/restore", WEB_ROLE_ADMIN, TRUE, api_restore},
    {"GET", "/api/v1/destinations", WEB_ROLE_READ, FALSE, api_destinations},
    {"PUT", "/api/v1/destinations", WEB_ROLE_ADMIN, TRUE, api_put_destination},
    {"POST", "/api/v1/destinations/delete", WEB_ROLE_ADMIN, TRUE, api_delete_destination},
    {"GET", "/api/v1/sendergroups", WEB_ROLE_READ, FALSE, api_sendergroups},
    {"PUT", "/api/v1/sendergroups", WEB_ROLE_ADMIN, TRUE, api_put_sendergroup},
    {"POST", "/api/v1/sendergroups/delete", WEB_ROLE_ADMIN, TRUE, api_delete_sendergroup},
};

/* The static files of the page and the API description (GResource). */
static const struct resource {
    const char *path;
    const char *file;
    const char *type;
} resources[] = {
    {"/static/segtls.css", "/segtls/webui/segtls.css", "text/css; charset=utf-8"},
    {"/static/segtls.js", "/segtls/webui/segtls.js", "text/javascript; charset=utf-8"},
    {"/api/v1/openapi.json", "/segtls/webui/openapi.json", "application/json"},
};

/* HTTP status for each error code of the one run path. */
static const struct {
    seg_error_code code;
    int         status;
} error_status[] = {
    {SEG_ERROR_INVALID, 400}, {SEG_ERROR_UNKNOWN_KEY, 400},
    {SEG_ERROR_PROTOCOL, 400}, {SEG_ERROR_DENIED, 403},
    {SEG_ERROR_NOT_FOUND, 404}, {SEG_ERROR_LOCKED, 409},
    {SEG_ERROR_APPLY, 409}, {SEG_ERROR_IO, 500}, {SEG_ERROR_TLS, 400},
    {SEG_ERROR_CONFLICT, 409}, {SEG_ERROR_UNREACHABLE, 503},
};

static SoupServer *server;
static GSocketService *service;     /* accepts; libsoup serves each connection */
static policyd_web_opts opts;
static char *sock_path;

/* web_opts - the options the web UI runs with */
const policyd_web_opts *web_opts(void)
{
    return &opts;
}

/* web_error_status - the HTTP status of an error of the run path */
int web_error_status(const GError *err)
{
    if (err == NULL || err->domain != SEG_ERROR)
        return 500;
    for (gsize i = 0; i < G_N_ELEMENTS(error_status); i++)
        if (error_status[i].code == (seg_error_code) err->code)
            return error_status[i].status;
    return 400;
}

/* security_headers - on every answer */
static void security_headers(SoupServerMessage *msg)
{
    SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);

    soup_message_headers_replace(h, "Cache-Control", "no-store");
    soup_message_headers_replace(h, "X-Content-Type-Options", "nosniff");
    soup_message_headers_replace(h, "X-Frame-Options", "DENY");
    soup_message_headers_replace(h, "Referrer-Policy", "same-origin");    /* no-referrer makes a form's Origin "null" */
    soup_message_headers_replace(h, "Content-Security-Policy",
                                 "default-src 'none'; script-src 'self'; "
                                 "style-src 'self'; img-src 'self'; "
                                 "form-action 'self'; frame-ancestors 'none'; "
                                 "base-uri 'none'");
}

/* web_send - status and body (taken) */
void web_send(web_req *r, int status, const char *type, char *body)
{
    security_headers(r->msg);
    soup_server_message_set_status(r->msg, (guint) status, NULL);
    soup_server_message_set_response(r->msg, type, SOUP_MEMORY_TAKE, body,
                                     strlen(body));
    web_resume(r);
}

/* web_send_json - an object (taken) as the answer, "ok" left out */
void web_send_json(web_req *r, int status, JsonObject *obj)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    char   *text;

    if (json_object_has_member(obj, "ok"))
        json_object_remove_member(obj, "ok");
    json_node_take_object(node, obj);
    json_generator_set_root(gen, node);
    json_generator_set_pretty(gen, TRUE);
    text = json_generator_to_data(gen, NULL);
    web_send(r, status, "application/json", g_strconcat(text, "\n", NULL));
    g_free(text);
}

/* web_send_error - {"error":MESSAGE} (API) or an error page */
void web_send_error(web_req *r, int status, const char *message)
{
    JsonObject *o;

    if (!r->api) {
        web_page_error(r, status, message);
        return;
    }
    o = json_object_new();
    json_object_set_string_member(o, "error", message);
    if (status == 401)
        soup_message_headers_replace(soup_server_message_get_response_headers(r->msg),
                                     "WWW-Authenticate",
                                     "Basic realm=\"segtls\", charset=\"UTF-8\"");
    web_send_json(r, status, o);
}

/* web_redirect - 303 See Other to a path of ours */
void web_redirect(web_req *r, const char *to)
{
    /* relative: behind the TLS proxy this server's own URI says http: */
    security_headers(r->msg);
    soup_server_message_set_status(r->msg, 303, NULL);
    soup_message_headers_replace(soup_server_message_get_response_headers(r->msg),
                                 "Location", to);
    web_resume(r);
}

/* web_pause - the answer comes later */
void web_pause(web_req *r)
{
    if (!r->paused) {
        r->paused = TRUE;
        soup_server_message_pause(r->msg);
    }
}

/* web_resume - an answer was set: send it if the request was paused */
void web_resume(web_req *r)
{
    if (r->paused) {
        r->paused = FALSE;
        soup_server_message_unpause(r->msg);
    }
}

/* web_record_action - a configuration-change action line in gui_logs */
void web_record_action(web_req *r, const char *fmt, ...)
{
    g_autofree char *text = NULL;
    va_list ap;
    seg_guirec rec = {.kind = SEG_GUIREC_ACTION};

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    rec.ip = r->ip;
    rec.path = r->path;
    rec.user = r->user;
    rec.role = web_role_name(r->role);
    rec.session = r->sid;
    rec.text = text;
    web_record(&rec, FALSE);
}

/*
 * conn_reply - an answer of the run path: inside web_run it is kept for
 * web_run to return; later (a commit's apply) it reaches r->deferred
 */
static void conn_reply(policyd_conn *base, JsonObject *resp, const GError *error)
{
    web_req *r = (web_req *) base;

    if (r->capturing) {
        r->captured = resp;
        if (error != NULL)
            r->captured_err = g_error_copy(error);
        return;
    }
    if (r->gone || r->deferred == NULL) {
        if (resp != NULL)
            json_object_unref(resp);
        return;
    }
    r->deferred(r, resp ? resp : policyd_error_response(error->message));
}

/* caller_rights - who the run path checks: the web account, read-only unless admin */
static void caller_rights(web_req *r)
{
    struct passwd *pw = r->user ? getpwnam(r->user) : NULL;

    r->base.sync = TRUE;
    r->base.readonly = r->role < WEB_ROLE_ADMIN;
    r->base.has_ids = pw != NULL;
    r->base.uid = pw ? pw->pw_uid : (uid_t) -1;
    r->base.gid = pw ? pw->pw_gid : (gid_t) -1;
}

/*
 * web_run - a control request for the web user through the one run path:
 * the ok answer, NULL with error, or NULL without error when the answer
 * comes later to r->deferred (the request is then paused).
 */
JsonObject *web_run(web_req *r, JsonObject *req, GError **error)
{
    GError *err = NULL;
    JsonObject *resp;

    caller_rights(r);
    r->capturing = TRUE;
    resp = policyd_run(r->pd, req, r->user, &r->base, &err);
    r->capturing = FALSE;
    if (resp == NULL && err == NULL) {
        resp = g_steal_pointer(&r->captured);
        err = g_steal_pointer(&r->captured_err);
    }
    json_object_unref(req);
    if (resp == NULL && err == NULL) {
        web_pause(r);
        return NULL;
    }
    if (err != NULL)
        g_propagate_error(error, err);
    return resp;
}

/* run_and_send - run a read or change request, send its answer as JSON */
static void run_and_send(web_req *r, JsonObject *req)
{
    g_autoptr(GError) err = NULL;
    JsonObject *resp = web_run(r, req, &err);

    if (resp == NULL && err == NULL)
        return;                         /* deferred */
    if (resp == NULL) {
        web_send_error(r, web_error_status(err), err->message);
        return;
    }
    web_send_json(r, 200, resp);
}

/* body_json - the request body as a JSON object, or an error sent */
static JsonObject *body_json(web_req *r)
{
    g_autoptr(GBytes) bytes = soup_message_body_flatten(
        soup_server_message_get_request_body(r->msg));
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) err = NULL;
    gsize   len;
    const char *data = g_bytes_get_data(bytes, &len);
    JsonNode *root;

    if (len == 0 || memchr(data, 0, len) != NULL || !g_utf8_validate(data, (gssize) len, NULL)) {
        web_send_error(r, 400, len == 0 ? "the request needs a JSON object body"
                       : "request body is not valid UTF-8");
        return NULL;
    }
    if (!json_parser_load_from_data(parser, data, (gssize) len, &err)) {
        g_autofree char *m = g_strdup_printf("malformed JSON request: %s", err->message);

        web_send_error(r, 400, m);
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        web_send_error(r, 400, "request is not a JSON object");
        return NULL;
    }
    return json_object_ref(json_node_get_object(root));
}

/* api_login_done - PAM said yes (a session, its cookie and token) or no */
static void api_login_done(web_req *r, const char *user, web_role role, int status,
                           const char *error)
{
    web_session *s;
    JsonObject *o;
    g_autofree char *cookie = NULL;

    if (error != NULL) {
        web_send_error(r, status, error);
        return;
    }
    s = web_session_new(r, user, role);
    cookie = g_strdup_printf(WEB_COOKIE "=%s; Path=/; HttpOnly; Secure; SameSite=Strict",
                             s->token);
    soup_message_headers_append(soup_server_message_get_response_headers(r->msg),
                                "Set-Cookie", cookie);
    o = json_object_new();
    json_object_set_string_member(o, "user", s->user);
    json_object_set_string_member(o, "role", web_role_name(s->role));
    json_object_set_string_member(o, "csrf_token", s->csrf);
    json_object_set_int_member(o, "idle_timeout", opts.idle_timeout);
    web_send_json(r, 200, o);
}

/* api_login - POST /api/v1/session */
static void api_login(web_req *r)
{
    g_autoptr(JsonObject) body = body_json(r);
    const char *user, *password;

    if (body == NULL)
        return;
    user = json_object_get_string_member_with_default(body, "user", NULL);
    password = json_object_get_string_member_with_default(body, "password", NULL);
    if (user == NULL || password == NULL) {
        web_send_error(r, 400, "members \"user\" and \"password\" must be strings");
        return;
    }
    web_login(r, user, password, api_login_done);
}

/* api_session - GET /api/v1/session: who, role, the CSRF token */
static void api_session(web_req *r)
{
    JsonObject *o = json_object_new();

    json_object_set_string_member(o, "user", r->user);
    json_object_set_string_member(o, "role", web_role_name(r->role));
    if (r->sess != NULL) {
        json_object_set_string_member(o, "csrf_token", r->sess->csrf);
        json_object_set_int_member(o, "idle_timeout", opts.idle_timeout);
    } else {
        json_object_set_null_member(o, "csrf_token");
    }
    web_send_json(r, 200, o);
}

/* api_logout - DELETE /api/v1/session */
static void api_logout(web_req *r)
{
    JsonObject *o = json_object_new();

    if (r->sess != NULL)
        web_session_end(r, r->sess);
    r->sess = NULL;
    soup_message_headers_append(soup_server_message_get_response_headers(r->msg),
                                "Set-Cookie", WEB_COOKIE "=; Path=/; Max-Age=0; "
                                "HttpOnly; Secure; SameSite=Strict");
    json_object_set_boolean_member(o, "logged_out", TRUE);
    web_send_json(r, 200, o);
}

/* api_settings - GET /api/v1/settings: committed, pending, warnings */
static void api_settings(web_req *r)
{
    run_and_send(r, seg_ctl_request("show"));
}

/* settings_member - GET of one member of the show answer */
static void settings_member(web_req *r, const char *member)
{
    g_autoptr(GError) err = NULL;
    JsonObject *resp = web_run(r, seg_ctl_request("show"), &err);
    JsonObject *o;
    JsonNode *n;

    if (resp == NULL) {
        web_send_error(r, web_error_status(err), err->message);
        return;
    }
    o = json_object_new();
    n = json_object_dup_member(resp, member);
    json_object_set_member(o, member, n);
    json_object_set_member(o, "warnings", json_object_dup_member(resp, "warnings"));
    json_object_unref(resp);
    web_send_json(r, 200, o);
}

/* api_committed - GET /api/v1/settings/committed */
static void api_committed(web_req *r)
{
    settings_member(r, "committed");
}

/* api_pending - GET /api/v1/settings/pending ({"pending":null} when none) */
static void api_pending(web_req *r)
{
    settings_member(r, "pending");
}

/* changed_keys - "key=value, ..." of the keys whose value differs */
static char *changed_keys(JsonObject *before, JsonObject *after)
{
    GString *out = g_string_new(NULL);

    for (const char *const *k = seg_settings_keys(); *k != NULL; k++) {
        const char *a = json_object_get_string_member_with_default(before, *k, "");
        const char *b = json_object_get_string_member_with_default(after, *k, "");

        if (strcmp(a, b) != 0)
            g_string_append_printf(out, "%s%s=%s", out->len ? ", " : "", *k, b);
    }
    return g_string_free(out, FALSE);
}

/* current_json - the pending settings, else the committed, as JSON */
static JsonObject *current_json(web_req *r)
{
    const seg_settings *p = seg_store_pending(r->pd->store);

    return seg_settings_to_json(p ? p : seg_store_committed(r->pd->store));
}

/*
 * web_set - the one way the web changes pending settings: {"op":"set"}
 * with the pairs (taken), the action line naming what changed. The ok
 * answer, or NULL with error.
 */
JsonObject *web_set(web_req *r, JsonObject *settings, GError **error)
{
    g_autoptr(JsonObject) before = current_json(r);
    JsonObject *req = seg_ctl_request("set");
    JsonObject *resp;

    json_object_set_object_member(req, "settings", settings);
    if ((resp = web_run(r, req, error)) != NULL) {
        g_autoptr(JsonObject) after = current_json(r);
        g_autofree char *what = changed_keys(before, after);

        if (*what)
            web_record_action(r, "Pending changes saved: %s", what);
    }
    return resp;
}

/* api_put_pending - PUT /api/v1/settings/pending {KEY:VALUE...} */
static void api_put_pending(web_req *r)
{
    g_autoptr(GError) err = NULL;
    JsonObject *body = body_json(r);
    JsonObject *resp;

    if (body == NULL)
        return;
    if ((resp = web_set(r, body, &err)) == NULL) {
        web_send_error(r, web_error_status(err), err->message);
        return;
    }
    json_object_set_boolean_member(resp, "pending",
                                   seg_store_pending(r->pd->store) != NULL);
    web_send_json(r, 200, resp);
}

/* api_clear - DELETE /api/v1/settings/pending */
static void api_clear(web_req *r)
{
    g_autoptr(GError) err = NULL;
    JsonObject *resp = web_run(r, seg_ctl_request("clear"), &err);

    if (resp == NULL) {
        web_send_error(r, web_error_status(err), err->message);
        return;
    }
    if (!json_object_get_boolean_member_with_default(resp, "nothing", TRUE))
        web_record_action(r, "Pending changes cleared");
    web_send_json(r, 200, resp);
}

/* api_commit_done - the answer of a commit, now or after the apply */
static void api_commit_done(web_req *r, JsonObject *resp)
{
    if (json_object_get_boolean_member_with_default(resp, "ok", FALSE)) {
        web_send_json(r, 200, resp);
        return;
    }
    web_send_error(r, 409, json_object_get_string_member_with_default(resp, "error",
                                                                      "commit failed"));
    json_object_unref(resp);
}

/* commit_answer - the commit's action line, then the caller's done */
static void commit_answer(web_req *r, JsonObject *resp)
{
    const char *comment = g_object_get_data(G_OBJECT(r->msg), "comment");

    if (!json_object_get_boolean_member_with_default(resp, "ok", FALSE))
        web_record_action(r, "Commit failed: %s",
                          json_object_get_string_member_with_default(resp, "error", "?"));
    else if (!json_object_get_boolean_member_with_default(resp, "nothing", FALSE))
        web_record_action(r, "Changes committed: %s", comment ? comment : "");
    r->commit_done(r, resp);
}

/*
 * web_commit - {"op":"commit"} for the web user; done gets the answer
 * (ok or not; taken), now or once the apply is over
 */
void web_commit(web_req *r, const char *comment, gboolean keep,
                void (*done)(web_req *r, JsonObject *resp))
{
    g_autoptr(GError) err = NULL;
    JsonObject *req = seg_ctl_request("commit");
    JsonObject *resp;

    g_object_set_data_full(G_OBJECT(r->msg), "comment", g_strdup(comment), g_free);
    json_object_set_string_member(req, "comment", comment);
    json_object_set_boolean_member(req, "keep_rollback", keep);
    r->commit_done = done;
    r->deferred = commit_answer;
    resp = web_run(r, req, &err);
    if (resp == NULL && err == NULL)
        return;
    if (resp == NULL)
        resp = policyd_error_response(err->message);
    commit_answer(r, resp);
}

/* api_commit - POST /api/v1/commit {"comment":"...","keep_rollback":true} */
static void api_commit(web_req *r)
{
    g_autoptr(JsonObject) body = body_json(r);
    JsonNode *c, *k;

    if (body == NULL)
        return;
    c = json_object_get_member(body, "comment");
    k = json_object_get_member(body, "keep_rollback");
    if ((c != NULL && (!JSON_NODE_HOLDS_VALUE(c) || json_node_get_value_type(c) != G_TYPE_STRING))
        || (k != NULL && (!JSON_NODE_HOLDS_VALUE(k)
                          || json_node_get_value_type(k) != G_TYPE_BOOLEAN))) {
        web_send_error(r, 400, "member \"comment\" must be a string and "
                       "\"keep_rollback\" a boolean");
        return;
    }
    web_commit(r, c ? json_node_get_string(c) : "", k ? json_node_get_boolean(k) : TRUE,
               api_commit_done);
}

/* api_analysis - GET /api/v1/analysis: usable versions and warnings */
static void api_analysis(web_req *r)
{
    g_autoptr(GError) err = NULL;
    JsonObject *status = web_run(r, seg_ctl_request("status"), &err);
    JsonObject *show, *o;

    if (status == NULL) {
        web_send_error(r, web_error_status(err), err->message);
        return;
    }
    show = web_run(r, seg_ctl_request("show"), &err);
    if (show == NULL) {
        json_object_unref(status);
        web_send_error(r, web_error_status(err), err->message);
        return;
    }
    o = json_object_new();
    json_object_set_member(o, "services", json_object_dup_member(status, "services"));
    json_object_set_member(o, "warnings", json_object_dup_member(show, "warnings"));
    json_object_set_boolean_member(o, "pending",
                                   json_object_get_boolean_member_with_default(status,
                                                                               "pending", FALSE));
    json_object_unref(status);
    json_object_unref(show);
    web_send_json(r, 200, o);
}

/* live_thread - the probes of segtls status, off the main loop */
static void live_thread(GTask *task, gpointer src, gpointer data, GCancellable *cancel)
{
    seg_live_probe(data, WEB_LIVE_TIMEOUT);
    g_task_return_boolean(task, TRUE);
}

typedef struct live_call {
    web_req    *r;
    JsonObject *status;
    void      (*done)(web_req *r, JsonObject *status);
} live_call;

/* live_done - back in the main loop */
static void live_done(GObject *src, GAsyncResult *res, gpointer data)
{
    live_call *lc = data;

    if (!lc->r->gone)
        lc->done(lc->r, lc->status);
    else
        json_object_unref(lc->status);
    g_object_unref(lc->r->msg);
    g_free(lc);
}

/*
 * web_live - the status answer with what each server negotiates now
 * (segtls status); done gets it (taken) once the probes are over
 */
void web_live(web_req *r, void (*done)(web_req *r, JsonObject *status))
{
    g_autoptr(GError) err = NULL;
    JsonObject *status = web_run(r, seg_ctl_request("status"), &err);
    g_autoptr(GTask) task = NULL;
    live_call *lc;

    if (status == NULL) {
        web_send_error(r, web_error_status(err), err->message);
        return;
    }
    lc = g_new0(live_call, 1);
    lc->r = r;
    lc->status = status;
    lc->done = done;
    g_object_ref(r->msg);
    web_pause(r);
    task = g_task_new(NULL, NULL, live_done, lc);
    g_task_set_task_data(task, status, NULL);
    g_task_run_in_thread(task, live_thread);
}

/* api_status_done - the status with the live versions */
static void api_status_done(web_req *r, JsonObject *status)
{
    json_object_remove_member(status, "user");
    json_object_set_string_member(status, "user", r->user);
    web_send_json(r, 200, status);
}

/* api_status - GET /api/v1/status: daemon, services, live versions, drift */
static void api_status(web_req *r)
{
    web_live(r, api_status_done);
}

/* api_rollbacks - GET /api/v1/rollbacks */
static void api_rollbacks(web_req *r)
{
    run_and_send(r, seg_ctl_request("rollback_list"));
}

/* web_restore - a saved configuration becomes pending; FALSE: error sent */
gboolean web_restore(web_req *r, const char *text)
{
    g_autoptr(GError) err = NULL;
    JsonObject *req = seg_ctl_request("rollback_restore");
    JsonObject *resp;
    guint64 id;

    if (text == NULL || !g_ascii_string_to_unsigned(text, 10, 1, G_MAXUINT, &id, NULL)) {
        g_autofree char *q = seg_quote_value(text ? text : "");
        g_autofree char *m = g_strdup_printf("%s is not a configuration number", q);

        json_object_unref(req);
        web_send_error(r, 400, m);
        return FALSE;
    }
    json_object_set_int_member(req, "id", (gint64) id);
    if ((resp = web_run(r, req, &err)) == NULL) {
        web_send_error(r, web_error_status(err), err->message);
        return FALSE;
    }
    json_object_unref(resp);
    web_record_action(r, "Saved configuration %" G_GUINT64_FORMAT
                      " restored as pending changes", id);
    return TRUE;
}

/* api_restore - POST /api/v1/rollbacks/{id}/restore */
static void api_restore(web_req *r)
{
    JsonObject *o;

    if (!web_restore(r, r->route_arg))
        return;
    o = json_object_new();
    json_object_set_boolean_member(o, "pending", TRUE);
    web_send_json(r, 200, o);
}

/* table_get - GET of a table: {"pending":BOOL, MEMBER:[...], "default":..} */
static void table_get(web_req *r, const char *member, const char *dflt_key)
{
    g_autoptr(GError) err = NULL;
    JsonObject *resp = web_run(r, seg_ctl_request("show"), &err);
    JsonObject *o, *cur;
    JsonNode *pn;

    if (resp == NULL) {
        web_send_error(r, web_error_status(err), err->message);
        return;
    }
    pn = json_object_get_member(resp, "pending");
    cur = pn && JSON_NODE_HOLDS_OBJECT(pn) ? json_node_get_object(pn)
        : json_object_get_object_member(resp, "committed");
    o = json_object_new();
    json_object_set_boolean_member(o, "pending", pn && JSON_NODE_HOLDS_OBJECT(pn));
    json_object_set_string_member(o, "default",
                                  json_object_get_string_member_with_default(cur, dflt_key, ""));
    json_object_set_member(o, member, json_object_dup_member(resp, member));
    json_object_unref(resp);
    web_send_json(r, 200, o);
}

/* api_destinations - GET /api/v1/destinations: the Destination Controls */
static void api_destinations(web_req *r)
{
    table_get(r, "destinations", "outbound.tls");
}

/* api_sendergroups - GET /api/v1/sendergroups */
static void api_sendergroups(web_req *r)
{
    table_get(r, "sendergroups", "inbound.tls");
}

/*
 * table_change - one change of a table from a JSON body through the run
 * path: the members named are copied into {"op":OP}; what names the
 * entry in the action line
 */
static void table_change(web_req *r, const char *op, const char *const *members,
                         const char *key, const char *what)
{
    g_autoptr(JsonObject) body = body_json(r);
    g_autoptr(GError) err = NULL;
    JsonObject *req, *resp;
    g_autofree char *name = NULL;

    if (body == NULL)
        return;
    req = seg_ctl_request(op);
    for (const char *const *m = members; *m; m++)
        if (json_object_has_member(body, *m))
            json_object_set_member(req, *m, json_object_dup_member(body, *m));
    name = g_strdup(json_object_get_string_member_with_default(body, key, ""));
    if ((resp = web_run(r, req, &err)) == NULL) {
        web_send_error(r, web_error_status(err), err->message);
        return;
    }
    web_record_action(r, "Pending changes saved: %s %s %s", what, name,
                      g_str_has_suffix(op, "delete") ? "deleted" : "set");
    json_object_set_boolean_member(resp, "pending",
                                   seg_store_pending(r->pd->store) != NULL);
    web_send_json(r, 200, resp);
}

/* api_put_destination - PUT /api/v1/destinations {domain,tls,methods,...} */
static void api_put_destination(web_req *r)
{
    static const char *const m[] = {"domain", "tls", "methods", "ciphers", "exclude",
                                    "must", NULL};

    table_change(r, "dest_set", m, "domain", "destination");
}

/* api_delete_destination - POST /api/v1/destinations/delete {domain} */
static void api_delete_destination(web_req *r)
{
    static const char *const m[] = {"domain", NULL};

    table_change(r, "dest_delete", m, "domain", "destination");
}

/* api_put_sendergroup - PUT /api/v1/sendergroups {name,tls,members} */
static void api_put_sendergroup(web_req *r)
{
    static const char *const m[] = {"name", "tls", "members", "must", NULL};

    table_change(r, "group_set", m, "name", "sender group");
}

/* api_delete_sendergroup - POST /api/v1/sendergroups/delete {name} */
static void api_delete_sendergroup(web_req *r)
{
    static const char *const m[] = {"name", NULL};

    table_change(r, "group_delete", m, "name", "sender group");
}

/* serve_resource - a static file of the page, or the OpenAPI description */
static void serve_resource(web_req *r)
{
    for (gsize i = 0; i < G_N_ELEMENTS(resources); i++) {
        g_autoptr(GBytes) b = NULL;
        gsize   len;
        const char *data;

        if (strcmp(resources[i].path, r->path) != 0)
            continue;
        b = g_resources_lookup_data(resources[i].file, 0, NULL);
        if (b == NULL)
            break;
        data = g_bytes_get_data(b, &len);
        web_send(r, 200, resources[i].type, g_strndup(data, len));
        return;
    }
    web_send_error(r, 404, "not found");
}

/* route_match - does path match the route pattern; *arg gets {id} */
static gboolean route_match(const char *pattern, const char *path, const char **arg)
{
    const char *brace = strstr(pattern, "{id}");
    gsize   pre, digits;

    *arg = NULL;
    if (brace == NULL)
        return strcmp(pattern, path) == 0;
    pre = (gsize) (brace - pattern);
    if (strncmp(pattern, path, pre) != 0)
        return FALSE;
    digits = strspn(path + pre, "0123456789");
    if (digits == 0 || digits > 10 || strcmp(path + pre + digits, brace + 4) != 0)
        return FALSE;
    *arg = path + pre;          /* the digits, up to the next '/' */
    return TRUE;
}

/* web_req_free - the end of a request */
static void web_req_free(gpointer data)
{
    web_req *r = data;

    policyd_conn_forget(&r->base);
    if (r->captured != NULL)
        json_object_unref(r->captured);
    g_clear_error(&r->captured_err);
    g_free(r->ip);
    g_free(r->path);
    g_free(r->user);
    g_free(r->token);
    g_free(r);
}

/* record_request - the req: line of one answered request */
static void record_request(SoupServerMessage *msg, web_req *r)
{
    SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
    seg_guirec rec = {.kind = SEG_GUIREC_REQUEST};
    GUri   *uri = soup_server_message_get_uri(msg);
    g_autofree char *path = NULL;

    if (r != NULL && r->logged)
        return;
    if (r != NULL)
        r->logged = TRUE;
    if (r == NULL && uri != NULL)
        path = g_uri_get_query(uri) ? g_strconcat(g_uri_get_path(uri), "?",
                                                  g_uri_get_query(uri), NULL)
            : g_strdup(g_uri_get_path(uri));
    rec.ip = r ? r->ip : soup_message_headers_get_one(h, "X-Real-IP");
    rec.user = r ? r->user : NULL;
    rec.session = r ? r->sid : NULL;
    rec.status = (int) soup_server_message_get_status(msg);
    rec.method = soup_server_message_get_method(msg);
    rec.path = r ? r->path : path;
    rec.agent = soup_message_headers_get_one(h, "User-Agent");
    web_record(&rec, FALSE);
}

/* on_finished - an answer was written: its record */
static void on_finished(SoupServer *srv, SoupServerMessage *msg, gpointer data)
{
    record_request(msg, g_object_get_data(G_OBJECT(msg), "web-req"));
}

/* on_disconnected - the client went away; a paused answer is dropped */
static void on_disconnected(SoupServerMessage *msg, gpointer data)
{
    web_req *r = g_object_get_data(G_OBJECT(msg), "web-req");

    if (r != NULL)
        r->gone = TRUE;
}

/* client_ip - X-Real-IP from the proxy when it is an address, else "unknown" */
static char *client_ip(SoupServerMessage *msg)
{
    const char *v = soup_message_headers_get_one(
        soup_server_message_get_request_headers(msg), "X-Real-IP");

    if (v != NULL && g_hostname_is_ip_address(v))
        return g_strdup(v);
    return g_strdup("unknown");
}

/* cookie_token - the session cookie of the request, or NULL */
static char *cookie_token(SoupServerMessage *msg)
{
    const char *c = soup_message_headers_get_list(
        soup_server_message_get_request_headers(msg), "Cookie");
    GHashTable *t;
    char   *v;

    if (c == NULL)
        return NULL;
    t = soup_header_parse_semi_param_list(c);
    v = g_strdup(g_hash_table_lookup(t, WEB_COOKIE));
    soup_header_free_param_list(t);
    return v;
}

/* over_tls - the proxy says the client came over TLS */
static gboolean over_tls(SoupServerMessage *msg)
{
    const char *p = soup_message_headers_get_one(
        soup_server_message_get_request_headers(msg), "X-Forwarded-Proto");

    return p != NULL && g_ascii_strcasecmp(p, "https") == 0;
}

/* web_form - the urlencoded body as a table (free with g_hash_table_destroy) */
GHashTable *web_form(web_req *r)
{
    g_autoptr(GBytes) b = soup_message_body_flatten(
        soup_server_message_get_request_body(r->msg));
    g_autofree char *text = g_strndup(g_bytes_get_data(b, NULL), g_bytes_get_size(b));

    return soup_form_decode(text);
}

/* web_form_field - one field of a urlencoded body, or NULL */
char *web_form_field(web_req *r, const char *name)
{
    GHashTable *form = web_form(r);
    char   *v = g_strdup(g_hash_table_lookup(form, name));

    g_hash_table_destroy(form);
    return v;
}

/* same_origin - no Origin header, or the one of this server (https://Host) */
static gboolean same_origin(SoupServerMessage *msg)
{
    SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
    const char *origin = soup_message_headers_get_one(h, "Origin");
    const char *host = soup_message_headers_get_one(h, "Host");

    if (origin == NULL)
        return TRUE;
    return host != NULL && g_ascii_strncasecmp(origin, "https://", 8) == 0
        && g_ascii_strcasecmp(origin + 8, host) == 0;
}

/* handle - rights, origin, CSRF and body checks, then the route's handler */
static void handle(web_req *r, const struct route *rt)
{
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0
        && !same_origin(r->msg)) {
        web_send_error(r, 403, "cross-origin request refused");
        return;
    }
    if (rt->role > r->role) {
        g_autofree char *m = NULL;

        if (r->role == WEB_ROLE_NONE) {
            if (!r->api)
                web_redirect(r, "/login");
            else
                web_send_error(r, 401, "authentication required");
            return;
        }
        m = g_strdup_printf("user %s has read-only access", r->user);
        web_send_error(r, 403, m);
        return;
    }
    if (rt->change && r->sess != NULL) {
        g_autofree char *token = r->api
            ? g_strdup(soup_message_headers_get_one(
                           soup_server_message_get_request_headers(r->msg), "X-CSRF-Token"))
            : web_form_field(r, "csrf");

        if (!web_csrf_ok(r->sess, token)) {
            web_send_error(r, 403, "missing or wrong CSRF token");
            return;
        }
    }
    if (r->api && (strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0)) {
        const char *type = soup_message_headers_get_content_type(
            soup_server_message_get_request_headers(r->msg), NULL);

        if (type == NULL || g_ascii_strcasecmp(type, "application/json") != 0) {
            web_send_error(r, 415, "the request body must be application/json");
            return;
        }
    }
    rt->fn(r);
}

/* basic_done - HTTP Basic checked by PAM: go on, or refuse */
static void basic_done(web_req *r, const char *user, web_role role, int status,
                       const char *error)
{
    const struct route *rt = g_object_get_data(G_OBJECT(r->msg), "web-route");

    if (error != NULL) {
        web_send_error(r, status, error);
        return;
    }
    r->user = g_strdup(user);
    r->role = role;
    handle(r, rt);
}

/* basic_credentials - user and password of an Authorization: Basic header */
static gboolean basic_credentials(const char *auth, char **user, char **password)
{
    g_autofree guchar *dec = NULL;
    gsize   len;
    char   *colon;

    if (auth == NULL || g_ascii_strncasecmp(auth, "Basic ", 6) != 0)
        return FALSE;
    dec = g_base64_decode(auth + 6, &len);
    if (dec == NULL || len == 0 || memchr(dec, 0, len) != NULL
        || (colon = memchr(dec, ':', len)) == NULL)
        return FALSE;
    *user = g_strndup((char *) dec, (gsize) (colon - (char *) dec));
    *password = g_strndup(colon + 1, len - (gsize) (colon + 1 - (char *) dec));
    memset(dec, 0, len);
    return TRUE;
}

/* on_request - every request: who, which route, then its handler */
static void on_request(SoupServer *srv, SoupServerMessage *msg, const char *path,
                       GHashTable *query, gpointer data)
{
    web_req *r = g_new0(web_req, 1);
    GUri   *uri = soup_server_message_get_uri(msg);
    const struct route *rt = NULL;
    const char *auth;
    gboolean path_known = FALSE;
    g_autofree char *token = NULL;

    r->base.reply = conn_reply;
    r->pd = data;
    r->msg = msg;
    r->ip = client_ip(msg);
    path = g_uri_get_path(uri);     /* as sent (still %-encoded), not decoded */
    r->path = g_uri_get_query(uri) ? g_strconcat(path, "?", g_uri_get_query(uri), NULL)
        : g_strdup(path);
    r->method = soup_server_message_get_method(msg);
    r->api = g_str_has_prefix(path, "/api/");
    g_object_set_data_full(G_OBJECT(msg), "web-req", r, web_req_free);
    g_signal_connect(msg, "disconnected", G_CALLBACK(on_disconnected), NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(routes); i++) {
        const char *arg;

        if (!route_match(routes[i].path, path, &arg))
            continue;
        path_known = TRUE;
        if (strcmp(routes[i].method, r->method) == 0
            || (strcmp(r->method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
            rt = &routes[i];
            if (arg != NULL) {
                g_strlcpy(r->arg, arg, MIN(sizeof(r->arg), strspn(arg, "0123456789") + 1));
                r->route_arg = r->arg;
            }
            break;
        }
    }
    if (rt == NULL) {
        web_send_error(r, path_known ? 405 : 404,
                       path_known ? "method not allowed" : "not found");
        return;
    }
    g_object_set_data(G_OBJECT(msg), "web-route", (gpointer) rt);
    if ((token = cookie_token(msg)) != NULL
        && (r->sess = web_session_find(r, token)) != NULL) {
        r->token = g_strdup(token);
        r->user = g_strdup(r->sess->user);
        r->role = r->sess->role;
        g_strlcpy(r->sid, r->sess->id, sizeof(r->sid));
    }
    auth = soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
                                        "Authorization");
    if (r->sess == NULL && r->api && auth != NULL && rt->fn != api_login) {
        g_autofree char *user = NULL;
        g_autofree char *password = NULL;

        if (!over_tls(msg)) {
            web_send_error(r, 401, "HTTP Basic authentication is accepted over TLS only");
            return;
        }
        if (!basic_credentials(auth, &user, &password)) {
            web_send_error(r, 401, "malformed Basic credentials");
            return;
        }
        web_login(r, user, password, basic_done);
        memset(password, 0, strlen(password));
        return;
    }
    handle(r, rt);
}

/* on_early - refuse big or unmeasured bodies before reading them */
static void on_early(SoupServer *srv, SoupServerMessage *msg, const char *path,
                     GHashTable *query, gpointer data)
{
    SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
    SoupEncoding enc = soup_message_headers_get_encoding(h);

    if (enc == SOUP_ENCODING_CHUNKED || enc == SOUP_ENCODING_EOF) {
        soup_server_message_set_status(msg, 411, NULL);
        return;
    }
    if (enc == SOUP_ENCODING_CONTENT_LENGTH
        && soup_message_headers_get_content_length(h) > WEB_BODY_MAX)
        soup_server_message_set_status(msg, 413, NULL);
}

/* listen_socket - bind the UNIX socket, 0660, the proxy's group */
static GSocket *listen_socket(const char *path, const char *group, uid_t owner,
                              GError **error)
{
    g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);
    g_autoptr(GSocket) sock = NULL;
    gid_t   gid = (gid_t) -1;

    if (group != NULL) {
        struct group *gr = getgrnam(group);

        if (gr == NULL) {
            g_autofree char *q = seg_quote_value(group);

            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "unknown group %s", q);
            return NULL;
        }
        gid = gr->gr_gid;
    }
    if (!policyd_probe_socket(path, error))
        return NULL;
    if ((sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                             G_SOCKET_PROTOCOL_DEFAULT, error)) == NULL
        || !g_socket_bind(sock, addr, FALSE, error))
        return NULL;
    g_socket_set_listen_backlog(sock, SOMAXCONN);     /* bursts of proxied requests */
    if (!g_socket_listen(sock, error))
        return NULL;
    if (chmod(path, 0660) < 0
        || ((gid != (gid_t) -1 || owner != (uid_t) -1) && chown(path, owner, gid) < 0)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s: %s", path, g_strerror(errno));
        unlink(path);
        return NULL;
    }
    return g_steal_pointer(&sock);
}

/*
 * on_incoming - a connection for libsoup. GIO accepts, not libsoup's own
 * listener: in libsoup 3.2 that leaks every accepted socket.
 */
static gboolean on_incoming(GSocketService *svc, GSocketConnection *conn,
                            GObject *source, gpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address(conn, NULL);
    g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address(conn, NULL);

    if (local == NULL || remote == NULL)
        return TRUE;                    /* gone already */
    if (!soup_server_accept_iostream(server, G_IO_STREAM(conn), local, remote, &err))
        msg_warn("web UI: %s", err->message);
    return TRUE;
}

/* policyd_web_start - listen on the web socket; FALSE with error */
gboolean policyd_web_start(policyd *pd, const policyd_web_opts *o, uid_t owner,
                           GError **error)
{
    g_autoptr(GSocket) sock = NULL;
    g_autofree char *dir = g_path_get_dirname(o->socket);

    opts = *o;
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR) && g_mkdir_with_parents(dir, 0755) < 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "create %s: %s", dir, g_strerror(errno));
        return FALSE;
    }
    if (!web_sessions_init(o, error))
        return FALSE;
    if ((sock = listen_socket(o->socket, o->group, owner, error)) == NULL)
        return FALSE;
    sock_path = g_strdup(o->socket);
    server = soup_server_new("server-header", "segtls", NULL);
    soup_server_add_early_handler(server, NULL, on_early, pd, NULL);
    soup_server_add_handler(server, NULL, on_request, pd, NULL);
    g_signal_connect(server, "request-finished", G_CALLBACK(on_finished), NULL);
    g_signal_connect(server, "request-aborted", G_CALLBACK(on_finished), NULL);
    service = g_socket_service_new();
    g_signal_connect(service, "incoming", G_CALLBACK(on_incoming), NULL);
    if (!g_socket_listener_add_socket(G_SOCKET_LISTENER(service), sock, NULL, error)) {
        policyd_web_stop();
        return FALSE;
    }
    g_socket_service_start(service);
    msg_info("web UI on %s (admin group %s, idle timeout %d s)", o->socket,
             o->admin_group, o->idle_timeout);
    return TRUE;
}

/* policyd_web_reopen - SIGHUP: reopen gui_logs */
void policyd_web_reopen(void)
{
    if (server != NULL)
        web_sessions_reopen();
}

/* policyd_web_stop - close the server, remove the socket */
void policyd_web_stop(void)
{
    if (service != NULL) {
        g_socket_service_stop(service);
        g_socket_listener_close(G_SOCKET_LISTENER(service));
        g_clear_object(&service);
    }
    if (server != NULL) {
        soup_server_disconnect(server);
        g_clear_object(&server);
    }
    if (sock_path != NULL && unlink(sock_path) < 0 && errno != ENOENT)
        msg_warn("remove %s: %s", sock_path, g_strerror(errno));
    g_clear_pointer(&sock_path, g_free);
    web_sessions_shutdown();
}
