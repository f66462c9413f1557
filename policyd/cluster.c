/*
 * cluster - segtls-policyd in cluster mode: follow the cluster in etcd.
 *
 * With [cluster] in its configuration (clusterconf.c) the daemon keeps
 * its settings in etcd (lib/policy/store_etcd.c) and watches the
 * cluster's key prefix (lib/util/etcd.c). When a new revision of the
 * committed configuration appears, this machine works out what it should
 * serve (layers.c: its own values over its group's over the cluster's)
 * and, when that differs from what it serves, applies it with
 * segtls-apply exactly as a commit does here (apply.c: render, reload,
 * prove by handshakes, restore the previous files when the servers
 * disagree). Then it probes what its servers negotiate (lib/apply/live.c)
 * and writes its result under status/MACHINE: the revision, applied or
 * rolled back with the reason, the revision it serves, the live versions.
 *
 * One apply at a time: a revision that arrives while one runs is taken
 * up when it ends, so a machine always ends on the latest. A machine
 * that was down catches up when it starts (it compares the revision it
 * last applied with the committed one); a failed revision is not tried
 * again until the next commit or a restart. When etcd cannot be reached
 * (the watch ends, a request fails) nothing changes on this machine: it
 * keeps serving what it last applied, says so in status, retries every
 * CHECK_SECONDS, and reports what it missed once etcd answers again. A
 * periodic read of the committed configuration backs up the watch, so
 * that a lost event is at most CHECK_SECONDS late.
 *
 * A commit made here answers once this machine has applied (or failed
 * to apply) the new revision; the other machines report through etcd
 * (`segtls clustershow`).
 */
#include <string.h>
#include <time.h>

#include "error.h"
#include "live.h"
#include "msg.h"
#include "policyd.h"
#include "recfmt.h"
#include "store_etcd.h"

#define CHECK_SECONDS   2       /* read the committed configuration this often */
#define RETRY_MAX       5       /* seconds between watch attempts, at most */
#define LIVE_TIMEOUT    5.0     /* seconds per network step of a live probe */

/* A commit made here, waiting for this machine's apply of its revision. */
typedef struct waiter {
    policyd_conn *conn;
    gint64      revision;
    JsonObject *resp;           /* the answer so far */
} waiter;

static struct {
    policyd    *pd;
    seg_etcd   *etcd;
    seg_etcd_watch *watch;
    guint       retry;          /* timeout that restarts the watch */
    guint       tick;           /* the periodic read */
    guint       idle;           /* a read asked for by the watch */
    guint       backoff;        /* seconds before the next watch attempt */
    gboolean    busy;           /* an apply or a live probe runs */
    gboolean    again;          /* a revision arrived meanwhile */
    gint64      attempted;      /* the last revision handled here */
    gboolean    failed;         /* that one failed */
    char       *reason;         /* why */
    char      **lines;          /* what its apply said */
    JsonObject *report;         /* the status still to write; NULL: written */
    JsonObject *result;         /* the status being made (its live versions probed) */
    GList      *waiters;
} cl;

/* The services with a server of their own, which live.c probes. */
static const seg_service served[] = {SEG_SVC_GUI, SEG_SVC_INBOUND};

static void check(void);

/* policyd_cluster_enabled - does the daemon run in cluster mode? */
gboolean policyd_cluster_enabled(void)
{
    return cl.etcd != NULL;
}

/*
 * policyd_cluster_open - the cluster's store for [cluster] c; NULL with
 * an error for bad options (an unreachable etcd is not one)
 */
seg_store *policyd_cluster_open(policyd *pd, const policyd_cluster_conf *c,
                                GError **error)
{
    seg_etcd_opts eo = {
        .endpoints = (const char *const *) c->endpoints,
        .ca_file = c->ca_file,
        .cert_file = c->cert_file,
        .key_file = c->key_file,
        .timeout = c->timeout,
    };
    seg_cluster_opts so = {c->name, c->prefix, c->machine, c->group};
    seg_store *st;

    if ((cl.etcd = seg_etcd_new(&eo, error)) == NULL)
        return NULL;
    if ((st = seg_store_open_etcd(pd->config_path, pd->state_dir, &so, cl.etcd,
                                  error)) == NULL) {
        g_clear_pointer(&cl.etcd, seg_etcd_free);
        return NULL;
    }
    cl.pd = pd;
    cl.attempted = seg_store_etcd_applied_revision(st);
    msg_info("cluster %s: machine %s, group %s, etcd %s", c->name, c->machine, c->group,
             seg_etcd_endpoint(cl.etcd));
    return st;
}

/* time_text - a time as the records and the rollback list show it */
static char *time_text(time_t when)
{
    char    buf[SEG_RECFMT_TIME_LEN];

    if (seg_recfmt_time(when, buf, sizeof(buf)) == 0)
        return g_strdup("unknown");
    return g_strdup(buf);
}

/* flush_report - write the status that is still to be written */
static void flush_report(void)
{
    g_autoptr(GError) err = NULL;

    if (cl.report == NULL)
        return;
    if (!seg_store_etcd_report(cl.pd->store, cl.report, &err)) {
        msg_debug("status not written yet: %s", err->message);
        return;
    }
    g_clear_pointer(&cl.report, json_object_unref);
}

/* waiter_free - release */
static void waiter_free(waiter *w)
{
    if (w->resp != NULL)
        json_object_unref(w->resp);
    g_free(w);
}

/* answer - a waiting commit learns what happened here */
static void answer(waiter *w)
{
    JsonObject *resp = g_steal_pointer(&w->resp);
    gint64  applied = seg_store_etcd_applied_revision(cl.pd->store);

    if (cl.failed) {
        g_autoptr(GError) err = NULL;

        json_object_unref(resp);
        g_set_error(&err, SEG_ERROR, SEG_ERROR_APPLY,
                    "committed as revision %" G_GINT64_FORMAT ", but applying it on "
                    "this machine failed: %s; this machine still serves revision %"
                    G_GINT64_FORMAT " (segtls clustershow shows every machine)",
                    w->revision, cl.reason ? cl.reason : "?", applied);
        policyd_conn_fail(w->conn, err);
        return;
    }
    json_object_set_int_member(resp, "revision", w->revision);
    json_object_set_int_member(resp, "applied_revision", applied);
    json_object_set_array_member(resp, "lines", json_array_new());
    for (int i = 0; cl.lines != NULL && cl.lines[i] != NULL; i++)
        json_array_add_string_element(json_object_get_array_member(resp, "lines"),
                                      cl.lines[i]);
    policyd_conn_reply(w->conn, resp);
}

/* answer_waiters - every commit whose revision was handled */
static void answer_waiters(void)
{
    GList *l = cl.waiters;

    while (l != NULL) {
        GList *next = l->next;
        waiter *w = l->data;

        if (w->revision <= cl.attempted) {
            cl.waiters = g_list_delete_link(cl.waiters, l);
            answer(w);
            waiter_free(w);
        }
        l = next;
    }
}

/* policyd_cluster_forget - conn went away: its answer is dropped */
void policyd_cluster_forget(policyd_conn *conn)
{
    GList *l = cl.waiters;

    while (l != NULL) {
        GList *next = l->next;

        if (((waiter *) l->data)->conn == conn) {
            waiter_free(l->data);
            cl.waiters = g_list_delete_link(cl.waiters, l);
        }
        l = next;
    }
}

/* live_thread - probe the services (in a worker thread) */
static void live_thread(GTask *task, gpointer source, gpointer data, GCancellable *c)
{
    (void) seg_live_probe(data, LIVE_TIMEOUT);
    g_task_return_boolean(task, TRUE);
}

/* live_text - "1.2-1.3", or "unreachable: WHY", of one probed object */
static char *live_text(JsonObject *o)
{
    if (json_object_get_boolean_member_with_default(o, "unreachable", FALSE))
        return g_strdup_printf("unreachable: %s",
                               json_object_get_string_member_with_default(o, "failure", "?"));
    return g_strdup(json_object_get_string_member_with_default(o, "live", ""));
}

/*
 * governed_live - what the Postfix services a segtls service governs
 * negotiate: one text when they agree, else "SERVICE LIVE; ..."; NULL
 * when none was probed
 */
static char *governed_live(JsonObject *probed, const char *name)
{
    JsonNode *n = json_object_get_member(probed, "postfix_services");
    g_autoptr(GPtrArray) each = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func(g_free);
    gboolean same = TRUE;

    for (guint i = 0; n != NULL && JSON_NODE_HOLDS_ARRAY(n)
         && i < json_array_get_length(json_node_get_array(n)); i++) {
        JsonObject *pf = json_array_get_object_element(json_node_get_array(n), i);
        char   *t;

        if (g_strcmp0(json_object_get_string_member_with_default(pf, "governed_by", NULL),
                      name) != 0 || !json_object_has_member(pf, "target"))
            continue;
        t = live_text(pf);
        if (texts->len > 0 && strcmp(g_ptr_array_index(texts, 0), t) != 0)
            same = FALSE;
        g_ptr_array_add(each, g_strdup_printf("%s %s",
            json_object_get_string_member_with_default(pf, "service", "?"), t));
        g_ptr_array_add(texts, t);
    }
    if (texts->len == 0)
        return NULL;
    if (same)
        return g_strdup(g_ptr_array_index(texts, 0));
    g_ptr_array_add(each, NULL);
    return g_strjoinv("; ", (char **) each->pdata);
}

/*
 * live_of - {"gui":"1.2","inbound":"1.2-1.3"} from the probed services:
 * GUI HTTPS at its target, Inbound SMTP at the Postfix services it governs
 */
static JsonObject *live_of(JsonObject *probed)
{
    JsonObject *live = json_object_new();
    JsonNode *n = json_object_get_member(probed, "services");

    for (guint i = 0; n != NULL && i < json_array_get_length(json_node_get_array(n)); i++) {
        JsonObject *s = json_array_get_object_element(json_node_get_array(n), i);
        const char *name = json_object_get_string_member_with_default(s, "service", "");
        char   *t = json_object_has_member(s, "target") ? live_text(s)
            : governed_live(probed, name);

        if (t != NULL)
            json_object_set_string_member(live, name, t);
        g_free(t);
    }
    return live;
}

/* live_done - the probes are back: write the status, answer, go on */
static void live_done(GObject *src, GAsyncResult *res, gpointer data)
{
    JsonObject *probed = data;

    g_clear_pointer(&cl.report, json_object_unref);
    cl.report = g_steal_pointer(&cl.result);
    json_object_set_object_member(cl.report, "live", live_of(probed));
    json_object_unref(probed);
    cl.busy = FALSE;
    flush_report();
    answer_waiters();
    if (cl.again || seg_store_etcd_revision(cl.pd->store) != cl.attempted) {
        cl.again = FALSE;
        check();
    }
}

/*
 * handled - revision is done here (ok, or failed for why): the status,
 * then the live versions in a worker thread
 */
static void handled(gint64 revision, gboolean ok, const char *why, char **lines)
{
    const seg_settings *s = seg_store_etcd_serving(cl.pd->store);
    g_autofree char *when = time_text(time(NULL));
    JsonObject *probed = json_object_new();
    JsonArray *services = json_array_new();
    GTask  *task;

    cl.attempted = revision;
    cl.failed = !ok;
    g_free(cl.reason);
    cl.reason = g_strdup(why);
    g_strfreev(cl.lines);
    cl.lines = g_strdupv(lines);
    g_clear_pointer(&cl.result, json_object_unref);
    cl.result = json_object_new();
    json_object_set_string_member(cl.result, "machine", seg_store_machine(cl.pd->store));
    json_object_set_string_member(cl.result, "group",
                                  seg_store_etcd_group(cl.pd->store));
    json_object_set_int_member(cl.result, "revision", revision);
    json_object_set_string_member(cl.result, "result",
                                  !ok ? "rolled back"
                                  : policyd_apply_enabled() ? "applied" : "stored");
    if (why != NULL)
        json_object_set_string_member(cl.result, "reason", why);
    json_object_set_int_member(cl.result, "applied_revision",
                               seg_store_etcd_applied_revision(cl.pd->store));
    json_object_set_string_member(cl.result, "time", when);
    if (ok)
        msg_info("cluster revision %" G_GINT64_FORMAT " %s", revision,
                 policyd_apply_enabled() ? "applied" : "stored (apply is disabled)");
    else
        msg_warn("cluster revision %" G_GINT64_FORMAT " not applied: %s; serving "
                 "revision %" G_GINT64_FORMAT, revision, why,
                 seg_store_etcd_applied_revision(cl.pd->store));
    /* what the servers negotiate now, with the settings they serve */
    for (gsize i = 0; i < G_N_ELEMENTS(served); i++) {
        JsonObject *o = json_object_new();
        seg_service svc = served[i];

        json_object_set_string_member(o, "service", seg_service_key(svc));
        if (svc == SEG_SVC_INBOUND)
            json_object_set_string_member(o, "tls",
                                          seg_tls_mode_name(s->svc[svc].tls));
        json_array_add_object_element(services, o);
    }
    json_object_set_array_member(probed, "services", services);
    policyd_apply_status(probed);
    cl.busy = TRUE;
    task = g_task_new(NULL, NULL, live_done, probed);
    g_task_set_task_data(task, probed, NULL);
    g_task_run_in_thread(task, live_thread);
    g_object_unref(task);
}

/* The revision and settings of the apply that runs. */
static gint64 applying_revision;
static seg_settings *applying;

/* apply_done - segtls-apply ended for the revision being applied */
static void apply_done(gboolean ok, const char *why, char **out, char **err,
                       gpointer data)
{
    g_autoptr(GError) e = NULL;
    g_autoptr(seg_settings) s = g_steal_pointer(&applying);

    if (ok && !seg_store_etcd_applied(cl.pd->store, applying_revision, s, &e)) {
        msg_error("revision %" G_GINT64_FORMAT " applied, but not recorded: %s",
                  applying_revision, e->message);
        ok = FALSE;
        why = e->message;
    }
    handled(applying_revision, ok, why, out);
}

/*
 * check - is there a revision this machine has not handled? Apply what
 * it gives this machine, or record it when nothing changes here.
 */
static void check(void)
{
    seg_store *st = cl.pd->store;
    g_autoptr(GError) err = NULL;
    gint64  revision = seg_store_etcd_revision(st);
    g_autofree char *what = NULL;

    if (cl.busy) {
        cl.again = TRUE;
        return;
    }
    if (!seg_store_etcd_joined(st) || seg_store_etcd_config_error(st) != NULL
        || revision == 0)
        return;
    if (revision == cl.attempted) {
        answer_waiters();
        return;
    }
    if (seg_settings_equal(seg_store_committed(st), seg_store_etcd_serving(st))
        || !policyd_apply_enabled()) {
        /* nothing changes on this machine, or it only stores */
        if (!seg_store_etcd_applied(st, revision, seg_store_committed(st), &err)) {
            handled(revision, FALSE, err->message, NULL);
            return;
        }
        handled(revision, TRUE, NULL, NULL);
        return;
    }
    applying_revision = revision;
    applying = seg_settings_copy(seg_store_committed(st));
    what = g_strdup_printf("cluster revision %" G_GINT64_FORMAT, revision);
    if (!policyd_apply_settings(cl.pd, applying, what, apply_done, NULL, &err)) {
        g_clear_pointer(&applying, seg_settings_free);
        handled(revision, FALSE, err->message, NULL);
        return;
    }
    cl.busy = TRUE;
}

/* refresh - read the committed configuration again and act on it */
static void refresh(void)
{
    g_autoptr(GError) err = NULL;
    seg_store *st = cl.pd->store;
    gint64  rev = seg_store_etcd_revision(st);
    gint64  base = seg_store_etcd_pending_base(st);
    gboolean pending = seg_store_layers(st, TRUE) != NULL;

    /* requests that work on the settings start again only when they changed */
    if (seg_store_reload(st, &err)
        && (rev != seg_store_etcd_revision(st) || base != seg_store_etcd_pending_base(st)
            || pending != (seg_store_layers(st, TRUE) != NULL)))
        policyd_ops_changed();
    check();
    flush_report();
}

/* refresh_idle - one read for a burst of watch events */
static gboolean refresh_idle(gpointer data)
{
    cl.idle = 0;
    refresh();
    return G_SOURCE_REMOVE;
}

/* schedule_refresh - read soon */
static void schedule_refresh(void)
{
    if (cl.idle == 0)
        cl.idle = g_idle_add(refresh_idle, NULL);
}

static void watch_start(void);

/* on_event - a key under the prefix changed */
static void on_event(const seg_etcd_kv *kv, gboolean deleted, gpointer data)
{
    if (strcmp(kv->key, seg_store_etcd_config_key(cl.pd->store)) == 0)
        schedule_refresh();
}

/* on_created - the watch runs: etcd is reachable; read what was missed */
static void on_created(gint64 revision, gpointer data)
{
    cl.backoff = 0;
    msg_debug("watching %s at revision %" G_GINT64_FORMAT,
              seg_store_etcd_prefix(cl.pd->store), revision);
    schedule_refresh();
}

/* retry_watch - the next attempt */
static gboolean retry_watch(gpointer data)
{
    cl.retry = 0;
    watch_start();
    return G_SOURCE_REMOVE;
}

/* on_ended - the watch stopped: say so, try again (another endpoint) */
static void on_ended(const GError *error, gpointer data)
{
    seg_store_etcd_unreachable(cl.pd->store, error ? error->message : "the watch ended");
    g_clear_pointer(&cl.watch, seg_etcd_watch_free);
    cl.backoff = MIN(RETRY_MAX, cl.backoff + 1);
    cl.retry = g_timeout_add_seconds(cl.backoff, retry_watch, NULL);
}

/* watch_start - watch the cluster's prefix from now on */
static void watch_start(void)
{
    cl.watch = seg_etcd_watch_new(cl.etcd, seg_store_etcd_prefix(cl.pd->store), 0,
                                  on_event, on_created, on_ended, NULL);
}

/* on_tick - the periodic read */
static gboolean on_tick(gpointer data)
{
    refresh();
    return G_SOURCE_CONTINUE;
}

/* policyd_cluster_start - watch, read, catch up (the main loop runs next) */
void policyd_cluster_start(policyd *pd)
{
    if (cl.etcd == NULL)
        return;
    watch_start();
    cl.tick = g_timeout_add_seconds(CHECK_SECONDS, on_tick, NULL);
    schedule_refresh();
}

/* policyd_cluster_stop - stop watching; a running apply finishes on its own */
void policyd_cluster_stop(void)
{
    g_clear_pointer(&cl.watch, seg_etcd_watch_free);
    if (cl.retry)
        g_source_remove(cl.retry);
    if (cl.tick)
        g_source_remove(cl.tick);
    if (cl.idle)
        g_source_remove(cl.idle);
    g_list_free_full(cl.waiters, (GDestroyNotify) waiter_free);
    g_clear_pointer(&cl.report, json_object_unref);
    g_clear_pointer(&cl.result, json_object_unref);
    g_clear_pointer(&cl.reason, g_free);
    g_clear_pointer(&cl.lines, g_strfreev);
    g_clear_pointer(&applying, seg_settings_free);
    {
        seg_etcd *etcd = cl.etcd;       /* the store still uses it */

        memset(&cl, 0, sizeof(cl));
        cl.etcd = etcd;
    }
}

/* policyd_cluster_free_etcd - release the client once the store is gone */
void policyd_cluster_free_etcd(void)
{
    g_clear_pointer(&cl.etcd, seg_etcd_free);
}

/*
 * policyd_cluster_committed - a commit made here became revision: answer
 * conn (resp taken) once this machine has handled it
 */
void policyd_cluster_committed(policyd_conn *conn, JsonObject *resp, gint64 revision)
{
    waiter *w = g_new0(waiter, 1);

    w->conn = conn;
    w->revision = revision;
    w->resp = resp;
    cl.waiters = g_list_append(cl.waiters, w);
    check();
}

/* policyd_cluster_joined - a join made here: act on the new revision */
void policyd_cluster_joined(void)
{
    check();
    flush_report();
}

/* policyd_cluster_status - the "cluster" member of the status answer */
void policyd_cluster_status(JsonObject *resp)
{
    seg_store *st;
    JsonObject *o;
    const char *why;
    gint64  since;

    if (cl.etcd == NULL)
        return;
    st = cl.pd->store;
    o = json_object_new();
    json_object_set_string_member(o, "name", seg_store_cluster_name(st));
    json_object_set_string_member(o, "machine", seg_store_machine(st));
    json_object_set_string_member(o, "group", seg_store_etcd_group(st));
    json_object_set_boolean_member(o, "joined", seg_store_etcd_joined(st));
    if (seg_store_etcd_reachable(st, &why, &since)) {
        json_object_set_boolean_member(o, "reachable", TRUE);
    } else {
        g_autofree char *when = time_text((time_t) (since / G_USEC_PER_SEC));

        json_object_set_boolean_member(o, "reachable", FALSE);
        json_object_set_string_member(o, "etcd_error", why);
        json_object_set_string_member(o, "unreachable_since", when);
    }
    json_object_set_string_member(o, "endpoint", seg_etcd_endpoint(cl.etcd));
    json_object_set_int_member(o, "revision", seg_store_etcd_revision(st));
    json_object_set_int_member(o, "applied_revision", seg_store_etcd_applied_revision(st));
    json_object_set_int_member(o, "attempted_revision", cl.attempted);
    json_object_set_boolean_member(o, "apply_failed", cl.failed);
    if (cl.failed && cl.reason != NULL)
        json_object_set_string_member(o, "reason", cl.reason);
    if (seg_store_etcd_config_error(st) != NULL)
        json_object_set_string_member(o, "config_error", seg_store_etcd_config_error(st));
    json_object_set_object_member(resp, "cluster", o);
}
