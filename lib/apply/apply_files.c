/*
 * apply_files - the files segtls-apply manages.
 *
 * main.cf and master.cf are changed only through postconf, parameter by
 * parameter (apply_params.c); the Postfix tls_config_file, the nginx
 * include and the client configuration are segtls's own and written
 * whole and atomically. Under the apply lock, before anything is
 * written, the current contents are read (and copied under
 * STATE_DIR/apply/ for the administrator). A failure puts a file back
 * only when it still holds what segtls wrote; one that someone changed
 * since is left alone and named, and a file that cannot be put back does
 * not stop the others. A dry run applies the same postconf commands to
 * copies in a temporary directory and diffs.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "apply_int.h"
#include "error.h"
#include "atomic.h"
#include "store.h"

/* apply_add_file - a managed file; its current contents are read now */
gboolean apply_add_file(apply_ctx *c, const char *label, char *path,
                         const char *text, GError **error)
{
    apply_file *f = &c->files[c->nfiles++];
    g_autoptr(GError) err = NULL;
    GStatBuf st;

    f->label = label;
    f->path = path;
    f->text = text;
    f->mode = 0644;
    if (g_file_get_contents(path, &f->old, &f->old_len, &err)) {
        f->existed = TRUE;
        if (g_stat(path, &st) == 0)
            f->mode = st.st_mode & 07777;
        return TRUE;
    }
    if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT) && text != NULL)
        return TRUE;
    g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s", err->message);
    return FALSE;
}

/* write_text - a whole file, atomically, creating its directory */
static gboolean write_text(const char *path, const char *text, int mode,
                           GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);

    if (g_mkdir_with_parents(dir, 0755) != 0) {
        int saved = errno;

        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "cannot create %s: %s",
                    dir, g_strerror(saved));
        return FALSE;
    }
    seg_atomic_cleanup(path);           /* what a killed apply left (under the lock) */
    return seg_atomic_write(path, text, strlen(text), mode, error);
}

/* diff_file - append `diff -u old new` to out */
static gboolean diff_file(apply_ctx *c, const char *label, const char *old,
                          const char *new_path, GString *out, GError **error)
{
    g_autofree char *new_label = g_strdup_printf("%s (segtls-apply)", label);
    const char *argv[] = {"diff", "-u", "--label", label, "--label", new_label,
                          old, new_path, NULL};
    g_autofree char *text = NULL;
    int     status;

    if (!seg_apply_run(argv, c->timeout, FALSE, &text, &status, error))
        return FALSE;
    if (status > 1) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY, "diff failed: %s", text);
        return FALSE;
    }
    if (*text)
        g_string_append_printf(out, "%s\n", text);
    return TRUE;
}

/* apply_dry_run - diff of every file, computed on copies in a temp directory */
gboolean apply_dry_run(apply_ctx *c, GError **error)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *tmp = g_dir_make_tmp("segtls-apply-XXXXXX", &err);
    g_autoptr(GString) out = g_string_new(NULL);
    GPtrArray *made = g_ptr_array_new_with_free_func(g_free);
    gboolean ok = FALSE;

    if (tmp == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s", err->message);
        g_ptr_array_unref(made);
        return FALSE;
    }
    for (guint i = 0; i < c->nfiles; i++) {
        apply_file *f = &c->files[i];
        char   *copy = g_build_filename(tmp, f->label, NULL);

        g_ptr_array_add(made, copy);
        if (!write_text(copy, f->text ? f->text : f->old, 0600, error))
            goto out;
    }
    if (!c->o->no_postfix && !apply_params_write(c, tmp, error))
        goto out;
    for (guint i = 0; i < c->nfiles; i++) {
        apply_file *f = &c->files[i];

        if (!diff_file(c, f->path, f->existed ? f->path : "/dev/null",
                       g_ptr_array_index(made, i), out, error))
            goto out;
    }
    c->rep->diff = g_strdup(out->str);
    ok = TRUE;
out:
    for (guint i = 0; i < made->len; i++)
        g_unlink(g_ptr_array_index(made, i));
    g_rmdir(tmp);
    g_ptr_array_unref(made);
    return ok;
}

/* apply_keep - copies of the current files under STATE_DIR/apply/ */
gboolean apply_keep(apply_ctx *c, GError **error)
{
    const char *dir = c->state_dir;
    g_autoptr(GString) manifest = g_string_new("# path existed\n");

    for (guint i = 0; i < c->nfiles; i++) {
        apply_file *f = &c->files[i];
        g_autofree char *copy = g_build_filename(dir, f->label, NULL);

        g_string_append_printf(manifest, "%s %s\n", f->path,
                               f->existed ? "yes" : "no");
        if (f->existed) {
            if (!seg_atomic_write(copy, f->old, f->old_len, 0600, error))
                return FALSE;
        } else {
            g_unlink(copy);
        }
    }
    g_autofree char *mpath = g_build_filename(dir, "manifest", NULL);

    return seg_atomic_write(mpath, manifest->str, manifest->len, 0600, error);
}

/*
 * apply_cool_main_cf - date main.cf back so that Postfix reads it at once.
 *
 * Every Postfix program reads main.cf through dict_load_file_xt(), which
 * reads the file again, 300 ms apart, for as long as its mtime is within
 * a second of "now": a file that young may still be half written by an
 * editor. Ours never is: postconf -e writes main.cf.tmp and renames it
 * over main.cf, and a restore goes through seg_atomic_write() (temp file,
 * fsync, rename), both under our lock; a reader sees the old file or the
 * new one, whole. Left alone, the cool-down costs ~2 s in postfix reload
 * (the postfix command and then the master read main.cf) and in the next
 * apply's postconf commands. So once the new main.cf is in place its
 * mtime is set 2 s back, the least that dict_load_file_xt() accepts
 * (st_mtime < time() - 1); the contents, and every other stamp, are ours
 * and unchanged. Failing to do so only costs the wait, so it is not an
 * error.
 */
void apply_cool_main_cf(apply_ctx *c)
{
    g_autofree char *path = g_build_filename(c->pf_dir, "main.cf", NULL);
    struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {0}};
    GStatBuf st;

    if (g_stat(path, &st) != 0 || clock_gettime(CLOCK_REALTIME, &ts[1]) != 0)
        return;
    ts[1].tv_sec -= 2;
    if (st.st_mtime <= ts[1].tv_sec)
        return;
    (void) utimensat(AT_FDCWD, path, ts, 0);
}

/* apply_write_all - postconf for Postfix, whole files for the rest */
gboolean apply_write_all(apply_ctx *c, GError **error)
{
    c->written = TRUE;
    if (!c->o->no_postfix) {
        if (!apply_params_write(c, c->pf_dir, error))
            return FALSE;
        apply_cool_main_cf(c);
    }
    guint   whole = 0;

    for (guint i = 0; i < c->nfiles; i++) {
        apply_file *f = &c->files[i];

        if (f->text == NULL)
            continue;
        if (!write_text(f->path, f->text, 0644, error))
            return FALSE;
        whole++;
    }
    apply_say(c, "wrote %u Postfix parameters and %u files",
              c->params ? c->params->len : 0, whole);
    return TRUE;
}

/*
 * apply_restore_files - each file segtls wrote back as it was, unless
 * someone changed it since; what could not be put back is named in msg
 */
void apply_restore_files(apply_ctx *c, GString *msg)
{
    for (guint i = 0; i < c->nfiles; i++) {
        apply_file *f = &c->files[i];
        g_autoptr(GError) ferr = NULL;
        g_autofree char *now = NULL;
        gsize   len = 0;
        gboolean there = g_file_get_contents(f->path, &now, &len, NULL);

        if (f->text == NULL)
            continue;
        if (there ? len != strlen(f->text) || memcmp(now, f->text, len) != 0
            : f->existed) {
            g_string_append_printf(msg, "; left %s as it is now: changed since "
                                   "segtls wrote it", f->path);
            continue;
        }
        if (f->existed
            ? !seg_atomic_write(f->path, f->old, f->old_len, f->mode, &ferr)
            : (g_unlink(f->path) != 0 && errno != ENOENT))
            g_string_append_printf(msg, "; cannot put back %s: %s", f->path,
                                   ferr ? ferr->message : g_strerror(errno));
    }
}
