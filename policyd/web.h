/*
 * web - internal interfaces of the web UI and REST API of segtls-policyd.
 *
 * web.c owns the HTTP server (libsoup 3 on a UNIX socket, behind the GUI
 * HTTPS server that terminates TLS: nginx or segtls-standalone), the
 * route table, authentication and rights, and the REST API under
 * /api/v1/. websession.c holds the sessions, the PAM logins (in worker
 * threads), the failed-login throttle and the gui_logs records.
 * webpage.c renders the System Administration > SSL Configuration page
 * and its forms; webreport.c Monitor > TLS Connections (page and API). Every change goes through policyd_run() (ops.c), the
 * same path as the control socket's, with the web user's name.
 */
#ifndef SEGTLS_POLICYD_WEB_H
#define SEGTLS_POLICYD_WEB_H

#include <libsoup/soup.h>

#include "guirec.h"
#include "policyd.h"

typedef enum {
    WEB_ROLE_NONE,              /* not logged in */
    WEB_ROLE_READ,              /* any other accepted account: read only */
    WEB_ROLE_ADMIN,             /* member of the admin group */
} web_role;

typedef struct web_session {
    char        id[17];         /* public id: records, never a credential */
    char        token[65];      /* the cookie value */
    char        csrf[65];       /* form field / X-CSRF-Token */
    char       *user;
    web_role    role;
    gint64      last;           /* monotonic usec of the last request */
    char       *flash;          /* one message for the next page */
    gboolean    flash_error;
} web_session;

/* One HTTP request while it is handled. */
typedef struct web_req {
    policyd_conn base;          /* first: a commit's deferred answer */
    policyd    *pd;
    SoupServerMessage *msg;
    char       *ip;             /* client address (X-Real-IP of the proxy) */
    char       *path;           /* as requested, for records */
    const char *method;
    web_session *sess;          /* NULL: Basic or nobody; valid until paused */
    char        sid[17];        /* the session's public id, "" for none */
    char       *token;          /* the session cookie, to find it again */
    char       *user;           /* authenticated user, or NULL */
    web_role    role;
    gboolean    api;            /* under /api/ */
    gboolean    paused;
    gboolean    gone;           /* the client went away while paused */
    gboolean    logged;         /* the request record is written */
    const char *route_arg;      /* {id} of the route (in arg), or NULL */
    char        arg[12];
    gboolean    capturing;      /* inside web_run: answers are kept here */
    JsonObject *captured;
    GError     *captured_err;
    void      (*deferred)(struct web_req *r, JsonObject *resp);
    void      (*commit_done)(struct web_req *r, JsonObject *resp);
} web_req;

typedef struct policyd_web_opts {
    char       *socket;         /* --web-socket; NULL: no web UI */
    char       *group;          /* --web-group: who may connect (the proxy) */
    char       *admin_group;    /* --web-admin-group */
    char       *read_group;     /* --web-read-group; NULL: any account reads */
    char       *gui_log;        /* --gui-log */
    char       *mail_log;       /* --mail-log: the TLS Connections report reads it */
    char       *pam_service;    /* --pam-service */
    int         idle_timeout;   /* --web-idle-timeout, seconds */
} policyd_web_opts;

#define WEB_DEFAULT_SOCKET      "/run/segtls/webui.sock"
#define WEB_DEFAULT_ADMIN_GROUP "segtls-admin"
#define WEB_DEFAULT_PAM         "segtls"
#define WEB_DEFAULT_IDLE        1800
#define WEB_COOKIE              "segtls_session"

/* web.c */
gboolean policyd_web_start(policyd *pd, const policyd_web_opts *o, uid_t owner,
                           GError **error);
void policyd_web_reopen(void);
void policyd_web_stop(void);
const policyd_web_opts *web_opts(void);
void web_send(web_req *r, int status, const char *type, char *body);
void web_send_json(web_req *r, int status, JsonObject *obj);
void web_send_error(web_req *r, int status, const char *message);
void web_redirect(web_req *r, const char *to);
void web_pause(web_req *r);
void web_resume(web_req *r);
int web_error_status(const GError *err);
JsonObject *web_run(web_req *r, JsonObject *req, GError **error);
void web_record_action(web_req *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
GHashTable *web_form(web_req *r);
char *web_form_field(web_req *r, const char *name);
JsonObject *web_set(web_req *r, JsonObject *settings, GError **error);
void web_commit(web_req *r, const char *comment, gboolean keep,
                void (*done)(web_req *r, JsonObject *resp));
void web_live(web_req *r, void (*done)(web_req *r, JsonObject *status));
gboolean web_restore(web_req *r, const char *text);

/* websession.c */
gboolean web_sessions_init(const policyd_web_opts *o, GError **error);
void web_sessions_reopen(void);
void web_sessions_shutdown(void);
void web_record(seg_guirec *rec, gboolean warning);
web_session *web_session_find(web_req *r, const char *token);
web_session *web_session_lookup(const char *token);
web_session *web_session_new(web_req *r, const char *user, web_role role);
void web_session_end(web_req *r, web_session *s);
gboolean web_csrf_ok(const web_session *s, const char *token);
const char *web_role_name(web_role role);
typedef void (*web_login_done)(web_req *r, const char *user, web_role role,
                               int status, const char *error);
void web_login(web_req *r, const char *user, const char *password,
               web_login_done done);

/* webpage.c */
void web_page_main(web_req *r);
void web_page_login(web_req *r);
void web_page_login_post(web_req *r);
void web_page_logout(web_req *r);
void web_page_edit(web_req *r);
void web_page_edit_post(web_req *r);
void web_page_commit(web_req *r);
void web_page_clear(web_req *r);
void web_page_rollback(web_req *r);
void web_page_dest_post(web_req *r);
void web_page_group_post(web_req *r);
void web_page_error(web_req *r, int status, const char *message);
void web_page_frame(web_req *r, int status, const char *crumb, const char *title,
                    GString *body);

/* webreport.c */
void web_page_report(web_req *r);
void web_api_report(web_req *r);

#endif
