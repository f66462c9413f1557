/*
 * store_file - the file store: committed settings, pending changes and
 * rollback history of one machine (the store without [cluster]).
 *
 * Files:
 *   CONFIG                  the committed settings (0644)
 *   STATE/pending.conf      the whole pending configuration (0640)
 *   STATE/rollback/N.conf   saved configurations (0640); N is a 20-digit
 *                           sequence number, one above the highest in use,
 *                           so the order never depends on the clock. Each
 *                           holds a [rollback] group (time, user, comment)
 *                           and the settings groups.
 *   STATE/last-commit.conf  the last commit (0640): [commit] time, user,
 *                           comment, rollback (the id it saved, 0 for
 *                           none); [before] and [after] the changed keys
 *   STATE/lock              flock(2) held around every change
 *
 * Every file is replaced with seg_atomic_write(). A commit saves the
 * rollback entry, then replaces the committed file, then removes
 * pending.conf: a kill -9 at any point leaves the committed file old or
 * new, and at worst a pending.conf equal to it, which open drops.
 * last-commit.conf is written after the committed file: a crash between
 * the two leaves the detail of the commit before.
 *
 * A rollback entry's id is its sequence number: listing, restoring and
 * the control protocol all name entries by it, so an id keeps meaning
 * the same configuration until it is pruned.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <glib/gstdio.h>

#include "atomic.h"
#include "error.h"
#include "msg.h"
#include "recfmt.h"
#include "store_int.h"

#define PENDING_NAME    "pending.conf"
#define ROLLBACK_DIR    "rollback"
#define ROLLBACK_GROUP  "rollback"
#define ROLLBACK_DIGITS 20
#define LOCK_NAME       "lock"
#define LAST_COMMIT     "last-commit.conf"
#define COMMIT_GROUP    "commit"

#define MODE_COMMITTED  0644
#define MODE_STATE      0640
#define MODE_STATE_DIR  0750

#define ROLLBACK_HEADER \
    " segtls saved configuration; restore it with rollbackconfig."

/* The files of the store (seg_store.backend). */
typedef struct file_store {
    char   *pending_path;
    char   *rollback_dir;
    char   *lock_path;
    char   *last_commit_path;
} file_store;

#define FS(st) ((file_store *) (st)->backend)

/* A saved configuration on disk. */
typedef struct rb_file {
    guint64 seq;
    char   *path;
} rb_file;

/* seg_store_file_in - the first file of a file store's state found in dir, or NULL */
const char *seg_store_file_in(const char *dir)
{
    static const char *const names[] = {PENDING_NAME, ROLLBACK_DIR, LOCK_NAME};
    struct stat st;

    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *path = g_build_filename(dir, names[i], NULL);

        if (lstat(path, &st) == 0)
            return names[i];
    }
    return NULL;
}

/* read_settings - load a key file; *missing when it does not exist */
static seg_settings *read_settings(const char *path, const char *extra_group,
                                   GKeyFile **kf, gboolean *missing,
                                   GError **error)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) err = NULL;
    gsize   len;

    if (missing != NULL)
        *missing = FALSE;
    if (!g_file_get_contents(path, &data, &len, &err)) {
        if (missing != NULL && g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            *missing = TRUE;
            return NULL;
        }
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s", err->message);
        return NULL;
    }
    return seg_settings_from_keyfile_full(data, len, path, extra_group, kf, error);
}

/* write_settings - write a key file atomically */
static gboolean write_settings(const char *path, GKeyFile *kf, int mode,
                               GError **error)
{
    g_autofree char *data = NULL;
    gsize   len;

    data = g_key_file_to_data(kf, &len, NULL);
    return seg_atomic_write(path, data, len, mode, error);
}

/* remove_pending - unlink pending.conf durably; absent is fine */
static gboolean remove_pending(seg_store *st, gboolean *existed, GError **error)
{
    if (existed != NULL)
        *existed = FALSE;
    if (g_unlink(FS(st)->pending_path) < 0) {
        int     saved = errno;

        if (saved == ENOENT)
            return TRUE;
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "cannot remove %s: %s",
                    FS(st)->pending_path, g_strerror(saved));
        return FALSE;
    }
    if (existed != NULL)
        *existed = TRUE;
    return seg_fsync_dir(st->state_dir, error);
}

/* load_pending - read pending.conf; an invalid one is discarded */
static void load_pending(seg_store *st)
{
    g_autoptr(GError) err = NULL;
    seg_settings *p;
    gboolean missing;
    int     lock;

    /* Decide and remove under the lock; a reader without rights only reads. */
    lock = seg_lock_acquire(FS(st)->lock_path, NULL);
    g_clear_pointer(&st->pending, seg_settings_free);
    p = read_settings(FS(st)->pending_path, NULL, NULL, &missing, &err);
    if (p == NULL && !missing && err->code == SEG_ERROR_IO) {
        msg_warn("ignoring pending changes: %s", err->message);
    } else if (p != NULL && !seg_settings_equal(p, st->committed)) {
        st->pending = g_steal_pointer(&p);
    } else if (!missing) {
        /* Invalid, or left over from a commit that crashed before its end. */
        if (p == NULL)
            msg_warn("discarding pending changes: %s", err->message);
        g_clear_error(&err);
        if (lock >= 0 && !remove_pending(st, NULL, &err))
            msg_warn("%s", err->message);
    }
    g_clear_pointer(&p, seg_settings_free);
    seg_lock_release(lock);
}

static const seg_store_ops file_ops;

/* seg_store_open - load committed and pending settings */
seg_store *seg_store_open(const char *config_path, const char *state_dir,
                          GError **error)
{
    seg_store *st = seg_store_new(&file_ops, config_path, state_dir);
    gboolean missing;

    st->backend = g_new0(file_store, 1);
    FS(st)->pending_path = g_build_filename(state_dir, PENDING_NAME, NULL);
    FS(st)->rollback_dir = g_build_filename(state_dir, ROLLBACK_DIR, NULL);
    FS(st)->lock_path = g_build_filename(state_dir, LOCK_NAME, NULL);
    FS(st)->last_commit_path = g_build_filename(state_dir, LAST_COMMIT, NULL);
    if (!seg_store_make_dir(st->state_dir, MODE_STATE_DIR, error)
        || !seg_store_make_dir(FS(st)->rollback_dir, MODE_STATE_DIR, error)) {
        seg_store_free(st);
        return NULL;
    }
    st->committed = read_settings(config_path, NULL, NULL, &missing, error);
    if (st->committed == NULL) {
        if (!missing) {
            seg_store_free(st);
            return NULL;
        }
        st->committed = seg_settings_new_default();
    }
    load_pending(st);
    return st;
}

/* file_free - release the file names */
static void file_free(seg_store *st)
{
    g_free(FS(st)->pending_path);
    g_free(FS(st)->rollback_dir);
    g_free(FS(st)->lock_path);
    g_free(FS(st)->last_commit_path);
    g_free(st->backend);
}

/* file_reload - re-read the committed file */
static gboolean file_reload(seg_store *st, GError **error)
{
    seg_settings *s;
    gboolean missing;
    int     lock;

    if ((lock = seg_lock_acquire(FS(st)->lock_path, error)) < 0)
        return FALSE;
    s = read_settings(st->config_path, NULL, NULL, &missing, error);
    seg_lock_release(lock);
    if (s == NULL && !missing)
        return FALSE;
    if (s == NULL)
        s = seg_settings_new_default();
    seg_settings_free(st->committed);
    st->committed = s;
    return TRUE;
}

/* put_pending - write or remove pending.conf; the caller holds the lock */
static gboolean put_pending(seg_store *st, const seg_settings *pending,
                            GError **error)
{
    g_autofree char *data = NULL;
    gsize   len;

    if (seg_settings_equal(pending, st->committed)) {
        if (!remove_pending(st, NULL, error))
            return FALSE;
        g_clear_pointer(&st->pending, seg_settings_free);
        return TRUE;
    }
    data = seg_settings_to_keyfile(pending, &len);
    if (!seg_atomic_write(FS(st)->pending_path, data, len, MODE_STATE, error))
        return FALSE;
    if (pending != st->pending) {
        seg_settings_free(st->pending);
        st->pending = seg_settings_copy(pending);
    }
    return TRUE;
}

/* file_set_at - replace the pending configuration (the one level) */
static gboolean file_set_at(seg_store *st, const seg_level *at,
                            const seg_settings *pending, GError **error)
{
    gboolean ok;
    int     lock;

    if ((lock = seg_lock_acquire(FS(st)->lock_path, error)) < 0)
        return FALSE;
    ok = put_pending(st, pending, error);
    seg_lock_release(lock);
    return ok;
}

/* file_clear - drop pending changes */
static gboolean file_clear(seg_store *st, gboolean *had_any, GError **error)
{
    gboolean existed = FALSE;
    gboolean ok;
    int     lock;

    if ((lock = seg_lock_acquire(FS(st)->lock_path, error)) < 0)
        return FALSE;
    ok = remove_pending(st, &existed, error);
    seg_lock_release(lock);
    if (had_any != NULL)
        *had_any = existed || st->pending != NULL;
    if (ok)
        g_clear_pointer(&st->pending, seg_settings_free);
    return ok;
}

/* rb_file_clear - GArray clear function */
static void rb_file_clear(gpointer p)
{
    g_free(((rb_file *) p)->path);
}

/* rb_file_cmp - newest (highest sequence) first */
static gint rb_file_cmp(gconstpointer a, gconstpointer b)
{
    guint64 x = ((const rb_file *) a)->seq;
    guint64 y = ((const rb_file *) b)->seq;

    return x < y ? 1 : x > y ? -1 : 0;
}

/* rb_parse_name - "00000000000000000042.conf" to 42 */
static gboolean rb_parse_name(const char *name, guint64 *seq)
{
    guint   i;

    for (i = 0; i < ROLLBACK_DIGITS; i++)
        if (!g_ascii_isdigit(name[i]))
            return FALSE;
    if (strcmp(name + ROLLBACK_DIGITS, ".conf") != 0)
        return FALSE;
    *seq = g_ascii_strtoull(name, NULL, 10);
    return TRUE;
}

/* rb_scan - the saved configurations on disk, newest first */
static GArray *rb_scan(const seg_store *st)
{
    GArray *files = g_array_new(FALSE, FALSE, sizeof(rb_file));
    g_autoptr(GDir) d = g_dir_open(FS(st)->rollback_dir, 0, NULL);
    const char *name;

    g_array_set_clear_func(files, rb_file_clear);
    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        rb_file f;

        if (!rb_parse_name(name, &f.seq))
            continue;
        f.path = g_build_filename(FS(st)->rollback_dir, name, NULL);
        g_array_append_val(files, f);
    }
    g_array_sort(files, rb_file_cmp);
    return files;
}

/* rb_prune - keep the newest SEG_ROLLBACK_KEEP; drop crash leftovers */
static void rb_prune(const seg_store *st)
{
    g_autoptr(GArray) files = rb_scan(st);
    g_autoptr(GDir) d = g_dir_open(FS(st)->rollback_dir, 0, NULL);
    g_autoptr(GError) err = NULL;
    const char *name;
    guint   i;

    for (i = SEG_ROLLBACK_KEEP; i < files->len; i++)
        if (g_unlink(g_array_index(files, rb_file, i).path) < 0)
            msg_warn("cannot remove %s: %s", g_array_index(files, rb_file, i).path,
                     g_strerror(errno));
    /* Temporary files of interrupted writes start with a dot. */
    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        if (name[0] == '.') {
            g_autofree char *path = g_build_filename(FS(st)->rollback_dir, name, NULL);

            (void) g_unlink(path);
        }
    }
    if (!seg_fsync_dir(FS(st)->rollback_dir, &err))
        msg_warn("%s", err->message);
}

/* rb_save - save the committed settings as the newest entry; its path */
static char *rb_save(seg_store *st, const char *user, const char *comment,
                     guint64 *id, GError **error)
{
    g_autoptr(GArray) files = rb_scan(st);
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autofree char *when = seg_store_now_text();
    g_autofree char *path = NULL;
    guint64 seq = files->len ? g_array_index(files, rb_file, 0).seq + 1 : 1;

    path = g_strdup_printf("%s/%0*" G_GUINT64_FORMAT ".conf", FS(st)->rollback_dir,
                           ROLLBACK_DIGITS, seq);
    g_key_file_set_string(kf, ROLLBACK_GROUP, "time", when);
    g_key_file_set_string(kf, ROLLBACK_GROUP, "user", user ? user : "");
    g_key_file_set_string(kf, ROLLBACK_GROUP, "comment", comment ? comment : "");
    seg_settings_keyfile_fill(kf, st->committed);
    (void) g_key_file_set_comment(kf, NULL, NULL, ROLLBACK_HEADER, NULL);
    if (!write_settings(path, kf, MODE_STATE, error))
        return NULL;
    *id = seq;
    return g_steal_pointer(&path);
}

/*
 * save_last_commit - who, when, why and what of the commit from before
 * to after; a failure is logged, the commit stands
 */
static void save_last_commit(seg_store *st, const seg_settings *before,
                             const seg_settings *after, const char *user,
                             const char *comment, guint64 rollback_id)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) err = NULL;
    g_autofree char *when = seg_store_now_text();

    g_key_file_set_string(kf, COMMIT_GROUP, "time", when);
    g_key_file_set_string(kf, COMMIT_GROUP, "user", user ? user : "");
    g_key_file_set_string(kf, COMMIT_GROUP, "comment", comment ? comment : "");
    g_key_file_set_uint64(kf, COMMIT_GROUP, "rollback", rollback_id);
    for (const char *const *k = seg_settings_keys(); *k != NULL; k++) {
        g_autofree char *b = seg_settings_get(before, *k);
        g_autofree char *a = seg_settings_get(after, *k);

        if (strcmp(a, b) == 0)
            continue;
        g_key_file_set_string(kf, "before", *k, b);
        g_key_file_set_string(kf, "after", *k, a);
    }
    if (!write_settings(FS(st)->last_commit_path, kf, MODE_STATE, &err))
        msg_warn("%s", err->message);
}

/* refresh_committed - another process may have committed since we read */
static void refresh_committed(seg_store *st)
{
    seg_settings *s = read_settings(st->config_path, NULL, NULL, NULL, NULL);

    if (s == NULL)
        return;                         /* missing or broken: keep ours */
    seg_settings_free(st->committed);
    st->committed = s;
}

/* commit_locked - the commit steps; the caller holds the lock */
static gboolean commit_locked(seg_store *st, const char *user, const char *comment,
                              gboolean keep, gboolean *nothing, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *config_dir = g_path_get_dirname(st->config_path);
    g_autofree char *data = NULL;
    g_autofree char *saved = NULL;
    g_autoptr(seg_settings) before = NULL;
    seg_settings *pending;
    guint64 rollback_id = 0;
    gboolean missing;
    gsize   len;

    /* Another process may have changed pending.conf since we read it. */
    pending = read_settings(FS(st)->pending_path, NULL, NULL, &missing, &err);
    if (pending == NULL && !missing) {
        g_set_error(error, SEG_ERROR, err->code, "cannot commit: %s", err->message);
        return FALSE;
    }
    g_clear_pointer(&st->pending, seg_settings_free);
    st->pending = pending;
    if (st->pending == NULL) {
        *nothing = TRUE;
        return TRUE;
    }
    refresh_committed(st);
    if (keep && (saved = rb_save(st, user, comment, &rollback_id, error)) == NULL)
        return FALSE;
    seg_atomic_cleanup(st->config_path);
    data = seg_settings_to_keyfile(st->pending, &len);
    if (!seg_store_make_dir(config_dir, 0755, error)
        || !seg_atomic_write(st->config_path, data, len, MODE_COMMITTED, error)) {
        if (saved != NULL)
            (void) g_unlink(saved);     /* nothing was committed after all */
        return FALSE;
    }
    before = st->committed;
    st->committed = g_steal_pointer(&st->pending);
    save_last_commit(st, before, st->committed, user, comment, rollback_id);
    if (!remove_pending(st, NULL, &err))
        msg_warn("%s", err->message);   /* open drops it: equal to committed */
    seg_atomic_cleanup(FS(st)->pending_path);
    rb_prune(st);
    return TRUE;
}

/* file_commit - pending becomes committed, under the lock */
static gboolean file_commit(seg_store *st, const char *user, const char *comment,
                            gboolean keep, gboolean *nothing, GError **error)
{
    gboolean ok;
    int     lock;

    if ((lock = seg_lock_acquire(FS(st)->lock_path, error)) < 0)
        return FALSE;
    ok = commit_locked(st, user, comment, keep, nothing, error);
    seg_lock_release(lock);
    return ok;
}

/* kf_text - one string of a group, "" when absent */
static char *kf_text(GKeyFile *kf, const char *group, const char *key)
{
    char   *v = kf ? g_key_file_get_string(kf, group, key, NULL) : NULL;

    return v ? v : g_strdup("");
}

/* file_rollback_list - newest first */
static GPtrArray *file_rollback_list(seg_store *st)
{
    GPtrArray *list = g_ptr_array_new_with_free_func(seg_rollback_entry_free);
    g_autoptr(GArray) files = rb_scan(st);
    guint   i;

    for (i = 0; i < files->len && i < SEG_ROLLBACK_KEEP; i++) {
        const rb_file *f = &g_array_index(files, rb_file, i);
        g_autoptr(GKeyFile) kf = NULL;
        seg_rollback_entry *e = g_new0(seg_rollback_entry, 1);

        e->settings = read_settings(f->path, ROLLBACK_GROUP, &kf, NULL, NULL);
        if (kf == NULL) {               /* broken settings: still who and when */
            kf = g_key_file_new();
            if (!g_key_file_load_from_file(kf, f->path, G_KEY_FILE_NONE, NULL))
                g_clear_pointer(&kf, g_key_file_unref);
        }
        e->id = f->seq;
        e->time = kf_text(kf, ROLLBACK_GROUP, "time");
        e->user = kf_text(kf, ROLLBACK_GROUP, "user");
        e->comment = kf_text(kf, ROLLBACK_GROUP, "comment");
        g_ptr_array_add(list, e);
    }
    return list;
}

/* rb_get - the kept entry with this id; the caller may hold the lock */
static seg_settings *rb_get(seg_store *st, guint64 id, GError **error)
{
    g_autoptr(GArray) files = rb_scan(st);

    for (guint i = 0; i < files->len && i < SEG_ROLLBACK_KEEP; i++)
        if (g_array_index(files, rb_file, i).seq == id)
            return read_settings(g_array_index(files, rb_file, i).path,
                                 ROLLBACK_GROUP, NULL, NULL, error);
    g_set_error(error, SEG_ERROR, SEG_ERROR_NOT_FOUND,
                "no saved configuration %" G_GUINT64_FORMAT, id);
    return NULL;
}

/* file_rollback_restore - saved configuration id becomes pending */
static gboolean file_rollback_restore(seg_store *st, guint64 id, GError **error)
{
    g_autoptr(seg_settings) s = NULL;
    gboolean ok;
    int     lock;

    if ((lock = seg_lock_acquire(FS(st)->lock_path, error)) < 0)
        return FALSE;
    s = rb_get(st, id, error);
    ok = s != NULL && put_pending(st, s, error);
    seg_lock_release(lock);
    return ok;
}

/* file_last_commit - the last commit; NULL when none is recorded */
static seg_commit_detail *file_last_commit(seg_store *st)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    seg_commit_detail *d;

    if (!g_key_file_load_from_file(kf, FS(st)->last_commit_path, G_KEY_FILE_NONE, NULL)
        || !g_key_file_has_group(kf, COMMIT_GROUP))
        return NULL;
    d = g_new0(seg_commit_detail, 1);
    d->time = kf_text(kf, COMMIT_GROUP, "time");
    d->user = kf_text(kf, COMMIT_GROUP, "user");
    d->comment = kf_text(kf, COMMIT_GROUP, "comment");
    d->rollback_id = g_key_file_get_uint64(kf, COMMIT_GROUP, "rollback", NULL);
    d->keys = g_ptr_array_new();
    d->before = g_ptr_array_new_with_free_func(g_free);
    d->after = g_ptr_array_new_with_free_func(g_free);
    for (const char *const *k = seg_settings_keys(); *k != NULL; k++) {
        if (!g_key_file_has_key(kf, "after", *k, NULL))
            continue;
        g_ptr_array_add(d->keys, (gpointer) *k);
        g_ptr_array_add(d->before, kf_text(kf, "before", *k));
        g_ptr_array_add(d->after, kf_text(kf, "after", *k));
    }
    return d;
}

static const seg_store_ops file_ops = {
    .free = file_free,
    .reload = file_reload,
    .set_at = file_set_at,
    .clear = file_clear,
    .commit = file_commit,
    .rollback_list = file_rollback_list,
    .rollback_restore = file_rollback_restore,
    .last_commit = file_last_commit,
};

/* seg_store_check_file - is the committed file on disk valid now? */
gboolean seg_store_check_file(const char *config_path, GError **error)
{
    g_autoptr(seg_settings) s = NULL;
    gboolean missing;

    s = read_settings(config_path, NULL, NULL, &missing, error);
    return s != NULL || missing;
}
