/*
 * webpage - System Administration > SSL Configuration, as HTML.
 *
 * Laid out like the gateway's page: the SSL Configuration table per
 * service (Methods, SSL Cipher(s) to use, TLS Renegotiation; Other TLS
 * Client Services; Peer Certificate FQDN / X509 Validation), the
 * usable-cipher warnings beside the service they concern, the TLS 1.3
 * "?" pop-up with the three fixed suites (<details>, no script), the two
 * notes, Edit Settings..., the pending changes with Commit Changes and
 * Clear Changes, the rollback list saying which configuration each entry
 * brings back, and what the servers negotiate now (drift).
 *
 * The edit form is plain HTML that works without JavaScript: the server
 * renders the version boxes greyed where a change would leave a gap (a
 * checked box between two checked ones, or the only one; an unchecked
 * box not next to the checked run), with a hidden field carrying the
 * value of each checked box it greys, and it validates whatever comes
 * back through the one set path (web_set): the same messages as `segtls
 * set`. segtls.js only greys the boxes again as they change.
 *
 * Form fields: each setting key as itself; a version box is
 * "SERVICE.methods:1.x" (the checked ones, oldest first, make the value
 * "1.0,1.1"); a key sent as itself wins over its boxes; a switch that is
 * not checked is its "off" value. Any other field is handed to set as a
 * key, and refused there like an unknown key of `segtls set`.
 */
#include <string.h>
#include <time.h>

#include "cipherstr.h"
#include "ctl.h"
#include "error.h"
#include "recfmt.h"
#include "settings.h"
#include "tlsver.h"
#include "web.h"

#define FIELD_FORM  "form"          /* marks a submitted edit form */

/* A switch of the edit form: the key, its on and off values. */
static const struct toggle {
    const char *key;
    const char *on;
    const char *off;
} toggles[] = {
    {"gui.renegotiation", "enabled", "disabled"},
    {"inbound.renegotiation", "enabled", "disabled"},
    {"other_client.tlsv1_0", "on", "off"},
    {"peer_cert.fqdn", "on", "off"},
    {"peer_cert.x509", "on", "off"},
};

/* The fields of each service in the table, and in the form. */
typedef enum { R_METHODS, R_CIPHERS, R_RENEG, R_MODE, R_PATH } row_kind;

static const struct svc_row {
    const char *svc;            /* "gui" */
    const char *key;            /* "gui.methods" */
    row_kind    kind;
    const char *label;
} svc_rows[] = {
    {"gui", "gui.methods", R_METHODS, "Methods:"},
    {"gui", "gui.ciphers", R_CIPHERS, "SSL Cipher(s) to use:"},
    {"gui", "gui.renegotiation", R_RENEG, "TLS Renegotiation:"},
    {"gui", "gui.certificate", R_PATH, "Certificate (key and chain, PEM):"},
    {"inbound", "inbound.methods", R_METHODS, "Methods:"},
    {"inbound", "inbound.ciphers", R_CIPHERS, "SSL Cipher(s) to use:"},
    {"inbound", "inbound.renegotiation", R_RENEG, "TLS Renegotiation:"},
    {"inbound", "inbound.tls", R_MODE, "TLS:"},
    {"inbound", "inbound.certificate", R_PATH, "Certificate (key and chain, PEM):"},
    {"outbound", "outbound.methods", R_METHODS, "Methods:"},
    {"outbound", "outbound.ciphers", R_CIPHERS, "SSL Cipher(s) to use:"},
    {"outbound", "outbound.tls", R_MODE, "TLS:"},
    {"outbound", "outbound.ca_file", R_PATH, "Trusted CAs (verify modes):"},
};

static const char *const inbound_modes[] = {"no", "preferred", "required", NULL};
static const char *const outbound_modes[] = {"no", "preferred", "required",
                                             "preferred-verify", "required-verify", NULL};

#define NOTE_SEQUENCE   "TLS protocols can be enabled only in sequence."
#define NOTE_TLS13      "The configured SSL Cipher(s) do not apply to TLS 1.3. " \
                        "The TLS 1.3 protocol uses default ciphers."
#define PEER_USE        "Used for Alert Over TLS, Outbound SMTP, Updater and LDAP:"

/* esc - HTML text, escaped, newly allocated */
static char *esc(const char *s)
{
    return g_markup_escape_text(s ? s : "", -1);
}

/* append_esc - escaped text into out */
static void append_esc(GString *out, const char *s)
{
    g_autofree char *e = esc(s);

    g_string_append(out, e);
}

/* tls13_tip - the "?" pop-up beside TLS v1.3 */
static void tls13_tip(GString *out)
{
    g_auto(GStrv) suites = g_strsplit(SEG_TLS13_SUITES, ":", -1);

    g_string_append(out, "<details class=\"tip\"><summary title=\"TLSv1.3 Cipher Info\">?"
                    "</summary><div class=\"pop\"><b>TLSv1.3 Cipher Info</b>"
                    "<p>TLSv1.3 uses the default ciphers. You do not need to configure "
                    "any cipher for TLSv1.3.</p><ul>");
    for (char **s = suites; *s; s++)
        g_string_append_printf(out, "<li><code>%s</code></li>", *s);
    g_string_append(out, "</ul></div></details>");
}

/*
 * web_page_frame - the frame of every page around body (taken), crumb
 * being HTML; sent with status
 */
void web_page_frame(web_req *r, int status, const char *crumb, const char *title,
                    GString *body)
{
    GString *out = g_string_new(NULL);

    g_string_append(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width\">"
                    "<title>");
    append_esc(out, title);
    g_string_append(out, " - segtls</title>"
                    "<link rel=\"stylesheet\" href=\"/static/segtls.css\">"
                    "<script src=\"/static/segtls.js\" defer></script></head>\n<body>"
                    "<header><span class=\"brand\">segtls</span>"
                    "<span class=\"crumb\">");
    g_string_append(out, crumb);
    g_string_append(out, "</span>");
    if (r->user != NULL)
        g_string_append(out, "<nav><a href=\"/\" id=\"nav-ssl\">SSL Configuration</a> "
                        "<a href=\"/report\" id=\"nav-report\">TLS Connections</a></nav>");
    if (r->user != NULL && r->sess != NULL) {
        g_string_append(out, "<span class=\"who\">");
        append_esc(out, r->user);
        g_string_append_printf(out, " (%s) <form method=\"post\" action=\"/logout\" "
                               "class=\"inline\"><input type=\"hidden\" name=\"csrf\" "
                               "value=\"%s\"><button type=\"submit\">Log Out</button>"
                               "</form></span>", web_role_name(r->role), r->sess->csrf);
    }
    g_string_append(out, "</header>\n<main>\n");
    g_string_append_len(out, body->str, (gssize) body->len);
    g_string_append(out, "</main></body></html>\n");
    g_string_free(body, TRUE);
    web_send(r, status, "text/html; charset=utf-8", g_string_free(out, FALSE));
}

/* page - a page of System Administration > SSL Configuration */
static void page(web_req *r, int status, const char *title, GString *body)
{
    web_page_frame(r, status, "System Administration &#8250; SSL Configuration", title, body);
}

/* web_page_error - a page that says what went wrong */
void web_page_error(web_req *r, int status, const char *message)
{
    GString *b = g_string_new("<h1>SSL Configuration</h1>\n<p class=\"error\" id=\"error\">");

    append_esc(b, message);
    g_string_append(b, "</p>\n<p><a href=\"/\">Back to SSL Configuration</a></p>\n");
    page(r, status, "Error", b);
}

/* methods_text - "TLS v1.3 TLS v1.2" (newest first, as the gateway lists) */
static void methods_text(GString *out, const char *value)
{
    unsigned mask = 0;

    if (!seg_methods_parse_value(value, &mask, NULL)) {
        append_esc(out, value);
        return;
    }
    for (int i = SEG_TLS_NVERS - 1; i >= 0; i--) {
        if (!(mask & seg_tlsver_table[i].bit))
            continue;
        g_string_append_printf(out, "<span class=\"ver\">%s", seg_tlsver_table[i].human);
        if (seg_tlsver_table[i].bit == SEG_TLS_V13)
            tls13_tip(out);
        g_string_append(out, "</span> ");
    }
}

/* svc_rows_count - rows of one service in the table */
static guint svc_rows_count(const char *svc)
{
    guint   n = 0;

    for (gsize i = 0; i < G_N_ELEMENTS(svc_rows); i++)
        n += strcmp(svc_rows[i].svc, svc) == 0;
    return n;
}

/* warnings_of - the warnings that name a service title, as rows */
static void warnings_of(GString *out, JsonArray *warnings, const char *title, guint *used)
{
    g_autofree char *prefix = g_strdup_printf("Warning: %s:", title);

    for (guint i = 0; warnings && i < json_array_get_length(warnings); i++) {
        const char *w = json_array_get_string_element(warnings, i);

        if (w == NULL || !g_str_has_prefix(w, prefix))
            continue;
        (*used)++;
        g_string_append(out, "<tr class=\"warn\"><td></td><td colspan=\"2\">");
        append_esc(out, w);
        g_string_append(out, "</td></tr>\n");
    }
}

/* view_value - one value of the read-only table */
static void view_value(GString *out, const struct svc_row *row, const char *v)
{
    if (row->kind == R_METHODS)
        methods_text(out, v);
    else if (row->kind == R_RENEG)
        g_string_append(out, strcmp(v, "enabled") == 0 ? "Enabled" : "Disabled");
    else if (row->kind == R_CIPHERS) {
        g_string_append(out, "<code class=\"ciphers\">");
        append_esc(out, v);
        g_string_append(out, "</code>");
    } else
        append_esc(out, *v ? v : "(none)");
}

/* other_client_text - what the other TLS client services use */
static void other_client_text(GString *out, JsonObject *cur)
{
    const char *v = json_object_get_string_member_with_default(cur, "other_client.tlsv1_0", "off");

    g_string_append(out, strcmp(v, "on") == 0
                    ? "TLS v1.2, TLS v1.1, TLS v1.0 are being used"
                    : "TLS v1.2, TLS v1.1 are being used as default");
}

/* config_table - the read-only SSL Configuration table */
static void config_table(GString *out, JsonObject *cur, JsonArray *warnings)
{
    guint   used = 0;

    g_string_append(out, "<table class=\"cfg\" id=\"ssl-config\">\n");
    for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
        const char *key = seg_service_key((seg_service) svc);
        gboolean first = TRUE;

        for (gsize i = 0; i < G_N_ELEMENTS(svc_rows); i++) {
            const struct svc_row *row = &svc_rows[i];
            const char *v;

            if (strcmp(row->svc, key) != 0)
                continue;
            v = json_object_get_string_member_with_default(cur, row->key, "");
            g_string_append_printf(out, "<tr class=\"%s\" id=\"view-%s\">", first ? "svc" : "",
                                   row->key);
            if (first)
                g_string_append_printf(out, "<th rowspan=\"%u\">%s:</th>",
                                       svc_rows_count(key),
                                       seg_service_title((seg_service) svc));
            g_string_append_printf(out, "<td class=\"label\">%s</td><td>", row->label);
            view_value(out, row, v);
            g_string_append(out, "</td></tr>\n");
            first = FALSE;
        }
        warnings_of(out, warnings, seg_service_title((seg_service) svc), &used);
    }
    g_string_append(out, "<tr class=\"svc\" id=\"view-other_client.tlsv1_0\"><th>Other TLS "
                    "Client Services:</th><td class=\"label\">Methods:</td><td>");
    other_client_text(out, cur);
    g_string_append(out, "</td></tr>\n");
    for (int k = 0; k < 2; k++) {
        const char *key = k == 0 ? "peer_cert.fqdn" : "peer_cert.x509";
        const char *v = json_object_get_string_member_with_default(cur, key, "off");

        g_string_append_printf(out, "<tr class=\"svc\" id=\"view-%s\"><th>Peer Certificate "
                               "%s Validation:</th><td class=\"label\">" PEER_USE "</td>"
                               "<td>%s</td></tr>\n", key, k == 0 ? "FQDN" : "X509",
                               strcmp(v, "on") == 0 ? "Enabled" : "Disabled");
    }
    g_string_append(out, "</table>\n");
    for (guint i = 0; warnings && i < json_array_get_length(warnings); i++) {
        const char *w = json_array_get_string_element(warnings, i);
        gboolean svc_warning = FALSE;

        for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
            g_autofree char *p = g_strdup_printf("Warning: %s:",
                                                 seg_service_title((seg_service) svc));

            svc_warning |= g_str_has_prefix(w, p);
        }
        if (!svc_warning) {
            g_string_append(out, "<p class=\"warn\">");
            append_esc(out, w);
            g_string_append(out, "</p>\n");
        }
    }
}

/* notes - the gateway's two notes */
static void notes(GString *out)
{
    g_string_append(out, "<div class=\"note\" id=\"notes\"><b>Note:</b><ul>"
                    "<li>" NOTE_SEQUENCE "</li><li>" NOTE_TLS13 "</li></ul></div>\n");
}

/* csrf_field - the hidden CSRF field of a form */
static void csrf_field(GString *out, web_req *r)
{
    g_string_append_printf(out, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">",
                           r->sess ? r->sess->csrf : "");
}

/* pending_section - differences from the committed settings, commit and clear */
static void pending_section(GString *out, web_req *r, JsonObject *committed,
                            JsonObject *pending, JsonArray *tables)
{
    g_string_append(out, "<h2>Pending Changes</h2>\n");
    if (pending != NULL && tables != NULL && json_array_get_length(tables) > 0) {
        g_string_append(out, "<ul id=\"pending-tables\">");
        for (guint i = 0; i < json_array_get_length(tables); i++) {
            g_string_append(out, "<li>");
            append_esc(out, json_array_get_string_element(tables, i));
            g_string_append(out, "</li>");
        }
        g_string_append(out, "</ul>\n");
    }
    if (pending == NULL) {
        g_string_append(out, "<p id=\"no-pending\">No changes are pending.</p>\n");
        return;
    }
    g_string_append(out, "<table class=\"pending\" id=\"pending\"><tr><th>Setting</th>"
                    "<th>Committed</th><th>Pending</th></tr>\n");
    for (const char *const *k = seg_settings_keys(); *k != NULL; k++) {
        const char *c = json_object_get_string_member_with_default(committed, *k, "");
        const char *p = json_object_get_string_member_with_default(pending, *k, "");

        if (strcmp(c, p) == 0)
            continue;
        g_string_append_printf(out, "<tr><td>%s</td><td><code>", *k);
        append_esc(out, c);
        g_string_append(out, "</code></td><td><code>");
        append_esc(out, p);
        g_string_append(out, "</code></td></tr>\n");
    }
    g_string_append(out, "</table>\n");
    if (r->role < WEB_ROLE_ADMIN)
        return;
    g_string_append(out, "<form method=\"post\" action=\"/commit\" class=\"commit\" "
                    "id=\"commit-form\">");
    csrf_field(out, r);
    g_string_append(out, "<label for=\"comment\">Comment (optional):</label> "
                    "<input type=\"text\" name=\"comment\" id=\"comment\" size=\"50\" "
                    "maxlength=\"1000\"> <label><input type=\"checkbox\" name=\"keep\" "
                    "value=\"on\" checked> Save the current configuration for rollback"
                    "</label> <button type=\"submit\" class=\"primary\" id=\"commit\">"
                    "Commit Changes</button></form>\n"
                    "<form method=\"post\" action=\"/clear\" id=\"clear-form\">");
    csrf_field(out, r);
    g_string_append(out, "<button type=\"submit\" id=\"clear\">Clear Changes</button></form>\n");
}

/* rollback_section - the saved configurations and what each brings back */
static void rollback_section(GString *out, web_req *r, JsonObject *list)
{
    JsonArray *arr = list ? json_object_get_array_member(list, "rollbacks") : NULL;
    guint   n = arr ? json_array_get_length(arr) : 0;

    g_string_append(out, "<h2>Rollback</h2>\n");
    if (n == 0) {
        g_string_append(out, "<p id=\"no-rollback\">There are no saved configurations "
                        "to roll back to.</p>\n");
        return;
    }
    g_string_append(out, "<table class=\"rollback\" id=\"rollback\"><tr><th>#</th>"
                    "<th>Committed</th><th>By</th><th>Comment of that commit</th>"
                    "<th>Restoring brings back</th><th></th></tr>\n");
    for (guint i = 0; i < n; i++) {
        JsonObject *e = json_array_get_object_element(arr, i);
        JsonArray *diff = json_object_get_array_member(e, "differences");
        gint64  id = json_object_get_int_member_with_default(e, "id", 0);

        g_string_append_printf(out, "<tr id=\"rollback-%" G_GINT64_FORMAT "\"><td>%"
                               G_GINT64_FORMAT "</td><td>", id, id);
        append_esc(out, json_object_get_string_member_with_default(e, "time", ""));
        g_string_append(out, "</td><td class=\"user\">");
        append_esc(out, json_object_get_string_member_with_default(e, "user", ""));
        g_string_append(out, "</td><td>");
        append_esc(out, json_object_get_string_member_with_default(e, "comment", ""));
        g_string_append(out, "</td><td class=\"restores\">");
        append_esc(out, json_object_get_string_member_with_default(e, "restores", ""));
        if (diff != NULL && json_array_get_length(diff) > 0) {
            g_string_append(out, ":<ul>");
            for (guint j = 0; j < json_array_get_length(diff); j++) {
                g_string_append(out, "<li><code>");
                append_esc(out, json_array_get_string_element(diff, j));
                g_string_append(out, "</code></li>");
            }
            g_string_append(out, "</ul>");
        }
        g_string_append(out, "</td><td>");
        if (r->role >= WEB_ROLE_ADMIN) {
            g_string_append(out, "<form method=\"post\" action=\"/rollback\">");
            csrf_field(out, r);
            g_string_append_printf(out, "<input type=\"hidden\" name=\"id\" value=\"%"
                                   G_GINT64_FORMAT "\"><button type=\"submit\">Restore"
                                   "</button></form>", id);
        }
        g_string_append(out, "</td></tr>\n");
    }
    g_string_append(out, "</table>\n");
}

/* live_cell - "1.2-1.3 at TARGET as configured", "unreachable: WHY" */
static void live_cell(GString *out, JsonObject *o)
{
    const char *target = json_object_get_string_member_with_default(o, "target", "");
    const char *l = json_object_get_string_member_with_default(o, "live", "");

    if (json_object_get_boolean_member_with_default(o, "unreachable", FALSE)) {
        g_string_append(out, "<span class=\"bad\">unreachable: ");
        append_esc(out, json_object_get_string_member_with_default(o, "failure", ""));
        g_string_append(out, "</span>");
        return;
    }
    append_esc(out, *l ? l : "none");
    g_string_append(out, " at ");
    append_esc(out, target);
    if (json_object_get_boolean_member_with_default(o, "drift", FALSE))
        g_string_append(out, " <span class=\"bad drift\">drift</span>");
    else
        g_string_append(out, " <span class=\"good\">as configured</span>");
}

/*
 * postfix_cells - the live cells of the Postfix services that service key
 * governs (segtls status's lines); how many had a probe target
 */
static guint postfix_cells(GString *out, JsonObject *status, const char *key)
{
    JsonNode *node = json_object_get_member(status, "postfix_services");
    JsonArray *arr;
    guint   n = 0;

    if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node))
        return 0;
    arr = json_node_get_array(node);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonObject *pf = json_array_get_object_element(arr, i);

        if (g_strcmp0(json_object_get_string_member_with_default(pf, "governed_by", NULL),
                      key) != 0 || !json_object_has_member(pf, "target"))
            continue;
        if (n++ > 0)
            g_string_append(out, "<br>");
        live_cell(out, pf);
    }
    return n;
}

/*
 * live_section - per service what is committed, usable and negotiated
 * now: GUI HTTPS at its probe target, Inbound SMTP at every Postfix
 * service it governs
 */
static void live_section(GString *out, JsonObject *status, gboolean probed)
{
    JsonArray *arr = status ? json_object_get_array_member(status, "services") : NULL;

    g_string_append(out, "<h2>What the Servers Negotiate</h2>\n<table class=\"live\" "
                    "id=\"live\"><tr><th>Service</th><th>Committed</th><th>Usable</th>"
                    "<th>Live</th></tr>\n");
    for (guint i = 0; arr && i < json_array_get_length(arr); i++) {
        JsonObject *s = json_array_get_object_element(arr, i);
        const char *key = json_object_get_string_member_with_default(s, "service", "");
        const char *u = json_object_get_string_member_with_default(s, "usable", "");

        g_string_append_printf(out, "<tr id=\"live-%s\"><td>", key);
        append_esc(out, json_object_get_string_member_with_default(s, "title", ""));
        g_string_append(out, "</td><td>");
        append_esc(out, json_object_get_string_member_with_default(s, "configured", ""));
        g_string_append(out, "</td><td>");
        append_esc(out, *u ? u : "none");
        g_string_append(out, "</td><td>");
        if (!probed)
            g_string_append(out, "not checked");
        else if (json_object_has_member(s, "target"))
            live_cell(out, s);
        else if (postfix_cells(out, status, key) == 0)
            g_string_append(out, "no probe target");
        g_string_append(out, "</td></tr>\n");
    }
    g_string_append(out, "</table>\n");
    if (!probed)
        g_string_append(out, "<p><a href=\"/?live=1\" id=\"check-live\">Check the live "
                        "servers now</a> (one handshake per TLS version)</p>\n");
}

/* flash - the message the last change left for this page */
static void flash(GString *out, web_req *r)
{
    if (r->sess == NULL || r->sess->flash == NULL)
        return;
    g_string_append_printf(out, "<p class=\"%s\" id=\"flash\">",
                           r->sess->flash_error ? "error" : "ok");
    append_esc(out, r->sess->flash);
    g_string_append(out, "</p>\n");
    g_clear_pointer(&r->sess->flash, g_free);
}

/* set_flash - a message for the next page of the session */
static void set_flash(web_req *r, gboolean error, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void set_flash(web_req *r, gboolean error, const char *fmt, ...)
{
    web_session *s = r->sess;
    va_list ap;

    if (s == NULL)
        return;
    g_free(s->flash);
    va_start(ap, fmt);
    s->flash = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    s->flash_error = error;
}

/* mode_options - <option>s of the modes, sel selected */
static void mode_options(GString *out, const char *const *modes, const char *sel)
{
    for (const char *const *m = modes; *m; m++)
        g_string_append_printf(out, "<option value=\"%s\"%s>%s</option>", *m,
                               g_strcmp0(*m, sel) == 0 ? " selected" : "", *m);
}

/* delete_button - a small form deleting one entry of a table */
static void delete_button(GString *out, web_req *r, const char *action,
                          const char *field, const char *value)
{
    g_string_append_printf(out, "<form method=\"post\" action=\"%s\" class=\"inline\">"
                           "<input type=\"hidden\" name=\"do\" value=\"delete\">"
                           "<input type=\"hidden\" name=\"%s\" value=\"", action, field);
    append_esc(out, value);
    g_string_append(out, "\">");
    csrf_field(out, r);
    g_string_append(out, "<button type=\"submit\">Delete</button></form>");
}

/*
 * dest_section - Mail Policies > Destination Controls: the default, each
 * entry, and for administrators a form to add or change one
 */
static void dest_section(GString *out, web_req *r, JsonObject *show, JsonObject *cur)
{
    JsonArray *arr = json_object_get_array_member(show, "destinations");

    g_string_append(out, "<h2>Destination Controls</h2>\n<table class=\"config\" "
                    "id=\"destinations\"><tr><th>Destination</th><th>TLS</th>"
                    "<th>Versions</th><th>Ciphers</th><th>Exclude</th><th></th></tr>\n"
                    "<tr><td>Default</td><td>");
    append_esc(out, json_object_get_string_member_with_default(cur, "outbound.tls", ""));
    g_string_append(out, "</td><td>Outbound SMTP</td><td>Outbound SMTP</td><td></td>"
                    "<td></td></tr>\n");
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonObject *o = json_array_get_object_element(arr, i);
        const char *const cols[] = {"domain", "tls", "methods", "ciphers", "exclude"};

        g_string_append(out, "<tr>");
        for (guint c = 0; c < G_N_ELEMENTS(cols); c++) {
            g_string_append(out, "<td>");
            append_esc(out, json_object_get_string_member_with_default(o, cols[c], ""));
            g_string_append(out, "</td>");
        }
        g_string_append(out, "<td>");
        if (r->role >= WEB_ROLE_ADMIN)
            delete_button(out, r, "/destinations", "domain",
                          json_object_get_string_member(o, "domain"));
        g_string_append(out, "</td></tr>\n");
    }
    g_string_append(out, "</table>\n");
    if (r->role < WEB_ROLE_ADMIN)
        return;
    g_string_append(out, "<form method=\"post\" action=\"/destinations\" "
                    "id=\"dest-form\"><input type=\"hidden\" name=\"do\" value=\"save\">"
                    "<label>Domain <input type=\"text\" name=\"domain\" size=\"30\" "
                    "maxlength=\"253\" placeholder=\"example.com or .example.com\"></label> "
                    "<label>TLS <select name=\"tls\">");
    mode_options(out, outbound_modes, "preferred");
    g_string_append(out, "</select></label> <label>Versions <input type=\"text\" "
                    "name=\"methods\" size=\"8\" placeholder=\"1.2-1.3\"></label> "
                    "<label>Ciphers <select name=\"ciphers\"><option value=\"\">"
                    "Outbound SMTP</option><option value=\"high\">high</option>"
                    "<option value=\"medium\">medium</option></select></label> "
                    "<label>Exclude <input type=\"text\" name=\"exclude\" size=\"20\">"
                    "</label> ");
    csrf_field(out, r);
    g_string_append(out, "<button type=\"submit\" id=\"dest-save\">Add or Edit "
                    "Destination</button></form>\n");
}

/* group_section - the sender groups of the inbound listener */
static void group_section(GString *out, web_req *r, JsonObject *show, JsonObject *cur)
{
    JsonArray *arr = json_object_get_array_member(show, "sendergroups");

    g_string_append(out, "<h2>Sender Groups</h2>\n<p>Clients in no group: TLS ");
    append_esc(out, json_object_get_string_member_with_default(cur, "inbound.tls", ""));
    g_string_append(out, ".</p>\n<table class=\"config\" id=\"sendergroups\"><tr>"
                    "<th>Sender group</th><th>TLS</th><th>Members</th><th></th></tr>\n");
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonObject *o = json_array_get_object_element(arr, i);
        JsonArray *m = json_object_get_array_member(o, "members");

        g_string_append(out, "<tr><td>");
        append_esc(out, json_object_get_string_member(o, "name"));
        g_string_append(out, "</td><td>");
        append_esc(out, json_object_get_string_member(o, "tls"));
        g_string_append(out, "</td><td>");
        for (guint k = 0; k < json_array_get_length(m); k++) {
            if (k)
                g_string_append(out, ", ");
            append_esc(out, json_array_get_string_element(m, k));
        }
        g_string_append(out, "</td><td>");
        if (r->role >= WEB_ROLE_ADMIN)
            delete_button(out, r, "/sendergroups", "name",
                          json_object_get_string_member(o, "name"));
        g_string_append(out, "</td></tr>\n");
    }
    g_string_append(out, "</table>\n");
    if (r->role < WEB_ROLE_ADMIN)
        return;
    g_string_append(out, "<form method=\"post\" action=\"/sendergroups\" "
                    "id=\"group-form\"><input type=\"hidden\" name=\"do\" value=\"save\">"
                    "<label>Name <input type=\"text\" name=\"name\" size=\"16\" "
                    "maxlength=\"64\"></label> <label>TLS <select name=\"tls\">");
    mode_options(out, inbound_modes, "preferred");
    g_string_append(out, "</select></label> <label>Members <input type=\"text\" "
                    "name=\"members\" size=\"40\" placeholder=\"10.1.0.0/16, "
                    "mx.example.com\"></label> ");
    csrf_field(out, r);
    g_string_append(out, "<button type=\"submit\" id=\"group-save\">Add or Edit "
                    "Sender Group</button></form>\n");
}

/* main_render - the SSL Configuration page from the answers (taken) */
static void main_render(web_req *r, JsonObject *status)
{
    g_autoptr(GError) err = NULL;
    JsonObject *show = web_run(r, seg_ctl_request("show"), &err);
    JsonObject *rb = show ? web_run(r, seg_ctl_request("rollback_list"), &err) : NULL;
    JsonObject *committed, *pending = NULL;
    JsonNode *pn;
    GString *b;

    if (rb == NULL) {
        if (show)
            json_object_unref(show);
        if (status)
            json_object_unref(status);
        web_page_error(r, web_error_status(err), err->message);
        return;
    }
    committed = json_object_get_object_member(show, "committed");
    pn = json_object_get_member(show, "pending");
    if (pn != NULL && JSON_NODE_HOLDS_OBJECT(pn))
        pending = json_node_get_object(pn);
    b = g_string_new("<h1>SSL Configuration</h1>\n");
    flash(b, r);
    if (pending != NULL)
        g_string_append(b, "<p class=\"uncommitted\" id=\"uncommitted\">You have "
                        "uncommitted changes. They take effect only when you commit "
                        "them.</p>\n");
    config_table(b, pending ? pending : committed,
                 json_object_get_array_member(show, "warnings"));
    if (r->role >= WEB_ROLE_ADMIN)
        g_string_append(b, "<p><a class=\"button\" href=\"/edit\" id=\"edit\">Edit "
                        "Settings...</a></p>\n");
    notes(b);
    dest_section(b, r, show, pending ? pending : committed);
    group_section(b, r, show, pending ? pending : committed);
    pending_section(b, r, committed, pending,
                    json_object_has_member(show, "table_changes")
                    ? json_object_get_array_member(show, "table_changes") : NULL);
    live_section(b, status, g_object_get_data(G_OBJECT(r->msg), "live") != NULL);
    rollback_section(b, r, rb);
    json_object_unref(show);
    json_object_unref(rb);
    if (status)
        json_object_unref(status);
    page(r, 200, "SSL Configuration", b);
}

/* main_live_done - the page with the probes' answer */
static void main_live_done(web_req *r, JsonObject *status)
{
    main_render(r, status);
}

/* web_page_main - GET /: the SSL Configuration page (?live=1 probes) */
void web_page_main(web_req *r)
{
    g_autoptr(GError) err = NULL;
    GUri   *uri = soup_server_message_get_uri(r->msg);
    const char *q = g_uri_get_query(uri);
    JsonObject *status;

    if (q != NULL && strcmp(q, "live=1") == 0) {
        g_object_set_data(G_OBJECT(r->msg), "live", GINT_TO_POINTER(1));
        web_live(r, main_live_done);
        return;
    }
    status = web_run(r, seg_ctl_request("status"), &err);
    main_render(r, status);
}

/* login_form - the login page, with an error line when one is given */
static void login_form(web_req *r, int status, const char *error)
{
    GString *b = g_string_new("<h1>Log In</h1>\n");

    if (error != NULL) {
        g_string_append(b, "<p class=\"error\" id=\"error\">");
        append_esc(b, error);
        g_string_append(b, "</p>\n");
    }
    g_string_append(b, "<form method=\"post\" action=\"/login\" class=\"login\" id=\"login\">"
                    "<p><label for=\"username\">Username:</label> <input type=\"text\" "
                    "name=\"username\" id=\"username\" autocomplete=\"username\" "
                    "autofocus required></p><p><label for=\"password\">Passphrase:</label> "
                    "<input type=\"password\" name=\"password\" id=\"password\" "
                    "autocomplete=\"current-password\" required></p>"
                    "<p><button type=\"submit\" class=\"primary\" id=\"login-submit\">Login"
                    "</button></p></form>\n<p class=\"hint\">Log in with your system account. "
                    "Members of the segtls admin group can change and commit the settings; "
                    "other accounts can look.</p>\n");
    page(r, status, "Log In", b);
}

/* web_page_login - GET /login */
void web_page_login(web_req *r)
{
    if (r->sess != NULL) {
        web_redirect(r, "/");
        return;
    }
    login_form(r, 200, NULL);
}

/* login_post_done - PAM said yes or no */
static void login_post_done(web_req *r, const char *user, web_role role, int status,
                            const char *error)
{
    g_autofree char *cookie = NULL;
    web_session *s;

    if (error != NULL) {
        login_form(r, status, error);
        return;
    }
    s = web_session_new(r, user, role);
    cookie = g_strdup_printf(WEB_COOKIE "=%s; Path=/; HttpOnly; Secure; SameSite=Strict",
                             s->token);
    soup_message_headers_append(soup_server_message_get_response_headers(r->msg),
                                "Set-Cookie", cookie);
    web_redirect(r, "/");
}

/* web_page_login_post - POST /login */
void web_page_login_post(web_req *r)
{
    g_autofree char *user = web_form_field(r, "username");
    g_autofree char *password = web_form_field(r, "password");

    if (user == NULL || password == NULL) {
        login_form(r, 400, "Enter a username and a passphrase.");
        return;
    }
    web_login(r, user, password, login_post_done);
    memset(password, 0, strlen(password));
}

/* web_page_logout - POST /logout */
void web_page_logout(web_req *r)
{
    if (r->sess != NULL)
        web_session_end(r, r->sess);
    r->sess = NULL;
    soup_message_headers_append(soup_server_message_get_response_headers(r->msg),
                                "Set-Cookie", WEB_COOKIE "=; Path=/; Max-Age=0; "
                                "HttpOnly; Secure; SameSite=Strict");
    web_redirect(r, "/login");
}

/* version_boxes - the four boxes of one service, greyed as the rule says */
static void version_boxes(GString *out, const char *key, const char *value)
{
    unsigned mask = 0;
    unsigned lo, hi;

    (void) seg_methods_parse_value(value, &mask, NULL);
    lo = mask ? seg_methods_lowest(mask) : 0;
    hi = mask ? seg_methods_highest(mask) : 0;
    g_string_append_printf(out, "<span class=\"versions\" data-key=\"%s\">", key);
    for (int i = SEG_TLS_NVERS - 1; i >= 0; i--) {
        const seg_tlsver *v = &seg_tlsver_table[i];
        gboolean checked = (mask & v->bit) != 0;
        gboolean grey;

        if (checked)            /* a middle one, or the only one */
            grey = (v->bit != lo && v->bit != hi) || lo == hi;
        else                    /* not next to the run */
            grey = mask != 0 && v->bit != lo >> 1 && v->bit != hi << 1;
        g_string_append_printf(out, "<label class=\"ver%s\"><input type=\"checkbox\" "
                               "class=\"ver\" name=\"%s:%s\" id=\"%s:%s\" value=\"on\" "
                               "data-bit=\"%u\"%s%s> %s</label>", grey ? " grey" : "",
                               key, v->value, key, v->value, v->bit,
                               checked ? " checked" : "", grey ? " disabled" : "", v->human);
        if (checked && grey)
            g_string_append_printf(out, "<input type=\"hidden\" class=\"mirror\" "
                                   "name=\"%s:%s\" value=\"on\">", key, v->value);
        if (v->bit == SEG_TLS_V13)
            tls13_tip(out);
        g_string_append(out, " ");
    }
    g_string_append(out, "</span>");
}

/* mode_select - the TLS mode of a service */
static void mode_select(GString *out, const char *key, const char *value)
{
    const char *const *modes = g_str_has_prefix(key, "inbound.") ? inbound_modes
        : outbound_modes;

    g_string_append_printf(out, "<select name=\"%s\" id=\"%s\">", key, key);
    for (; *modes; modes++)
        g_string_append_printf(out, "<option value=\"%s\"%s>%s</option>", *modes,
                               strcmp(*modes, value) == 0 ? " selected" : "", *modes);
    g_string_append(out, "</select>");
}

/* toggle_box - an Enable box */
static void toggle_box(GString *out, const char *key, const char *value, const char *label)
{
    const struct toggle *t = NULL;

    for (gsize i = 0; i < G_N_ELEMENTS(toggles); i++)
        if (strcmp(toggles[i].key, key) == 0)
            t = &toggles[i];
    g_string_append_printf(out, "<label><input type=\"checkbox\" name=\"%s\" id=\"%s\" "
                           "value=\"%s\"%s> %s</label>", key, key, t->on,
                           strcmp(value, t->on) == 0 ? " checked" : "", label);
}

/* edit_form - the Edit Settings form over the values of cur */
static void edit_form(web_req *r, int status, JsonObject *cur, const char *error)
{
    GString *b = g_string_new("<h1>Edit SSL Configuration</h1>\n");

    if (error != NULL) {
        g_string_append(b, "<p class=\"error\" id=\"error\">");
        append_esc(b, error);
        g_string_append(b, "</p>\n");
    }
    g_string_append(b, "<form method=\"post\" action=\"/edit\" id=\"edit-form\">");
    csrf_field(b, r);
    g_string_append(b, "<input type=\"hidden\" name=\"" FIELD_FORM "\" value=\"edit\">"
                    "<table class=\"cfg edit\">\n");
    for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
        const char *skey = seg_service_key((seg_service) svc);
        gboolean first = TRUE;

        for (gsize i = 0; i < G_N_ELEMENTS(svc_rows); i++) {
            const struct svc_row *row = &svc_rows[i];
            const char *v;

            if (strcmp(row->svc, skey) != 0)
                continue;
            v = json_object_get_string_member_with_default(cur, row->key, "");
            g_string_append_printf(b, "<tr class=\"%s\">", first ? "svc" : "");
            if (first)
                g_string_append_printf(b, "<th rowspan=\"%u\">%s:</th>", svc_rows_count(skey),
                                       seg_service_title((seg_service) svc));
            g_string_append_printf(b, "<td class=\"label\">%s</td><td>", row->label);
            if (row->kind == R_METHODS)
                version_boxes(b, row->key, v);
            else if (row->kind == R_RENEG)
                toggle_box(b, row->key, v, "Enable");
            else if (row->kind == R_MODE)
                mode_select(b, row->key, v);
            else {
                g_autofree char *e = esc(v);

                g_string_append_printf(b, "<input type=\"text\" name=\"%s\" id=\"%s\" "
                                       "value=\"%s\" size=\"70\" spellcheck=\"false\">",
                                       row->key, row->key, e);
            }
            g_string_append(b, "</td></tr>\n");
            first = FALSE;
        }
    }
    g_string_append(b, "<tr class=\"svc\"><th>Other TLS Client Services:</th>"
                    "<td class=\"label\">Methods:</td><td>");
    toggle_box(b, "other_client.tlsv1_0",
               json_object_get_string_member_with_default(cur, "other_client.tlsv1_0", "off"),
               "TLS v1.0");
    g_string_append(b, " <span class=\"hint\">(TLS v1.2 and TLS v1.1 are always used)</span>"
                    "</td></tr>\n");
    for (int k = 0; k < 2; k++) {
        const char *key = k == 0 ? "peer_cert.fqdn" : "peer_cert.x509";

        g_string_append_printf(b, "<tr class=\"svc\"><th>Peer Certificate %s Validation:</th>"
                               "<td class=\"label\">" PEER_USE "</td><td>",
                               k == 0 ? "FQDN" : "X509");
        toggle_box(b, key, json_object_get_string_member_with_default(cur, key, "off"),
                   "Enable");
        g_string_append(b, "</td></tr>\n");
    }
    g_string_append(b, "</table>\n");
    notes(b);
    g_string_append(b, "<p><button type=\"submit\" class=\"primary\" id=\"submit\">Submit"
                    "</button> <a href=\"/\" class=\"button\">Cancel</a></p></form>\n");
    page(r, status, "Edit SSL Configuration", b);
}

/* web_page_edit - GET /edit */
void web_page_edit(web_req *r)
{
    g_autoptr(GError) err = NULL;
    JsonObject *show = web_run(r, seg_ctl_request("show"), &err);
    JsonNode *pn;

    if (show == NULL) {
        web_page_error(r, web_error_status(err), err->message);
        return;
    }
    pn = json_object_get_member(show, "pending");
    edit_form(r, 200, pn && JSON_NODE_HOLDS_OBJECT(pn) ? json_node_get_object(pn)
              : json_object_get_object_member(show, "committed"), NULL);
    json_object_unref(show);
}

/* version_box - is name "KEY:1.x" with KEY a methods key; *key gets KEY */
static gboolean version_box(const char *name, char **key, const seg_tlsver **ver)
{
    const char *colon = strchr(name, ':');
    g_autofree char *k = NULL;

    if (colon == NULL)
        return FALSE;
    k = g_strndup(name, (gsize) (colon - name));
    if (!g_str_has_suffix(k, ".methods") || !seg_settings_has_key(k)
        || (*ver = seg_tlsver_by_value(colon + 1)) == NULL)
        return FALSE;
    *key = g_steal_pointer(&k);
    return TRUE;
}

/* form_settings - the set request's pairs from the posted form */
static JsonObject *form_settings(GHashTable *form)
{
    JsonObject *s = json_object_new();
    GHashTable *boxes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_iter_init(&it, form);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        char   *key = NULL;
        const seg_tlsver *ver;

        if (strcmp(k, "csrf") == 0 || strcmp(k, FIELD_FORM) == 0)
            continue;
        if (version_box(k, &key, &ver)) {
            unsigned mask = GPOINTER_TO_UINT(g_hash_table_lookup(boxes, key));

            g_hash_table_replace(boxes, key, GUINT_TO_POINTER(mask | ver->bit));
            continue;
        }
        json_object_set_string_member(s, k, v);
    }
    for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
        g_autofree char *key = g_strdup_printf("%s.methods", seg_service_key((seg_service) svc));
        unsigned mask = GPOINTER_TO_UINT(g_hash_table_lookup(boxes, key));
        GString *val;

        if (json_object_has_member(s, key))
            continue;               /* the key itself wins over its boxes */
        val = g_string_new(NULL);
        for (guint i = 0; i < SEG_TLS_NVERS; i++)
            if (mask & seg_tlsver_table[i].bit)
                g_string_append_printf(val, "%s%s", val->len ? "," : "",
                                       seg_tlsver_table[i].value);
        json_object_set_string_member(s, key, val->str);
        g_string_free(val, TRUE);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(toggles); i++)
        if (!json_object_has_member(s, toggles[i].key))
            json_object_set_string_member(s, toggles[i].key, toggles[i].off);
    g_hash_table_destroy(boxes);
    return s;
}

/* form_values - what the form showed, for showing it again after an error */
static JsonObject *form_values(web_req *r, JsonObject *settings)
{
    const seg_settings *p = seg_store_pending(r->pd->store);
    JsonObject *cur = seg_settings_to_json(p ? p : seg_store_committed(r->pd->store));
    JsonObjectIter it;
    const char *k;
    JsonNode *v;

    json_object_iter_init(&it, settings);
    while (json_object_iter_next(&it, &k, &v))
        if (seg_settings_has_key(k) && JSON_NODE_HOLDS_VALUE(v))
            json_object_set_string_member(cur, k, json_node_get_string(v));
    return cur;
}

/* web_page_edit_post - POST /edit: all or nothing through the set path */
void web_page_edit_post(web_req *r)
{
    g_autoptr(GError) err = NULL;
    GHashTable *form = web_form(r);
    JsonObject *settings = form_settings(form);
    g_autoptr(JsonObject) shown = form_values(r, settings);
    JsonObject *resp;

    g_hash_table_destroy(form);
    if ((resp = web_set(r, settings, &err)) == NULL) {
        edit_form(r, web_error_status(err), shown, err->message);
        return;
    }
    json_object_unref(resp);
    set_flash(r, FALSE, "%s", seg_store_pending(r->pd->store)
              ? "Your changes are pending. Commit them to make them take effect."
              : "No change from the committed configuration.");
    web_redirect(r, "/");
}

/* page_commit_done - the commit's answer, now or after the apply */
static void page_commit_done(web_req *r, JsonObject *resp)
{
    char    when[SEG_RECFMT_TIME_LEN];
    web_session *s = r->token ? web_session_lookup(r->token) : NULL;

    r->sess = s;
    if (json_object_get_boolean_member_with_default(resp, "ok", FALSE)) {
        if (json_object_get_boolean_member_with_default(resp, "nothing", FALSE)) {
            set_flash(r, FALSE, "There is no data to commit.");
        } else {
            if (seg_recfmt_time(time(NULL), when, sizeof(when)) == 0)
                g_strlcpy(when, "unknown", sizeof(when));
            set_flash(r, FALSE, "Changes committed: %s", when);
        }
    } else {
        const char *e = json_object_get_string_member_with_default(resp, "error", "commit failed");

        set_flash(r, TRUE, "%s. Your changes are still pending.", e);
    }
    json_object_unref(resp);
    web_redirect(r, "/");
}

/* web_page_commit - POST /commit (comment, keep) */
void web_page_commit(web_req *r)
{
    g_autofree char *comment = web_form_field(r, "comment");
    g_autofree char *keep = web_form_field(r, "keep");

    web_commit(r, comment ? comment : "", keep != NULL, page_commit_done);
}

/* web_page_clear - POST /clear */
void web_page_clear(web_req *r)
{
    g_autoptr(GError) err = NULL;
    JsonObject *resp = web_run(r, seg_ctl_request("clear"), &err);

    if (resp == NULL) {
        web_page_error(r, web_error_status(err), err->message);
        return;
    }
    if (json_object_get_boolean_member_with_default(resp, "nothing", TRUE)) {
        set_flash(r, FALSE, "There are no changes to clear.");
    } else {
        web_record_action(r, "Pending changes cleared");
        set_flash(r, FALSE, "Changes cleared.");
    }
    json_object_unref(resp);
    web_redirect(r, "/");
}

/* web_page_rollback - POST /rollback (id) */
void web_page_rollback(web_req *r)
{
    g_autofree char *id = web_form_field(r, "id");

    if (!web_restore(r, id))
        return;
    set_flash(r, FALSE, "Configuration %s restored as pending changes. Commit them to "
              "apply it.", id);
    web_redirect(r, "/");
}

/* table_post - run one table change of a form; flash what happened, back to / */
static void table_post(web_req *r, JsonObject *req, const char *what, const char *name,
                       gboolean delete)
{
    g_autoptr(GError) err = NULL;
    JsonObject *resp = web_run(r, req, &err);

    if (resp == NULL) {
        set_flash(r, TRUE, "%s", err->message);
        web_redirect(r, "/");
        return;
    }
    json_object_unref(resp);
    web_record_action(r, "Pending changes saved: %s %s %s", what, name,
                      delete ? "deleted" : "set");
    set_flash(r, FALSE, "%s %s %s. Commit the changes to apply them.", what, name,
              delete ? "deleted" : "saved");
    web_redirect(r, "/");
}

/* field - one form field, "" when absent */
static const char *field(GHashTable *form, const char *name)
{
    const char *v = form ? g_hash_table_lookup(form, name) : NULL;

    return v ? v : "";
}

/* web_page_dest_post - POST /destinations: save or delete an entry */
void web_page_dest_post(web_req *r)
{
    GHashTable *form = web_form(r);
    gboolean delete = strcmp(field(form, "do"), "delete") == 0;
    JsonObject *req = seg_ctl_request(delete ? "dest_delete" : "dest_set");
    g_autofree char *domain = g_strdup(field(form, "domain"));

    json_object_set_string_member(req, "domain", domain);
    if (!delete) {
        json_object_set_string_member(req, "tls", field(form, "tls"));
        json_object_set_string_member(req, "methods", field(form, "methods"));
        json_object_set_string_member(req, "ciphers", field(form, "ciphers"));
        json_object_set_string_member(req, "exclude", field(form, "exclude"));
    }
    if (form)
        g_hash_table_destroy(form);
    table_post(r, req, "Destination", domain, delete);
}

/* web_page_group_post - POST /sendergroups: save or delete a group */
void web_page_group_post(web_req *r)
{
    GHashTable *form = web_form(r);
    gboolean delete = strcmp(field(form, "do"), "delete") == 0;
    JsonObject *req = seg_ctl_request(delete ? "group_delete" : "group_set");
    g_autofree char *name = g_strdup(field(form, "name"));

    json_object_set_string_member(req, "name", name);
    if (!delete) {
        g_auto(GStrv) words = g_strsplit_set(field(form, "members"), ", \t", -1);
        JsonArray *m = json_array_new();

        for (char **w = words; *w; w++)
            if (**w)
                json_array_add_string_element(m, *w);
        json_object_set_string_member(req, "tls", field(form, "tls"));
        json_object_set_array_member(req, "members", m);
    }
    if (form)
        g_hash_table_destroy(form);
    table_post(r, req, "Sender group", name, delete);
}
