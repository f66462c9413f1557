/*
 * drift - segtls-policyd's own live probe, for the metrics: policy drift
 * per service.
 *
 * With --metrics, every --drift-interval seconds (and once at start) the
 * daemon asks itself for the status answer `segtls status` gets (op_status
 * in ops.c, the apply members from apply.c, through policyd_run like any
 * other caller, read-only) and probes it with seg_live_probe
 * (lib/apply/live.c) in a worker thread (GTask): the handshakes never run
 * on the main loop. A tick while a probe still runs, or while an apply
 * runs (its servers are being changed), is skipped. What the probe saw
 * becomes the gauges
 *
 *   segtls_policy_drift{service}                   1 drift, 0 in step
 *   segtls_policy_live_version{service,target,version}  1 negotiates
 *   segtls_policy_unreachable{service,target}      1 no handshake at all
 *
 * for the segtls services it probed (GUI HTTPS at probe-https, Inbound
 * SMTP at each smtpd service it governs), each set replaced whole
 * (seg_metrics_replace), plus segtls_policy_probes_total and the time of
 * the last probe. A service drifts when one of its servers negotiates
 * other versions than its committed settings allow (live.c says how);
 * an unreachable server is no drift but its own gauge. A server that
 * starts or stops drifting, and a master.cf that cannot be read, are
 * logged once.
 */
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "live.h"
#include "metrics.h"
#include "msg.h"
#include "policyd.h"
#include "tlsver.h"

#define DRIFT_TIMEOUT   5.0     /* seconds per network step of a probe */
#define DRIFT_USER      "segtls-policyd (drift probe)"

static struct {
    policyd    *pd;
    guint       timer;
    gboolean    busy;           /* a status or live probe runs */
    policyd_conn conn;          /* how the status answer comes back */
    GHashTable *drifting;       /* "service target" drifting at the last probe */
    char       *postfix_error;  /* of the last probe, logged once */
} dr;

/* The series of one probe, before they replace the last ones. */
typedef struct probe_set {
    GPtrArray  *labels;         /* of each family, with its values */
    GArray     *values;
} probe_set;

/* set_add - one series of a set */
static void set_add(probe_set *s, char *labels, double value)
{
    g_ptr_array_add(s->labels, labels);
    g_array_append_val(s->values, value);
}

/* set_publish - the set replaces the family's series, and is freed */
static void set_publish(probe_set *s, const char *name)
{
    seg_metrics_replace(name, (const char *const *) s->labels->pdata,
                        (const double *) (void *) s->values->data, s->labels->len);
    g_ptr_array_unref(s->labels);
    g_array_unref(s->values);
}

/* set_init - an empty set */
static void set_init(probe_set *s)
{
    s->labels = g_ptr_array_new_with_free_func(g_free);
    s->values = g_array_new(FALSE, FALSE, sizeof(double));
}

/* live_mask - the versions of a "live" text ("1.2-1.3", "1.0,1.2", "") */
static unsigned live_mask(const char *text)
{
    g_auto(GStrv) parts = g_strsplit(text ? text : "", ",", 0);
    unsigned mask = 0, one;

    for (char **p = parts; *p != NULL; p++)
        if (**p && seg_methods_parse_value(*p, &one, NULL))
            mask |= one;
    return mask;
}

/* server - one probed server (an object live.c filled) of service into the sets */
static void server(const char *service, JsonObject *o, probe_set *live, probe_set *down,
                   GHashTable *drift, GHashTable *drifting)
{
    const char *target = json_object_get_string_member_with_default(o, "target", "");
    gboolean unreachable = json_object_get_boolean_member_with_default(o, "unreachable", FALSE);
    gboolean drifts = json_object_get_boolean_member_with_default(o, "drift", FALSE);
    const char *text = json_object_get_string_member_with_default(o, "live", "");
    char   *key = g_strdup_printf("%s %s", service, target);
    unsigned mask = live_mask(text);

    set_add(down, seg_metrics_labels("service", service, "target", target, NULL),
            unreachable ? 1 : 0);
    for (guint i = 0; !unreachable && i < SEG_TLS_NVERS; i++)
        set_add(live, seg_metrics_labels("service", service, "target", target, "version",
                                         seg_tlsver_table[i].value, NULL),
                (mask & seg_tlsver_table[i].bit) ? 1 : 0);
    if (drifts || !g_hash_table_contains(drift, service))
        g_hash_table_insert(drift, (gpointer) service, GINT_TO_POINTER(drifts));
    if (drifts && !g_hash_table_contains(dr.drifting, key))
        msg_warn("drift: %s at %s negotiates %s, not what the committed settings allow "
                 "(segtls status shows it; segtls apply applies them again)", service,
                 target, *text ? text : "no TLS version");
    else if (!drifts && !unreachable && g_hash_table_contains(dr.drifting, key))
        msg_info("drift: %s at %s is in step again (%s)", service, target, text);
    if (drifts || (unreachable && g_hash_table_contains(dr.drifting, key)))
        g_hash_table_add(drifting, g_steal_pointer(&key));
    g_free(key);
}

/* publish - the gauges of what the probe saw */
static void publish(JsonObject *probed)
{
    JsonObject *gui = seg_live_service(probed, "gui");
    JsonNode *pf = json_object_get_member(probed, "postfix_services");
    const char *perr = json_object_get_string_member_with_default(probed, "postfix_error",
                                                                   NULL);
    g_autoptr(GHashTable) drift = g_hash_table_new(g_str_hash, g_str_equal);
    GHashTable *drifting = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    probe_set live, down, svc;
    GHashTableIter it;
    gpointer k, v;

    set_init(&live);
    set_init(&down);
    set_init(&svc);
    if (gui != NULL && json_object_has_member(gui, "target"))
        server("gui", gui, &live, &down, drift, drifting);
    for (guint i = 0; pf != NULL && JSON_NODE_HOLDS_ARRAY(pf)
         && i < json_array_get_length(json_node_get_array(pf)); i++) {
        JsonObject *o = json_array_get_object_element(json_node_get_array(pf), i);
        const char *by = o ? json_object_get_string_member_with_default(o, "governed_by",
                                                                         NULL) : NULL;

        if (by != NULL && json_object_has_member(o, "target"))
            server(by, o, &live, &down, drift, drifting);
    }
    g_hash_table_iter_init(&it, drift);
    while (g_hash_table_iter_next(&it, &k, &v))
        set_add(&svc, seg_metrics_labels("service", (const char *) k, NULL),
                GPOINTER_TO_INT(v) ? 1 : 0);
    set_publish(&svc, "segtls_policy_drift");
    set_publish(&live, "segtls_policy_live_version");
    set_publish(&down, "segtls_policy_unreachable");
    seg_metrics_add("segtls_policy_probes_total", NULL, 1);
    seg_metrics_set("segtls_policy_probe_timestamp_seconds", NULL, (double) time(NULL));
    g_hash_table_unref(dr.drifting);
    dr.drifting = drifting;
    if (perr != NULL && g_strcmp0(perr, dr.postfix_error) != 0)
        msg_warn("drift: the Postfix services are not probed: %s", perr);
    g_free(dr.postfix_error);
    dr.postfix_error = g_strdup(perr);
}

/* live_thread - the handshakes, in a worker thread */
static void live_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
    (void) seg_live_probe(data, DRIFT_TIMEOUT);
    g_task_return_boolean(task, TRUE);
}

/* live_done - back on the main loop: the gauges */
static void live_done(GObject *source, GAsyncResult *res, gpointer data)
{
    JsonObject *probed = data;

    if (dr.pd != NULL)
        publish(probed);
    json_object_unref(probed);
    dr.busy = FALSE;
}

/* status_reply - the status answer is here: probe it off the main loop */
static void status_reply(policyd_conn *conn, JsonObject *resp, const GError *error)
{
    GTask  *task;

    if (resp == NULL) {
        msg_warn("drift: no status answer: %s", error ? error->message : "?");
        dr.busy = FALSE;
        return;
    }
    task = g_task_new(NULL, NULL, live_done, resp);
    g_task_set_task_data(task, resp, NULL);
    g_task_run_in_thread(task, live_thread);
    g_object_unref(task);
}

/* tick - start a probe unless one or an apply runs */
static gboolean tick(gpointer data)
{
    g_autoptr(GError) err = NULL;
    JsonObject *req, *resp;

    if (dr.busy || policyd_apply_busy())
        return G_SOURCE_CONTINUE;
    dr.busy = TRUE;
    req = seg_ctl_request("status");
    resp = policyd_run(dr.pd, req, DRIFT_USER, &dr.conn, &err);
    json_object_unref(req);
    if (resp != NULL || err != NULL)    /* answered now, not through dr.conn */
        status_reply(&dr.conn, resp, err);
    return G_SOURCE_CONTINUE;
}

/* first_tick - the probe at start */
static gboolean first_tick(gpointer data)
{
    (void) tick(data);
    return G_SOURCE_REMOVE;
}

/* policyd_drift_start - probe every interval seconds (and now) for the metrics */
void policyd_drift_start(policyd *pd, guint interval)
{
    seg_metrics_describe("segtls_policy_drift", "gauge",
                         "Whether a service negotiates other TLS versions than its committed "
                         "settings allow (1 drift, 0 in step), at the last live probe");
    seg_metrics_describe("segtls_policy_live_version", "gauge",
                         "Whether a server of a service negotiated this TLS version "
                         "(1 yes, 0 no) at the last live probe");
    seg_metrics_describe("segtls_policy_unreachable", "gauge",
                         "Whether a server of a service could not be reached at the last "
                         "live probe");
    seg_metrics_describe("segtls_policy_probes_total", "counter",
                         "Live probes of the servers done for the drift gauges");
    seg_metrics_describe("segtls_policy_probe_timestamp_seconds", "gauge",
                         "When the last live probe ended (Unix time)");
    seg_metrics_set("segtls_policy_probes_total", NULL, 0);
    dr.pd = pd;
    dr.conn.reply = status_reply;
    dr.conn.readonly = TRUE;
    dr.drifting = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    dr.timer = g_timeout_add_seconds(interval, tick, NULL);
    g_idle_add(first_tick, NULL);
    msg_info("drift probe every %u s for the metrics", interval);
}

/* policyd_drift_stop - no more probes; a status answer still due is dropped */
void policyd_drift_stop(void)
{
    if (dr.pd == NULL)
        return;
    g_source_remove(dr.timer);
    policyd_conn_forget(&dr.conn);
    dr.pd = NULL;
    g_clear_pointer(&dr.drifting, g_hash_table_unref);
    g_clear_pointer(&dr.postfix_error, g_free);
}
