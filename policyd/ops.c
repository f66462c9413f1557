/*
 * ops - the operations of the control protocol (see lib/policy/ctl.h).
 *
 * One table maps each "op" to its handler. A handler gets the request
 * object, already known to be an object with a string "op", and returns
 * the response object; failures become {"ok":false,"error":"..."} in one
 * place. Handlers validate every member they read: wrong types are
 * refused, never guessed. Every caller (the control sockets, the web
 * front) comes through policyd_run(), so there is one validation path.
 *
 * Whatever reads a certificate file or shakes hands runs in a worker
 * thread (a job, GTask), never on the main loop: a FIFO, a hung file
 * system or a slow analysis holds up only the client that asked. The
 * handler answers later through its policyd_conn; the job's finish step
 * runs back on the main loop. A change (set, rollback_restore) whose job
 * finds that another change came first starts again from its request,
 * so that changes stay in order and never work on stale settings.
 *
 * Certificate paths a client names are checked before anything reads
 * them: under one of the certificate directories (--cert-dir), in
 * canonical form, and readable with the client's own rights
 * (seg_file_check_as: a child process that has become the client's
 * uid), so that an answer never tells a client about a file it could
 * not read itself. The analysis later reads a certificate as root only
 * when its real path is under a certificate directory.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "destctl.h"
#include "error.h"
#include "msg.h"
#include "policyd.h"
#include "quote.h"
#include "safefile.h"
#include "store_etcd.h"
#include "tlsver.h"
#include "warnings.h"

#define ALL_SERVICES    ((1u << SEG_SVC_COUNT) - 1)
#define NOBODY          65534   /* the rights of a caller without a uid */

typedef JsonObject *(*op_handler) (policyd *pd, JsonObject *req,
                                   const char *user, GError **error);

typedef struct job job;
typedef JsonObject *(*job_finish) (job *j, GError **error);

/* The part of a request that runs in a worker thread, and its answer. */
struct job {
    policyd    *pd;
    policyd_conn *conn;         /* NULL once the caller went away */
    JsonObject *request;        /* to start again */
    char       *user;
    guint       generation;     /* of the settings when the job began */
    gboolean    change;         /* start again when the settings changed */
    job_finish  finish;         /* on the main loop, after the thread */
    JsonObject *resp;           /* the answer so far */
    unsigned    touched;        /* services whose warnings are shown in full */
    const char *what;           /* "change", "commit": for the summary */
    seg_settings *next;         /* set, restore: what becomes pending */
    char       *level;          /* set: the level it is at (NULL: the default) */
    /* for the thread: its own copies only */
    seg_settings *settings;     /* to analyse; NULL: no analysis */
    GPtrArray  *check_keys;     /* keys whose new path the caller must read */
    GPtrArray  *check_paths;
    char      **cert_dirs;
    char       *config_path;    /* status: is this file valid on disk? */
    uid_t       uid;
    gid_t       gid;
    /* from the thread */
    seg_analysis analysis;
    GError     *check_error;
    char       *file_error;
};

static policyd_conn *caller;    /* connection of the request being run */
static GList *jobs;             /* running jobs */
static guint generation;        /* bumped by every change of the settings */
static gboolean inline_jobs;    /* policyd_dispatch: no threads */

/*
 * The analysis takes real handshakes (tens of milliseconds), and every
 * show asks for it: the last one is kept while the settings and the
 * certificate files they name (device, inode, size, mtime) are the same,
 * so that a burst of clients costs one computation.
 */
static GMutex cache_lock;
static char *cache_key;
static seg_analysis cache_analysis;

/* policyd_error_response - {"ok":false,"error":MESSAGE} */
JsonObject *policyd_error_response(const char *message)
{
    JsonObject *resp = json_object_new();

    json_object_set_boolean_member(resp, "ok", FALSE);
    json_object_set_string_member(resp, "error", message);
    return resp;
}

/* ok_response - {"ok":true} to be completed by the caller */
static JsonObject *ok_response(void)
{
    JsonObject *resp = json_object_new();

    json_object_set_boolean_member(resp, "ok", TRUE);
    return resp;
}

/* policyd_ok_response - {"ok":true}, for apply.c */
JsonObject *policyd_ok_response(void)
{
    return ok_response();
}

/* current - pending settings when there are any, else committed */
static const seg_settings *current(policyd *pd)
{
    const seg_settings *p = seg_store_pending(pd->store);

    return p ? p : seg_store_committed(pd->store);
}

/* strings_array - JSON array of the strings of a GPtrArray */
static JsonArray *strings_array(GPtrArray *lines)
{
    JsonArray *arr = json_array_new();
    guint   i;

    for (i = 0; lines != NULL && i < lines->len; i++)
        json_array_add_string_element(arr, g_ptr_array_index(lines, i));
    return arr;
}

/* policyd_strings_array - the same, for apply.c */
JsonArray *policyd_strings_array(GPtrArray *lines)
{
    return strings_array(lines);
}

/* policyd_ops_changed - the settings changed (commit, reload): jobs restart */
void policyd_ops_changed(void)
{
    generation++;
}

/* line_service - the service a warning line is about, -1 when none */
static int line_service(const char *line)
{
    for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
        g_autofree char *prefix = g_strdup_printf("Warning: %s: ",
                                                  seg_service_title((seg_service) svc));

        if (g_str_has_prefix(line, prefix))
            return svc;
    }
    return -1;
}

/*
 * policyd_warnings_split - "warnings": the lines about the services in
 * touched (and lines about no service); "other_warnings": the rest;
 * "warnings_summary": one line about the rest ("" when none):
 * "Not shown: 1 warning about GUI HTTPS, which this change did not touch."
 */
void policyd_warnings_split(JsonObject *resp, GPtrArray *lines, unsigned touched,
                            const char *what)
{
    JsonArray *shown = json_array_new();
    JsonArray *other = json_array_new();
    unsigned others = 0;
    guint   n = 0;

    for (guint i = 0; lines != NULL && i < lines->len; i++) {
        const char *line = g_ptr_array_index(lines, i);
        int     svc = line_service(line);

        if (svc < 0 || (touched & (1u << svc))) {
            json_array_add_string_element(shown, line);
        } else {
            json_array_add_string_element(other, line);
            others |= 1u << svc;
            n++;
        }
    }
    json_object_set_array_member(resp, "warnings", shown);
    json_object_set_array_member(resp, "other_warnings", other);
    if (n == 0) {
        json_object_set_string_member(resp, "warnings_summary", "");
    } else {
        GString *s = g_string_new(NULL);
        guint   k = 0, total = 0;

        for (int svc = 0; svc < SEG_SVC_COUNT; svc++)
            total += (others >> svc) & 1;
        g_string_append_printf(s, "Not shown: %u warning%s about ", n, n == 1 ? "" : "s");
        for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
            if (!(others & (1u << svc)))
                continue;
            if (k > 0)
                g_string_append(s, k + 1 == total ? " and " : ", ");
            g_string_append(s, seg_service_title((seg_service) svc));
            k++;
        }
        g_string_append_printf(s, ", which this %s did not touch.", what);
        json_object_set_string_member(resp, "warnings_summary", s->str);
        g_string_free(s, TRUE);
    }
}

/* all_lines - the warnings of an analysis, in service order */
static GPtrArray *all_lines(const seg_analysis *a)
{
    GPtrArray *out = g_ptr_array_new();

    for (int svc = 0; svc < SEG_SVC_COUNT; svc++)
        for (guint i = 0; a->warnings[svc] && i < a->warnings[svc]->len; i++)
            g_ptr_array_add(out, g_ptr_array_index(a->warnings[svc], i));
    return out;
}

/* under_dir - is path inside dir (both canonical, absolute)? */
static gboolean under_dir(const char *path, const char *dir)
{
    gsize   n = strlen(dir);

    if (n == 1)                         /* "/" */
        return TRUE;
    return strncmp(path, dir, n) == 0 && path[n] == '/' && path[n + 1] != 0;
}

/* dirs_text - "/etc/ssl, /etc/segtls, /etc/letsencrypt" */
static char *dirs_text(char **dirs)
{
    return g_strjoinv(", ", dirs);
}

/*
 * path_allowed - the rule for a certificate path a client names, by its
 * text alone: canonical (no ".", "..", "//" or trailing "/") and under a
 * certificate directory. Nothing on disk is looked at.
 */
static gboolean path_allowed(policyd *pd, const char *key, const char *path,
                             GError **error)
{
    g_autofree char *canon = g_canonicalize_filename(path, "/");
    g_autofree char *q = seg_quote_value(path);

    if (strcmp(canon, path) != 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "%s: %s: a certificate path must not hold \".\" or \"..\" "
                    "components or repeated or trailing \"/\"", key, q);
        return FALSE;
    }
    for (char **d = pd->cert_dirs; d != NULL && *d != NULL; d++)
        if (under_dir(path, *d))
            return TRUE;
    {
        g_autofree char *dirs = dirs_text(pd->cert_dirs);

        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "%s: %s: not under a certificate directory (%s)", key, q, dirs);
    }
    return FALSE;
}

/*
 * check_new_paths - every file setting of next that differs from now
 * must pass path_allowed(); they go to the job, which checks them with
 * the caller's rights
 */
static gboolean check_new_paths(job *j, const seg_settings *now,
                                const seg_settings *next, GError **error)
{
    for (const char *const *k = seg_settings_keys(); *k != NULL; k++) {
        g_autofree char *v = NULL;
        g_autofree char *old = NULL;

        if (!seg_settings_key_is_file(*k))
            continue;
        v = seg_settings_get(next, *k);
        old = seg_settings_get(now, *k);
        if (*v == 0 || strcmp(v, old) == 0)
            continue;
        if (!path_allowed(j->pd, *k, v, error))
            return FALSE;
        g_ptr_array_add(j->check_keys, (gpointer) *k);
        g_ptr_array_add(j->check_paths, g_steal_pointer(&v));
    }
    return TRUE;
}

/* cert_reader - the analysis reads a certificate only under the directories */
static gboolean cert_reader(const char *path, char **pem, gsize *len,
                            gpointer data, GError **error)
{
    job    *j = data;
    g_autofree char *real = NULL;

    if (!seg_file_read_bounded(path, SEG_FILE_MAX_CERT, pem, len, &real, error))
        return FALSE;
    for (char **d = j->cert_dirs; d != NULL && *d != NULL; d++)
        if (under_dir(real, *d))
            return TRUE;
    g_clear_pointer(pem, g_free);
    {
        g_autofree char *dirs = dirs_text(j->cert_dirs);

        g_set_error(error, SEG_ERROR, SEG_ERROR_IO,
                    "not under a certificate directory (%s)", dirs);
    }
    return FALSE;
}

/* analysis_key - the settings as JSON, plus what each certificate file is */
static char *analysis_key(const seg_settings *s)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    GString *key;
    char   *text;

    json_node_take_object(node, seg_settings_to_json(s));
    text = json_to_string(node, FALSE);
    key = g_string_new(text);
    g_free(text);
    for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
        const char *path = s->svc[svc].certificate;
        struct stat st;

        if (path == NULL || *path == 0)
            continue;
        if (stat(path, &st) < 0)
            g_string_append_printf(key, "\n%d: errno %d", svc, errno);
        else
            g_string_append_printf(key, "\n%d: %lu %lu %lld %lld.%09ld", svc,
                                   (unsigned long) st.st_dev, (unsigned long) st.st_ino,
                                   (long long) st.st_size, (long long) st.st_mtim.tv_sec,
                                   st.st_mtim.tv_nsec);
    }
    return g_string_free(key, FALSE);
}

/* analysis_copy - a deep copy of an analysis */
static void analysis_copy(seg_analysis *to, const seg_analysis *from)
{
    for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
        to->warnings[svc] = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; from->warnings[svc] && i < from->warnings[svc]->len; i++)
            g_ptr_array_add(to->warnings[svc],
                            g_strdup(g_ptr_array_index(from->warnings[svc], i)));
        to->usable[svc] = from->usable[svc];
    }
}

/* analyse - the analysis of j->settings, from the cache when it holds */
static void analyse(job *j)
{
    char   *key = analysis_key(j->settings);

    g_mutex_lock(&cache_lock);
    if (cache_key != NULL && strcmp(key, cache_key) == 0) {
        analysis_copy(&j->analysis, &cache_analysis);
        g_mutex_unlock(&cache_lock);
        g_free(key);
        return;
    }
    g_mutex_unlock(&cache_lock);
    seg_settings_analyse(j->settings, cert_reader, j, &j->analysis);
    g_mutex_lock(&cache_lock);
    g_free(cache_key);
    seg_analysis_clear(&cache_analysis);
    cache_key = key;
    analysis_copy(&cache_analysis, &j->analysis);
    g_mutex_unlock(&cache_lock);
}

/* policyd_ops_cleanup - forget the cached analysis */
void policyd_ops_cleanup(void)
{
    g_mutex_lock(&cache_lock);
    g_clear_pointer(&cache_key, g_free);
    seg_analysis_clear(&cache_analysis);
    g_mutex_unlock(&cache_lock);
}

/* check_paths - the new certificate paths, with the caller's rights */
static void check_paths(job *j)
{
    uid_t   uid = j->uid == (uid_t) -1 ? NOBODY : j->uid;
    gid_t   gid = j->uid == (uid_t) -1 ? NOBODY : j->gid;

    for (guint i = 0; i < j->check_paths->len; i++) {
        const char *path = g_ptr_array_index(j->check_paths, i);
        g_autoptr(GError) err = NULL;
        g_autofree char *q = NULL;

        if (seg_file_check_as(path, uid, gid, SEG_FILE_MAX_CERT,
                              SEG_FILE_CHECK_TIMEOUT, &err))
            continue;
        /* A file that is not there yet: the analysis warns about it. */
        if (g_strcmp0(err->message, g_strerror(ENOENT)) == 0)
            continue;
        q = seg_quote_value(path);
        g_set_error(&j->check_error, SEG_ERROR, SEG_ERROR_INVALID, "%s: %s: %s",
                    (const char *) g_ptr_array_index(j->check_keys, i), q,
                    err->message);
        return;
    }
}

/* job_thread - the file and handshake part of a job, in a worker thread */
static void job_thread(GTask *task, gpointer source, gpointer data,
                       GCancellable *cancel)
{
    job    *j = data;
    g_autoptr(GError) err = NULL;

    check_paths(j);
    if (j->check_error == NULL && j->settings != NULL)
        analyse(j);
    if (j->config_path != NULL && !seg_store_check_file(j->config_path, &err))
        j->file_error = g_strdup(err->message);
    if (task != NULL)
        g_task_return_boolean(task, TRUE);
}

/* job_new - a job for the request being run */
static job *job_new(policyd *pd, JsonObject *req, const char *user,
                    job_finish finish)
{
    job    *j = g_new0(job, 1);

    j->pd = pd;
    j->conn = caller;
    j->request = json_object_ref(req);
    j->user = g_strdup(user);
    j->generation = generation;
    j->finish = finish;
    j->touched = ALL_SERVICES;
    j->what = "change";
    j->check_keys = g_ptr_array_new();
    j->check_paths = g_ptr_array_new_with_free_func(g_free);
    j->cert_dirs = g_strdupv(pd->cert_dirs);
    j->uid = caller && caller->has_ids ? caller->uid : (uid_t) -1;
    j->gid = caller && caller->has_ids ? caller->gid : (gid_t) -1;
    return j;
}

/* job_free - release a job */
static void job_free(job *j)
{
    jobs = g_list_remove(jobs, j);
    json_object_unref(j->request);
    if (j->resp != NULL)
        json_object_unref(j->resp);
    g_free(j->user);
    g_free(j->level);
    if (j->next != NULL)
        seg_settings_free(j->next);
    if (j->settings != NULL)
        seg_settings_free(j->settings);
    g_ptr_array_unref(j->check_keys);
    g_ptr_array_unref(j->check_paths);
    g_strfreev(j->cert_dirs);
    g_free(j->config_path);
    seg_analysis_clear(&j->analysis);
    g_clear_error(&j->check_error);
    g_free(j->file_error);
    g_free(j);
}

/* job_done - back on the main loop: start again, or finish and answer */
static void job_done(job *j)
{
    g_autoptr(GError) err = NULL;
    policyd_conn *conn = j->conn;
    JsonObject *resp;

    if (conn == NULL) {
        job_free(j);
        return;
    }
    if (j->change && j->generation != generation) {
        msg_debug("%s: the settings changed meanwhile; starting again", j->user);
        resp = policyd_run(j->pd, j->request, j->user, conn, &err);
        job_free(j);
        if (resp == NULL && err == NULL)
            return;                     /* a new job answers */
    } else {
        resp = j->finish(j, &err);
        job_free(j);
    }
    if (resp == NULL)
        policyd_conn_fail(conn, err);
    else
        policyd_conn_reply(conn, resp);
}

/* job_task_done - GTask callback */
static void job_task_done(GObject *source, GAsyncResult *res, gpointer data)
{
    job_done(data);
}

/* job_start - run j's thread part, then answer; the handler returns NULL */
static JsonObject *job_start(job *j)
{
    GTask  *task;

    if (inline_jobs || j->conn == NULL || j->conn->sync) {
        job_thread(NULL, NULL, j, NULL);
        if (j->conn == NULL) {          /* no one to answer later: now */
            g_autoptr(GError) err = NULL;
            JsonObject *resp = j->finish(j, &err);

            job_free(j);
            return resp ? resp : policyd_error_response(err->message);
        }
        jobs = g_list_prepend(jobs, j);
        job_done(j);
        return NULL;
    }
    jobs = g_list_prepend(jobs, j);
    task = g_task_new(NULL, NULL, job_task_done, j);
    g_task_set_task_data(task, j, NULL);
    g_task_run_in_thread(task, job_thread);
    g_object_unref(task);
    return NULL;
}

/* policyd_conn_forget - conn goes away: its pending answers are dropped */
void policyd_conn_forget(policyd_conn *conn)
{
    for (GList *l = jobs; l != NULL; l = l->next)
        if (((job *) l->data)->conn == conn)
            ((job *) l->data)->conn = NULL;
    policyd_apply_forget(conn);
    policyd_cluster_forget(conn);
}

/* member_of_type - member NAME when present and of TYPE, else error */
static JsonNode *member_of_type(JsonObject *req, const char *name, GType type,
                                gboolean required, GError **error)
{
    JsonNode *node = json_object_get_member(req, name);

    if (node == NULL) {
        if (required)
            g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                        "missing member \"%s\"", name);
        return NULL;
    }
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != type) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "member \"%s\" must be %s", name,
                    type == G_TYPE_STRING ? "a string" :
                    type == G_TYPE_BOOLEAN ? "a boolean" : "an integer");
        return NULL;
    }
    return node;
}

/* level_member - the optional "level" string of a request (NULL: none) */
static gboolean level_member(JsonObject *req, const char **level, GError **error)
{
    GError *err = NULL;
    JsonNode *node = member_of_type(req, "level", G_TYPE_STRING, FALSE, &err);

    *level = node ? json_node_get_string(node) : NULL;
    if (err != NULL) {
        g_propagate_error(error, err);
        return FALSE;
    }
    return TRUE;
}

/* has_pending - are there pending changes (cluster: anywhere)? */
static gboolean has_pending(policyd *pd)
{
    if (seg_store_is_cluster(pd->store))
        return seg_store_layers(pd->store, TRUE) != NULL;
    return seg_store_pending(pd->store) != NULL;
}

/* cluster_member - the cluster facts of a show answer */
static void cluster_member(policyd *pd, JsonObject *resp, const char *level)
{
    JsonObject *o;

    if (!seg_store_is_cluster(pd->store))
        return;
    o = json_object_new();
    json_object_set_string_member(o, "name", seg_store_cluster_name(pd->store));
    json_object_set_string_member(o, "machine", seg_store_machine(pd->store));
    json_object_set_string_member(o, "level", level ? level : "machine");
    json_object_set_int_member(o, "revision", seg_store_etcd_revision(pd->store));
    json_object_set_int_member(o, "pending_base", seg_store_etcd_pending_base(pd->store));
    json_object_set_object_member(resp, "cluster", o);
}

/* finish_warnings - the job's warnings into its answer, split by touched */
static JsonObject *finish_warnings(job *j, GError **error)
{
    g_autoptr(GPtrArray) lines = all_lines(&j->analysis);
    JsonObject *resp = g_steal_pointer(&j->resp);

    policyd_warnings_split(resp, lines, j->touched, j->what);
    return resp;
}

/*
 * op_show - committed, pending and warnings; with "level" (cluster mode)
 * as that level sees them, else as this machine does
 */
static JsonObject *op_show(policyd *pd, JsonObject *req, const char *user,
                           GError **error)
{
    g_autoptr(seg_settings) committed = NULL;
    g_autoptr(seg_settings) pending = NULL;
    const char *level;
    job    *j;

    if (!level_member(req, &level, error)
        || (committed = seg_store_view(pd->store, level, FALSE, error)) == NULL)
        return NULL;
    if (has_pending(pd)
        && (pending = seg_store_view(pd->store, level, TRUE, error)) == NULL)
        return NULL;
    j = job_new(pd, req, user, finish_warnings);
    j->resp = ok_response();
    json_object_set_object_member(j->resp, "committed", seg_settings_to_json(committed));
    if (pending)
        json_object_set_object_member(j->resp, "pending",
                                      seg_settings_to_json(pending));
    else
        json_object_set_null_member(j->resp, "pending");
    {
        const seg_settings *cur = pending ? pending : committed;
        g_autoptr(GPtrArray) lines = seg_destctl_differences(cur->destctl,
                                                             committed->destctl);

        json_object_set_array_member(j->resp, "destinations",
                                     seg_destctl_dests_to_json(cur->destctl));
        json_object_set_array_member(j->resp, "sendergroups",
                                     seg_destctl_groups_to_json(cur->destctl));
        json_object_set_array_member(j->resp, "table_changes", strings_array(lines));
    }
    cluster_member(pd, j->resp, level);
    j->settings = seg_settings_copy(pending ? pending : committed);
    return job_start(j);
}

/* finish_set - the paths are readable by the caller: store, answer */
static JsonObject *finish_set(job *j, GError **error)
{
    policyd *pd = j->pd;

    if (j->check_error != NULL) {
        g_propagate_error(error, g_steal_pointer(&j->check_error));
        return NULL;
    }
    if (seg_store_is_cluster(pd->store)) {
        if (!seg_store_set_at(pd->store, j->level, j->next, error))
            return NULL;
    } else if (seg_settings_equal(j->next, seg_store_committed(pd->store))) {
        if (!seg_store_clear_pending(pd->store, NULL, error))
            return NULL;
    } else if (!seg_store_set_pending(pd->store, j->next, error)) {
        return NULL;
    }
    generation++;
    msg_debug("set by %s", j->user);
    j->resp = ok_response();
    return finish_warnings(j, error);
}

/* op_set - all or nothing: every pair into a copy, then store it */
static JsonObject *op_set(policyd *pd, JsonObject *req, const char *user,
                          GError **error)
{
    JsonNode *node = json_object_get_member(req, "settings");
    g_autoptr(seg_settings) next = NULL;
    g_autoptr(seg_settings) now = NULL;
    JsonObjectIter iter;
    const char *key;
    const char *level;
    JsonNode *value;
    unsigned touched = 0;
    job    *j;

    if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "member \"settings\" must be an object");
        return NULL;
    }
    if (!level_member(req, &level, error))
        return NULL;
    if (level != NULL || seg_store_is_cluster(pd->store)) {
        /* a change goes to the cluster level unless the request names one */
        if ((now = seg_store_view(pd->store, level ? level : "cluster", TRUE,
                                  error)) == NULL)
            return NULL;
    } else {
        now = seg_settings_copy(current(pd));
    }
    next = seg_settings_copy(now);
    json_object_iter_init(&iter, json_node_get_object(node));
    while (json_object_iter_next(&iter, &key, &value)) {
        int     svc;

        if (!JSON_NODE_HOLDS_VALUE(value)
            || json_node_get_value_type(value) != G_TYPE_STRING) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                        "%s: value must be a string", key);
            return NULL;
        }
        if (!seg_settings_set(next, key, json_node_get_string(value), error))
            return NULL;
        if ((svc = seg_settings_key_service(key)) >= 0)
            touched |= 1u << svc;
    }
    j = job_new(pd, req, user, finish_set);
    if (!check_new_paths(j, now, next, error)) {
        job_free(j);
        return NULL;
    }
    j->change = TRUE;
    j->level = g_strdup(level);
    j->touched = touched;
    j->settings = seg_settings_copy(next);
    j->next = g_steal_pointer(&next);
    return job_start(j);
}

/* table_change - next into pending through the job of a set */
static JsonObject *table_change(policyd *pd, JsonObject *req, const char *user,
                                seg_settings *next, seg_service svc)
{
    job    *j = job_new(pd, req, user, finish_set);

    j->change = TRUE;
    j->touched = 1u << svc;
    j->settings = seg_settings_copy(next);
    j->next = next;
    return job_start(j);
}

/* string_of - a string member, "" when absent and not required */
static gboolean string_of(JsonObject *req, const char *name, gboolean required,
                          const char **value, GError **error)
{
    GError *err = NULL;
    JsonNode *node = member_of_type(req, name, G_TYPE_STRING, required, &err);

    *value = node ? json_node_get_string(node) : "";
    if (err != NULL) {
        g_propagate_error(error, err);
        return FALSE;
    }
    return TRUE;
}

/* must_of - "must": "new" (new), "edit" (edit) or absent (either) */
static gboolean must_of(JsonObject *req, int *must, GError **error)
{
    const char *m;

    if (!string_of(req, "must", FALSE, &m, error))
        return FALSE;
    *must = strcmp(m, "new") == 0 ? SEG_DEST_MUST_BE_NEW
        : strcmp(m, "edit") == 0 ? SEG_DEST_MUST_EXIST : SEG_DEST_ANY;
    if (*m && *must == SEG_DEST_ANY) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "member \"must\" must be \"new\" or \"edit\"");
        return FALSE;
    }
    return TRUE;
}

/*
 * tables_in_cluster - the Destination Controls and sender groups are kept
 * by one machine's store: cluster mode does not carry them yet, so they
 * are refused there rather than applied from one machine to all
 */
static gboolean tables_in_cluster(policyd *pd, GError **error)
{
    if (!seg_store_is_cluster(pd->store))
        return FALSE;
    g_set_error_literal(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "Destination Controls and sender groups are not kept in cluster mode "
                        "yet: edit them on a machine without [cluster]");
    return TRUE;
}

/*
 * op_dest_set - a destination entry into pending:
 * {"op":"dest_set","domain":D,"tls":M,"methods":V,"ciphers":C,"exclude":X,
 *  "must":"new"|"edit"}
 */
static JsonObject *op_dest_set(policyd *pd, JsonObject *req, const char *user,
                               GError **error)
{
    const char *domain, *tls, *methods, *ciphers, *exclude;
    seg_settings *next;
    int     must;

    if (tables_in_cluster(pd, error))
        return NULL;
    if (!string_of(req, "domain", TRUE, &domain, error)
        || !string_of(req, "tls", TRUE, &tls, error)
        || !string_of(req, "methods", FALSE, &methods, error)
        || !string_of(req, "ciphers", FALSE, &ciphers, error)
        || !string_of(req, "exclude", FALSE, &exclude, error)
        || !must_of(req, &must, error))
        return NULL;
    next = seg_settings_copy(current(pd));
    if (!seg_destctl_dest_set(next->destctl, domain, tls, methods, ciphers, exclude,
                              next->svc[SEG_SVC_OUTBOUND].methods, must, error)) {
        seg_settings_free(next);
        return NULL;
    }
    return table_change(pd, req, user, next, SEG_SVC_OUTBOUND);
}

/* op_dest_delete - {"op":"dest_delete","domain":D} */
static JsonObject *op_dest_delete(policyd *pd, JsonObject *req, const char *user,
                                  GError **error)
{
    const char *domain;
    seg_settings *next;

    if (tables_in_cluster(pd, error))
        return NULL;
    if (!string_of(req, "domain", TRUE, &domain, error))
        return NULL;
    next = seg_settings_copy(current(pd));
    if (!seg_destctl_dest_delete(next->destctl, domain, error)) {
        seg_settings_free(next);
        return NULL;
    }
    return table_change(pd, req, user, next, SEG_SVC_OUTBOUND);
}

/*
 * op_group_set - a sender group into pending:
 * {"op":"group_set","name":N,"tls":M,"members":[...],"must":"new"|"edit"}
 */
static JsonObject *op_group_set(policyd *pd, JsonObject *req, const char *user,
                                GError **error)
{
    JsonNode *node = json_object_get_member(req, "members");
    g_autoptr(GPtrArray) members = g_ptr_array_new();
    const char *name, *tls;
    seg_settings *next;
    int     must;

    if (tables_in_cluster(pd, error))
        return NULL;
    if (!string_of(req, "name", TRUE, &name, error)
        || !string_of(req, "tls", TRUE, &tls, error) || !must_of(req, &must, error))
        return NULL;
    if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "member \"members\" must be an array of strings");
        return NULL;
    }
    for (guint i = 0; i < json_array_get_length(json_node_get_array(node)); i++) {
        JsonNode *m = json_array_get_element(json_node_get_array(node), i);

        if (!JSON_NODE_HOLDS_VALUE(m) || json_node_get_value_type(m) != G_TYPE_STRING) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                        "member \"members\" must be an array of strings");
            return NULL;
        }
        g_ptr_array_add(members, (gpointer) json_node_get_string(m));
    }
    g_ptr_array_add(members, NULL);
    next = seg_settings_copy(current(pd));
    if (!seg_destctl_group_set(next->destctl, name, tls,
                               (const char *const *) members->pdata, must, error)) {
        seg_settings_free(next);
        return NULL;
    }
    return table_change(pd, req, user, next, SEG_SVC_INBOUND);
}

/* op_group_delete - {"op":"group_delete","name":N} */
static JsonObject *op_group_delete(policyd *pd, JsonObject *req, const char *user,
                                   GError **error)
{
    const char *name;
    seg_settings *next;

    if (tables_in_cluster(pd, error))
        return NULL;
    if (!string_of(req, "name", TRUE, &name, error))
        return NULL;
    next = seg_settings_copy(current(pd));
    if (!seg_destctl_group_delete(next->destctl, name, error)) {
        seg_settings_free(next);
        return NULL;
    }
    return table_change(pd, req, user, next, SEG_SVC_INBOUND);
}

/*
 * commit_cluster - this machine's pending changes become the cluster's
 * next revision (an etcd transaction); the answer comes once this machine
 * has applied it (cluster.c). Another commit first: SEG_ERROR_CONFLICT.
 */
static JsonObject *commit_cluster(policyd *pd, const char *user, const char *comment,
                                  gboolean keep, GError **error)
{
    gboolean nothing = FALSE;
    JsonObject *resp;

    if (!seg_store_commit(pd->store, user, comment, keep, &nothing, error))
        return NULL;
    resp = ok_response();
    json_object_set_boolean_member(resp, "nothing", nothing);
    json_object_set_array_member(resp, "notices", json_array_new());
    policyd_warnings_split(resp, NULL, 0, "commit");
    if (nothing)
        return resp;
    generation++;
    msg_info("cluster configuration committed by %s as revision %" G_GINT64_FORMAT,
             user, seg_store_etcd_revision(pd->store));
    if (caller == NULL || !policyd_cluster_enabled()) {
        json_object_set_int_member(resp, "revision", seg_store_etcd_revision(pd->store));
        return resp;
    }
    policyd_cluster_committed(caller, resp, seg_store_etcd_revision(pd->store));
    return NULL;
}

/*
 * op_commit - pending becomes committed. With an apply configuration the
 * pending settings are applied first (apply.c) and the answer comes once
 * segtls-apply is done: NULL without an error means just that.
 */
static JsonObject *op_commit(policyd *pd, JsonObject *req, const char *user,
                             GError **error)
{
    GError *err = NULL;
    JsonNode *node;
    const char *comment = "";
    gboolean keep = TRUE;
    gboolean nothing = FALSE;
    g_autoptr(seg_settings) before = NULL;
    JsonObject *resp;
    job    *j;

    if ((node = member_of_type(req, "comment", G_TYPE_STRING, FALSE, &err)) != NULL)
        comment = json_node_get_string(node);
    if (err == NULL
        && (node = member_of_type(req, "keep_rollback", G_TYPE_BOOLEAN,
                                  FALSE, &err)) != NULL)
        keep = json_node_get_boolean(node);
    if (err != NULL) {
        g_propagate_error(error, err);
        return NULL;
    }
    if (seg_store_is_cluster(pd->store))
        return commit_cluster(pd, user, comment, keep, error);
    if (seg_store_pending(pd->store) != NULL && caller != NULL
        && !policyd_apply_refresh(pd, error))
        return NULL;
    if (seg_store_pending(pd->store) != NULL && caller != NULL
        && policyd_apply_enabled()) {
        policyd_apply_start(pd, caller, user, comment, keep, error);
        return NULL;
    }
    before = seg_settings_copy(seg_store_committed(pd->store));
    if (!seg_store_commit(pd->store, user, comment, keep, &nothing, error))
        return NULL;
    resp = ok_response();
    json_object_set_boolean_member(resp, "nothing", nothing);
    json_object_set_array_member(resp, "notices", json_array_new());
    if (nothing) {
        policyd_warnings_split(resp, NULL, 0, "commit");
        return resp;
    }
    generation++;
    msg_info("configuration committed by %s", user);
    j = job_new(pd, req, user, finish_warnings);
    j->resp = resp;
    j->what = "commit";
    j->touched = seg_settings_changed_services(before, seg_store_committed(pd->store));
    j->settings = seg_settings_copy(seg_store_committed(pd->store));
    return job_start(j);
}

/*
 * op_apply - apply the committed settings now (apply.c), proven like a
 * commit; the answer comes once segtls-apply is done
 */
static JsonObject *op_apply(policyd *pd, JsonObject *req, const char *user,
                            GError **error)
{
    if (caller == NULL)
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "apply needs a connection to answer on");
    else if (policyd_apply_refresh(pd, error))
        policyd_apply_now(pd, caller, user, error);
    return NULL;
}

/* op_clear - drop pending changes */
static JsonObject *op_clear(policyd *pd, JsonObject *req, const char *user,
                            GError **error)
{
    gboolean had_any = FALSE;
    JsonObject *resp;

    if (!seg_store_clear_pending(pd->store, &had_any, error))
        return NULL;
    generation++;
    resp = ok_response();
    json_object_set_boolean_member(resp, "nothing", !had_any);
    return resp;
}

/*
 * rollback_restores - what restoring entry e brings back: "restores",
 * one line naming the configuration ("before: COMMENT, committed TIME by
 * USER"), "settings" (the saved configuration, null when unreadable) and
 * "differences" (each key where it differs from the committed one:
 * "KEY = SAVED (committed: NOW)").
 */
static void rollback_restores(JsonObject *o, const seg_rollback_entry *e,
                              const seg_settings *committed)
{
    JsonArray *diff = json_array_new();
    g_autofree char *what = NULL;
    const char *when = e->time && *e->time ? e->time : "at an unknown time";
    const char *who = e->user && *e->user ? e->user : "an unknown user";

    if (e->comment && *e->comment)
        what = g_strdup_printf("before: %s, committed %s by %s", e->comment, when, who);
    else
        what = g_strdup_printf("before the commit of %s by %s", when, who);
    json_object_set_string_member(o, "restores", what);
    if (e->settings == NULL) {
        json_object_set_null_member(o, "settings");
        json_object_set_array_member(o, "differences", diff);
        return;
    }
    for (const char *const *k = seg_settings_keys(); *k != NULL; k++) {
        g_autofree char *saved = seg_settings_get(e->settings, *k);
        g_autofree char *now = seg_settings_get(committed, *k);
        g_autofree char *line = NULL;

        if (strcmp(saved, now) == 0)
            continue;
        line = g_strdup_printf("%s = %s (committed: %s)", *k, *saved ? saved : "\"\"",
                               *now ? now : "\"\"");
        json_array_add_string_element(diff, line);
    }
    {
        g_autoptr(GPtrArray) tables = seg_destctl_differences(e->settings->destctl,
                                                              committed->destctl);

        for (guint i = 0; i < tables->len; i++)
            json_array_add_string_element(diff, g_ptr_array_index(tables, i));
    }
    json_object_set_object_member(o, "settings", seg_settings_to_json(e->settings));
    json_object_set_array_member(o, "differences", diff);
}

/* op_rollback_list - saved configurations, newest first, by stable id */
static JsonObject *op_rollback_list(policyd *pd, JsonObject *req,
                                    const char *user, GError **error)
{
    g_autoptr(GPtrArray) list = seg_store_rollback_list(pd->store);
    JsonArray *arr = json_array_new();
    JsonObject *resp;
    guint   i;

    for (i = 0; list != NULL && i < list->len; i++) {
        const seg_rollback_entry *e = g_ptr_array_index(list, i);
        JsonObject *o = json_object_new();

        json_object_set_int_member(o, "id", (gint64) e->id);
        json_object_set_string_member(o, "time", e->time ? e->time : "");
        json_object_set_string_member(o, "user", e->user ? e->user : "");
        json_object_set_string_member(o, "comment", e->comment ? e->comment : "");
        rollback_restores(o, e, seg_store_committed(pd->store));
        json_array_add_object_element(arr, o);
    }
    resp = ok_response();
    json_object_set_array_member(resp, "rollbacks", arr);
    return resp;
}

/* finish_restore - the paths are readable by the caller: make it pending */
static JsonObject *finish_restore(job *j, GError **error)
{
    JsonObject *resp;

    if (j->check_error != NULL) {
        g_propagate_error(error, g_steal_pointer(&j->check_error));
        return NULL;
    }
    if (!seg_store_rollback_restore(j->pd->store,
                                    (guint64) json_object_get_int_member(j->request, "id"),
                                    error))
        return NULL;
    generation++;
    msg_info("saved configuration %" G_GINT64_FORMAT " restored as pending by %s",
             json_object_get_int_member(j->request, "id"), j->user);
    resp = ok_response();
    json_object_set_int_member(resp, "id", json_object_get_int_member(j->request, "id"));
    return resp;
}

/* op_rollback_restore - the saved configuration with this id becomes pending */
static JsonObject *op_rollback_restore(policyd *pd, JsonObject *req,
                                       const char *user, GError **error)
{
    JsonNode *node = member_of_type(req, "id", G_TYPE_INT64, TRUE, error);
    seg_settings *s;
    gint64  id;
    job    *j;

    if (node == NULL)
        return NULL;
    id = json_node_get_int(node);
    if (id < 1) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_NOT_FOUND,
                    "no saved configuration %" G_GINT64_FORMAT, id);
        return NULL;
    }
    if ((s = seg_store_rollback_get(pd->store, (guint64) id, error)) == NULL)
        return NULL;
    j = job_new(pd, req, user, finish_restore);
    j->next = s;
    j->change = TRUE;
    if (!check_new_paths(j, current(pd), s, error)) {
        job_free(j);
        return NULL;
    }
    return job_start(j);
}

/* op_commit_detail - the last commit: who, when, comment, what changed */
static JsonObject *op_commit_detail(policyd *pd, JsonObject *req,
                                    const char *user, GError **error)
{
    g_autoptr(seg_commit_detail) d = seg_store_last_commit(pd->store);
    JsonObject *resp = ok_response();
    JsonObject *o;
    JsonArray *changes;

    if (d == NULL) {
        json_object_set_null_member(resp, "commit");
        return resp;
    }
    o = json_object_new();
    json_object_set_string_member(o, "time", d->time);
    json_object_set_string_member(o, "user", d->user);
    json_object_set_string_member(o, "comment", d->comment);
    json_object_set_int_member(o, "rollback_id", (gint64) d->rollback_id);
    changes = json_array_new();
    for (guint i = 0; i < d->keys->len; i++) {
        JsonObject *c = json_object_new();

        json_object_set_string_member(c, "key", g_ptr_array_index(d->keys, i));
        json_object_set_string_member(c, "before", g_ptr_array_index(d->before, i));
        json_object_set_string_member(c, "after", g_ptr_array_index(d->after, i));
        if (d->levels != NULL)
            json_object_set_string_member(c, "level", g_ptr_array_index(d->levels, i));
        json_array_add_object_element(changes, c);
    }
    json_object_set_array_member(o, "changes", changes);
    json_object_set_object_member(resp, "commit", o);
    return resp;
}

/* services_array - per service: committed methods, what is usable, renegotiation */
static JsonArray *services_array(const seg_settings *s, const seg_analysis *a)
{
    JsonArray *arr = json_array_new();

    for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
        JsonObject *o = json_object_new();
        g_autofree char *methods = seg_methods_value(s->svc[svc].methods);
        unsigned usable = a->usable[svc];
        g_autofree char *uval = usable ? seg_methods_value(usable) : g_strdup("");
        const char *note = seg_renegotiation_note(s, (seg_service) svc);

        json_object_set_string_member(o, "service", seg_service_key((seg_service) svc));
        json_object_set_string_member(o, "title", seg_service_title((seg_service) svc));
        json_object_set_string_member(o, "configured", methods);
        json_object_set_string_member(o, "usable", uval);
        if (svc != SEG_SVC_GUI)
            json_object_set_string_member(o, "tls", seg_tls_mode_name(s->svc[svc].tls));
        if (svc != SEG_SVC_OUTBOUND) {
            json_object_set_string_member(o, "renegotiation",
                                          s->svc[svc].renegotiation ? "enabled" : "disabled");
            json_object_set_boolean_member(o, "renegotiation_applied", note == NULL);
            if (note != NULL)
                json_object_set_string_member(o, "renegotiation_note", note);
        }
        json_array_add_object_element(arr, o);
    }
    return arr;
}

/* finish_status - the services and whether the file on disk is valid */
static JsonObject *finish_status(job *j, GError **error)
{
    JsonObject *resp = g_steal_pointer(&j->resp);

    json_object_set_array_member(resp, "services",
                                 services_array(j->settings, &j->analysis));
    if (j->file_error != NULL)
        json_object_set_string_member(resp, "config_error", j->file_error);
    else
        json_object_set_null_member(resp, "config_error");
    policyd_apply_status(resp);
    policyd_cluster_status(resp);
    return resp;
}

/* op_status - who and where the daemon is, its services, its apply */
static JsonObject *op_status(policyd *pd, JsonObject *req, const char *user,
                             GError **error)
{
    job    *j = job_new(pd, req, user, finish_status);
    JsonArray *dirs = json_array_new();

    j->resp = ok_response();
    json_object_set_int_member(j->resp, "pid", getpid());
    json_object_set_string_member(j->resp, "config", pd->config_path);
    json_object_set_string_member(j->resp, "state_dir", pd->state_dir);
    json_object_set_boolean_member(j->resp, "pending", has_pending(pd));
    json_object_set_string_member(j->resp, "user", user);
    json_object_set_boolean_member(j->resp, "read_only",
                                   caller != NULL && caller->readonly);
    for (char **d = pd->cert_dirs; d != NULL && *d != NULL; d++)
        json_array_add_string_element(dirs, *d);
    json_object_set_array_member(j->resp, "certificate_dirs", dirs);
    j->settings = seg_settings_copy(seg_store_committed(pd->store));
    if (!seg_store_is_cluster(pd->store))   /* cluster: the file is policyd's own */
        j->config_path = g_strdup(pd->config_path);
    return job_start(j);
}

/* need_cluster - the cluster operations need cluster mode */
static gboolean need_cluster(policyd *pd, GError **error)
{
    if (seg_store_is_cluster(pd->store))
        return TRUE;
    g_set_error_literal(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "not in a cluster: segtls-policyd runs without [cluster] in its "
                        "configuration");
    return FALSE;
}

/* rows_array - [{"key","level","value"}] of a listing */
static JsonArray *rows_array(const seg_layers *l)
{
    g_autoptr(GPtrArray) rows = seg_layers_listing(l);
    JsonArray *arr = json_array_new();

    for (guint i = 0; i < rows->len; i++) {
        const seg_layers_row *r = g_ptr_array_index(rows, i);
        JsonObject *o = json_object_new();

        json_object_set_string_member(o, "key", r->key);
        json_object_set_string_member(o, "level", r->level);
        json_object_set_string_member(o, "value", r->value);
        json_array_add_object_element(arr, o);
    }
    return arr;
}

/*
 * op_clustershow - where each setting lives (committed and pending), the
 * last commit, and what every machine did with the revisions
 */
static JsonObject *op_clustershow(policyd *pd, JsonObject *req, const char *user,
                                  GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) statuses = NULL;
    seg_store *st = pd->store;
    const seg_layers *committed, *pending;
    JsonObject *resp;
    JsonArray *machines = json_array_new();
    JsonObject *commit;
    const char *why;

    if (!need_cluster(pd, error)) {
        json_array_unref(machines);
        return NULL;
    }
    (void) seg_store_reload(st, NULL);  /* fresh when etcd answers, else the last read */
    committed = seg_store_layers(st, FALSE);
    pending = seg_store_layers(st, TRUE);
    resp = ok_response();
    json_object_set_string_member(resp, "cluster", seg_store_cluster_name(st));
    json_object_set_string_member(resp, "machine", seg_store_machine(st));
    json_object_set_string_member(resp, "group", seg_store_etcd_group(st));
    json_object_set_boolean_member(resp, "joined", seg_store_etcd_joined(st));
    json_object_set_int_member(resp, "revision", seg_store_etcd_revision(st));
    if ((commit = seg_store_etcd_commit(st)) != NULL) {
        JsonObject *c = json_object_new();

        for (const char *const *m = (const char *const[]) {"time", "user", "comment",
                                                           "machine", NULL}; *m; m++)
            json_object_set_string_member(c, *m,
                json_object_get_string_member_with_default(commit, *m, ""));
        json_object_set_object_member(resp, "commit", c);
    }
    json_object_set_array_member(resp, "settings",
                                 committed ? rows_array(committed) : json_array_new());
    if (pending != NULL) {
        json_object_set_array_member(resp, "pending", rows_array(pending));
        json_object_set_int_member(resp, "pending_base", seg_store_etcd_pending_base(st));
    } else {
        json_object_set_null_member(resp, "pending");
    }
    if ((statuses = seg_store_etcd_statuses(st, &err)) != NULL)
        for (guint i = 0; i < statuses->len; i++)
            json_array_add_object_element(machines,
                                          json_object_ref(g_ptr_array_index(statuses, i)));
    json_object_set_array_member(resp, "machines", machines);
    if (!seg_store_etcd_reachable(st, &why, NULL))
        json_object_set_string_member(resp, "etcd_error", why);
    if (seg_store_etcd_config_error(st) != NULL)
        json_object_set_string_member(resp, "config_error", seg_store_etcd_config_error(st));
    return resp;
}

/*
 * op_clusterset - {"keys":[KEY...],"from":LEVEL,"to":LEVEL|null}: the
 * values of keys at from go to to (null: removed, from inherits), pending
 */
static JsonObject *op_clusterset(policyd *pd, JsonObject *req, const char *user,
                                 GError **error)
{
    JsonNode *keys = json_object_get_member(req, "keys");
    JsonNode *to = json_object_get_member(req, "to");
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    JsonNode *from;
    JsonArray *arr;

    if (!need_cluster(pd, error))
        return NULL;
    if ((from = member_of_type(req, "from", G_TYPE_STRING, TRUE, error)) == NULL)
        return NULL;
    if (keys == NULL || !JSON_NODE_HOLDS_ARRAY(keys)
        || json_array_get_length(arr = json_node_get_array(keys)) == 0
        || json_array_get_length(arr) > 64) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "member \"keys\" must be an array of 1 to 64 setting names");
        return NULL;
    }
    if (to != NULL && !JSON_NODE_HOLDS_NULL(to)
        && (!JSON_NODE_HOLDS_VALUE(to) || json_node_get_value_type(to) != G_TYPE_STRING)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "member \"to\" must be a string or null");
        return NULL;
    }
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *k = json_array_get_element(arr, i);

        if (!JSON_NODE_HOLDS_VALUE(k) || json_node_get_value_type(k) != G_TYPE_STRING) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                        "member \"keys\" must be an array of 1 to 64 setting names");
            return NULL;
        }
        g_ptr_array_add(names, (gpointer) json_node_get_string(k));
    }
    g_ptr_array_add(names, NULL);
    if (!seg_store_move(pd->store, (const char *const *) names->pdata,
                        json_node_get_string(from),
                        to && !JSON_NODE_HOLDS_NULL(to) ? json_node_get_string(to) : NULL,
                        error))
        return NULL;
    generation++;
    msg_info("clusterset by %s", user);
    return ok_response();
}

/* op_cluster_join - this machine joins the cluster, serving what it serves */
static JsonObject *op_cluster_join(policyd *pd, JsonObject *req, const char *user,
                                   GError **error)
{
    const seg_layers *l;
    gboolean already = FALSE;
    JsonObject *resp;
    JsonArray *own = json_array_new();
    GHashTable *t;

    if (!need_cluster(pd, error)) {
        json_array_unref(own);
        return NULL;
    }
    {
        g_autoptr(seg_settings) none = seg_settings_new_default();

        if (!seg_destctl_equal(seg_store_committed(pd->store)->destctl, none->destctl)) {
            g_set_error_literal(error, SEG_ERROR, SEG_ERROR_INVALID,
                                "this machine has Destination Controls entries or sender "
                                "groups, which cluster mode does not keep yet: joining would "
                                "change what it serves");
            json_array_unref(own);
            return NULL;
        }
    }
    if (!seg_store_etcd_join(pd->store, user, &already, error)) {
        json_array_unref(own);
        return NULL;
    }
    generation++;
    policyd_cluster_joined();
    l = seg_store_layers(pd->store, FALSE);
    t = l ? g_hash_table_lookup(l->machines, seg_store_machine(pd->store)) : NULL;
    for (const char *const *k = seg_settings_keys(); t != NULL && *k != NULL; k++)
        if (g_hash_table_lookup(t, *k) != NULL)
            json_array_add_string_element(own, *k);
    resp = ok_response();
    json_object_set_boolean_member(resp, "already", already);
    json_object_set_string_member(resp, "cluster", seg_store_cluster_name(pd->store));
    json_object_set_string_member(resp, "machine", seg_store_machine(pd->store));
    json_object_set_string_member(resp, "group", seg_store_etcd_group(pd->store));
    json_object_set_int_member(resp, "revision", seg_store_etcd_revision(pd->store));
    json_object_set_array_member(resp, "own", own);
    return resp;
}

static const struct op {
    const char *name;
    op_handler  handler;
    gboolean    changes;        /* refused while an apply runs, and read-only */
} ops[] = {
    {"show", op_show, FALSE},
    {"set", op_set, TRUE},
    {"commit", op_commit, TRUE},
    {"apply", op_apply, TRUE},
    {"clear", op_clear, TRUE},
    {"rollback_list", op_rollback_list, FALSE},
    {"rollback_restore", op_rollback_restore, TRUE},
    {"commit_detail", op_commit_detail, FALSE},
    {"status", op_status, FALSE},
    {"dest_set", op_dest_set, TRUE},
    {"dest_delete", op_dest_delete, TRUE},
    {"group_set", op_group_set, TRUE},
    {"group_delete", op_group_delete, TRUE},
    {"clustershow", op_clustershow, FALSE},
    {"clusterset", op_clusterset, TRUE},
    {"cluster_join", op_cluster_join, TRUE},
};

/* policyd_conn_reply - the answer of a deferred request, its caller's way */
void policyd_conn_reply(policyd_conn *conn, JsonObject *resp)
{
    conn->reply(conn, resp, NULL);
}

/* policyd_conn_fail - a deferred request failed: the error, its caller's way */
void policyd_conn_fail(policyd_conn *conn, const GError *error)
{
    conn->reply(conn, NULL, error);
}

/*
 * policyd_run - run one request for user from conn, the one path of
 * every request: the ok response; NULL with error set (SEG_ERROR_DENIED
 * for a change on a read-only connection, SEG_ERROR_LOCKED while an apply
 * runs, SEG_ERROR_NOT_FOUND, SEG_ERROR_PROTOCOL for a malformed request,
 * the settings' own codes for refused values); or NULL without an error
 * when the answer comes later through conn.
 */
JsonObject *policyd_run(policyd *pd, JsonObject *request, const char *user,
                        policyd_conn *conn, GError **error)
{
    GError *err = NULL;
    JsonNode *node;
    const char *name;
    JsonObject *resp;
    gsize   i;

    node = member_of_type(request, "op", G_TYPE_STRING, TRUE, error);
    if (node == NULL)
        return NULL;
    name = json_node_get_string(node);
    for (i = 0; i < G_N_ELEMENTS(ops); i++) {
        if (strcmp(ops[i].name, name) != 0)
            continue;
        if (ops[i].changes && conn != NULL && conn->readonly) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_DENIED,
                        "permission denied: %s changes the settings and this "
                        "connection may only read", name);
            return NULL;
        }
        if (ops[i].changes && policyd_apply_busy() && !policyd_cluster_enabled()) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_LOCKED, "an apply is in progress");
            return NULL;
        }
        caller = conn;
        resp = ops[i].handler(pd, request, user, &err);
        caller = NULL;
        if (resp == NULL && err != NULL) {
            msg_debug("%s by %s: %s", name, user, err->message);
            g_propagate_error(error, err);
        }
        return resp;
    }
    {
        g_autofree char *q = seg_quote_value(name);     /* one line, whatever it holds */

        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL, "unknown op %s", q);
    }
    return NULL;
}

/*
 * policyd_dispatch_conn - run one request from conn; NULL when the
 * answer comes later through policyd_conn_reply()
 */
JsonObject *policyd_dispatch_conn(policyd *pd, JsonObject *request,
                                  const char *user, policyd_conn *conn)
{
    g_autoptr(GError) err = NULL;
    JsonObject *resp = policyd_run(pd, request, user, conn, &err);

    if (resp == NULL && err != NULL)
        return policyd_error_response(err->message);
    return resp;
}

/* A caller that keeps the answer: policyd_dispatch(). */
typedef struct capture {
    policyd_conn base;
    JsonObject *resp;
} capture;

/* capture_reply - keep the answer */
static void capture_reply(policyd_conn *conn, JsonObject *resp, const GError *error)
{
    ((capture *) conn)->resp = resp ? resp : policyd_error_response(error->message);
}

/*
 * policyd_dispatch - run one request to its end in this thread (tests and
 * fuzzing; no apply) with the rights of this process; always a response
 */
JsonObject *policyd_dispatch(policyd *pd, JsonObject *request, const char *user)
{
    capture c = {{capture_reply, FALSE, TRUE, geteuid(), getegid(), FALSE}, NULL};
    JsonObject *resp;

    inline_jobs = TRUE;
    resp = policyd_dispatch_conn(pd, request, user, &c.base);
    inline_jobs = FALSE;
    if (resp == NULL)
        resp = c.resp;
    if (resp == NULL) {
        policyd_conn_forget(&c.base);
        resp = policyd_error_response("no answer");
    }
    return resp;
}
