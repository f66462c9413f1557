/*
 * store_etcd - unit tests of lib/policy/store_etcd.c and lib/util/etcd.c
 * against a real etcd (Debian's etcd-server): one member on loopback
 * ports, started here in a temporary directory and stopped by its pid.
 * Two stores in this process play two machines of one cluster.
 *
 * Shown: joining (the first machine's settings become the cluster's, a
 * later one keeps its own as machine values); a commit that another came
 * before is refused with SEG_ERROR_CONFLICT, its changes kept and moved
 * onto the new revision, and goes through the second time with both
 * changes; a committed configuration in etcd that is no JSON, or breaks a
 * rule, is refused and the last good one stays; pending changes in etcd
 * that break a rule are ignored; the rollback history keeps 10, newest
 * first, by revision; moves between levels; statuses; an etcd that cannot
 * be reached is no failure to open, and changes are refused with
 * SEG_ERROR_UNREACHABLE; a watch sees the changes under its prefix in
 * order and ends, naming the endpoint, when etcd goes (the last test).
 * Skipped when etcd is not installed.
 */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "error.h"
#include "etcd.h"
#include "store_etcd.h"

static char *dir;               /* temporary directory */
static GPid etcd_pid;
static char *endpoint;          /* http://127.0.0.1:PORT */
static seg_etcd *client;

/* free_port - a loopback port nobody listens on now */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int     fd = socket(AF_INET, SOCK_STREAM, 0);
    int     port;

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *) &a, sizeof(a)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *) &a, &len), ==, 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* child_setup - etcd dies with this test, even when an assertion aborts it */
static void child_setup(gpointer data)
{
    (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* start_etcd - one member; FALSE when etcd is not installed */
static gboolean start_etcd(void)
{
    g_autofree char *prog = g_find_program_in_path("etcd");
    g_autofree char *data = NULL, *client_url = NULL, *peer_url = NULL, *init = NULL;
    g_autofree char *log = NULL;
    g_autoptr(GError) err = NULL;
    int     cport = free_port(), pport = free_port();

    if (prog == NULL)
        return FALSE;
    data = g_build_filename(dir, "etcd", NULL);
    log = g_build_filename(dir, "etcd.log", NULL);
    client_url = g_strdup_printf("http://127.0.0.1:%d", cport);
    peer_url = g_strdup_printf("http://127.0.0.1:%d", pport);
    init = g_strdup_printf("u=%s", peer_url);
    {
        const char *argv[] = {
            prog, "--name", "u", "--data-dir", data,
            "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
            "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
            "--initial-cluster", init, "--logger", "zap", "--log-outputs", log, NULL,
        };

        g_assert_true(g_spawn_async(NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD
                                    | G_SPAWN_STDOUT_TO_DEV_NULL
                                    | G_SPAWN_STDERR_TO_DEV_NULL, child_setup, NULL,
                                    &etcd_pid, &err));
    }
    endpoint = g_strdup(client_url);
    {
        const char *eps[] = {endpoint, NULL};
        seg_etcd_opts o = {.endpoints = eps, .timeout = 2};

        client = seg_etcd_new(&o, &err);
        g_assert_no_error(err);
    }
    for (int i = 0; i < 200; i++) {      /* 20 s */
        g_autoptr(GPtrArray) kvs = seg_etcd_get(client, "/x", FALSE, NULL, NULL);

        if (kvs != NULL)
            return TRUE;
        g_usleep(100000);
    }
    g_error("etcd does not answer at %s", endpoint);
    return FALSE;
}

/* open_machine - the store of machine name in group, its files under dir/name */
static seg_store *open_machine(const char *name, const char *group, const char *conf_text)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *config = g_build_filename(dir, name, "segtls.conf", NULL);
    g_autofree char *state = g_build_filename(dir, name, "state", NULL);
    g_autofree char *d = g_build_filename(dir, name, NULL);
    seg_cluster_opts o = {"unit", "/segtls-unit", name, group};
    seg_store *st;

    g_assert_cmpint(g_mkdir_with_parents(d, 0700), ==, 0);
    if (conf_text != NULL)
        g_assert_true(g_file_set_contents(config, conf_text, -1, NULL));
    st = seg_store_open_etcd(config, state, &o, client, &err);
    g_assert_no_error(err);
    g_assert_nonnull(st);
    return st;
}

/* set_one - one value at a level, pending */
static void set_one(seg_store *st, const char *level, const char *key, const char *value)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(seg_settings) s = seg_store_view(st, level, TRUE, &err);

    g_assert_no_error(err);
    g_assert_true(seg_settings_set(s, key, value, NULL));
    g_assert_true(seg_store_set_at(st, level, s, &err));
    g_assert_no_error(err);
}

/* value_of - a value this machine sees, committed */
static char *value_of(seg_store *st, const char *key)
{
    return seg_settings_get(seg_store_committed(st), key);
}

/* commit_ok - a commit that must succeed */
static void commit_ok(seg_store *st, const char *comment)
{
    g_autoptr(GError) err = NULL;
    gboolean nothing = TRUE;

    g_assert_true(seg_store_commit(st, "unit", comment, TRUE, &nothing, &err));
    g_assert_no_error(err);
    g_assert_false(nothing);
}

/* test_cluster - join, conflict, hostile documents, rollback, moves, statuses */
static void test_cluster(void)
{
    g_autoptr(GError) err = NULL;
    seg_store *m1, *m2;
    gboolean already;
    gint64  r1;

    if (client == NULL) {
        g_test_skip("etcd is not installed");
        return;
    }
    m1 = open_machine("m1", NULL, "[inbound]\nmethods=1.2-1.3\n");
    m2 = open_machine("m2", "G2", "[gui]\nmethods=1.3\n");
    g_assert_false(seg_store_etcd_joined(m1));
    g_assert_false(seg_store_set_at(m1, NULL, seg_store_committed(m1), &err));
    g_assert_cmpstr(err->message, ==, "machine m1 has not joined cluster unit: run "
                    "segtls cluster join");
    g_clear_error(&err);

    /* join: m1's settings become the cluster's; m2 keeps its own */
    g_assert_true(seg_store_etcd_join(m1, "unit", &already, &err));
    g_assert_no_error(err);
    g_assert_false(already);
    g_assert_true(seg_store_etcd_join(m2, "unit", &already, &err));
    g_assert_no_error(err);
    g_assert_true(seg_store_reload(m1, &err));
    {
        g_autofree char *m2gui = value_of(m2, "gui.methods");
        g_autofree char *m2in = value_of(m2, "inbound.methods");
        const seg_layers *l = seg_store_layers(m1, FALSE);
        GHashTable *own = g_hash_table_lookup(l->machines, "m2");

        g_assert_cmpstr(m2gui, ==, "1.3");
        g_assert_cmpstr(m2in, ==, "1.1-1.2");
        g_assert_cmpstr(g_hash_table_lookup(l->cluster, "inbound.methods"), ==, "1.2-1.3");
        g_assert_cmpstr(g_hash_table_lookup(own, "inbound.methods"), ==, "1.1-1.2");
        g_assert_cmpstr(g_hash_table_lookup(own, "gui.methods"), ==, "1.3");
        g_assert_cmpstr(seg_layers_group_of(l, "m2"), ==, "G2");
    }
    g_assert_true(seg_store_etcd_join(m1, "unit", &already, &err));
    g_assert_true(already);

    /* two commits made on the same revision: the second is refused, then goes through */
    set_one(m1, "cluster", "outbound.tls", "required");
    set_one(m2, "cluster", "peer_cert.fqdn", "on");
    r1 = seg_store_etcd_revision(m2);
    commit_ok(m1, "from m1");
    g_assert_false(seg_store_commit(m2, "unit", "from m2", TRUE, NULL, &err));
    g_assert_error(err, SEG_ERROR, SEG_ERROR_CONFLICT);
    {
        g_autofree char *want = g_strdup_printf(
            "commit conflict: another commit came first: your changes were made on "
            "revision %" G_GINT64_FORMAT ", the cluster is now at revision %" G_GINT64_FORMAT
            ", committed ", r1, seg_store_etcd_revision(m1));

        g_assert_true(g_str_has_prefix(err->message, want));
        g_assert_true(g_str_has_suffix(err->message, " by unit on m1. Nothing was committed; "
                                       "your changes stay pending. Check them (segtls "
                                       "show) and commit again."));
    }
    g_clear_error(&err);
    g_assert_nonnull(seg_store_pending(m2));
    g_assert_cmpint(seg_store_etcd_pending_base(m2), ==, seg_store_etcd_revision(m2));
    commit_ok(m2, "from m2");
    g_assert_true(seg_store_reload(m1, &err));
    {
        g_autofree char *tls = value_of(m1, "outbound.tls");
        g_autofree char *fqdn = value_of(m1, "peer_cert.fqdn");

        g_assert_cmpstr(tls, ==, "required");
        g_assert_cmpstr(fqdn, ==, "on");
    }

    seg_store_free(m1);
    seg_store_free(m2);
}

/* test_invalid - hostile documents in etcd (after test_cluster) */
static void test_invalid(void)
{
    g_autoptr(GError) err = NULL;
    static const char bad_value[] =
        "{\"format\":1,\"layers\":{\"cluster\":{\"inbound.methods\":\"1.0,1.2\"}}}";
    seg_store *m1;
    g_autoptr(GPtrArray) kvs = NULL;
    seg_etcd_kv *good;
    g_autoptr(GBytes) keep = NULL;
    g_autoptr(seg_settings) s = NULL;
    gsize   len;
    const void *data;

    if (client == NULL) {
        g_test_skip("etcd is not installed");
        return;
    }
    m1 = open_machine("m1", NULL, NULL);
    kvs = seg_etcd_get(client, "/segtls-unit/unit/config", FALSE, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(kvs->len, ==, 1);
    good = g_ptr_array_index(kvs, 0);
    keep = g_bytes_ref(good->value);
    /* no JSON: refused, the last good configuration stays, changes refused */
    g_assert_true(seg_etcd_put(client, "/segtls-unit/unit/config", "{oops", 5, NULL, &err));
    g_assert_true(seg_store_reload(m1, &err));
    g_assert_cmpstr(seg_store_etcd_config_error(m1), ==,
                    "/segtls-unit/unit/config: not a JSON object");
    g_assert_true(seg_store_etcd_joined(m1));
    s = seg_settings_copy(seg_store_committed(m1));
    g_assert_false(seg_store_set_at(m1, NULL, s, &err));
    g_assert_cmpstr(err->message, ==, "the committed configuration in etcd is invalid: "
                    "/segtls-unit/unit/config: not a JSON object");
    g_clear_error(&err);
    /* a value that breaks a rule: the message names the place */
    g_assert_true(seg_etcd_put(client, "/segtls-unit/unit/config", bad_value,
                               sizeof(bad_value) - 1, NULL, &err));
    g_assert_true(seg_store_reload(m1, &err));
    g_assert_cmpstr(seg_store_etcd_config_error(m1), ==,
                    "/segtls-unit/unit/config: layers.cluster: inbound.methods: "
                    "\"1.0,1.2\": TLS v1.0 and TLS v1.2 cannot be enabled without TLS v1.1");
    /* the good one back */
    data = g_bytes_get_data(keep, &len);
    g_assert_true(seg_etcd_put(client, "/segtls-unit/unit/config", data, len, NULL, &err));
    g_assert_true(seg_store_reload(m1, &err));
    g_assert_null(seg_store_etcd_config_error(m1));
    /* pending changes that break a rule are ignored */
    {
        static const char bad_pending[] = "{\"format\":1,\"base\":1,\"changes\":"
            "{\"cluster\":{\"gui.ciphers\":\"A;B\"}}}";

        g_assert_true(seg_etcd_put(client, "/segtls-unit/unit/pending/m1", bad_pending,
                                   sizeof(bad_pending) - 1, NULL, &err));
    }
    g_assert_true(seg_store_reload(m1, &err));
    g_assert_null(seg_store_pending(m1));
    g_assert_true(seg_etcd_delete(client, "/segtls-unit/unit/pending/m1", &err));
    seg_store_free(m1);
}

/* test_rollback - 10 kept, newest first, by revision; restore; clear */
static void test_rollback(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) list = NULL;
    seg_store *m1;
    gint64  revs[12];
    gboolean had = FALSE;

    if (client == NULL) {
        g_test_skip("etcd is not installed");
        return;
    }
    m1 = open_machine("m1", NULL, NULL);
    for (int i = 0; i < 12; i++) {
        g_autofree char *c = g_strdup_printf("c%d", i);

        revs[i] = seg_store_etcd_revision(m1);
        set_one(m1, "cluster", "inbound.methods", i % 2 ? "1.2" : "1.3");
        commit_ok(m1, c);
    }
    list = seg_store_rollback_list(m1);
    g_assert_cmpuint(list->len, ==, 10);
    for (guint i = 0; i < 10; i++) {
        const seg_rollback_entry *e = g_ptr_array_index(list, i);
        g_autofree char *c = g_strdup_printf("c%u", 11 - i);

        g_assert_cmpuint(e->id, ==, (guint64) revs[11 - i]);   /* the revision replaced */
        g_assert_cmpstr(e->comment, ==, c);
        g_assert_cmpstr(e->user, ==, "unit");
        g_assert_nonnull(e->settings);
    }
    /* one kept becomes pending; an id no longer kept is refused */
    g_assert_true(seg_store_rollback_restore(m1, (guint64) revs[3], &err));
    g_assert_no_error(err);
    g_assert_nonnull(seg_store_pending(m1));
    {
        g_autofree char *m = seg_settings_get(seg_store_pending(m1), "inbound.methods");

        g_assert_cmpstr(m, ==, "1.3");  /* revs[3] is what c2 committed */
    }
    g_assert_false(seg_store_rollback_restore(m1, (guint64) revs[1], &err));
    g_assert_error(err, SEG_ERROR, SEG_ERROR_NOT_FOUND);
    g_clear_error(&err);
    g_assert_true(seg_store_clear_pending(m1, &had, &err));
    g_assert_true(had);
    g_assert_null(seg_store_pending(m1));
    seg_store_free(m1);
}

/* test_move - between levels; what is refused */
static void test_move(void)
{
    g_autoptr(GError) err = NULL;
    static const char *const inbound[] = {"inbound.methods", "inbound.ciphers", NULL};
    static const char *const one[] = {"outbound.tls", NULL};
    seg_store *m1;
    const seg_layers *p;

    if (client == NULL) {
        g_test_skip("etcd is not installed");
        return;
    }
    m1 = open_machine("m1", NULL, NULL);
    g_assert_true(seg_store_move(m1, inbound, "cluster", "group:G2", &err));
    g_assert_no_error(err);
    p = seg_store_layers(m1, TRUE);
    g_assert_nonnull(g_hash_table_lookup(g_hash_table_lookup(p->groups, "G2"),
                                         "inbound.ciphers"));
    g_assert_false(seg_store_move(m1, inbound, "machine:m1", "cluster", &err));
    g_assert_cmpstr(err->message, ==, "none of these settings is set at machine:m1");
    g_clear_error(&err);
    g_assert_false(seg_store_move(m1, one, "machine:m1", "cluster", &err));
    g_assert_cmpstr(err->message, ==, "outbound.tls: not set at machine:m1");
    g_clear_error(&err);
    g_assert_false(seg_store_move(m1, one, "cluster", NULL, &err));
    g_assert_cmpstr(err->message, ==, "outbound.tls: the cluster holds every setting; its "
                    "value cannot be deleted");
    g_clear_error(&err);
    g_assert_false(seg_store_move(m1, one, "rack:1", NULL, &err));
    g_assert_cmpstr(err->message, ==, "level \"rack:1\": expected cluster, group:NAME or "
                    "machine:NAME");
    g_clear_error(&err);
    g_assert_true(seg_store_clear_pending(m1, NULL, &err));
    seg_store_free(m1);
}

/* test_status - a machine's report; a member that never reported */
static void test_status(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) all = NULL;
    g_autoptr(JsonObject) mine = json_object_new();
    seg_store *m1;
    JsonObject *a, *b;

    if (client == NULL) {
        g_test_skip("etcd is not installed");
        return;
    }
    m1 = open_machine("m1", NULL, NULL);
    g_assert_true(seg_etcd_delete(client, "/segtls-unit/unit/status/m2", &err));
    json_object_set_string_member(mine, "machine", "m1");
    json_object_set_int_member(mine, "revision", seg_store_etcd_revision(m1));
    json_object_set_string_member(mine, "result", "applied");
    g_assert_true(seg_store_etcd_report(m1, mine, &err));
    g_assert_true(seg_etcd_put(client, "/segtls-unit/unit/status/bad name", "{}", 2, NULL,
                               &err));
    all = seg_store_etcd_statuses(m1, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(all->len, ==, 2);              /* "bad name" is left out */
    a = g_ptr_array_index(all, 0);
    b = g_ptr_array_index(all, 1);
    g_assert_cmpstr(json_object_get_string_member(a, "machine"), ==, "m1");
    g_assert_cmpstr(json_object_get_string_member(a, "result"), ==, "applied");
    g_assert_cmpstr(json_object_get_string_member(b, "machine"), ==, "m2");
    g_assert_cmpstr(json_object_get_string_member(b, "result"), ==, "never reported");
    g_assert_cmpstr(json_object_get_string_member(b, "group"), ==, "G2");
    seg_store_free(m1);
}

/* test_unreachable - no etcd: opens, serves the file, refuses changes */
static void test_unreachable(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *url = g_strdup_printf("http://127.0.0.1:%d", free_port());
    g_autofree char *config = g_build_filename(dir, "m9", "segtls.conf", NULL);
    g_autofree char *state = g_build_filename(dir, "m9", "state", NULL);
    g_autofree char *want = NULL;
    const char *eps[] = {url, NULL};
    seg_etcd_opts eo = {.endpoints = eps, .timeout = 2};
    seg_cluster_opts so = {"unit", NULL, "m9", NULL};
    seg_etcd *none = seg_etcd_new(&eo, &err);
    seg_store *st;
    const char *why = NULL;
    gint64  since = 0;

    g_assert_no_error(err);
    st = seg_store_open_etcd(config, state, &so, none, &err);
    g_assert_no_error(err);
    g_assert_nonnull(st);
    g_assert_false(seg_store_etcd_reachable(st, &why, &since));
    want = g_strdup_printf("cannot reach etcd (%s): ", url);
    g_assert_true(g_str_has_prefix(why, want));
    g_assert_cmpint(since, >, 0);
    g_assert_false(seg_store_set_at(st, NULL, seg_store_committed(st), &err));
    g_assert_error(err, SEG_ERROR, SEG_ERROR_UNREACHABLE);
    g_assert_true(g_str_has_prefix(err->message, want));
    seg_store_free(st);
    seg_etcd_free(none);
}

/* What a watch saw. */
typedef struct seen {
    GString    *events;         /* "PUT KEY=VALUE\n", "DELETE KEY\n" */
    gboolean    created;
    char       *ended;          /* the error it ended with */
    GMainLoop  *loop;
    guint       want;           /* quit after this many events */
    guint       n;
} seen;

/* on_event - one change */
static void on_event(const seg_etcd_kv *kv, gboolean deleted, gpointer data)
{
    seen   *w = data;
    gsize   len;
    const char *v = g_bytes_get_data(kv->value, &len);

    if (deleted)
        g_string_append_printf(w->events, "DELETE %s\n", kv->key);
    else
        g_string_append_printf(w->events, "PUT %s=%.*s\n", kv->key, (int) len, v ? v : "");
    if (++w->n == w->want)
        g_main_loop_quit(w->loop);
}

/* on_created - the watch runs */
static void on_created(gint64 revision, gpointer data)
{
    seen   *w = data;

    w->created = TRUE;
    g_main_loop_quit(w->loop);
}

/* on_ended - the watch stopped */
static void on_ended(const GError *error, gpointer data)
{
    seen   *w = data;

    w->ended = g_strdup(error ? error->message : "?");
    g_main_loop_quit(w->loop);
}

/* quit_later - a bound on each wait */
static gboolean quit_later(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

/* run_loop - until a callback quits, 10 s at most */
static void run_loop(GMainLoop *loop)
{
    guint   id = g_timeout_add_seconds(10, quit_later, loop);

    g_main_loop_run(loop);
    g_source_remove(id);
}

/* test_watch - changes under a prefix in order; the end when etcd goes (last test) */
static void test_watch(void)
{
    g_autoptr(GError) err = NULL;
    seen    w = {g_string_new(NULL), FALSE, NULL, g_main_loop_new(NULL, FALSE), 3, 0};
    seg_etcd_watch *watch;

    if (client == NULL) {
        g_test_skip("etcd is not installed");
        return;
    }
    watch = seg_etcd_watch_new(client, "/w/", 0, on_event, on_created, on_ended, &w);
    run_loop(w.loop);
    g_assert_true(w.created);
    g_assert_true(seg_etcd_put(client, "/w/a", "1", 1, NULL, &err));
    g_assert_true(seg_etcd_put(client, "/x/outside", "2", 1, NULL, &err));
    g_assert_true(seg_etcd_put(client, "/w/b", "3", 1, NULL, &err));
    g_assert_true(seg_etcd_delete(client, "/w/a", &err));
    run_loop(w.loop);
    g_assert_cmpstr(w.events->str, ==, "PUT /w/a=1\nPUT /w/b=3\nDELETE /w/a\n");
    /* etcd goes away: the watch ends, with the endpoint named */
    kill(etcd_pid, SIGKILL);
    waitpid(etcd_pid, NULL, 0);
    etcd_pid = 0;
    run_loop(w.loop);
    g_assert_nonnull(w.ended);
    g_assert_true(g_str_has_prefix(w.ended, "etcd watch at http://127.0.0.1:"));
    seg_etcd_watch_free(watch);
    g_string_free(w.events, TRUE);
    g_free(w.ended);
    g_main_loop_unref(w.loop);
}

/* rm_rf - remove a directory tree */
static void rm_rf(const char *path)
{
    GDir   *d = g_dir_open(path, 0, NULL);
    const char *name;

    if (d != NULL) {
        while ((name = g_dir_read_name(d)) != NULL) {
            g_autofree char *sub = g_build_filename(path, name, NULL);

            rm_rf(sub);
        }
        g_dir_close(d);
        (void) g_rmdir(path);
    } else {
        (void) g_unlink(path);
    }
}

int main(int argc, char **argv)
{
    int     status;

    g_test_init(&argc, &argv, NULL);
    dir = g_dir_make_tmp("segtls-etcd-XXXXXX", NULL);
    g_assert_nonnull(dir);
    if (!start_etcd())
        client = NULL;
    g_test_add_func("/store_etcd/cluster", test_cluster);
    g_test_add_func("/store_etcd/invalid", test_invalid);
    g_test_add_func("/store_etcd/rollback", test_rollback);
    g_test_add_func("/store_etcd/move", test_move);
    g_test_add_func("/store_etcd/status", test_status);
    g_test_add_func("/store_etcd/unreachable", test_unreachable);
    g_test_add_func("/store_etcd/watch", test_watch);
    status = g_test_run();
    if (client != NULL)
        seg_etcd_free(client);
    if (etcd_pid > 0) {
        kill(etcd_pid, SIGTERM);
        waitpid(etcd_pid, NULL, 0);
    }
    rm_rf(dir);
    g_free(dir);
    g_free(endpoint);
    return status;
}
