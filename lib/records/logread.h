/*
 * logread - read log files line by line: plain, rotated, gzip, or live.
 *
 * The one reader of log files (segtls-logparse reads Postfix logs with
 * it, segtls report the records). A file is plain or gzip (by its magic,
 * whatever its name); each complete line goes to the caller's function
 * without its newline, a last line without one too. A line longer than
 * SEG_LOGREAD_LINE_MAX bytes is given once, cut, and the rest skipped.
 * seg_logread_follow reads a live file as it grows and across logrotate
 * (a new file under the name, by rename or copytruncate).
 */
#ifndef SEGTLS_LOGREAD_H
#define SEGTLS_LOGREAD_H

#include <glib.h>

#define SEG_LOGREAD_LINE_MAX    (1024 * 1024)

typedef void (*seg_logread_fn)(void *ctx, const char *line, size_t len);

/* seg_logread_fd - every line of an open file (closed after); FALSE after a read error (logged) */
gboolean seg_logread_fd(const char *name, int fd, seg_logread_fn fn, void *ctx);
/* seg_logread_path - the same by name, "-" being stdin; FALSE when it cannot be read (logged) */
gboolean seg_logread_path(const char *path, seg_logread_fn fn, void *ctx);

/*
 * seg_logread_follow - every line of path, then new lines as they come,
 * checked every interval_ms; after rotation the old file is read to its
 * end and the new one from its start. tick(ctx) runs after each check;
 * it returns FALSE to stop. FALSE when path cannot be opened (logged).
 */
gboolean seg_logread_follow(const char *path, guint interval_ms, seg_logread_fn fn,
                            gboolean (*tick)(void *ctx), void *ctx);

#endif
