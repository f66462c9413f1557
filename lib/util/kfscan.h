/*
 * kfscan.h - key-file text scanned line by line, for FILE:LINE messages.
 *
 * GKeyFile parses and unescapes, but keeps no line numbers and silently
 * keeps the last of two equal keys. seg_kf_scan() reads the same text by
 * GKeyFile's line rules first: it refuses what GKeyFile would refuse or
 * quietly merge, hands every [group] and key line to the caller's check in
 * file order, and returns where each one is.
 */
#ifndef SEG_KFSCAN_H
#define SEG_KFSCAN_H

#include <glib.h>

typedef struct seg_kf_line {
    char   *group;              /* "[group]", or the group the key is in */
    char   *key;                /* NULL for the "[group]" line itself */
    guint   line;               /* 1-based */
} seg_kf_line;

/* seg_kf_check_fn - refuse one line (error set, FALSE) or let it pass */
typedef gboolean (*seg_kf_check_fn) (const seg_kf_line *l, const char *filename,
                                     gpointer data, GError **error);

/*
 * seg_kf_scan - every group and key line of key-file text, in file order
 *
 * Refused, with "FILENAME:LINE: message": text that is not UTF-8, a line
 * that is not "[group]", "key=value", blank or a '#' comment, a key before
 * the first group, a key set twice in one group; then whatever check
 * (may be NULL) refuses. Returns a GArray of seg_kf_line (clear function
 * set), or NULL with error set.
 */
GArray *seg_kf_scan(const char *data, gsize len, const char *filename,
                    seg_kf_check_fn check, gpointer check_data, GError **error);

/* seg_kf_load - g_key_file_load_from_data, its message as "FILENAME:LINE: ..." */
gboolean seg_kf_load(GKeyFile *kf, const char *data, gsize len, const char *filename,
                     GError **error);

/* seg_kf_line_of - line of "[group]" (key NULL) or of key in group; 0 if none */
guint   seg_kf_line_of(const GArray *lines, const char *group, const char *key);

/* seg_kf_fail - set "FILENAME:LINE: message" ("FILENAME: message" for line 0) */
void    seg_kf_fail(GError **error, int code, const char *filename, guint line,
                    const char *fmt, ...) G_GNUC_PRINTF(5, 6);

#endif
