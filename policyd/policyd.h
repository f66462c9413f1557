/*
 * policyd - internal interfaces of segtls-policyd.
 *
 * main.c owns the process (options, daemon mode, signals, privileges),
 * control.c the control sockets (read-write and read-only) and their
 * connections, ops.c the table of protocol operations that act on the
 * store (and their worker-thread jobs), apply.c the apply configuration
 * and the segtls-apply run of a commit, cluster.c cluster mode (the etcd
 * store, the watch, applying each revision, the machine's status),
 * clusterconf.c its [cluster] configuration, and drift.c the periodic
 * live probe behind the drift gauges of the metrics.
 */
#ifndef SEGTLS_POLICYD_H
#define SEGTLS_POLICYD_H

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "store.h"

typedef struct policyd {
    seg_store      *store;
    char           *config_path;
    char           *state_dir;
    char           *socket_path;
    char           *read_socket_path; /* read-only socket, or NULL */
    char          **cert_dirs;      /* certificate directories (--cert-dir) */
    char           *pidfile;
    char           *apply_config;   /* apply.conf path */
    GMainLoop      *loop;
    GSocketService *service;
    GSocketService *read_service;
} policyd;

#define POLICYD_CERT_DIRS       "/etc/ssl", "/etc/segtls", "/etc/letsencrypt"

/* control.c */
gboolean policyd_probe_socket(const char *path, GError **error);
gboolean policyd_listen(policyd *pd, const char *group, const char *read_group,
                        uid_t owner, GError **error);
void policyd_unlisten(policyd *pd);

/*
 * Who sends a request, and where its answer goes. Any request may be
 * answered later (its analysis runs in a worker thread; a commit runs
 * segtls-apply): policyd_run() returns NULL without an error and the
 * caller waits until its reply function gets the answer: the ok response
 * (taken), or the error with its code (policyd_conn_fail; NULL response).
 * A control connection (control.c), and any other front, embeds a
 * policyd_conn whose reply function sends the answer its way, and calls
 * policyd_conn_forget() when it goes away first.
 *  readonly  only requests that change nothing are run; the others get
 *            SEG_ERROR_DENIED "permission denied: set changes the
 *            settings and this connection may only read"
 *  uid, gid  whose rights the certificate paths the caller names are
 *            checked with (SO_PEERCRED on the sockets), when has_ids is
 *            TRUE; otherwise (a caller without a system account, or a
 *            front that sets nothing: zero-filled is safe) as nobody's
 *  sync      the thread part of a request runs in the call and the answer
 *            reaches reply before policyd_run() returns (the web front,
 *            whose handlers read several answers in a row); only a
 *            commit's apply still answers later. The file work of that
 *            part never blocks for long: certificates are read by
 *            lib/util/safefile (no FIFOs, bounded size, a child killed
 *            after 5 s for another user's rights)
 */
typedef struct policyd_conn policyd_conn;
struct policyd_conn {
    void      (*reply)(policyd_conn *conn, JsonObject *resp, const GError *error);
    gboolean    readonly;
    gboolean    has_ids;
    uid_t       uid;
    gid_t       gid;
    gboolean    sync;
};
void policyd_conn_reply(policyd_conn *conn, JsonObject *resp);
void policyd_conn_fail(policyd_conn *conn, const GError *error);
void policyd_conn_forget(policyd_conn *conn);

/* ops.c */
JsonObject *policyd_run(policyd *pd, JsonObject *request, const char *user,
                        policyd_conn *conn, GError **error);
JsonObject *policyd_dispatch_conn(policyd *pd, JsonObject *request,
                                  const char *user, policyd_conn *conn);
JsonObject *policyd_dispatch(policyd *pd, JsonObject *request,
                             const char *user);
JsonObject *policyd_error_response(const char *message);
JsonObject *policyd_ok_response(void);
JsonArray *policyd_strings_array(GPtrArray *lines);
void policyd_warnings_split(JsonObject *resp, GPtrArray *lines, unsigned touched,
                            const char *what);
void policyd_ops_changed(void);
void policyd_ops_cleanup(void);

/* clusterconf.c - [cluster] of the same file */
typedef struct policyd_cluster_conf {
    char       *name;           /* the cluster */
    char      **endpoints;      /* etcd client URLs */
    char       *ca_file;        /* or NULL */
    char       *cert_file;      /* client certificate, or NULL */
    char       *key_file;
    char       *machine;        /* this machine */
    char       *group;          /* its group */
    char       *prefix;         /* of the keys */
    guint       timeout;        /* seconds per etcd request */
} policyd_cluster_conf;

gboolean policyd_cluster_key(const char *name);
policyd_cluster_conf *policyd_cluster_conf_load(GKeyFile *kf, const char *path,
                                                const GArray *lines, GError **error);
gboolean policyd_cluster_conf_equal(const policyd_cluster_conf *a,
                                    const policyd_cluster_conf *b);
void policyd_cluster_conf_free(policyd_cluster_conf *c);

/* cluster.c - cluster mode: follow the cluster in etcd */
gboolean policyd_cluster_enabled(void);
seg_store *policyd_cluster_open(policyd *pd, const policyd_cluster_conf *c,
                                GError **error);
void policyd_cluster_start(policyd *pd);
void policyd_cluster_stop(void);
void policyd_cluster_free_etcd(void);
void policyd_cluster_committed(policyd_conn *conn, JsonObject *resp, gint64 revision);
void policyd_cluster_joined(void);
void policyd_cluster_forget(policyd_conn *conn);
void policyd_cluster_status(JsonObject *resp);

/* applyconf.c - the apply configuration (apply.conf) */
typedef struct policyd_apply_conf {
    char       *path;
    gboolean    enabled;
    GPtrArray  *args;           /* "--key=value" options of segtls-apply */
    gboolean    no_postfix;
    gboolean    no_nginx;
    char       *probe_smtp;     /* HOST:PORT of the first smtpd service, or NULL */
    char       *probe_https;
    char       *postfix_dir;    /* postfix-dir, or NULL */
    char      **smtpd_services; /* the list keys as given, or NULL */
    char      **smtp_services;
    char      **exclude_services;
    char      **probe_smtp_list;
    policyd_cluster_conf *cluster;  /* [cluster], or NULL */
} policyd_apply_conf;

policyd_apply_conf *policyd_apply_conf_load(const char *path, GError **error);
void policyd_apply_conf_free(policyd_apply_conf *c);

/* apply.c */
gboolean policyd_apply_load(policyd *pd, GError **error);
gboolean policyd_apply_refresh(policyd *pd, GError **error);
gboolean policyd_apply_enabled(void);
gboolean policyd_apply_busy(void);
gboolean policyd_apply_start(policyd *pd, policyd_conn *conn, const char *user,
                             const char *comment, gboolean keep,
                             GError **error);
gboolean policyd_apply_now(policyd *pd, policyd_conn *conn, const char *user,
                           GError **error);
void policyd_apply_forget(policyd_conn *conn);
/* the result of policyd_apply_settings(): why is NULL when it applied */
typedef void (*policyd_apply_done) (gboolean ok, const char *why, char **out,
                                    char **err, gpointer data);
gboolean policyd_apply_settings(policyd *pd, const seg_settings *s, const char *what,
                                policyd_apply_done done, gpointer data, GError **error);
/* policyd_apply_cluster - [cluster] of the configuration in force, or NULL */
const policyd_cluster_conf *policyd_apply_cluster(void);
void policyd_apply_status(JsonObject *resp);
void policyd_apply_shutdown(void);

/* drift.c - the live probe of the drift gauges (with --metrics) */
#define POLICYD_DRIFT_INTERVAL  300     /* seconds, --drift-interval default */
void policyd_drift_start(policyd *pd, guint interval);
void policyd_drift_stop(void);

#endif
