/*
 * store_int.h - what the store's backends share (private to lib/policy).
 *
 * store.c holds the interface of store.h and hands each call to the
 * backend's table: store_file.c (committed file, state directory) or
 * store_etcd.c (a cluster kept in etcd). Every backend keeps the views of
 * the struct up to date: committed and pending are what this machine
 * sees; layers and pending_layers the whole cluster (NULL for the file
 * store, which has one level only).
 */
#ifndef SEGTLS_STORE_INT_H
#define SEGTLS_STORE_INT_H

#include "layers.h"
#include "store.h"

typedef struct seg_store_ops {
    void        (*free) (seg_store *st);
    gboolean    (*reload) (seg_store *st, GError **error);
    gboolean    (*set_at) (seg_store *st, const seg_level *at, const seg_settings *next,
                           GError **error);
    gboolean    (*move) (seg_store *st, const char *const *keys, const seg_level *from,
                         const seg_level *to, GError **error);
    gboolean    (*clear) (seg_store *st, gboolean *had_any, GError **error);
    gboolean    (*commit) (seg_store *st, const char *user, const char *comment,
                           gboolean keep, gboolean *nothing, GError **error);
    GPtrArray  *(*rollback_list) (seg_store *st);
    gboolean    (*rollback_restore) (seg_store *st, guint64 id, GError **error);
    seg_commit_detail *(*last_commit) (seg_store *st);
} seg_store_ops;

struct seg_store {
    const seg_store_ops *ops;
    char       *config_path;
    char       *state_dir;
    seg_settings *committed;            /* what this machine sees */
    seg_settings *pending;              /* the same with the pending changes; NULL: none */
    seg_layers *layers;                 /* cluster: the committed configuration */
    seg_layers *pending_layers;         /* cluster: with the pending changes; NULL: none */
    char       *cluster;                /* cluster: its name */
    char       *machine;                /* cluster: this machine */
    gpointer    backend;
};

/* seg_store_new - the common part; the backend fills in the rest */
seg_store *seg_store_new(const seg_store_ops *ops, const char *config_path,
                         const char *state_dir);
/* seg_store_now_text - local time as "Fri Nov 27 23:10:42 2026" */
char   *seg_store_now_text(void);
/* seg_store_check_text - user and comment: one line of UTF-8 */
gboolean seg_store_check_text(const char *what, const char *text, GError **error);
/* seg_store_make_dir - create a directory (and parents) when it is missing */
gboolean seg_store_make_dir(const char *dir, int mode, GError **error);
/* seg_rollback_entry_free - GPtrArray free function */
void    seg_rollback_entry_free(gpointer p);

#endif
