/*
 * apply_int - what the apply steps share (not a public API): apply.c
 * runs the sequence, apply_services.c reads master.cf, apply_params.c
 * changes and restores Postfix parameters, apply_files.c keeps and
 * writes the managed files, apply_probe.c proves, apply_report.c
 * collects what is said.
 */
#ifndef SEGTLS_APPLY_INT_H
#define SEGTLS_APPLY_INT_H

#include <sys/types.h>

#include "apply.h"

#define APPLY_MAX_FILES 8

/* A file segtls writes whole (tls_config_file, nginx include, client conf). */
typedef struct apply_file {
    const char *label;          /* name of the kept copy */
    char       *path;
    const char *text;           /* new contents; NULL: edited by postconf */
    gboolean    existed;
    char       *old;
    gsize       old_len;
    int         mode;
} apply_file;

/* One Postfix parameter segtls sets or puts back. */
typedef struct apply_param {
    gboolean    master;         /* "name/type/param" of master.cf, else main.cf */
    char       *key;
    char       *old;            /* before the apply; NULL = not set */
    char       *new;            /* what the apply sets; NULL = removes it */
    gboolean    undo;           /* puts back the value from before segtls */
    gboolean    done;           /* written by this apply */
} apply_param;

typedef struct apply_ctx {
    const seg_settings *s;
    const seg_apply_opts *o;
    seg_apply_report *rep;
    seg_render_target *t;
    seg_render *r;
    GPtrArray  *services;       /* seg_pf_service *; NULL without Postfix */
    GHashTable *ledger;         /* apply_params.c: key -> apply_param * */
    GPtrArray  *params;         /* apply_param *: the changes of this apply */
    char       *pf_dir;
    char       *state_dir;      /* STATE_DIR/apply */
    double      timeout;
    apply_file  files[APPLY_MAX_FILES];
    guint       nfiles;
    gboolean    written;        /* something was written: restore on failure */
    gboolean    postfix_runs;   /* found running after writing */
    gboolean    nginx_runs;
    pid_t       master;         /* Postfix master */
    char       *relayhost;      /* main.cf, for the target (apply_routes.c) */
    char       *sender_restrictions;
    char      **routes;         /* "DOMAIN<TAB>NEXTHOP" */
} apply_ctx;

/* apply_report.c */
void apply_say(apply_ctx *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* apply_services.c */
seg_render_target *apply_target_new(const seg_apply_opts *o, GPtrArray *services);
void apply_services_own_level(apply_ctx *c);

/* apply_params.c */
GHashTable *apply_postconf_query(const char *dir, const char *const *args,
                                 double timeout, GError **error);
GHashTable *apply_postconf_values(const char *dir, gboolean master,
                                  double timeout, GError **error);
gboolean apply_ledger_load(apply_ctx *c, GError **error);
gboolean apply_ledger_save(apply_ctx *c, GError **error);
gboolean apply_params_plan(apply_ctx *c, GError **error);
gboolean apply_params_unplan(apply_ctx *c, GError **error);
gboolean apply_params_write(apply_ctx *c, const char *dir, GError **error);
void apply_params_restore(apply_ctx *c, GString *msg);
void apply_param_free(apply_param *p);

/* apply_routes.c */
gboolean apply_routes(apply_ctx *c, GError **error);

/* apply_files.c */
gboolean apply_add_file(apply_ctx *c, const char *label, char *path,
                        const char *text, GError **error);
gboolean apply_dry_run(apply_ctx *c, GError **error);
gboolean apply_keep(apply_ctx *c, GError **error);
gboolean apply_write_all(apply_ctx *c, GError **error);
void apply_restore_files(apply_ctx *c, GString *msg);
void apply_cool_main_cf(apply_ctx *c);

/* apply_probe.c */
gboolean apply_probe_check(apply_ctx *c, GError **error);
gboolean apply_probe(apply_ctx *c, GError **error);

#endif
