/*
 * policyd - internal interfaces of segtls-policyd.
 *
 * main.c owns the process (options, daemon mode, signals, privileges),
 * control.c the control socket and its connections, ops.c the table of
 * protocol operations that act on the store.
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
    GMainLoop      *loop;
    GSocketService *service;
} policyd;

/* control.c */
gboolean policyd_probe_socket(const char *path, GError **error);
gboolean policyd_listen(policyd *pd, const char *group, uid_t owner,
                        GError **error);
void policyd_unlisten(policyd *pd);

/* ops.c */
JsonObject *policyd_dispatch(policyd *pd, JsonObject *request,
                             const char *user);
JsonObject *policyd_error_response(const char *message);
gboolean policyd_apply(policyd *pd, GPtrArray *notices, GError **error);

#endif
