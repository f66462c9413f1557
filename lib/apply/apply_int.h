/*
 * apply_int - what the apply steps share (not a public API): apply.c
 * runs the sequence, apply_files.c keeps and writes the managed files,
 * apply_report.c collects what is said.
 */
#ifndef SEGTLS_APPLY_INT_H
#define SEGTLS_APPLY_INT_H

#include <sys/types.h>

#include "apply.h"

#define APPLY_MAX_FILES 5

typedef struct apply_file {
    const char *label;          /* name of the kept copy */
    char       *path;
    const char *text;           /* new contents; NULL: edited by postconf */
    gboolean    existed;
    char       *old;
    gsize       old_len;
    int         mode;
} apply_file;

typedef struct apply_ctx {
    const seg_settings *s;
    const seg_apply_opts *o;
    seg_apply_report *rep;
    seg_render_target *t;
    seg_render *r;
    char       *pf_dir;
    double      timeout;
    apply_file  files[APPLY_MAX_FILES];
    guint       nfiles;
    gboolean    written;        /* something was written: restore on failure */
    pid_t       master;         /* Postfix master, found before writing */
} apply_ctx;

/* apply_report.c */
void apply_say(apply_ctx *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* apply_files.c */
gboolean apply_add_file(apply_ctx *c, const char *label, char *path,
                        const char *text, GError **error);
gboolean apply_dry_run(apply_ctx *c, GError **error);
char *apply_state_dir(apply_ctx *c, GError **error);
gboolean apply_keep(apply_ctx *c, const char *dir, GError **error);
gboolean apply_write_all(apply_ctx *c, GError **error);
gboolean apply_restore_files(apply_ctx *c, GString *msg);

#endif
