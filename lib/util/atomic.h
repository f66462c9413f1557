/*
 * atomic - crash-safe file replacement, whole writes and file locks.
 *
 * seg_atomic_write() replaces a file so that after a crash its path names
 * either the old or the new contents, never a torn mix (temporary file in
 * the same directory, fsync, chmod, rename, fsync of the directory).
 * seg_lock_acquire() takes an exclusive flock(2) that the store, the ID
 * counters and apply hold around every change.
 */
#ifndef SEGTLS_ATOMIC_H
#define SEGTLS_ATOMIC_H

#include <glib.h>

/* seg_write_all - write every byte, retrying short writes and EINTR */
gboolean seg_write_all(int fd, const void *data, gsize len);
/* seg_atomic_write - temp file, fsync, rename, fsync dir */
gboolean seg_atomic_write(const char *path, const char *data, gsize len,
                          int mode, GError **error);
/* seg_fsync_dir - sync a directory after a rename or unlink in it */
gboolean seg_fsync_dir(const char *dir, GError **error);
/* seg_atomic_cleanup - remove the temporary files a crash left for path */
void seg_atomic_cleanup(const char *path);
/*
 * seg_lock_acquire - exclusive flock(2) on path (created 0600): the fd,
 * or -1 and SEG_ERROR_LOCKED after 10 seconds of waiting
 */
int seg_lock_acquire(const char *path, GError **error);
/* seg_lock_acquire_wait - the same, giving up after wait_ms milliseconds */
int seg_lock_acquire_wait(const char *path, int wait_ms, GError **error);
/* seg_lock_release - release it (-1 is ignored) */
void seg_lock_release(int fd);

#endif
