/*
 * destwatch - the Destination Controls of a settings file, as a record
 * follower that runs for days needs them: seg_destwatch_lookup (a
 * seg_pflog_dest_fn of pflog.h) reads the file again whenever its inode,
 * size or time changed, so a commit is seen at the next delivery. A file
 * that does not load keeps the last good table (and says so once).
 */
#ifndef SEGTLS_DESTWATCH_H
#define SEGTLS_DESTWATCH_H

#include <glib.h>

typedef struct seg_destwatch seg_destwatch;

/* seg_destwatch_new - watch path (read now; a missing file: defaults) */
seg_destwatch *seg_destwatch_new(const char *path, GError **error);
void seg_destwatch_free(seg_destwatch *w);

/* seg_destwatch_lookup - seg_destctl_dest_lookup on the file's table now */
const char *seg_destwatch_lookup(void *watch, const char *domain, size_t len,
                                 const char **mode);

#endif
