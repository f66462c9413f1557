/*
 * live - what the servers negotiate now, against what they should: the
 * live part of `segtls status` and of the web UI's page.
 *
 * segtls-policyd's status answer lists each service with its committed
 * methods ("configured") and the versions that can really negotiate with
 * them ("usable", found by in-memory handshakes), and names the probe
 * target of GUI HTTPS and the Postfix options of its apply
 * configuration. GUI HTTPS is probed at its target once per TLS version
 * (lib/tls/probe.h). The Postfix services come from master.cf as apply
 * sees them (seg_apply_services): every service that runs smtpd, smtp or
 * lmtp, the segtls service that governs it or "not governed", and for an
 * inet smtpd service the versions it negotiates now (STARTTLS, or direct
 * TLS in wrapper mode). Live differing from what should negotiate on a
 * service segtls governs (the usable versions; none for an smtpd at
 * security level none) is drift: someone changed the server behind
 * segtls's back, or an apply did not take.
 */
#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "live.h"
#include "probe.h"
#include "tlsver.h"

/* The segtls keys of the services a Postfix service may be governed by. */
static const char *const governor_key[SEG_SVC_COUNT] = {
    [SEG_SVC_INBOUND] = "inbound",
    [SEG_SVC_OUTBOUND] = "outbound",
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

/* probe - the versions that negotiate at where; FALSE when unreachable */
static gboolean probe(const char *where, seg_probe_kind kind, int port,
                      double timeout, unsigned *live, char **failure)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *host = NULL;
    seg_probe_result *res[SEG_TLS_NVERS];
    seg_probe_opts o = {0};
    gboolean reached = FALSE;

    *live = 0;
    if (!seg_probe_parse_target(where, port, &host, &o.port, &err)) {
        *failure = g_strdup(err->message);
        return FALSE;
    }
    o.host = host;
    o.kind = kind;
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

/*
 * set_live - probe where, record live/unreachable/drift in obj; drift
 * only when expect is given (>= 0). TRUE when it drifts or is unreachable.
 */
static gboolean set_live(JsonObject *obj, const char *where, seg_probe_kind kind,
                         int port, double timeout, int expect)
{
    g_autofree char *failure = NULL;
    g_autofree char *text = NULL;
    unsigned live;

    json_object_set_string_member(obj, "target", where);
    if (!probe(where, kind, port, timeout, &live, &failure)) {
        json_object_set_boolean_member(obj, "unreachable", TRUE);
        json_object_set_string_member(obj, "failure", failure);
        json_object_set_boolean_member(obj, "drift", FALSE);
        return TRUE;
    }
    text = mask_text(live);
    json_object_set_boolean_member(obj, "unreachable", FALSE);
    json_object_set_string_member(obj, "live", text);
    json_object_set_boolean_member(obj, "drift", expect >= 0 && live != (unsigned) expect);
    return expect >= 0 && live != (unsigned) expect;
}

/* seg_live_service - the object of a segtls service in the answer, or NULL */
JsonObject *seg_live_service(JsonObject *resp, const char *key)
{
    JsonNode *node = json_object_get_member(resp, "services");
    JsonArray *arr;

    if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node))
        return NULL;
    arr = json_node_get_array(node);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *e = json_array_get_element(arr, i);

        if (JSON_NODE_HOLDS_OBJECT(e)
            && strcmp(json_object_get_string_member_with_default(
                          json_node_get_object(e), "service", ""), key) == 0)
            return json_node_get_object(e);
    }
    return NULL;
}

/* strv_of - an array member of strings as a vector (NULL when absent) */
static char **strv_of(JsonObject *resp, const char *member)
{
    JsonNode *node = json_object_get_member(resp, member);
    GPtrArray *out;
    JsonArray *arr;

    if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node))
        return NULL;
    arr = json_node_get_array(node);
    out = g_ptr_array_new();
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *e = json_array_get_element(arr, i);

        if (JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_STRING)
            g_ptr_array_add(out, g_strdup(json_node_get_string(e)));
    }
    g_ptr_array_add(out, NULL);
    return (char **) g_ptr_array_free(out, FALSE);
}

/* inbound_expect - what a governed smtpd service should negotiate */
static unsigned inbound_expect(JsonObject *resp, const seg_pf_service *sv)
{
    JsonObject *in = seg_live_service(resp, "inbound");
    gboolean tls = sv->wrapper || (*sv->level && strcmp(sv->level, "none") != 0);

    if (in == NULL || !tls)
        return 0;
    return value_mask(json_object_get_string_member_with_default(in, "usable", ""));
}

/* postfix_live - the Postfix services, governed or not, and their live versions */
static gboolean postfix_live(JsonObject *resp, double timeout)
{
    g_auto(GStrv) smtpd = strv_of(resp, "smtpd_services");
    g_auto(GStrv) smtp = strv_of(resp, "smtp_services");
    g_auto(GStrv) exclude = strv_of(resp, "exclude_services");
    g_auto(GStrv) probes = strv_of(resp, "probe_smtp_list");
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) all = NULL;
    seg_apply_opts o = {0};
    JsonArray *arr;
    gboolean bad = FALSE;

    o.postfix_dir = json_object_get_string_member_with_default(resp, "postfix_dir", NULL);
    if (o.postfix_dir == NULL)
        return FALSE;
    o.smtpd_services = (const char *const *) smtpd;
    o.smtp_services = (const char *const *) smtp;
    o.exclude_services = (const char *const *) exclude;
    o.probe_smtp = (const char *const *) probes;
    if ((all = seg_apply_services(&o, &err)) == NULL) {
        json_object_set_string_member(resp, "postfix_error", err->message);
        return TRUE;
    }
    arr = json_array_new();
    for (guint i = 0; i < all->len; i++) {
        const seg_pf_service *sv = g_ptr_array_index(all, i);
        JsonObject *obj;

        if (strcmp(sv->command, "smtpd") != 0 && strcmp(sv->command, "smtp") != 0
            && strcmp(sv->command, "lmtp") != 0)
            continue;
        obj = json_object_new();
        json_object_set_string_member(obj, "service", sv->name);
        json_object_set_string_member(obj, "command", sv->command);
        if (sv->governed >= 0)
            json_object_set_string_member(obj, "governed_by", governor_key[sv->governed]);
        else
            json_object_set_null_member(obj, "governed_by");
        json_object_set_boolean_member(obj, "wrapper", sv->wrapper);
        if (sv->target != NULL
            && set_live(obj, sv->target, sv->wrapper ? SEG_PROBE_SMTPS : SEG_PROBE_SMTP,
                        sv->wrapper ? 465 : 25, timeout,
                        sv->governed == SEG_SVC_INBOUND
                        ? (int) inbound_expect(resp, sv) : -1))
            bad = TRUE;
        json_array_add_object_element(arr, obj);
    }
    json_object_set_array_member(resp, "postfix_services", arr);
    return bad;
}

/* seg_live_probe - probe GUI HTTPS and the Postfix services */
gboolean seg_live_probe(JsonObject *resp, double timeout)
{
    JsonObject *gui = seg_live_service(resp, "gui");
    const char *where = json_object_get_string_member_with_default(resp, "probe_https", NULL);
    gboolean bad = FALSE;

    if (gui != NULL && where != NULL && *where
        && set_live(gui, where, SEG_PROBE_TLS, 443, timeout,
                    (int) value_mask(json_object_get_string_member_with_default(
                                         gui, "usable", ""))))
        bad = TRUE;
    if (postfix_live(resp, timeout))
        bad = TRUE;
    json_object_set_boolean_member(resp, "drift", bad);
    return bad;
}
