/*
 * safefile - reading a file that someone else named.
 *
 * segtls-policyd runs as root and its clients name certificate files.
 * Opening such a path must never block (a FIFO waits for a writer), never
 * read a device or an endless file, and never tell a client anything
 * about a file it could not read itself.
 *
 *  seg_file_read_bounded() opens with O_NONBLOCK|O_NOCTTY (a FIFO or a
 *  device opens at once instead of waiting), checks the open descriptor
 *  with fstat (a regular file of at most max bytes: no check-then-open
 *  race) and reads it; it also gives the real path of what it read.
 *
 *  seg_file_check_as() does the same open and fstat in a child process
 *  that has become another user (supplementary groups, gid, uid), so that
 *  the kernel decides with that user's rights: directory search rights,
 *  modes and ACLs. The answer says only what that user could have found
 *  out alone. A child that takes longer than the timeout is killed.
 *
 * Errors (SEG_ERROR_IO) are the reason alone, without the path: "No such
 * file or directory", "not a regular file", "larger than 1048576 bytes".
 */
#ifndef SEGTLS_SAFEFILE_H
#define SEGTLS_SAFEFILE_H

#include <sys/types.h>

#include <glib.h>

#define SEG_FILE_MAX_CERT       (1024 * 1024)   /* a key and its chain */
#define SEG_FILE_CHECK_TIMEOUT  5000            /* ms for seg_file_check_as */

/*
 * seg_file_read_bounded - the contents of a regular file of at most max
 * bytes (NUL-terminated, *len without it); *real (may be NULL) gets the
 * real path of the file that was read.
 */
gboolean seg_file_read_bounded(const char *path, gsize max, char **data,
                               gsize *len, char **real, GError **error);

/*
 * seg_file_check_as - can user uid (primary group gid, supplementary
 * groups of its passwd entry) open path for reading, and is it a regular
 * file of at most max bytes? Needs root unless uid is the caller's own.
 */
gboolean seg_file_check_as(const char *path, uid_t uid, gid_t gid, gsize max,
                           int timeout_ms, GError **error);

#endif
