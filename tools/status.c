/*
 * status - the lines of `segtls status`: in cluster mode where this
 * machine stands in its cluster, the settings file and apply, configured,
 * usable and live TLS versions per service, renegotiation as it really
 * holds, and the Postfix services with the segtls service that governs
 * each (the live figures come from lib/apply/live.c).
 */
#include <stdio.h>
#include <string.h>

#include "live.h"
#include "recfmt.h"
#include "status.h"

/* or_none - a version list, "none" when empty */
static const char *or_none(const char *text)
{
    return text && *text ? text : "none";
}

/* live_text - ", live 1.2-1.3 (TARGET)", ", live unreachable (WHY)", "" */
static void live_text(GString *out, JsonObject *obj, const char *extra)
{
    const char *target = json_object_get_string_member_with_default(obj, "target", NULL);

    if (target == NULL)
        return;
    if (json_object_get_boolean_member_with_default(obj, "unreachable", FALSE)) {
        g_string_append_printf(out, ", live unreachable (%s)",
                               json_object_get_string_member_with_default(obj, "failure",
                                                                          target));
        return;
    }
    g_string_append_printf(out, ", live %s (%s%s)%s",
                           or_none(json_object_get_string_member_with_default(obj, "live", "")),
                           target, extra,
                           json_object_get_boolean_member_with_default(obj, "drift", FALSE)
                           ? ": drift" : "");
}

/*
 * print_renegotiation - "GUI HTTPS TLS renegotiation: Enabled (nginx
 * cannot renegotiate; not applied)", as the sslconfig listing says it
 */
static void print_renegotiation(JsonArray *arr)
{
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonObject *s = json_array_get_object_element(arr, i);
        const char *r = json_object_get_string_member_with_default(s, "renegotiation", NULL);
        const char *note = json_object_get_string_member_with_default(s, "renegotiation_note",
                                                                      NULL);

        if (r == NULL)
            continue;
        printf("%s TLS renegotiation: %s%s%s%s\n",
               json_object_get_string_member_with_default(s, "title", "?"),
               strcmp(r, "enabled") == 0 ? "Enabled" : "Disabled",
               note ? " (" : "", note ? note : "", note ? ")" : "");
    }
}

/* print_postfix - one line per Postfix service */
static void print_postfix(JsonObject *resp)
{
    const char *dir = json_object_get_string_member_with_default(resp, "postfix_dir", NULL);
    const char *error = json_object_get_string_member_with_default(resp, "postfix_error", NULL);
    JsonNode *node = json_object_get_member(resp, "postfix_services");
    JsonArray *arr;

    if (dir == NULL)
        return;
    if (error != NULL) {
        printf("Postfix services (%s): cannot list them: %s\n", dir, error);
        return;
    }
    if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node))
        return;
    printf("Postfix services (%s):\n", dir);
    arr = json_node_get_array(node);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonObject *s = json_array_get_object_element(arr, i);
        const char *by = json_object_get_string_member_with_default(s, "governed_by", NULL);
        JsonObject *svc = by ? seg_live_service(resp, by) : NULL;
        g_autoptr(GString) line = g_string_new(NULL);

        g_string_append_printf(line, "  %s (%s): %s",
                               json_object_get_string_member_with_default(s, "service", "?"),
                               json_object_get_string_member_with_default(s, "command", "?"),
                               svc ? json_object_get_string_member_with_default(svc, "title", by)
                               : "not governed");
        live_text(line, s, json_object_get_boolean_member_with_default(s, "wrapper", FALSE)
                  ? ", TLS wrapper" : "");
        printf("%s\n", line->str);
    }
}

/* segtls_status_cluster_bad - is this machine out of step with its cluster? */
gboolean segtls_status_cluster_bad(JsonObject *resp)
{
    JsonNode *cn = json_object_get_member(resp, "cluster");
    JsonObject *c;

    if (cn == NULL || !JSON_NODE_HOLDS_OBJECT(cn))
        return FALSE;
    c = json_node_get_object(cn);
    return !json_object_get_boolean_member_with_default(c, "reachable", TRUE)
        || !json_object_get_boolean_member_with_default(c, "joined", FALSE)
        || json_object_get_boolean_member_with_default(c, "apply_failed", FALSE)
        || json_object_get_int_member_with_default(c, "applied_revision", 0)
        != json_object_get_int_member_with_default(c, "revision", 0);
}

/* print_cluster - the cluster lines */
static void print_cluster(JsonObject *c)
{
    const char *name = json_object_get_string_member_with_default(c, "name", "?");
    gint64  rev = json_object_get_int_member_with_default(c, "revision", 0);
    gint64  applied = json_object_get_int_member_with_default(c, "applied_revision", 0);
    gint64  tried = json_object_get_int_member_with_default(c, "attempted_revision", 0);
    g_autofree char *why = g_strdup(json_object_get_string_member_with_default(c,
                                                                   "etcd_error", ""));
    g_autofree char *reason = g_strdup(json_object_get_string_member_with_default(c,
                                                                   "reason", ""));
    why[seg_recfmt_clean(why, why, strlen(why), 0)] = 0;
    reason[seg_recfmt_clean(reason, reason, strlen(reason), 0)] = 0;
    printf("Cluster %s: machine %s in group %s, etcd %s\n", name,
           json_object_get_string_member_with_default(c, "machine", "?"),
           json_object_get_string_member_with_default(c, "group", "?"),
           json_object_get_string_member_with_default(c, "endpoint", "?"));
    if (!json_object_get_boolean_member_with_default(c, "reachable", TRUE)) {
        printf("Cluster %s: etcd unreachable since %s (%s); serving the last applied "
               "configuration (revision %" G_GINT64_FORMAT ")\n", name,
               json_object_get_string_member_with_default(c, "unreachable_since", "?"),
               why, applied);
    }
    if (!json_object_get_boolean_member_with_default(c, "joined", FALSE)) {
        printf("Cluster %s: this machine has not joined (segtls cluster join)\n", name);
        return;
    }
    if (json_object_get_boolean_member_with_default(c, "apply_failed", FALSE)) {
        printf("Cluster %s: revision %" G_GINT64_FORMAT " failed here: %s; serving revision %"
               G_GINT64_FORMAT "\n", name, tried, reason, applied);
    } else if (applied == rev) {
        printf("Cluster %s: revision %" G_GINT64_FORMAT " applied here\n", name, rev);
    } else {
        printf("Cluster %s: revision %" G_GINT64_FORMAT " committed, revision %"
               G_GINT64_FORMAT " applied here\n", name, rev, applied);
    }
}

/* segtls_status_print - the cluster, file and apply lines, one line per service, the Postfix services */
void segtls_status_print(JsonObject *resp)
{
    const char *conf = json_object_get_string_member_with_default(resp, "apply_config", "");
    const char *bad = json_object_get_string_member_with_default(resp, "config_error", NULL);
    JsonNode *cn = json_object_get_member(resp, "cluster");
    JsonNode *node = json_object_get_member(resp, "services");
    JsonArray *arr;

    if (cn != NULL && JSON_NODE_HOLDS_OBJECT(cn))
        print_cluster(json_node_get_object(cn));
    if (bad != NULL)
        printf("Settings file: invalid on disk: %s; the last good configuration "
               "stays in force until a valid file is loaded (SIGHUP)\n", bad);
    if (json_object_get_boolean_member_with_default(resp, "apply", FALSE))
        printf("Apply on commit: yes (%s)\n", conf);
    else if (json_object_get_boolean_member_with_default(resp, "apply_file", FALSE))
        printf("Apply on commit: no (disabled in %s)\n", conf);
    else
        printf("Apply on commit: no (no %s)\n", conf);
    if (json_object_get_boolean_member_with_default(resp, "applying", FALSE))
        printf("An apply is in progress.\n");
    if (node != NULL && JSON_NODE_HOLDS_ARRAY(node)) {
        arr = json_node_get_array(node);
        for (guint i = 0; i < json_array_get_length(arr); i++) {
            JsonObject *s = json_array_get_object_element(arr, i);
            g_autoptr(GString) line = g_string_new(NULL);

            g_string_append_printf(line, "%s: configured %s, usable %s",
                json_object_get_string_member_with_default(s, "title", "?"),
                or_none(json_object_get_string_member_with_default(s, "configured", "")),
                or_none(json_object_get_string_member_with_default(s, "usable", "")));
            live_text(line, s, "");
            printf("%s\n", line->str);
        }
        print_renegotiation(arr);
    }
    print_postfix(resp);
}
