/*
 * apply - the commit of segtls-policyd runs segtls-apply (SPEC sections 3, 5).
 *
 * With an apply configuration (applyconf.c) a commit writes the pending
 * settings atomically to STATE_DIR/commit-apply.conf and runs
 * `segtls-apply --config=THAT --state-dir=STATE_DIR OPTIONS...` through
 * GSubprocess (argv, no shell), its output into files in the state dir,
 * and waits asynchronously, so the daemon keeps answering. Only when
 * segtls-apply exits 0 is the pending configuration committed; the
 * answer then carries its warnings (those about the services the commit
 * changed; the others summed up, ops.c), notices and output lines. When it
 * fails the answer is "apply failed: <its error line>", and the committed
 * file and the pending changes stay as they were. While it runs, requests
 * that change anything are refused (ops.c asks policyd_apply_busy()).
 *
 * `segtls apply` (the "apply" request) runs the same apply on the
 * committed settings, with the same options and the same proof: after
 * installing, or after a valid hand edit of the settings file and SIGHUP.
 * It commits nothing, and the pending changes stay pending. A commit and
 * an apply first read the apply configuration again when its file
 * changed (policyd_apply_refresh): editing it needs no SIGHUP.
 *
 * segtls-apply is looked for next to this program, then in SBINDIR, then
 * in PATH. When the daemon stops while an apply runs, the apply is left
 * to finish on its own (it restores the previous files itself when the
 * servers disagree) and the changes stay pending.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply.h"
#include "atomic.h"
#include "error.h"
#include "metrics.h"
#include "msg.h"
#include "policyd.h"
#include "store.h"

#ifndef SEGTLS_SBINDIR
#define SEGTLS_SBINDIR "/usr/local/sbin"
#endif

#define APPLY_PROGRAM   "segtls-apply"

typedef struct apply_job {
    policyd    *pd;
    policyd_conn *conn;         /* NULL once the connection is gone */
    GSubprocess *proc;
    GCancellable *cancel;
    char       *user;
    gboolean    commit;         /* a commit (pending), else "apply" (committed) */
    char       *comment;
    gboolean    keep;
    char       *conf_path;      /* the pending settings given to segtls-apply */
    char       *out_path;
    char       *err_path;
    gint64      started;        /* monotonic us, for the metrics */
    policyd_apply_done done;    /* cluster mode: the result goes there */
    gpointer    data;
} apply_job;

static policyd_apply_conf *conf;        /* last good; NULL = no file */
static char *conf_path;                 /* the file, for status */
static policyd_cluster_conf *cluster;   /* [cluster] as the daemon started */
static gboolean loaded;                 /* the first load is done */
static struct stat conf_st;             /* the file as last read */
static gboolean conf_st_valid;          /* FALSE: it was missing */
static apply_job *job;                  /* the apply that runs, or NULL */

/* job_free - release a finished job */
static void job_free(apply_job *j)
{
    g_clear_object(&j->proc);
    g_clear_object(&j->cancel);
    g_free(j->user);
    g_free(j->comment);
    g_free(j->conf_path);
    g_free(j->out_path);
    g_free(j->err_path);
    g_free(j);
}

/*
 * keep_cluster - [cluster] is taken once, at start: a change later (or
 * its removal) needs a restart, and is logged
 */
static void keep_cluster(const policyd_cluster_conf *c)
{
    if (!loaded) {
        loaded = TRUE;
        if (c != NULL) {
            cluster = g_new0(policyd_cluster_conf, 1);
            cluster->name = g_strdup(c->name);
            cluster->endpoints = g_strdupv(c->endpoints);
            cluster->ca_file = g_strdup(c->ca_file);
            cluster->cert_file = g_strdup(c->cert_file);
            cluster->key_file = g_strdup(c->key_file);
            cluster->machine = g_strdup(c->machine);
            cluster->group = g_strdup(c->group);
            cluster->prefix = g_strdup(c->prefix);
            cluster->timeout = c->timeout;
        }
        return;
    }
    if (!policyd_cluster_conf_equal(c, cluster))
        msg_warn("%s: [cluster] changed; restart segtls-policyd to use it (the daemon "
                 "keeps the one it started with)", conf_path);
}

/* policyd_apply_cluster - [cluster] as the daemon started, or NULL */
const policyd_cluster_conf *policyd_apply_cluster(void)
{
    return cluster;
}

/*
 * policyd_apply_load - (re)read pd->apply_config. A missing file disables
 * apply; a bad one fails and the last good configuration stays.
 */
gboolean policyd_apply_load(policyd *pd, GError **error)
{
    policyd_apply_conf *c;

    g_free(conf_path);
    conf_path = g_strdup(pd->apply_config);
    conf_st_valid = stat(pd->apply_config, &conf_st) == 0;
    if (!g_file_test(pd->apply_config, G_FILE_TEST_EXISTS)) {
        g_clear_pointer(&conf, policyd_apply_conf_free);
        keep_cluster(NULL);
        msg_info("no apply configuration %s: commit only stores the settings",
                 pd->apply_config);
        return TRUE;
    }
    if ((c = policyd_apply_conf_load(pd->apply_config, error)) == NULL)
        return FALSE;
    policyd_apply_conf_free(conf);
    conf = c;
    keep_cluster(c->cluster);
    if (conf->enabled)
        msg_info("apply configuration %s: commit applies the settings",
                 pd->apply_config);
    else
        msg_info("apply disabled in %s: commit only stores the settings",
                 pd->apply_config);
    return TRUE;
}

/*
 * policyd_apply_refresh - before a commit or an apply: read the apply
 * configuration again when the file changed since it was read (an admin
 * edits it and runs segtls apply, no SIGHUP needed). A bad file fails
 * the request with its file:line error; the last good one stays loaded.
 */
gboolean policyd_apply_refresh(policyd *pd, GError **error)
{
    struct stat st;
    gboolean now = stat(pd->apply_config, &st) == 0;

    if (now == conf_st_valid
        && (!now || (st.st_dev == conf_st.st_dev && st.st_ino == conf_st.st_ino
                     && st.st_size == conf_st.st_size
                     && st.st_mtim.tv_sec == conf_st.st_mtim.tv_sec
                     && st.st_mtim.tv_nsec == conf_st.st_mtim.tv_nsec)))
        return TRUE;
    msg_info("%s changed: reading it again", pd->apply_config);
    return policyd_apply_load(pd, error);
}

/* policyd_apply_enabled - does a commit apply */
gboolean policyd_apply_enabled(void)
{
    return conf != NULL && conf->enabled;
}

/* policyd_apply_busy - does an apply run now */
gboolean policyd_apply_busy(void)
{
    return job != NULL;
}

/* apply_program - segtls-apply next to this program, in SBINDIR, in PATH */
static char *apply_program(GError **error)
{
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *dir = self ? g_path_get_dirname(self) : NULL;
    const char *sbin = SEGTLS_SBINDIR "/" APPLY_PROGRAM;
    char   *path;

    if (dir != NULL) {
        path = g_build_filename(dir, APPLY_PROGRAM, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_EXECUTABLE))
            return path;
        g_free(path);
    }
    if (g_file_test(sbin, G_FILE_TEST_IS_EXECUTABLE))
        return g_strdup(sbin);
    if ((path = g_find_program_in_path(APPLY_PROGRAM)) != NULL)
        return path;
    g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY,
                "cannot find " APPLY_PROGRAM " (next to segtls-policyd, in "
                SEGTLS_SBINDIR " or in PATH)");
    return NULL;
}

/* read_lines - the lines of a file the child wrote ("" when unreadable) */
static char **read_lines(const char *path)
{
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)
        || !g_utf8_validate(text, -1, NULL))
        return g_new0(char *, 1);
    g_strchomp(text);
    if (*text == 0)
        return g_new0(char *, 1);
    return g_strsplit(text, "\n", -1);
}

/* error_line - the one-line reason segtls-apply gave, or its exit status */
static char *error_line(GSubprocess *proc, char **err)
{
    static const char *const marks[] = {": error: ", ": fatal: "};
    const char *last = NULL;

    for (gsize m = 0; m < G_N_ELEMENTS(marks); m++) {
        for (int i = 0; err[i] != NULL; i++) {
            const char *p = strstr(err[i], marks[m]);

            if (p != NULL)
                last = p + strlen(marks[m]);
        }
        if (last != NULL)
            return g_strdup(last);
    }
    for (int i = 0; err[i] != NULL; i++)
        if (*err[i] != 0 && !g_str_has_prefix(err[i], "Warning:"))
            last = err[i];
    if (last != NULL)
        return g_strdup(last);
    if (g_subprocess_get_if_signaled(proc))
        return g_strdup_printf(APPLY_PROGRAM " was killed by signal %d",
                               g_subprocess_get_term_sig(proc));
    return g_strdup_printf(APPLY_PROGRAM " exited with status %d",
                           g_subprocess_get_exit_status(proc));
}

/* add_prefixed - lines starting with prefix, to arr */
static void add_prefixed(GPtrArray *arr, char **lines, const char *prefix)
{
    for (int i = 0; lines[i] != NULL; i++)
        if (prefix == NULL || g_str_has_prefix(lines[i], prefix))
            g_ptr_array_add(arr, g_strdup(lines[i]));
}

/* success - commit (for a commit), and the answer with what segtls-apply said */
static JsonObject *success(apply_job *j, char **out, char **err)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) notices = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
    gboolean nothing = FALSE;
    unsigned touched = j->commit ? 0 : (1u << SEG_SVC_COUNT) - 1;     /* apply: all */
    JsonObject *resp;

    if (j->commit && seg_store_pending(j->pd->store) != NULL)
        touched = seg_settings_changed_services(seg_store_committed(j->pd->store),
                                                seg_store_pending(j->pd->store));
    if (!j->commit) {
        msg_info("committed configuration applied by %s", j->user);
    } else if (!seg_store_commit(j->pd->store, j->user, j->comment, j->keep,
                                 &nothing, &error)) {
        g_autofree char *msg = g_strdup_printf(
            "the settings were applied but not committed: %s", error->message);

        msg_error("%s", msg);
        return policyd_error_response(msg);
    } else {
        msg_info("configuration committed by %s and applied", j->user);
    }
    policyd_ops_changed();
    add_prefixed(warnings, err, "Warning:");
    add_prefixed(warnings, out, "Warning:");
    add_prefixed(notices, out, "notice:");
    add_prefixed(lines, out, NULL);
    resp = policyd_ok_response();
    json_object_set_boolean_member(resp, "nothing", nothing);
    policyd_warnings_split(resp, warnings, touched, j->commit ? "commit" : "apply");
    json_object_set_array_member(resp, "notices", policyd_strings_array(notices));
    json_object_set_array_member(resp, "lines", policyd_strings_array(lines));
    return resp;
}

/* count_apply - segtls_apply_total{result} and segtls_apply_duration_seconds */
static void count_apply(const apply_job *j, gboolean ok)
{
    g_autofree char *labels = seg_metrics_labels("result", ok ? "success" : "failure", NULL);

    seg_metrics_describe("segtls_apply_total", "counter",
                         "Commits applied with segtls-apply, by result");
    seg_metrics_describe("segtls_apply_duration_seconds", "summary",
                         "Time segtls-apply took per commit");
    seg_metrics_add("segtls_apply_total", labels, 1);
    seg_metrics_add("segtls_apply_duration_seconds_sum", NULL,
                    (double) (g_get_monotonic_time() - j->started) / 1e6);
    seg_metrics_add("segtls_apply_duration_seconds_count", NULL, 1);
}

/* on_done - segtls-apply ended: commit or not, then answer */
static void on_done(GObject *src, GAsyncResult *res, gpointer data)
{
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) out = NULL;
    g_auto(GStrv) err = NULL;
    apply_job *j;
    JsonObject *resp;

    if (!g_subprocess_wait_finish(G_SUBPROCESS(src), res, &error)
        && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;                         /* shutdown: the job is gone */
    j = data;
    job = NULL;
    out = read_lines(j->out_path);
    err = read_lines(j->err_path);
    count_apply(j, error == NULL && g_subprocess_get_successful(j->proc));
    if (j->done != NULL) {
        gboolean ok = error == NULL && g_subprocess_get_successful(j->proc);
        g_autofree char *why = ok ? NULL : error ? g_strdup(error->message)
            : error_line(j->proc, err);

        j->done(ok, why, out, err, j->data);
        resp = NULL;
    } else if (error == NULL && g_subprocess_get_successful(j->proc)) {
        resp = success(j, out, err);
    } else {
        g_autofree char *why = error ? g_strdup(error->message)
            : error_line(j->proc, err);
        g_autofree char *msg = g_strdup_printf("apply failed: %s", why);

        if (j->commit)
            msg_warn("commit by %s: %s; the changes stay pending", j->user, msg);
        else
            msg_warn("apply by %s: %s", j->user, msg);
        resp = policyd_error_response(msg);
    }
    for (const char *const *p = (const char *const[]) {j->conf_path, j->out_path,
                                                        j->err_path, NULL}; *p; p++)
        if (unlink(*p) < 0 && errno != ENOENT)
            msg_warn("remove %s: %s", *p, g_strerror(errno));
    if (resp != NULL && j->conn != NULL)
        policyd_conn_reply(j->conn, resp);
    else if (resp != NULL)
        json_object_unref(resp);
    job_free(j);
}

/* spawn - start segtls-apply for job j */
static gboolean spawn(apply_job *j, const char *program, GError **error)
{
    g_autoptr(GSubprocessLauncher) l =
        g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);

    g_ptr_array_add(argv, g_strdup(program));
    g_ptr_array_add(argv, g_strdup_printf("--config=%s", j->conf_path));
    g_ptr_array_add(argv, g_strdup_printf("--state-dir=%s", j->pd->state_dir));
    for (guint i = 0; i < conf->args->len; i++)
        g_ptr_array_add(argv, g_strdup(g_ptr_array_index(conf->args, i)));
    g_ptr_array_add(argv, NULL);
    g_subprocess_launcher_set_stdout_file_path(l, j->out_path);
    g_subprocess_launcher_set_stderr_file_path(l, j->err_path);
    j->proc = g_subprocess_launcher_spawnv(l, (const char *const *) argv->pdata,
                                           error);
    if (j->proc == NULL) {
        g_prefix_error(error, "cannot run %s: ", program);
        return FALSE;
    }
    j->started = g_get_monotonic_time();
    msg_info("%s%s: running %s (pid %s)", j->done ? "" : j->commit ? "commit by " : "apply by ",
             j->user, program, g_subprocess_get_identifier(j->proc));
    g_subprocess_wait_async(j->proc, j->cancel, on_done, j);
    return TRUE;
}

/* start - segtls-apply on s for job j (taken); FALSE: nothing started */
static gboolean start(policyd *pd, apply_job *j, const seg_settings *s, GError **error)
{
    g_autofree char *program = NULL;
    g_autofree char *text = NULL;
    gsize   len;

    if (job != NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY, "an apply is in progress");
        job_free(j);
        return FALSE;
    }
    if (s == NULL || conf == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY, "nothing to apply");
        job_free(j);
        return FALSE;
    }
    if ((program = apply_program(error)) == NULL) {
        job_free(j);
        return FALSE;
    }
    j->pd = pd;
    j->cancel = g_cancellable_new();
    j->conf_path = g_build_filename(pd->state_dir, "commit-apply.conf", NULL);
    j->out_path = g_build_filename(pd->state_dir, "commit-apply.out", NULL);
    j->err_path = g_build_filename(pd->state_dir, "commit-apply.err", NULL);
    text = seg_settings_to_keyfile(s, &len);
    if (!seg_atomic_write(j->conf_path, text, len, 0600, error)
        || !spawn(j, program, error)) {
        unlink(j->conf_path);
        job_free(j);
        return FALSE;
    }
    job = j;
    return TRUE;
}

/*
 * policyd_apply_start - apply the pending settings for a commit; the
 * answer goes to conn when segtls-apply is done. FALSE: nothing started.
 */
gboolean policyd_apply_start(policyd *pd, policyd_conn *conn, const char *user,
                             const char *comment, gboolean keep, GError **error)
{
    apply_job *j = g_new0(apply_job, 1);

    j->conn = conn;
    j->user = g_strdup(user);
    j->commit = TRUE;
    j->comment = g_strdup(comment);
    j->keep = keep;
    return start(pd, j, seg_store_pending(pd->store), error);
}

/*
 * policyd_apply_now - apply the committed settings ("segtls apply") with
 * the options of the apply configuration, enabled or not; the answer goes
 * to conn when segtls-apply is done. FALSE: nothing started.
 */
gboolean policyd_apply_now(policyd *pd, policyd_conn *conn, const char *user,
                           GError **error)
{
    apply_job *j;

    if (conf == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY,
                    "no apply configuration %s: nothing says where Postfix and "
                    "nginx are (see segtls-policyd(8))",
                    conf_path ? conf_path : pd->apply_config);
        return FALSE;
    }
    j = g_new0(apply_job, 1);
    j->conn = conn;
    j->user = g_strdup(user);
    j->comment = g_strdup("");
    return start(pd, j, seg_store_committed(pd->store), error);
}

/*
 * policyd_apply_settings - apply s (cluster mode: a revision each machine
 * applies by itself); done gets the result on the main loop, unless the
 * daemon stops first. FALSE: nothing started.
 */
gboolean policyd_apply_settings(policyd *pd, const seg_settings *s, const char *what,
                                policyd_apply_done done, gpointer data, GError **error)
{
    apply_job *j = g_new0(apply_job, 1);

    j->user = g_strdup(what);
    j->done = done;
    j->data = data;
    return start(pd, j, s, error);
}

/* policyd_apply_forget - conn goes away: its answer is dropped */
void policyd_apply_forget(policyd_conn *conn)
{
    if (job != NULL && job->conn == conn)
        job->conn = NULL;
}

/* The list keys of apply.conf in the status answer. */
static const struct {
    const char *member;
    size_t      offset;
} lists[] = {
    {"smtpd_services", offsetof(policyd_apply_conf, smtpd_services)},
    {"smtp_services", offsetof(policyd_apply_conf, smtp_services)},
    {"exclude_services", offsetof(policyd_apply_conf, exclude_services)},
    {"probe_smtp_list", offsetof(policyd_apply_conf, probe_smtp_list)},
};

/* policyd_apply_status - the apply members of the status answer */
void policyd_apply_status(JsonObject *resp)
{
    json_object_set_string_member(resp, "apply_config", conf_path ? conf_path : "");
    json_object_set_boolean_member(resp, "apply", policyd_apply_enabled());
    json_object_set_boolean_member(resp, "apply_file", conf != NULL);
    json_object_set_boolean_member(resp, "applying", job != NULL);
    if (conf != NULL && conf->probe_smtp != NULL)
        json_object_set_string_member(resp, "probe_smtp", conf->probe_smtp);
    if (conf != NULL && conf->probe_https != NULL)
        json_object_set_string_member(resp, "probe_https", conf->probe_https);
    if (conf == NULL || conf->no_postfix)
        return;
    /* what segtls status needs to list the Postfix services (status.c) */
    json_object_set_string_member(resp, "postfix_dir", conf->postfix_dir
                                  ? conf->postfix_dir : SEG_APPLY_DEFAULT_POSTFIX_DIR);
    for (gsize i = 0; i < G_N_ELEMENTS(lists); i++) {
        char  **list = *(char ***) ((char *) conf + lists[i].offset);
        g_autoptr(GPtrArray) arr = g_ptr_array_new();

        for (char **p = list; p && *p; p++)
            g_ptr_array_add(arr, *p);
        if (list != NULL)
            json_object_set_array_member(resp, lists[i].member,
                                         policyd_strings_array(arr));
    }
}

/*
 * policyd_apply_shutdown - the daemon stops: a running segtls-apply is
 * left to finish (its answer is never read), everything is released
 */
void policyd_apply_shutdown(void)
{
    if (job != NULL) {
        msg_warn("stopping while %s (pid %s) runs: it finishes on its own, "
                 "the changes stay pending", APPLY_PROGRAM,
                 g_subprocess_get_identifier(job->proc)
                 ? g_subprocess_get_identifier(job->proc) : "?");
        g_cancellable_cancel(job->cancel);
        job_free(job);
        job = NULL;
    }
    g_clear_pointer(&conf, policyd_apply_conf_free);
    g_clear_pointer(&conf_path, g_free);
    g_clear_pointer(&cluster, policyd_cluster_conf_free);
}
