/*
 * store_etcd - the store of a cluster, kept in etcd (see store_etcd.h).
 *
 * The store keeps a copy of what etcd holds for it: the committed
 * configuration and its revision, and this machine's pending changes
 * (a delta, layers.h) with the revision they were made on. Every change
 * first reads both again, so that it works on what etcd holds now, not
 * on what the last watch event said; views are then worked out by
 * layers.c. Every document read from etcd is parsed as hostile JSON: a
 * committed configuration that breaks a rule is refused (the last good
 * one stays, the reason is kept for status); pending changes that do are
 * dropped with a warning.
 */
#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "atomic.h"
#include "error.h"
#include "msg.h"
#include "quote.h"
#include "store_etcd.h"
#include "store_int.h"

#define FORMAT          1
#define DOC_MAX         (1024 * 1024)   /* bytes of one document */
#define JOIN_TRIES      5
#define APPLIED_NAME    "cluster-applied"
#define MODE_COMMITTED  0644
#define MODE_STATE      0640
#define MODE_STATE_DIR  0750

/* The etcd side of the store (seg_store.backend). */
typedef struct etcd_store {
    seg_etcd   *etcd;           /* not owned */
    char       *prefix;         /* "/segtls/NAME/" */
    char       *config_key;
    char       *pending_key;    /* ".../pending/MACHINE" */
    char       *group;          /* the configured group */
    char       *applied_path;   /* STATE/cluster-applied */
    gint64      revision;       /* of config; 0: none */
    JsonObject *commit;         /* of the committed configuration */
    seg_layers *delta;          /* this machine's pending changes, or NULL */
    gint64      base;           /* the revision they were made on */
    gint64      pending_mod;    /* the mod revision of their key (0: none) */
    gboolean    changed;        /* a read changed config or pending */
    seg_settings *serving;      /* what this machine last applied */
    gint64      applied;        /* its revision */
    char       *unreachable;    /* the last etcd error; NULL: reachable */
    gint64      since;          /* when etcd became unreachable */
    char       *config_error;   /* the committed configuration is invalid */
} etcd_store;

#define ES(st) ((etcd_store *) (st)->backend)

static const seg_store_ops etcd_ops;

/* mark - remember whether the last etcd request failed, and why */
static void mark(seg_store *st, const GError *err)
{
    etcd_store *es = ES(st);

    if (err == NULL || err->code != SEG_ERROR_IO) {
        if (es->unreachable != NULL)
            msg_info("etcd is reachable again (%s)", seg_etcd_endpoint(es->etcd));
        g_clear_pointer(&es->unreachable, g_free);
        return;
    }
    if (es->unreachable == NULL) {
        es->since = g_get_real_time();
        msg_warn("%s", err->message);
    }
    g_free(es->unreachable);
    es->unreachable = g_strdup(err->message);
}

/* unreachable_error - an etcd request failed: SEG_ERROR_UNREACHABLE */
static gboolean unreachable_error(seg_store *st, GError *err, GError **error)
{
    mark(st, err);
    if (err->code == SEG_ERROR_IO)
        err->code = SEG_ERROR_UNREACHABLE;
    g_propagate_error(error, err);
    return FALSE;
}

/* parse_doc - a document of etcd: a JSON object of the right format */
static JsonObject *parse_doc(GBytes *value, const char *what, GError **error)
{
    g_autoptr(JsonParser) p = json_parser_new();
    g_autoptr(GError) err = NULL;
    gsize   len;
    const char *data = g_bytes_get_data(value, &len);
    JsonNode *root;
    JsonObject *o;

    if (len > DOC_MAX) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s: larger than %d bytes",
                    what, DOC_MAX);
        return NULL;
    }
    if (data == NULL || !g_utf8_validate(data, (gssize) len, NULL)
        || !json_parser_load_from_data(p, data, (gssize) len, &err)
        || (root = json_parser_get_root(p)) == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s: not a JSON object", what);
        return NULL;
    }
    o = json_node_get_object(root);
    if (json_object_get_int_member_with_default(o, "format", 0) != FORMAT) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s: not format %d", what,
                    FORMAT);
        return NULL;
    }
    return json_object_ref(o);
}

/* doc_layers - the "layers" (or "changes") member of a document */
static seg_layers *doc_layers(JsonObject *doc, const char *member, gboolean delta,
                              const char *what, GError **error)
{
    JsonNode *n = json_object_get_member(doc, member);
    seg_layers *l;

    if (n == NULL || !JSON_NODE_HOLDS_OBJECT(n)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s: no \"%s\" object",
                    what, member);
        return NULL;
    }
    if ((l = seg_layers_from_json(json_node_get_object(n), delta, error)) == NULL)
        g_prefix_error(error, "%s: %s.", what, member);
    return l;
}

/* put_doc - add a put of doc to a transaction */
static void txn_put_doc(seg_etcd_txn *t, const char *key, JsonObject *doc)
{
    g_autoptr(GBytes) b = seg_etcd_json(doc);
    gsize   len;
    const void *data = g_bytes_get_data(b, &len);

    seg_etcd_txn_put(t, key, data, len);
}

/* get_one - the value of one key; *found FALSE when there is none */
static GBytes *get_one(seg_store *st, const char *key, gint64 *mod, gboolean *found,
                       GError **error)
{
    g_autoptr(GPtrArray) kvs = NULL;
    GError *err = NULL;
    seg_etcd_kv *kv;

    *found = FALSE;
    *mod = 0;
    if ((kvs = seg_etcd_get(ES(st)->etcd, key, FALSE, NULL, &err)) == NULL) {
        unreachable_error(st, err, error);
        return NULL;
    }
    mark(st, NULL);
    if (kvs->len == 0)
        return g_bytes_new(NULL, 0);
    kv = g_ptr_array_index(kvs, 0);
    *found = TRUE;
    *mod = kv->mod_revision;
    return g_bytes_ref(kv->value);
}

/* update_views - committed and pending views of this machine */
static void update_views(seg_store *st)
{
    etcd_store *es = ES(st);
    seg_layers *p;

    g_clear_pointer(&st->committed, seg_settings_free);
    g_clear_pointer(&st->pending, seg_settings_free);
    g_clear_pointer(&st->pending_layers, seg_layers_free);
    if (st->layers == NULL || !seg_store_etcd_joined(st)) {
        st->committed = seg_settings_copy(es->serving);
        return;
    }
    st->committed = seg_layers_machine(st->layers, st->machine);
    if (es->delta == NULL)
        return;
    p = seg_layers_apply(st->layers, es->delta);
    if (seg_layers_equal(p, st->layers)) {
        seg_layers_free(p);
        return;
    }
    st->pending_layers = p;
    st->pending = seg_layers_machine(p, st->machine);
}

/* read_config - the committed configuration from etcd into the store */
static gboolean read_config(seg_store *st, GError **error)
{
    etcd_store *es = ES(st);
    g_autoptr(GBytes) value = NULL;
    g_autoptr(JsonObject) doc = NULL;
    g_autoptr(GError) err = NULL;
    seg_layers *l;
    JsonNode *commit;
    gboolean found;
    gint64  mod;

    if ((value = get_one(st, es->config_key, &mod, &found, error)) == NULL)
        return FALSE;
    if (!found) {
        es->changed |= st->layers != NULL;
        g_clear_pointer(&st->layers, seg_layers_free);
        g_clear_pointer(&es->commit, json_object_unref);
        g_clear_pointer(&es->config_error, g_free);
        es->revision = 0;
        return TRUE;
    }
    if (mod == es->revision && (st->layers != NULL || es->config_error != NULL))
        return TRUE;
    es->changed = TRUE;
    if ((doc = parse_doc(value, es->config_key, &err)) == NULL
        || (l = doc_layers(doc, "layers", FALSE, es->config_key, &err)) == NULL) {
        if (g_strcmp0(es->config_error, err->message) != 0)
            msg_error("revision %" G_GINT64_FORMAT ": %s; the last good configuration "
                      "stays in force", mod, err->message);
        g_free(es->config_error);
        es->config_error = g_strdup(err->message);
        return TRUE;
    }
    g_clear_pointer(&es->config_error, g_free);
    g_clear_pointer(&st->layers, seg_layers_free);
    st->layers = l;
    es->revision = mod;
    g_clear_pointer(&es->commit, json_object_unref);
    commit = json_object_get_member(doc, "commit");
    if (commit != NULL && JSON_NODE_HOLDS_OBJECT(commit))
        es->commit = json_object_ref(json_node_get_object(commit));
    return TRUE;
}

/* read_pending - this machine's pending changes from etcd */
static gboolean read_pending(seg_store *st, GError **error)
{
    etcd_store *es = ES(st);
    g_autoptr(GBytes) value = NULL;
    g_autoptr(JsonObject) doc = NULL;
    g_autoptr(GError) err = NULL;
    seg_layers *d;
    gboolean found;
    gint64  mod;

    if ((value = get_one(st, es->pending_key, &mod, &found, error)) == NULL)
        return FALSE;
    if (mod == es->pending_mod)         /* the same key, or still none */
        return TRUE;
    es->changed = TRUE;
    es->pending_mod = mod;
    g_clear_pointer(&es->delta, seg_layers_free);
    es->base = 0;
    if (!found)
        return TRUE;
    if ((doc = parse_doc(value, es->pending_key, &err)) == NULL
        || (d = doc_layers(doc, "changes", TRUE, es->pending_key, &err)) == NULL) {
        msg_warn("ignoring the pending changes: %s", err->message);
        return TRUE;
    }
    es->delta = d;
    es->base = json_object_get_int_member_with_default(doc, "base", 0);
    return TRUE;
}

/* etcd_reload - committed configuration and pending changes, again */
static gboolean etcd_reload(seg_store *st, GError **error)
{
    gboolean ok = read_config(st, error) && read_pending(st, error);

    if (ES(st)->changed || st->committed == NULL)
        update_views(st);
    ES(st)->changed = FALSE;
    return ok;
}

/* read_applied - what this machine last applied: the file and its revision */
static gboolean read_applied(seg_store *st, GError **error)
{
    etcd_store *es = ES(st);
    g_autofree char *data = NULL;
    g_autoptr(GError) err = NULL;
    gsize   len;

    if (!g_file_get_contents(st->config_path, &data, &len, &err)) {
        if (!g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s", err->message);
            return FALSE;
        }
        es->serving = seg_settings_new_default();
    } else if ((es->serving = seg_settings_from_keyfile(data, len, st->config_path,
                                                        error)) == NULL) {
        return FALSE;
    }
    g_clear_pointer(&data, g_free);
    if (g_file_get_contents(es->applied_path, &data, NULL, NULL))
        es->applied = g_ascii_strtoll(data, NULL, 10);
    return TRUE;
}

/* seg_store_open_etcd - the store of a cluster */
seg_store *seg_store_open_etcd(const char *config_path, const char *state_dir,
                               const seg_cluster_opts *o, seg_etcd *etcd,
                               GError **error)
{
    seg_store *st = seg_store_new(&etcd_ops, config_path, state_dir);
    g_autoptr(GError) err = NULL;
    etcd_store *es = g_new0(etcd_store, 1);
    const char *prefix = o->prefix ? o->prefix : SEG_CLUSTER_DEFAULT_PREFIX;

    st->backend = es;
    st->cluster = g_strdup(o->name);
    st->machine = g_strdup(o->machine);
    es->etcd = etcd;
    es->group = g_strdup(o->group ? o->group : SEG_DEFAULT_GROUP);
    es->prefix = g_strdup_printf("%s%s%s/", prefix,
                                 g_str_has_suffix(prefix, "/") ? "" : "/", o->name);
    es->config_key = g_strconcat(es->prefix, "config", NULL);
    es->pending_key = g_strconcat(es->prefix, "pending/", o->machine, NULL);
    es->applied_path = g_build_filename(state_dir, APPLIED_NAME, NULL);
    if (!seg_store_make_dir(state_dir, MODE_STATE_DIR, error)
        || !read_applied(st, error)) {
        seg_store_free(st);
        return NULL;
    }
    if (!etcd_reload(st, &err))
        msg_warn("cluster %s: serving the last applied configuration (revision %"
                 G_GINT64_FORMAT ") until etcd can be read", o->name, es->applied);
    return st;
}

/* etcd_free - release the etcd side */
static void etcd_free(seg_store *st)
{
    etcd_store *es = ES(st);

    g_free(es->prefix);
    g_free(es->config_key);
    g_free(es->pending_key);
    g_free(es->group);
    g_free(es->applied_path);
    g_clear_pointer(&es->commit, json_object_unref);
    g_clear_pointer(&es->delta, seg_layers_free);
    g_clear_pointer(&es->serving, seg_settings_free);
    g_free(es->unreachable);
    g_free(es->config_error);
    g_free(es);
}

/* seg_store_etcd_prefix - what policyd watches */
const char *seg_store_etcd_prefix(const seg_store *st)
{
    return ES(st)->prefix;
}

/* seg_store_etcd_config_key - the committed configuration's key */
const char *seg_store_etcd_config_key(const seg_store *st)
{
    return ES(st)->config_key;
}

/* seg_store_etcd_group - the configured group */
const char *seg_store_etcd_group(const seg_store *st)
{
    return ES(st)->group;
}

/* seg_store_etcd_joined - a member of the committed configuration */
gboolean seg_store_etcd_joined(const seg_store *st)
{
    return st->layers != NULL && seg_layers_group_of(st->layers, st->machine) != NULL;
}

/* seg_store_etcd_revision - of the committed configuration */
gint64 seg_store_etcd_revision(const seg_store *st)
{
    return ES(st)->revision;
}

/* seg_store_etcd_pending_base - what the pending changes were made on */
gint64 seg_store_etcd_pending_base(const seg_store *st)
{
    return st->pending != NULL ? ES(st)->base : 0;
}

/* seg_store_etcd_commit - who committed the configuration, when, why */
JsonObject *seg_store_etcd_commit(const seg_store *st)
{
    return ES(st)->commit;
}

/* seg_store_etcd_reachable - did the last request to etcd succeed */
gboolean seg_store_etcd_reachable(const seg_store *st, const char **why, gint64 *since)
{
    if (why != NULL)
        *why = ES(st)->unreachable;
    if (since != NULL)
        *since = ES(st)->since;
    return ES(st)->unreachable == NULL;
}

/* seg_store_etcd_config_error - why the committed configuration was refused */
const char *seg_store_etcd_config_error(const seg_store *st)
{
    return ES(st)->config_error;
}

/* seg_store_etcd_unreachable - a failure seen by the watch */
void seg_store_etcd_unreachable(seg_store *st, const char *why)
{
    g_autoptr(GError) err = g_error_new_literal(SEG_ERROR, SEG_ERROR_IO, why);

    mark(st, err);
}

/* need_member - changes need a member that can read etcd now */
static gboolean need_member(seg_store *st, GError **error)
{
    if (!etcd_reload(st, error))
        return FALSE;
    if (ES(st)->config_error != NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "the committed configuration in etcd is invalid: %s",
                    ES(st)->config_error);
        return FALSE;
    }
    if (!seg_store_etcd_joined(st)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "machine %s has not joined cluster %s: run segtls cluster join",
                    st->machine, st->cluster);
        return FALSE;
    }
    return TRUE;
}

/* put_delta - store the pending configuration next as this machine's changes */
static gboolean put_delta(seg_store *st, const seg_layers *next, const char *user,
                          GError **error)
{
    etcd_store *es = ES(st);
    g_autoptr(seg_layers) d = seg_layers_delta(st->layers, next);
    g_autoptr(JsonObject) doc = NULL;
    g_autoptr(GBytes) b = NULL;
    g_autofree char *when = NULL;
    GError *err = NULL;
    gint64  base = es->delta != NULL ? es->base : es->revision;
    gsize   len;
    const void *data;

    if (seg_layers_delta_empty(d)) {
        if (!seg_etcd_delete(es->etcd, es->pending_key, &err))
            return unreachable_error(st, err, error);
        g_clear_pointer(&es->delta, seg_layers_free);
        es->base = 0;
        es->pending_mod = 0;
        update_views(st);
        return TRUE;
    }
    when = seg_store_now_text();
    doc = json_object_new();
    json_object_set_int_member(doc, "format", FORMAT);
    json_object_set_int_member(doc, "base", base);
    json_object_set_string_member(doc, "time", when);
    json_object_set_string_member(doc, "user", user ? user : "");
    json_object_set_object_member(doc, "changes", seg_layers_to_json(d));
    b = seg_etcd_json(doc);
    data = g_bytes_get_data(b, &len);
    if (!seg_etcd_put(es->etcd, es->pending_key, data, len, &es->pending_mod, &err))
        return unreachable_error(st, err, error);
    mark(st, NULL);
    g_clear_pointer(&es->delta, seg_layers_free);
    es->delta = g_steal_pointer(&d);
    es->base = base;
    update_views(st);
    return TRUE;
}

/* current_layers - the pending configuration, else the committed one (a copy) */
static seg_layers *current_layers(seg_store *st)
{
    return seg_layers_copy(st->pending_layers ? st->pending_layers : st->layers);
}

/* etcd_set_at - next as what a level sees, pending */
static gboolean etcd_set_at(seg_store *st, const seg_level *at, const seg_settings *next,
                            GError **error)
{
    g_autoptr(seg_layers) p = NULL;

    if (!need_member(st, error))
        return FALSE;
    p = current_layers(st);
    seg_layers_set_view(p, at, next);
    return put_delta(st, p, NULL, error);
}

/* etcd_move - values between levels, pending */
static gboolean etcd_move(seg_store *st, const char *const *keys, const seg_level *from,
                          const seg_level *to, GError **error)
{
    g_autoptr(seg_layers) p = NULL;
    guint   moved = 0;

    if (!need_member(st, error))
        return FALSE;
    p = current_layers(st);
    for (const char *const *k = keys; *k != NULL; k++) {
        /* of several keys, those the level does not hold are left alone */
        if (keys[1] != NULL && seg_layers_value_at(p, from, *k) == NULL
            && seg_settings_has_key(*k))
            continue;
        if (!seg_layers_move(p, *k, from, to, error))
            return FALSE;
        moved++;
    }
    if (moved == 0) {
        g_autofree char *f = seg_level_text(from);

        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "none of these settings is set at %s", f);
        return FALSE;
    }
    return put_delta(st, p, NULL, error);
}

/* etcd_clear - drop this machine's pending changes */
static gboolean etcd_clear(seg_store *st, gboolean *had_any, GError **error)
{
    GError *err = NULL;

    if (!etcd_reload(st, error))
        return FALSE;
    if (had_any != NULL)
        *had_any = st->pending != NULL;
    if (ES(st)->delta == NULL)
        return TRUE;
    if (!seg_etcd_delete(ES(st)->etcd, ES(st)->pending_key, &err))
        return unreachable_error(st, err, error);
    g_clear_pointer(&ES(st)->delta, seg_layers_free);
    ES(st)->base = 0;
    ES(st)->pending_mod = 0;
    update_views(st);
    return TRUE;
}

/* commit_text - "committed TIME by USER on MACHINE" of the configuration */
static char *commit_text(const seg_store *st)
{
    JsonObject *c = ES(st)->commit;

    if (c == NULL)
        return g_strdup("");
    return g_strdup_printf(", committed %s by %s on %s",
                           json_object_get_string_member_with_default(c, "time", "?"),
                           json_object_get_string_member_with_default(c, "user", "?"),
                           json_object_get_string_member_with_default(c, "machine", "?"));
}

/*
 * conflict - another commit came first: move the pending changes onto
 * the revision now known and say so
 */
static gboolean conflict(seg_store *st, gint64 base, GError **error)
{
    etcd_store *es = ES(st);
    g_autoptr(GError) err = NULL;
    g_autoptr(seg_layers) p = NULL;
    g_autofree char *who = NULL;

    if (etcd_reload(st, &err) && es->delta != NULL && st->layers != NULL) {
        p = seg_layers_apply(st->layers, es->delta);
        g_clear_pointer(&es->delta, seg_layers_free);     /* based on now */
        if (!put_delta(st, p, NULL, &err))
            msg_warn("cannot move the pending changes onto revision %" G_GINT64_FORMAT
                     ": %s", es->revision, err->message);
    }
    who = commit_text(st);
    g_set_error(error, SEG_ERROR, SEG_ERROR_CONFLICT,
                "commit conflict: another commit came first: your changes were made on "
                "revision %" G_GINT64_FORMAT ", the cluster is now at revision %"
                G_GINT64_FORMAT "%s. Nothing was committed; your changes stay pending. "
                "Check them (segtls show) and commit again.", base, es->revision, who);
    return FALSE;
}

/* commit_doc - the committed configuration next, with who, when and what changed */
static JsonObject *commit_doc(seg_store *st, const seg_layers *next, const char *id,
                              const char *user, const char *comment, gint64 rollback,
                              const char *when)
{
    JsonObject *doc = json_object_new();
    JsonObject *c = json_object_new();
    JsonArray *changes = json_array_new();
    g_autoptr(GPtrArray) rows = NULL;

    if (st->layers != NULL) {
        rows = seg_layers_changes(st->layers, next);
    } else {
        g_autoptr(seg_layers) none = seg_layers_new_delta();

        rows = seg_layers_changes(none, next);
    }
    for (guint i = 0; i < rows->len; i++) {
        const seg_layers_row *r = g_ptr_array_index(rows, i);
        JsonObject *o = json_object_new();

        json_object_set_string_member(o, "level", r->level);
        json_object_set_string_member(o, "key", r->key);
        if (r->before)
            json_object_set_string_member(o, "before", r->before);
        else
            json_object_set_null_member(o, "before");
        if (r->value)
            json_object_set_string_member(o, "after", r->value);
        else
            json_object_set_null_member(o, "after");
        json_array_add_object_element(changes, o);
    }
    json_object_set_string_member(c, "id", id);
    json_object_set_string_member(c, "time", when);
    json_object_set_string_member(c, "user", user ? user : "");
    json_object_set_string_member(c, "comment", comment ? comment : "");
    json_object_set_string_member(c, "machine", st->machine);
    json_object_set_int_member(c, "rollback", rollback);
    json_object_set_array_member(c, "changes", changes);
    json_object_set_int_member(doc, "format", FORMAT);
    json_object_set_object_member(doc, "layers", seg_layers_to_json(next));
    json_object_set_object_member(doc, "commit", c);
    return doc;
}

/* rollback_key - ".../rollback/00000000000000000042" */
static char *rollback_key(const seg_store *st, gint64 id)
{
    return g_strdup_printf("%srollback/%020" G_GINT64_FORMAT, ES(st)->prefix, id);
}

/*
 * txn_prune - delete the oldest saved configurations beyond the newest
 * keep-1, but never the one the transaction writes (added)
 */
static gboolean txn_prune(seg_store *st, seg_etcd_txn *t, const char *added,
                          GError **error)
{
    g_autofree char *dir = g_strconcat(ES(st)->prefix, "rollback/", NULL);
    g_autoptr(GPtrArray) kvs = NULL;
    GError *err = NULL;

    if ((kvs = seg_etcd_get(ES(st)->etcd, dir, TRUE, NULL, &err)) == NULL)
        return unreachable_error(st, err, error);
    /* sorted by key, oldest first; one is about to be added */
    for (guint i = 0; i + SEG_ROLLBACK_KEEP <= kvs->len; i++) {
        const char *key = ((seg_etcd_kv *) g_ptr_array_index(kvs, i))->key;

        if (strcmp(key, added) != 0)
            seg_etcd_txn_delete(t, key);
    }
    return TRUE;
}

/* committed_by - does the committed configuration carry this commit id? */
static gboolean committed_by(seg_store *st, const char *id)
{
    g_autoptr(GError) err = NULL;
    JsonObject *c;

    if (!etcd_reload(st, &err) || (c = ES(st)->commit) == NULL)
        return FALSE;
    return g_strcmp0(json_object_get_string_member_with_default(c, "id", NULL), id) == 0;
}

/*
 * run_commit - the transaction of a commit of next (made on base) or of a
 * join; *won FALSE when another commit came first
 */
static gboolean run_commit(seg_store *st, const seg_layers *next, const char *user,
                           const char *comment, gboolean keep, gboolean delete_pending,
                           gboolean *won, GError **error)
{
    etcd_store *es = ES(st);
    g_autoptr(seg_etcd_txn) t = seg_etcd_txn_new();
    g_autoptr(JsonObject) doc = NULL;
    g_autofree char *id = g_uuid_string_random();
    g_autofree char *when = seg_store_now_text();
    gint64  base = es->revision;
    GError *err = NULL;

    keep = keep && st->layers != NULL && base > 0;
    doc = commit_doc(st, next, id, user, comment, keep ? base : 0, when);
    seg_etcd_txn_if_mod(t, es->config_key, base);
    txn_put_doc(t, es->config_key, doc);
    if (delete_pending)
        seg_etcd_txn_delete(t, es->pending_key);
    if (keep) {
        g_autoptr(JsonObject) saved = json_object_new();
        g_autofree char *key = rollback_key(st, base);

        if (!txn_prune(st, t, key, error))
            return FALSE;
        json_object_set_int_member(saved, "format", FORMAT);
        json_object_set_string_member(saved, "time", when);
        json_object_set_string_member(saved, "user", user ? user : "");
        json_object_set_string_member(saved, "comment", comment ? comment : "");
        json_object_set_object_member(saved, "layers", seg_layers_to_json(st->layers));
        txn_put_doc(t, key, saved);
    }
    if (!seg_etcd_txn_run(es->etcd, t, won, NULL, &err)) {
        /* the answer was lost: did it happen? */
        if (err->code == SEG_ERROR_IO && committed_by(st, id)) {
            g_clear_error(&err);
            *won = TRUE;
            return TRUE;
        }
        return unreachable_error(st, err, error);
    }
    mark(st, NULL);
    return TRUE;
}

/* etcd_commit - this machine's pending changes become the cluster's configuration */
static gboolean etcd_commit(seg_store *st, const char *user, const char *comment,
                            gboolean keep, gboolean *nothing, GError **error)
{
    etcd_store *es = ES(st);
    g_autoptr(seg_layers) next = NULL;
    gint64  base;
    gboolean won = FALSE;

    if (!need_member(st, error))
        return FALSE;
    if (st->pending_layers == NULL) {
        *nothing = TRUE;
        return TRUE;
    }
    base = es->base;
    if (base != es->revision)
        return conflict(st, base, error);
    next = seg_layers_copy(st->pending_layers);
    if (!run_commit(st, next, user, comment, keep, TRUE, &won, error))
        return FALSE;
    if (!won)
        return conflict(st, base, error);
    msg_info("cluster %s: revision %" G_GINT64_FORMAT " replaced by a commit of %s",
             st->cluster, base, user ? user : "?");
    return etcd_reload(st, error);
}

/* seg_store_etcd_join - this machine joins its group, serving what it serves */
gboolean seg_store_etcd_join(seg_store *st, const char *user, gboolean *already,
                             GError **error)
{
    etcd_store *es = ES(st);

    *already = FALSE;
    for (int tries = 0; tries < JOIN_TRIES; tries++) {
        g_autoptr(seg_layers) next = NULL;
        g_autoptr(seg_settings) serving = NULL;
        g_autofree char *comment = NULL;
        gboolean won = FALSE;

        if (!etcd_reload(st, error))
            return FALSE;
        if (es->config_error != NULL) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "the committed configuration in etcd is invalid: %s",
                        es->config_error);
            return FALSE;
        }
        if (st->layers != NULL
            && g_strcmp0(seg_layers_group_of(st->layers, st->machine), es->group) == 0) {
            *already = TRUE;
            return TRUE;
        }
        /* a member that moves to another group keeps what the cluster gives it */
        serving = seg_settings_copy(seg_store_etcd_joined(st) ? st->committed : es->serving);
        next = st->layers ? seg_layers_copy(st->layers) : seg_layers_new(serving);
        seg_layers_join(next, st->machine, es->group, serving);
        comment = g_strdup_printf("machine %s joins group %s", st->machine, es->group);
        if (!run_commit(st, next, user, comment, FALSE, FALSE, &won, error))
            return FALSE;
        if (won) {
            msg_info("cluster %s: machine %s joined group %s", st->cluster, st->machine,
                     es->group);
            return etcd_reload(st, error);
        }
    }
    g_set_error(error, SEG_ERROR, SEG_ERROR_CONFLICT,
                "cannot join cluster %s: other commits kept coming first (%d tries)",
                st->cluster, JOIN_TRIES);
    return FALSE;
}

/* parse_saved - a saved configuration */
static seg_rollback_entry *parse_saved(seg_store *st, const seg_etcd_kv *kv)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonObject) doc = NULL;
    g_autoptr(seg_layers) l = NULL;
    const char *idtext = strrchr(kv->key, '/');
    seg_rollback_entry *e;
    guint64 id;

    if (idtext == NULL || !g_ascii_string_to_unsigned(idtext + 1, 10, 1, G_MAXINT64,
                                                      &id, NULL))
        return NULL;
    e = g_new0(seg_rollback_entry, 1);
    e->id = id;
    if ((doc = parse_doc(kv->value, kv->key, &err)) != NULL
        && (l = doc_layers(doc, "layers", FALSE, kv->key, &err)) != NULL)
        e->settings = seg_layers_machine(l, st->machine);
    if (doc != NULL) {
        e->time = g_strdup(json_object_get_string_member_with_default(doc, "time", ""));
        e->user = g_strdup(json_object_get_string_member_with_default(doc, "user", ""));
        e->comment = g_strdup(json_object_get_string_member_with_default(doc, "comment",
                                                                         ""));
    } else {
        e->time = g_strdup("");
        e->user = g_strdup("");
        e->comment = g_strdup("");
    }
    return e;
}

/* etcd_rollback_list - the saved configurations, newest first */
static GPtrArray *etcd_rollback_list(seg_store *st)
{
    GPtrArray *list = g_ptr_array_new_with_free_func(seg_rollback_entry_free);
    g_autofree char *dir = g_strconcat(ES(st)->prefix, "rollback/", NULL);
    g_autoptr(GPtrArray) kvs = NULL;
    GError *err = NULL;

    if ((kvs = seg_etcd_get(ES(st)->etcd, dir, TRUE, NULL, &err)) == NULL) {
        mark(st, err);
        g_error_free(err);
        return list;
    }
    mark(st, NULL);
    for (guint i = kvs->len; i > 0 && list->len < SEG_ROLLBACK_KEEP; i--) {
        seg_rollback_entry *e = parse_saved(st, g_ptr_array_index(kvs, i - 1));

        if (e != NULL)
            g_ptr_array_add(list, e);
    }
    return list;
}

/* etcd_rollback_restore - a saved configuration becomes the pending one */
static gboolean etcd_rollback_restore(seg_store *st, guint64 id, GError **error)
{
    g_autofree char *key = rollback_key(st, (gint64) id);
    g_autoptr(GBytes) value = NULL;
    g_autoptr(JsonObject) doc = NULL;
    g_autoptr(seg_layers) saved = NULL;
    g_autoptr(seg_layers) p = NULL;
    gboolean found;
    gint64  mod;

    if (!need_member(st, error))
        return FALSE;
    if ((value = get_one(st, key, &mod, &found, error)) == NULL)
        return FALSE;
    if (!found) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_NOT_FOUND,
                    "no saved configuration %" G_GUINT64_FORMAT, id);
        return FALSE;
    }
    if ((doc = parse_doc(value, key, error)) == NULL
        || (saved = doc_layers(doc, "layers", FALSE, key, error)) == NULL)
        return FALSE;
    /* the settings of every level come back; the members stay as they are */
    p = seg_layers_copy(saved);
    g_hash_table_remove_all(p->members);
    {
        GHashTableIter it;
        gpointer k, v;

        g_hash_table_iter_init(&it, st->layers->members);
        while (g_hash_table_iter_next(&it, &k, &v))
            g_hash_table_insert(p->members, g_strdup(k), g_strdup(v));
    }
    return put_delta(st, p, NULL, error);
}

/* etcd_last_commit - the commit of the committed configuration */
static seg_commit_detail *etcd_last_commit(seg_store *st)
{
    JsonObject *c = ES(st)->commit;
    JsonNode *n;
    seg_commit_detail *d;

    if (c == NULL)
        return NULL;
    d = g_new0(seg_commit_detail, 1);
    d->time = g_strdup(json_object_get_string_member_with_default(c, "time", ""));
    d->user = g_strdup(json_object_get_string_member_with_default(c, "user", ""));
    d->comment = g_strdup(json_object_get_string_member_with_default(c, "comment", ""));
    d->rollback_id = (guint64) MAX(0, json_object_get_int_member_with_default(c, "rollback",
                                                                               0));
    d->keys = g_ptr_array_new();
    d->before = g_ptr_array_new_with_free_func(g_free);
    d->after = g_ptr_array_new_with_free_func(g_free);
    d->levels = g_ptr_array_new_with_free_func(g_free);
    n = json_object_get_member(c, "changes");
    for (guint i = 0; n && JSON_NODE_HOLDS_ARRAY(n)
         && i < json_array_get_length(json_node_get_array(n)); i++) {
        JsonNode *e = json_array_get_element(json_node_get_array(n), i);
        JsonObject *o;
        const char *key = NULL;
        seg_level lv;

        if (!JSON_NODE_HOLDS_OBJECT(e))
            continue;
        o = json_node_get_object(e);
        for (const char *const *k = seg_settings_keys(); *k != NULL; k++)
            if (g_strcmp0(*k, json_object_get_string_member_with_default(o, "key", "")) == 0)
                key = *k;
        if (key == NULL
            || !seg_level_parse(json_object_get_string_member_with_default(o, "level", ""),
                                &lv, NULL))
            continue;
        g_ptr_array_add(d->keys, (gpointer) key);
        g_ptr_array_add(d->levels, seg_level_text(&lv));
        seg_level_clear(&lv);
        g_ptr_array_add(d->before, g_strdup(json_object_get_string_member_with_default(o,
                                                                            "before", "")));
        g_ptr_array_add(d->after, g_strdup(json_object_get_string_member_with_default(o,
                                                                            "after", "")));
    }
    return d;
}

/* seg_store_etcd_applied - this machine serves s, the configuration of revision */
gboolean seg_store_etcd_applied(seg_store *st, gint64 revision, const seg_settings *s,
                                GError **error)
{
    etcd_store *es = ES(st);
    g_autofree char *text = NULL;
    g_autofree char *rev = g_strdup_printf("%" G_GINT64_FORMAT "\n", revision);
    g_autofree char *dir = g_path_get_dirname(st->config_path);
    gsize   len;

    text = seg_settings_to_keyfile(s, &len);
    if (!seg_store_make_dir(dir, 0755, error)
        || !seg_atomic_write(st->config_path, text, len, MODE_COMMITTED, error)
        || !seg_atomic_write(es->applied_path, rev, strlen(rev), MODE_STATE, error))
        return FALSE;
    g_clear_pointer(&es->serving, seg_settings_free);
    es->serving = seg_settings_copy(s);
    es->applied = revision;
    if (!seg_store_etcd_joined(st))
        update_views(st);
    return TRUE;
}

/* seg_store_etcd_applied_revision - what this machine last applied */
gint64 seg_store_etcd_applied_revision(const seg_store *st)
{
    return ES(st)->applied;
}

/* seg_store_etcd_serving - the settings it last applied */
const seg_settings *seg_store_etcd_serving(const seg_store *st)
{
    return ES(st)->serving;
}

/* seg_store_etcd_report - this machine's status into etcd */
gboolean seg_store_etcd_report(seg_store *st, JsonObject *status, GError **error)
{
    g_autofree char *key = g_strconcat(ES(st)->prefix, "status/", st->machine, NULL);
    g_autoptr(GBytes) b = NULL;
    GError *err = NULL;
    gsize   len;
    const void *data;

    json_object_set_int_member(status, "format", FORMAT);
    b = seg_etcd_json(status);
    data = g_bytes_get_data(b, &len);
    if (!seg_etcd_put(ES(st)->etcd, key, data, len, NULL, &err))
        return unreachable_error(st, err, error);
    mark(st, NULL);
    return TRUE;
}

/* status_cmp - by the "machine" member */
static gint status_cmp(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(json_object_get_string_member_with_default(*(JsonObject **) a,
                                                                "machine", ""),
                     json_object_get_string_member_with_default(*(JsonObject **) b,
                                                                "machine", ""));
}

/* seg_store_etcd_statuses - every machine's status, and members that never reported */
GPtrArray *seg_store_etcd_statuses(seg_store *st, GError **error)
{
    g_autofree char *dir = g_strconcat(ES(st)->prefix, "status/", NULL);
    g_autoptr(GPtrArray) kvs = NULL;
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify) json_object_unref);
    GError *err = NULL;

    if ((kvs = seg_etcd_get(ES(st)->etcd, dir, TRUE, NULL, &err)) == NULL) {
        g_ptr_array_unref(out);
        unreachable_error(st, err, error);
        return NULL;
    }
    mark(st, NULL);
    for (guint i = 0; i < kvs->len; i++) {
        seg_etcd_kv *kv = g_ptr_array_index(kvs, i);
        const char *name = kv->key + strlen(dir);
        g_autoptr(GError) perr = NULL;
        JsonObject *o;

        if (!seg_level_name_check("machine", name, NULL)
            || (o = parse_doc(kv->value, kv->key, &perr)) == NULL)
            continue;
        json_object_set_string_member(o, "machine", name);
        g_hash_table_add(seen, g_strdup(name));
        g_ptr_array_add(out, o);
    }
    if (st->layers != NULL) {
        GHashTableIter it;
        gpointer k, v;

        g_hash_table_iter_init(&it, st->layers->members);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            JsonObject *o;

            if (g_hash_table_contains(seen, k))
                continue;
            o = json_object_new();
            json_object_set_string_member(o, "machine", k);
            json_object_set_string_member(o, "group", v);
            json_object_set_string_member(o, "result", "never reported");
            g_ptr_array_add(out, o);
        }
    }
    g_ptr_array_sort(out, status_cmp);
    return out;
}

static const seg_store_ops etcd_ops = {
    .free = etcd_free,
    .reload = etcd_reload,
    .set_at = etcd_set_at,
    .move = etcd_move,
    .clear = etcd_clear,
    .commit = etcd_commit,
    .rollback_list = etcd_rollback_list,
    .rollback_restore = etcd_rollback_restore,
    .last_commit = etcd_last_commit,
};
