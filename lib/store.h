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
 * comment), ids (see records) and the lock file. Every write is atomic
 * (temp file, fsync, rename, fsync of the directory) and serialised by an
 * flock(2) on STATE_DIR/lock.
 *
 * A committed file that breaks a rule is refused with "file:line:
 * message"; the store keeps the last good configuration in force.
 */
#ifndef SEGTLS_STORE_H
#define SEGTLS_STORE_H

#include <glib.h>
#include "settings.h"

#define SEG_DEFAULT_CONFIG      "/etc/segtls/segtls.conf"
#define SEG_DEFAULT_STATE_DIR   "/var/lib/segtls"
#define SEG_ROLLBACK_KEEP       10

typedef struct seg_store seg_store;

typedef struct seg_rollback_entry {
    guint       id;             /* 1 = newest */
    char       *time;           /* "Fri Nov 27 23:10:42 2026" */
    char       *user;
    char       *comment;
} seg_rollback_entry;

/* seg_settings_to_keyfile - serialise (all keys, canonical values) */
char *seg_settings_to_keyfile(const seg_settings *s, gsize *len);

/*
 * seg_settings_from_keyfile - parse key-file text. Missing keys keep
 * their defaults; unknown groups/keys and broken values are errors
 * "FILENAME:LINE: message".
 */
seg_settings *seg_settings_from_keyfile(const char *data, gsize len,
                                        const char *filename, GError **error);

/* seg_atomic_write - temp file, fsync, rename, fsync dir */
gboolean seg_atomic_write(const char *path, const char *data, gsize len,
                          int mode, GError **error);

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
/* seg_store_rollback_restore - saved configuration id becomes pending */
gboolean seg_store_rollback_restore(seg_store *st, guint id, GError **error);

/*
 * Helpers shared by store.c, keyfile.c and atomic.c.
 *
 * seg_settings_keyfile_fill - add every setting to kf, one group per service
 * seg_settings_from_keyfile_full - as seg_settings_from_keyfile, but the
 *      group extra_group (when not NULL) is allowed with any keys and left
 *      to the caller, who gets the parsed key file in *kf (may be NULL)
 * seg_fsync_dir - sync a directory after a rename or unlink in it
 * seg_atomic_cleanup - remove the temporary files a crash left for path
 * seg_lock_acquire - exclusive flock(2) on path (created 0600): the fd,
 *      or -1 and SEG_ERROR_LOCKED after 10 seconds of waiting
 * seg_lock_release - release it (-1 is ignored)
 */
void seg_settings_keyfile_fill(GKeyFile *kf, const seg_settings *s);
seg_settings *seg_settings_from_keyfile_full(const char *data, gsize len,
                                             const char *filename,
                                             const char *extra_group,
                                             GKeyFile **kf, GError **error);
gboolean seg_fsync_dir(const char *dir, GError **error);
void seg_atomic_cleanup(const char *path);
int seg_lock_acquire(const char *path, GError **error);
void seg_lock_release(int fd);

#endif
