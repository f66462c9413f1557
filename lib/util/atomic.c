/*
 * atomic - crash-safe file replacement and the store lock.
 *
 * seg_atomic_write() writes the new contents to a temporary file in the
 * same directory, syncs it, gives it its mode, renames it over the old
 * file and syncs the directory: after a crash the path names either the
 * old or the new contents, never a torn mix. Temporary files are named
 * ".BASENAME.XXXXXX" so that seg_atomic_cleanup() can find the ones a
 * crash left behind.
 *
 * seg_lock_acquire() takes an exclusive flock(2) on a lock file; the
 * store, the ID counters and apply hold it around every change.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "atomic.h"
#include "error.h"

#define LOCK_WAIT_MS    10000   /* give up on the lock after this long */
#define LOCK_STEP_MS    10

/* seg_write_all - write every byte, retrying short writes and EINTR */
gboolean seg_write_all(int fd, const void *buf, gsize len)
{
    const char *data = buf;

    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return FALSE;
        }
        data += n;
        len -= (gsize) n;
    }
    return TRUE;
}

/* seg_fsync_dir - make a rename or unlink in a directory durable */
gboolean seg_fsync_dir(const char *dir, GError **error)
{
    int     fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int     saved;

    if (fd < 0) {
        saved = errno;
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "cannot open directory %s: %s",
                    dir, g_strerror(saved));
        return FALSE;
    }
    /* Some file systems cannot sync a directory; that is not an error. */
    if (fsync(fd) < 0 && errno != EINVAL && errno != EROFS) {
        saved = errno;
        close(fd);
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "cannot sync directory %s: %s",
                    dir, g_strerror(saved));
        return FALSE;
    }
    close(fd);
    return TRUE;
}

/* seg_atomic_write - temp file, fsync, rename, fsync dir */
gboolean seg_atomic_write(const char *path, const char *data, gsize len,
                          int mode, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
    const char *what;
    int     fd;
    int     saved;

    fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        saved = errno;
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO,
                    "cannot write %s: cannot create a temporary file: %s",
                    path, g_strerror(saved));
        return FALSE;
    }
    if (!seg_write_all(fd, data, len))
        what = "write";
    else if (fsync(fd) < 0)
        what = "fsync";
    else if (fchmod(fd, (mode_t) mode) < 0)
        what = "chmod";
    else
        what = NULL;
    if (what == NULL) {
        int     rc = close(fd);

        fd = -1;
        if (rc < 0)
            what = "close";
        else if (rename(tmp, path) < 0)
            what = "rename";
        else
            return seg_fsync_dir(dir, error);
    }
    saved = errno;
    if (fd >= 0)
        close(fd);
    (void) g_unlink(tmp);
    g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "cannot write %s: %s failed: %s",
                path, what, g_strerror(saved));
    return FALSE;
}

/* seg_atomic_cleanup - remove temporary files a crash left for path */
void seg_atomic_cleanup(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *prefix = g_strdup_printf(".%s.", base);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    if (d == NULL)
        return;
    while ((name = g_dir_read_name(d)) != NULL) {
        if (g_str_has_prefix(name, prefix)
            && strlen(name) == strlen(prefix) + 6) {
            g_autofree char *stale = g_build_filename(dir, name, NULL);

            (void) g_unlink(stale);
        }
    }
}

/* seg_lock_acquire - exclusive flock on path; the fd, or -1 */
int seg_lock_acquire(const char *path, GError **error)
{
    return seg_lock_acquire_wait(path, LOCK_WAIT_MS, error);
}

/* seg_lock_acquire_wait - exclusive flock, waiting at most wait_ms */
int seg_lock_acquire_wait(const char *path, int wait_ms, GError **error)
{
    int     fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int     waited;
    int     saved;

    if (fd < 0) {
        saved = errno;
        g_set_error(error, SEG_ERROR, SEG_ERROR_LOCKED, "cannot open lock file %s: %s",
                    path, g_strerror(saved));
        return -1;
    }
    for (waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += LOCK_STEP_MS) {
        saved = errno;
        if (saved == EINTR)
            continue;
        if (saved != EWOULDBLOCK || waited >= wait_ms) {
            close(fd);
            g_set_error(error, SEG_ERROR, SEG_ERROR_LOCKED, "cannot lock %s: %s",
                        path, saved == EWOULDBLOCK ?
                        "held by another process" : g_strerror(saved));
            return -1;
        }
        g_usleep(LOCK_STEP_MS * 1000);
    }
    return fd;
}

/* seg_lock_release - drop a lock taken by seg_lock_acquire */
void seg_lock_release(int fd)
{
    if (fd < 0)
        return;
    (void) flock(fd, LOCK_UN);
    close(fd);
}
