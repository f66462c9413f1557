/*
 * store - committed settings, pending changes and rollback history.
 *
 * Committed settings live in a GLib key file (default
 * /etc/segtls/segtls.conf), one group per service:
 *
 *   [inbound]
 *   methods=1.1-1.2
 *   ciphers=HIGH:...
 *
 * The state directory (default /var/lib/segtls) holds pending.conf (the
 * whole pending configuration, same format), rollback/ (the last 10
 * saved configurations, each with a [rollback] group: time, user,
 * comment), last-commit.conf (who, when, why and what of the last
 * commit), ids (see records) and the lock file. Every write is atomic
 * (temp file, fsync, rename, fsync of the directory) and serialised by an
 * flock(2) on STATE_DIR/lock.
 *
 * A committed file that breaks a rule is refused with "file:line:
 * message"; the store keeps the last good configuration in force.
 *
 * That is the file store (store_file.c). In cluster mode the same
 * interface is served by the etcd store (store_etcd.c, store_etcd.h):
 * the committed configuration, the pending changes of each machine and
 * the rollback history live in etcd, each value at cluster, group or
 * machine level (layers.h). There "committed" and "pending" are what this
 * machine sees, and a level names what a change or a view is about. The
 * file store has one level only: naming one is refused.
 */
#ifndef SEGTLS_STORE_H
#define SEGTLS_STORE_H

#include <glib.h>
#include "keyfile.h"
#include "layers.h"
#include "settings.h"

#define SEG_DEFAULT_CONFIG      "/etc/segtls/segtls.conf"
#define SEG_DEFAULT_STATE_DIR   "/var/lib/segtls"
#define SEG_ROLLBACK_KEEP       10

typedef struct seg_store seg_store;

/*
 * A saved configuration: the one in force before a commit, with the
 * time, user and comment of that commit. Its id is its sequence number,
 * which never changes and is never given to another entry: a commit
 * between a list and a restore cannot make an id name another entry.
 */
typedef struct seg_rollback_entry {
    guint64     id;             /* sequence number, highest = newest */
    char       *time;           /* of the commit: "Fri Nov 27 23:10:42 2026" */
    char       *user;           /* who committed */
    char       *comment;        /* the commit's comment */
    seg_settings *settings;     /* what restoring brings back; NULL: unreadable */
} seg_rollback_entry;

/* The last commit: who, when, why, what changed (keys with both values). */
typedef struct seg_commit_detail {
    char       *time;
    char       *user;
    char       *comment;
    guint64     rollback_id;    /* entry saved by that commit, 0 for none */
    GPtrArray  *keys;           /* changed keys (char *) in listing order */
    GPtrArray  *before;         /* their values before, same order */
    GPtrArray  *after;          /* and after */
    GPtrArray  *levels;         /* cluster: the level of each ("cluster",
                                 * "machine:mx1"); NULL for the file store */
} seg_commit_detail;
void seg_commit_detail_free(seg_commit_detail *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(seg_commit_detail, seg_commit_detail_free)

/*
 * seg_store_open - load the committed file (a missing file means
 * defaults, nothing is written) and the pending one. Fails only when the
 * committed file exists and is invalid, or the state dir is unusable.
 */
seg_store *seg_store_open(const char *config_path, const char *state_dir,
                          GError **error);
void seg_store_free(seg_store *st);

const char *seg_store_config_path(const seg_store *st);
const seg_settings *seg_store_committed(const seg_store *st);
/* NULL when there are no pending changes */
const seg_settings *seg_store_pending(const seg_store *st);

/*
 * seg_store_reload - re-read the committed file (SIGHUP). When it is
 * invalid the error says why and the last good settings stay in force.
 */
gboolean seg_store_reload(seg_store *st, GError **error);

/* seg_store_set_pending - replace the pending configuration */
gboolean seg_store_set_pending(seg_store *st, const seg_settings *pending,
                               GError **error);
/* seg_store_clear_pending - drop pending changes (*had_any tells) */
gboolean seg_store_clear_pending(seg_store *st, gboolean *had_any,
                                 GError **error);

/*
 * seg_store_commit - pending becomes committed. When keep is TRUE the
 * previous committed configuration is saved for rollback with the time,
 * user and comment. *nothing is set when there was nothing pending.
 */
gboolean seg_store_commit(seg_store *st, const char *user, const char *comment,
                          gboolean keep, gboolean *nothing, GError **error);

/*
 * seg_store_file_in - the name of the first file of a store's state
 * (pending.conf, rollback, lock) in dir, or NULL: other programs refuse
 * to keep their state in policyd's directory.
 */
const char *seg_store_file_in(const char *dir);

/* seg_store_rollback_list - newest first; free with g_ptr_array_unref */
GPtrArray *seg_store_rollback_list(seg_store *st);
/*
 * seg_store_rollback_get - the saved configuration with this id, or NULL
 * with "no saved configuration ID" (SEG_ERROR_NOT_FOUND)
 */
seg_settings *seg_store_rollback_get(seg_store *st, guint64 id, GError **error);
/* seg_store_rollback_restore - saved configuration id becomes pending */
gboolean seg_store_rollback_restore(seg_store *st, guint64 id, GError **error);

/* seg_store_last_commit - the last commit through the store; NULL: none yet */
seg_commit_detail *seg_store_last_commit(seg_store *st);

/*
 * Levels (cluster mode; the file store refuses a level with "not in a
 * cluster: level LEVEL needs cluster mode ([cluster] in segtls-policyd's
 * configuration)"). level NULL: for a view, this machine; for a change,
 * the file store's settings or the cluster level.
 */
gboolean seg_store_is_cluster(const seg_store *st);
/* seg_store_cluster_name - NULL for the file store */
const char *seg_store_cluster_name(const seg_store *st);
/* seg_store_machine - this machine's name in the cluster; NULL for the file store */
const char *seg_store_machine(const seg_store *st);
/*
 * seg_store_level - parse a level the store has: NULL gives the default
 * of a change (see above); a bad level or one the file store has not is
 * refused
 */
gboolean seg_store_level(const seg_store *st, const char *text, seg_level *level,
                         GError **error);
/*
 * seg_store_view - the settings seen at a level (NULL: this machine),
 * with the pending changes when pending is TRUE and there are any
 */
seg_settings *seg_store_view(seg_store *st, const char *level, gboolean pending,
                             GError **error);
/*
 * seg_store_set_at - pending changes: next is what level sees (every key
 * that differs from what it sees now is put at that level)
 */
gboolean seg_store_set_at(seg_store *st, const char *level, const seg_settings *next,
                          GError **error);
/*
 * seg_store_move - pending changes: the values of keys at from go to to
 * (NULL: removed from from, which inherits again); see seg_layers_move()
 */
gboolean seg_store_move(seg_store *st, const char *const *keys, const char *from,
                        const char *to, GError **error);
/* seg_store_layers - the cluster's configuration, committed or pending (NULL: none) */
const seg_layers *seg_store_layers(const seg_store *st, gboolean pending);

/*
 * seg_store_check_file - is the committed file on disk valid now? FALSE
 * with "file:line: message" when not (a hand edit not yet reloaded, or
 * one SIGHUP refused); a missing file is valid (the defaults). Reads only
 * the file, not the store: callable from any thread.
 */
gboolean seg_store_check_file(const char *config_path, GError **error);

#endif
