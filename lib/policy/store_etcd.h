/*
 * store_etcd - the store of a cluster, kept in etcd (cluster mode).
 *
 * Under PREFIX/NAME/ (default prefix /segtls) etcd holds, each value
 * JSON text:
 *   config            the committed configuration: {"format":1,
 *                     "layers":{...} (layers.h), "commit":{"id","time",
 *                     "user","comment","machine","rollback","changes":[
 *                     {"level","key","before","after"}]}}; its mod
 *                     revision is the configuration's revision
 *   pending/MACHINE   the pending changes made on MACHINE: {"format":1,
 *                     "base":REVISION, "time","user","changes":{delta}}
 *   rollback/REV      the configuration committed as revision REV, saved
 *                     by the commit that replaced it: {"format":1,"time",
 *                     "user","comment" (of that commit),"layers":{...}};
 *                     its id is REV; the last 10 are kept
 *   status/MACHINE    what MACHINE did with the last revision it saw
 *                     (written by its segtls-policyd, see policyd/cluster.c)
 *
 * A commit is one etcd transaction: when config still has the revision
 * the pending changes were made on, config is replaced, the rollback
 * entry written and the pending key removed, all at once; else nothing
 * happens and the committer is told (SEG_ERROR_CONFLICT) that another
 * commit came first. Its changes stay pending, moved onto the revision it
 * now knows, so that committing again, once they have been checked, goes
 * through. A commit whose answer was lost (the member it talked to died)
 * is recognised by its id.
 *
 * The machine's committed view is what the cluster gives it; the file at
 * config_path is what it last applied (written by seg_store_etcd_applied),
 * and what it serves until etcd can be read. A machine that has not
 * joined sees the file only and may change nothing until it joins.
 * Every etcd failure marks the store unreachable (with the reason and
 * since when) until a request succeeds again.
 */
#ifndef SEGTLS_STORE_ETCD_H
#define SEGTLS_STORE_ETCD_H

#include <json-glib/json-glib.h>

#include "etcd.h"
#include "store.h"

#define SEG_CLUSTER_DEFAULT_PREFIX "/segtls"

typedef struct seg_cluster_opts {
    const char *name;           /* the cluster's name (a level name) */
    const char *prefix;         /* absolute key prefix; NULL: /segtls */
    const char *machine;        /* this machine */
    const char *group;          /* its group; NULL: Main_Group */
} seg_cluster_opts;

/*
 * seg_store_open_etcd - the cluster's store through etcd (not owned,
 * must outlive the store). Reads the file at config_path (what this
 * machine last applied: missing means the defaults, invalid fails) and
 * tries etcd once: an unreachable etcd is no failure.
 */
seg_store *seg_store_open_etcd(const char *config_path, const char *state_dir,
                               const seg_cluster_opts *o, seg_etcd *etcd,
                               GError **error);

/* seg_store_etcd_prefix - "PREFIX/NAME/", what policyd watches */
const char *seg_store_etcd_prefix(const seg_store *st);
/* seg_store_etcd_config_key - "PREFIX/NAME/config" */
const char *seg_store_etcd_config_key(const seg_store *st);
/* seg_store_etcd_group - the group this machine is configured for */
const char *seg_store_etcd_group(const seg_store *st);
/* seg_store_etcd_joined - is this machine a member of the committed configuration? */
gboolean seg_store_etcd_joined(const seg_store *st);
/* seg_store_etcd_revision - the revision of the committed configuration (0: none) */
gint64  seg_store_etcd_revision(const seg_store *st);
/* seg_store_etcd_pending_base - the revision the pending changes were made on (0: none) */
gint64  seg_store_etcd_pending_base(const seg_store *st);
/* seg_store_etcd_commit - the "commit" object of the committed configuration, or NULL */
JsonObject *seg_store_etcd_commit(const seg_store *st);
/*
 * seg_store_etcd_reachable - FALSE with the last error and since when
 * (g_get_real_time()) when the last request to etcd failed
 */
gboolean seg_store_etcd_reachable(const seg_store *st, const char **why, gint64 *since);
/* seg_store_etcd_config_error - the committed configuration in etcd is invalid: why */
const char *seg_store_etcd_config_error(const seg_store *st);

/*
 * seg_store_etcd_join - this machine joins its group and keeps serving
 * what it serves: the first machine's settings become the cluster's, a
 * later machine's differences become its own machine values (one
 * commit, retried when another comes first). *already: it was a member
 * of that group.
 */
gboolean seg_store_etcd_join(seg_store *st, const char *user, gboolean *already,
                             GError **error);

/*
 * seg_store_etcd_applied - this machine now serves s, the configuration
 * of revision: written to config_path and remembered in
 * STATE_DIR/cluster-applied
 */
gboolean seg_store_etcd_applied(seg_store *st, gint64 revision, const seg_settings *s,
                                GError **error);
/* seg_store_etcd_applied_revision - the revision this machine last applied (0: none) */
gint64  seg_store_etcd_applied_revision(const seg_store *st);
/* seg_store_etcd_serving - the settings this machine last applied */
const seg_settings *seg_store_etcd_serving(const seg_store *st);

/* seg_store_etcd_report - put status (an object) as status/MACHINE */
gboolean seg_store_etcd_report(seg_store *st, JsonObject *status, GError **error);
/*
 * seg_store_etcd_statuses - every machine's status object, by machine
 * name (members first, then machines that reported without being one);
 * a status that is not a JSON object is left out
 */
GPtrArray *seg_store_etcd_statuses(seg_store *st, GError **error);

/* seg_store_etcd_unreachable - a failure seen elsewhere (the watch) */
void    seg_store_etcd_unreachable(seg_store *st, const char *why);

#endif
