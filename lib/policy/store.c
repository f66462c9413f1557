/*
 * store - the interface of the store of settings (see store.h).
 *
 * One interface, two backends: store_file.c (a committed file and a state
 * directory, one machine) and store_etcd.c (a cluster in etcd). Here are
 * the calls every caller makes, the checks they share (user and comment,
 * levels), and the views: what a level sees is asked of layers.c, the one
 * home of the most-specific-wins rule. A backend keeps seg_store's views
 * current; the calls are handed to its table.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <glib/gstdio.h>

#include "error.h"
#include "recfmt.h"
#include "store_int.h"

/* seg_store_new - the common part of a store */
seg_store *seg_store_new(const seg_store_ops *ops, const char *config_path,
                         const char *state_dir)
{
    seg_store *st = g_new0(seg_store, 1);

    st->ops = ops;
    st->config_path = g_strdup(config_path);
    st->state_dir = g_strdup(state_dir);
    return st;
}

/* seg_store_free - release the store and its backend */
void seg_store_free(seg_store *st)
{
    if (st == NULL)
        return;
    if (st->backend != NULL)
        st->ops->free(st);
    g_free(st->config_path);
    g_free(st->state_dir);
    g_clear_pointer(&st->committed, seg_settings_free);
    g_clear_pointer(&st->pending, seg_settings_free);
    g_clear_pointer(&st->layers, seg_layers_free);
    g_clear_pointer(&st->pending_layers, seg_layers_free);
    g_free(st->cluster);
    g_free(st->machine);
    g_free(st);
}

/* seg_store_now_text - local time as "Fri Nov 27 23:10:42 2026" */
char *seg_store_now_text(void)
{
    char    buf[SEG_RECFMT_TIME_LEN];

    if (seg_recfmt_time(time(NULL), buf, sizeof(buf)) == 0)
        return g_strdup("unknown");
    return g_strdup(buf);
}

/* seg_store_check_text - user and comment must be one line of UTF-8 */
gboolean seg_store_check_text(const char *what, const char *text, GError **error)
{
    const char *p;

    if (text == NULL)
        return TRUE;
    if (!g_utf8_validate(text, -1, NULL)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s is not valid UTF-8", what);
        return FALSE;
    }
    for (p = text; *p; p++) {
        if ((unsigned char) *p < 0x20 || *p == 0x7f) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "%s contains a control character", what);
            return FALSE;
        }
    }
    return TRUE;
}

/* seg_store_make_dir - create a directory (and parents) when it is missing */
gboolean seg_store_make_dir(const char *dir, int mode, GError **error)
{
    if (g_mkdir_with_parents(dir, mode) < 0) {
        int     saved = errno;

        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "cannot create directory %s: %s",
                    dir, g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

/* seg_rollback_entry_free - GPtrArray free function */
void seg_rollback_entry_free(gpointer p)
{
    seg_rollback_entry *e = p;

    g_free(e->time);
    g_free(e->user);
    g_free(e->comment);
    if (e->settings != NULL)
        seg_settings_free(e->settings);
    g_free(e);
}

/* seg_store_config_path - the committed file (cluster: the last applied) */
const char *seg_store_config_path(const seg_store *st)
{
    return st->config_path;
}

/* seg_store_committed - the settings in force here */
const seg_settings *seg_store_committed(const seg_store *st)
{
    return st->committed;
}

/* seg_store_pending - pending settings, NULL when none */
const seg_settings *seg_store_pending(const seg_store *st)
{
    return st->pending;
}

/* seg_store_reload - re-read what the backend holds */
gboolean seg_store_reload(seg_store *st, GError **error)
{
    return st->ops->reload(st, error);
}

/* seg_store_is_cluster - is this the etcd store? */
gboolean seg_store_is_cluster(const seg_store *st)
{
    return st->cluster != NULL;
}

/* seg_store_cluster_name - the cluster's name */
const char *seg_store_cluster_name(const seg_store *st)
{
    return st->cluster;
}

/* seg_store_machine - this machine */
const char *seg_store_machine(const seg_store *st)
{
    return st->machine;
}

/* seg_store_layers - the cluster's configuration */
const seg_layers *seg_store_layers(const seg_store *st, gboolean pending)
{
    return pending ? st->pending_layers : st->layers;
}

/* seg_store_level - a level this store has; NULL: the default of a change */
gboolean seg_store_level(const seg_store *st, const char *text, seg_level *level,
                         GError **error)
{
    if (text == NULL) {
        level->kind = SEG_LEVEL_CLUSTER;
        level->name = NULL;
        return TRUE;
    }
    if (!seg_level_parse(text, level, error))
        return FALSE;
    if (!seg_store_is_cluster(st)) {
        g_autofree char *shown = seg_level_text(level);

        seg_level_clear(level);
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "not in a cluster: level %s needs cluster mode ([cluster] in "
                    "segtls-policyd's configuration)", shown);
        return FALSE;
    }
    return TRUE;
}

/* seg_store_view - the settings a level sees */
seg_settings *seg_store_view(seg_store *st, const char *level, gboolean pending,
                             GError **error)
{
    seg_level at;
    const seg_layers *l;
    seg_settings *s;

    if (level == NULL || !seg_store_is_cluster(st)) {
        if (level != NULL && !seg_store_level(st, level, &at, error))
            return NULL;
        return seg_settings_copy(pending && st->pending ? st->pending : st->committed);
    }
    if (!seg_store_level(st, level, &at, error))
        return NULL;
    if (st->layers == NULL) {
        seg_level_clear(&at);
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "cluster %s has no configuration yet: run segtls cluster join",
                    st->cluster);
        return NULL;
    }
    l = pending && st->pending_layers ? st->pending_layers : st->layers;
    s = seg_layers_view(l, &at);
    seg_level_clear(&at);
    return s;
}

/* seg_store_set_at - next is what the level sees, pending */
gboolean seg_store_set_at(seg_store *st, const char *level, const seg_settings *next,
                          GError **error)
{
    seg_level at;
    gboolean ok;

    if (!seg_store_level(st, level, &at, error))
        return FALSE;
    ok = st->ops->set_at(st, &at, next, error);
    seg_level_clear(&at);
    return ok;
}

/* seg_store_set_pending - replace the pending configuration (default level) */
gboolean seg_store_set_pending(seg_store *st, const seg_settings *pending,
                               GError **error)
{
    return seg_store_set_at(st, NULL, pending, error);
}

/* seg_store_move - values of keys from one level to another, pending */
gboolean seg_store_move(seg_store *st, const char *const *keys, const char *from,
                        const char *to, GError **error)
{
    seg_level f = {SEG_LEVEL_CLUSTER, NULL}, t = {SEG_LEVEL_CLUSTER, NULL};
    gboolean ok = FALSE;

    if (!seg_store_is_cluster(st) || st->ops->move == NULL) {
        g_set_error_literal(error, SEG_ERROR, SEG_ERROR_INVALID,
                            "not in a cluster: settings have no levels to move between");
        return FALSE;
    }
    if (seg_store_level(st, from, &f, error)
        && (to == NULL || seg_store_level(st, to, &t, error)))
        ok = st->ops->move(st, keys, &f, to ? &t : NULL, error);
    seg_level_clear(&f);
    seg_level_clear(&t);
    return ok;
}

/* seg_store_clear_pending - drop pending changes */
gboolean seg_store_clear_pending(seg_store *st, gboolean *had_any, GError **error)
{
    return st->ops->clear(st, had_any, error);
}

/* seg_store_commit - pending becomes committed */
gboolean seg_store_commit(seg_store *st, const char *user, const char *comment,
                          gboolean keep, gboolean *nothing, GError **error)
{
    gboolean dummy;

    if (nothing == NULL)
        nothing = &dummy;
    *nothing = FALSE;
    if (!seg_store_check_text("user name", user, error)
        || !seg_store_check_text("comment", comment, error))
        return FALSE;
    return st->ops->commit(st, user, comment, keep, nothing, error);
}

/* seg_store_rollback_list - newest first */
GPtrArray *seg_store_rollback_list(seg_store *st)
{
    return st->ops->rollback_list(st);
}

/* seg_store_rollback_get - what restoring entry id brings back here */
seg_settings *seg_store_rollback_get(seg_store *st, guint64 id, GError **error)
{
    g_autoptr(GPtrArray) list = seg_store_rollback_list(st);

    for (guint i = 0; i < list->len; i++) {
        const seg_rollback_entry *e = g_ptr_array_index(list, i);

        if (e->id != id)
            continue;
        if (e->settings == NULL) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "saved configuration %" G_GUINT64_FORMAT " is unreadable", id);
            return NULL;
        }
        return seg_settings_copy(e->settings);
    }
    g_set_error(error, SEG_ERROR, SEG_ERROR_NOT_FOUND,
                "no saved configuration %" G_GUINT64_FORMAT, id);
    return NULL;
}

/* seg_store_rollback_restore - saved configuration id becomes pending */
gboolean seg_store_rollback_restore(seg_store *st, guint64 id, GError **error)
{
    return st->ops->rollback_restore(st, id, error);
}

/* seg_store_last_commit - the last commit */
seg_commit_detail *seg_store_last_commit(seg_store *st)
{
    return st->ops->last_commit(st);
}

/* seg_commit_detail_free - release a commit detail */
void seg_commit_detail_free(seg_commit_detail *d)
{
    if (d == NULL)
        return;
    g_free(d->time);
    g_free(d->user);
    g_free(d->comment);
    g_ptr_array_unref(d->keys);
    g_ptr_array_unref(d->before);
    g_ptr_array_unref(d->after);
    if (d->levels != NULL)
        g_ptr_array_unref(d->levels);
    g_free(d);
}
