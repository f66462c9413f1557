/*
 * policyd - internal interfaces of segtls-policyd.
 *
 * main.c owns the process (options, daemon mode, signals, privileges),
 * control.c the control socket and its connections, ops.c the table of
 * protocol operations that act on the store, apply.c the apply
 * configuration and the segtls-apply run of a commit.
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
    char           *pidfile;
    char           *apply_config;   /* apply.conf path */
    GMainLoop      *loop;
    GSocketService *service;
} policyd;

/* control.c */
gboolean policyd_probe_socket(const char *path, GError **error);
gboolean policyd_listen(policyd *pd, const char *group, uid_t owner,
                        GError **error);
void policyd_unlisten(policyd *pd);

/*
 * A request whose answer comes later (a commit that runs segtls-apply):
 * dispatch returns NULL, the connection reads nothing more until
 * policyd_conn_reply() sends the answer (taken).
 */
typedef struct conn policyd_conn;
void policyd_conn_reply(policyd_conn *conn, JsonObject *resp);

/* ops.c */
JsonObject *policyd_dispatch(policyd *pd, JsonObject *request,
                             const char *user);
JsonObject *policyd_dispatch_conn(policyd *pd, JsonObject *request,
                                  const char *user, policyd_conn *conn);
JsonObject *policyd_error_response(const char *message);
JsonObject *policyd_ok_response(void);
JsonArray *policyd_strings_array(GPtrArray *lines);
void policyd_ops_cleanup(void);

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
} policyd_apply_conf;

policyd_apply_conf *policyd_apply_conf_load(const char *path, GError **error);
void policyd_apply_conf_free(policyd_apply_conf *c);

/* apply.c */
gboolean policyd_apply_load(policyd *pd, GError **error);
gboolean policyd_apply_enabled(void);
gboolean policyd_apply_busy(void);
gboolean policyd_apply_start(policyd *pd, policyd_conn *conn, const char *user,
                             const char *comment, gboolean keep,
                             GError **error);
gboolean policyd_apply_now(policyd *pd, policyd_conn *conn, const char *user,
                           GError **error);
void policyd_apply_forget(policyd_conn *conn);
void policyd_apply_status(JsonObject *resp);
void policyd_apply_shutdown(void);

#endif
