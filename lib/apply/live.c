/*
 * live - what the servers negotiate now, against what they should.
 *
 * segtls-policyd's status answer lists each service with its committed
 * methods ("configured") and the versions that can really negotiate with
 * them ("usable", found by in-memory handshakes), and names the probe
 * targets of its apply configuration. Here each server service with a
 * target is probed once per TLS version (lib/tls/probe.h); the versions that
 * negotiate are "live". Live differing from what should negotiate (the
 * usable versions; none for Inbound SMTP at inbound.tls=no) is drift:
 * someone changed the server behind segtls's back, or an apply did not
 * take. Outbound SMTP has no server to probe. Used by `segtls status` and
 * the web UI's live column.
 */
#include <stdio.h>
#include <string.h>

#include "live.h"
#include "probe.h"
#include "tlsver.h"

static const struct target {
    const char *service;        /* "gui" */
    const char *member;         /* member of the status answer with HOST:PORT */
    seg_probe_kind kind;
    int         port;           /* default port */
} targets[] = {
    {"gui", "probe_https", SEG_PROBE_TLS, 443},
    {"inbound", "probe_smtp", SEG_PROBE_SMTP, 25},
};

/* mask_text - "1.1-1.2", "1.0,1.2", or "" for none */
static char *mask_text(unsigned mask)
{
    GString *out = g_string_new(NULL);
    unsigned low = mask & -mask;

    if (mask == 0)
        return g_string_free(out, FALSE);
    if (((mask / low + 1) & (mask / low)) == 0) {   /* one run of bits */
        g_string_free(out, TRUE);
        return seg_methods_value(mask);
    }
    for (guint i = 0; i < SEG_TLS_NVERS; i++)
        if (mask & seg_tlsver_table[i].bit)
            g_string_append_printf(out, "%s%s", out->len ? "," : "",
                                   seg_tlsver_table[i].value);
    return g_string_free(out, FALSE);
}

/* value_mask - "1.1-1.2" to a mask; "" and garbage are none */
static unsigned value_mask(const char *value)
{
    unsigned mask = 0;

    if (value == NULL || *value == 0
        || !seg_methods_parse_value(value, &mask, NULL))
        return 0;
    return mask;
}

/* probe - the versions that negotiate at target; FALSE when unreachable */
static gboolean probe(const struct target *t, const char *where, double timeout,
                      unsigned *live, char **failure)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *host = NULL;
    seg_probe_result *res[SEG_TLS_NVERS];
    seg_probe_opts o = {0};
    gboolean reached = FALSE;

    *live = 0;
    if (!seg_probe_parse_target(where, t->port, &host, &o.port, &err)) {
        *failure = g_strdup(err->message);
        return FALSE;
    }
    o.host = host;
    o.kind = t->kind;
    o.timeout = timeout;
    *live = seg_probe_all(&o, res);
    for (guint i = 0; i < SEG_TLS_NVERS; i++) {
        if (res[i]->status != SEG_PROBE_UNREACHABLE)
            reached = TRUE;
        else if (*failure == NULL)
            *failure = g_strdup(res[i]->failure ? res[i]->failure : "unreachable");
        seg_probe_result_free(res[i]);
    }
    if (reached)
        g_clear_pointer(failure, g_free);
    return reached;
}

/* service_live - probe one service object when it has a target */
static gboolean service_live(JsonObject *resp, JsonObject *svc, double timeout)
{
    const char *name = json_object_get_string_member_with_default(svc, "service", "");
    const char *tls = json_object_get_string_member_with_default(svc, "tls", "");
    g_autofree char *failure = NULL;
    g_autofree char *text = NULL;
    const char *where;
    unsigned expect;
    unsigned live;

    for (gsize i = 0; i < G_N_ELEMENTS(targets); i++) {
        if (strcmp(targets[i].service, name) != 0)
            continue;
        where = json_object_get_string_member_with_default(resp, targets[i].member, NULL);
        if (where == NULL || *where == 0)
            return FALSE;
        json_object_set_string_member(svc, "target", where);
        if (!probe(&targets[i], where, timeout, &live, &failure)) {
            json_object_set_boolean_member(svc, "unreachable", TRUE);
            json_object_set_string_member(svc, "failure", failure);
            json_object_set_boolean_member(svc, "drift", FALSE);
            return TRUE;
        }
        expect = strcmp(tls, "no") == 0
            ? 0 : value_mask(json_object_get_string_member_with_default(svc, "usable", ""));
        text = mask_text(live);
        json_object_set_boolean_member(svc, "unreachable", FALSE);
        json_object_set_string_member(svc, "live", text);
        json_object_set_boolean_member(svc, "drift", live != expect);
        return live != expect;
    }
    return FALSE;
}

/* seg_live_probe - probe every service that has a target */
gboolean seg_live_probe(JsonObject *resp, double timeout)
{
    JsonNode *node = json_object_get_member(resp, "services");
    gboolean bad = FALSE;
    JsonArray *arr;

    if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node))
        return FALSE;
    arr = json_node_get_array(node);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *e = json_array_get_element(arr, i);

        if (JSON_NODE_HOLDS_OBJECT(e) && service_live(resp, json_node_get_object(e), timeout))
            bad = TRUE;
    }
    json_object_set_boolean_member(resp, "drift", bad);
    return bad;
}
