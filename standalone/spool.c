/*
 * spool - the message queue of segtls-standalone.
 *
 * SPOOL/tmp holds messages being received, SPOOL/queue the accepted
 * ones, one file each, named after the MID. A message reaches queue/
 * only complete: it is written to tmp/, fsync'ed, renamed into queue/
 * and the directory is fsync'ed before the client sees 250. A file is
 *
 *   segtls-spool 1
 *   mid 12
 *   icid 7
 *   from user@example.com        (empty after "from " for <>)
 *   rcpt a@example.net           (one line per recipient, RID order)
 *
 *   <message in SMTP transparency form: CRLF lines, dot-stuffed>
 *
 * Addresses were checked at receipt (no controls, no blanks, bounded).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "atomic.h"
#include "error.h"
#include "msg.h"
#include "standalone.h"

#define SPOOL_MAGIC "segtls-spool 1"

#define SPOOL_BUF   (64 * 1024)         /* write(2) in blocks this big */

struct sa_spool_file {
    int         fd;
    char       *tmp_path;
    char       *queue_path;
    GByteArray *buf;                    /* not yet written */
};

static char *spool_tmp;
static char *spool_queue;

/* mkdir_p - a private directory */
static gboolean mkdir_p(const char *dir, GError **error)
{
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "mkdir %s: %s", dir,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

/* sa_spool_init - create SPOOL/tmp and SPOOL/queue; drop stale temp files */
gboolean sa_spool_init(const char *dir, GError **error)
{
    GDir   *d;
    const char *name;

    spool_tmp = g_build_filename(dir, "tmp", NULL);
    spool_queue = g_build_filename(dir, "queue", NULL);
    if (!mkdir_p(spool_tmp, error) || !mkdir_p(spool_queue, error))
        return FALSE;
    if ((d = g_dir_open(spool_tmp, 0, NULL)) != NULL) {
        while ((name = g_dir_read_name(d)) != NULL) {
            g_autofree char *p = g_build_filename(spool_tmp, name, NULL);

            (void) unlink(p);
        }
        g_dir_close(d);
    }
    return TRUE;
}

/* sa_spool_begin - a temp file with the envelope written */
sa_spool_file *sa_spool_begin(guint64 mid, guint64 icid, const char *sender,
                              GPtrArray *rcpts, GError **error)
{
    sa_spool_file *f = g_new0(sa_spool_file, 1);
    g_autoptr(GString) env = g_string_new(SPOOL_MAGIC "\n");

    f->buf = g_byte_array_sized_new(SPOOL_BUF);
    f->tmp_path = g_strdup_printf("%s/%" G_GUINT64_FORMAT, spool_tmp, mid);
    f->queue_path = g_strdup_printf("%s/%" G_GUINT64_FORMAT, spool_queue, mid);
    f->fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (f->fd < 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s: %s", f->tmp_path,
                    g_strerror(errno));
        sa_spool_abort(f);
        return NULL;
    }
    g_string_append_printf(env, "mid %" G_GUINT64_FORMAT "\nicid %" G_GUINT64_FORMAT
                           "\nfrom %s\n", mid, icid, sender);
    for (guint i = 0; i < rcpts->len; i++)
        g_string_append_printf(env, "rcpt %s\n", (char *) rcpts->pdata[i]);
    g_string_append_c(env, '\n');
    if (!sa_spool_append(f, env->str, env->len, error)) {
        sa_spool_abort(f);
        return NULL;
    }
    return f;
}

/* flush - write the buffered text */
static gboolean flush(sa_spool_file *f, GError **error)
{
    if (f->buf->len > 0 && !seg_write_all(f->fd, f->buf->data, f->buf->len)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "write %s: %s",
                    f->tmp_path, g_strerror(errno));
        return FALSE;
    }
    g_byte_array_set_size(f->buf, 0);
    return TRUE;
}

/* sa_spool_append - more message text */
gboolean sa_spool_append(sa_spool_file *f, const void *buf, gsize len, GError **error)
{
    g_byte_array_append(f->buf, buf, (guint) len);
    return f->buf->len < SPOOL_BUF || flush(f, error);
}

/* fsync_dir - make a rename durable */
static gboolean fsync_dir(const char *dir)
{
    int     fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    gboolean ok;

    if (fd < 0)
        return FALSE;
    ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

/* sa_spool_commit - fsync, rename into the queue, fsync the queue dir */
gboolean sa_spool_commit(sa_spool_file *f, GError **error)
{
    gboolean ok = FALSE;

    if (!flush(f, error)) {
        close(f->fd);
        f->fd = -1;
    } else if (fsync(f->fd) < 0 || close(f->fd) < 0) {
        f->fd = -1;
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "fsync %s: %s",
                    f->tmp_path, g_strerror(errno));
    } else if ((f->fd = -1, rename(f->tmp_path, f->queue_path) < 0)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "rename %s: %s",
                    f->tmp_path, g_strerror(errno));
    } else if (!fsync_dir(spool_queue)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "fsync %s: %s",
                    spool_queue, g_strerror(errno));
        /* The message may not survive a crash: do not accept it. */
        (void) unlink(f->queue_path);
    } else {
        ok = TRUE;
    }
    if (!ok)
        (void) unlink(f->tmp_path);
    g_byte_array_unref(f->buf);
    g_free(f->tmp_path);
    g_free(f->queue_path);
    g_free(f);
    return ok;
}

/* sa_spool_abort - drop a message being received */
void sa_spool_abort(sa_spool_file *f)
{
    if (f == NULL)
        return;
    if (f->fd >= 0)
        close(f->fd);
    (void) unlink(f->tmp_path);
    g_byte_array_unref(f->buf);
    g_free(f->tmp_path);
    g_free(f->queue_path);
    g_free(f);
}

/* cmp_mid - queue files in MID order */
static gint cmp_mid(gconstpointer a, gconstpointer b)
{
    guint64 x = g_ascii_strtoull(strrchr(*(char *const *) a, '/') + 1, NULL, 10);
    guint64 y = g_ascii_strtoull(strrchr(*(char *const *) b, '/') + 1, NULL, 10);

    return x < y ? -1 : x > y;
}

/* sa_spool_list - queue file paths, oldest MID first */
GPtrArray *sa_spool_list(void)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    GDir   *d = g_dir_open(spool_queue, 0, NULL);
    const char *name;

    if (d == NULL)
        return out;
    while ((name = g_dir_read_name(d)) != NULL)
        if (name[0] >= '1' && name[0] <= '9'
            && strspn(name, "0123456789") == strlen(name))
            g_ptr_array_add(out, g_build_filename(spool_queue, name, NULL));
    g_dir_close(d);
    g_ptr_array_sort(out, cmp_mid);
    return out;
}

/* sa_spool_count - messages in the queue */
guint sa_spool_count(void)
{
    g_autoptr(GPtrArray) l = sa_spool_list();

    return l->len;
}

/* sa_spool_read - the envelope of a queue file */
sa_spool_msg *sa_spool_read(const char *path, GError **error)
{
    FILE   *fp = fopen(path, "re");
    sa_spool_msg *m;
    char    line[2048];
    gboolean magic = FALSE, have_from = FALSE;

    if (fp == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s: %s", path, g_strerror(errno));
        return NULL;
    }
    m = g_new0(sa_spool_msg, 1);
    m->path = g_strdup(path);
    m->rcpts = g_ptr_array_new_with_free_func(g_free);
    while (fgets(line, sizeof(line), fp) != NULL) {
        line[strcspn(line, "\n")] = 0;
        if (!magic) {
            if (strcmp(line, SPOOL_MAGIC) != 0)
                break;
            magic = TRUE;
        } else if (line[0] == 0) {
            m->body_offset = ftello(fp);
            break;
        } else if (g_str_has_prefix(line, "mid ")) {
            m->mid = g_ascii_strtoull(line + 4, NULL, 10);
        } else if (g_str_has_prefix(line, "icid ")) {
            m->icid = g_ascii_strtoull(line + 5, NULL, 10);
        } else if (g_str_has_prefix(line, "from ")) {
            m->sender = g_strdup(line + 5);
            have_from = TRUE;
        } else if (g_str_has_prefix(line, "rcpt ")) {
            g_ptr_array_add(m->rcpts, g_strdup(line + 5));
        }
    }
    fclose(fp);
    if (!magic || !have_from || m->mid == 0 || m->rcpts->len == 0
        || m->body_offset == 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "%s: not a complete segtls spool file", path);
        sa_spool_msg_free(m);
        return NULL;
    }
    return m;
}

/* sa_spool_msg_free - free an envelope */
void sa_spool_msg_free(sa_spool_msg *m)
{
    if (m == NULL)
        return;
    g_free(m->path);
    g_free(m->sender);
    g_ptr_array_unref(m->rcpts);
    g_free(m);
}

/* sa_spool_remove - a delivered message leaves the queue */
gboolean sa_spool_remove(const char *path, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);

    if (unlink(path) < 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "unlink %s: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    (void) fsync_dir(dir);
    return TRUE;
}
