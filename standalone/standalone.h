/*
 * standalone.h - internal interfaces of segtls-standalone.
 *
 * One process, one GLib main loop. Every socket is non-blocking and is
 * wrapped in an sa_conn (conn.c): bounded input and output buffers,
 * plaintext or non-blocking OpenSSL I/O, STARTTLS, a deadline. The
 * protocol modules (smtp_server.c, smtp_client.c, https.c) are state
 * machines driven by the sa_conn callbacks; they never block on a peer.
 */
#ifndef SEGTLS_STANDALONE_H
#define SEGTLS_STANDALONE_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <glib.h>
#include <openssl/ssl.h>

#include "settings.h"

/* Default spool (FHS: data waiting to be processed, like /var/spool/postfix). */
#define SA_DEFAULT_SPOOL    "/var/spool/segtls"

/* Options (main.c). */
typedef struct sa_options {
    char       *config;             /* --config FILE */
    char       *socket;             /* --socket PATH (policyd) */
    char       *cert;               /* --cert PEM key+chain */
    char       *spool;              /* --spool DIR */
    char       *mail_log;           /* --mail-log PATH */
    char       *gui_log;            /* --gui-log PATH */
    gboolean    no_log_files;       /* --no-log-files: records only by --syslog */
    char       *syslog;             /* --syslog DEST */
    char       *syslog_ca;          /* --syslog-ca FILE */
    char       *syslog_facility;    /* --syslog-facility NAME */
    int         syslog_queue;       /* --syslog-queue N */
    char       *metrics;            /* --metrics ADDR */
    char       *state_dir;          /* --state-dir DIR (IDs) */
    char       *smtp_listen;        /* 127.0.0.1:25 */
    char       *https_listen;       /* loopback unless public_status */
    gboolean    public_status;      /* --public-status */
    char       *gui_proxy;          /* --gui-proxy PATH (policyd's web UI) */
    char       *relay;              /* HOST:PORT */
    char       *hostname;           /* banner and EHLO name */
    int         timeout;            /* seconds per command */
    int         max_size;           /* message size limit, bytes */
    int         max_rcpt;           /* recipients per message */
    int         max_conns;          /* concurrent connections per listener */
    int         retry_min;          /* first retry after, seconds */
    int         retry_max;          /* longest backoff, seconds */
} sa_options;

/* Process state (main.c). */
typedef struct sa_state {
    sa_options  opt;
    seg_settings *settings;
    SSL_CTX    *inbound_ctx;        /* NULL when inbound.tls = no */
    SSL_CTX    *gui_ctx;
    SSL_CTX    *outbound_ctx;
    GMainLoop  *loop;
} sa_state;

extern sa_state sa;

/* A non-blocking connection (conn.c). */
typedef struct sa_conn sa_conn;
typedef struct sa_listener sa_listener;

typedef struct sa_conn_ops {
    void      (*input)(sa_conn *c);     /* data in c->in, or c->eof */
    void      (*drain)(sa_conn *c);     /* output buffer empty (optional) */
    void      (*tls_done)(sa_conn *c, const char *fail);   /* fail: tuple or NULL */
    void      (*connected)(sa_conn *c, int err);  /* outbound connect result */
    void      (*timeout)(sa_conn *c);
    void      (*closed)(sa_conn *c);    /* last call; free c->ctx */
} sa_conn_ops;

#define SA_IN_MAX       (64 * 1024)     /* input buffer bound */
#define SA_OUT_MAX      (64 * 1024)     /* stop reading while more is queued */

struct sa_conn {
    int         fd;
    SSL        *ssl;
    GByteArray *in;
    GByteArray *out;
    const sa_conn_ops *ops;
    void       *ctx;
    gint64      deadline;               /* monotonic usec, 0 = none */
    char        local_ip[64];
    char        peer_ip[64];
    guint       local_port;
    guint       peer_port;
    unsigned    eof:1;                  /* peer closed (or read error) */
    unsigned    closing:1;              /* close once output is flushed */
    unsigned    dead:1;                 /* close now */
    unsigned    handshaking:1;
    unsigned    tls_pending:1;          /* start TLS once output is flushed */
    unsigned    tls_server:1;
    unsigned    connecting:1;
    unsigned    in_pump:1;
    unsigned    want_write:1;           /* SSL read wants write */
    unsigned    want_read:1;            /* SSL write wants read */
    unsigned    hs_want_write:1;
    unsigned    paused:1;               /* protocol does not want input */
    unsigned    hs_counted:1;           /* in conn.c's handshakes in flight */
    GIOCondition events;                /* what the source polls for */
    GSource    *src;
    gpointer    tag;
    GList       link;                   /* in the list of live connections */
    guint       idle;                   /* pending on_idle source */
    SSL_CTX    *tls_ctx;
    sa_listener *listener;              /* accepted here; NULL: outgoing */
};

sa_conn *sa_conn_new(int fd, sa_listener *from, const sa_conn_ops *ops, void *ctx);
sa_conn *sa_conn_connect(const struct sockaddr *addr, socklen_t len,
                         const sa_conn_ops *ops, void *ctx, GError **error);
void    sa_conn_write(sa_conn *c, const void *buf, gsize len);
void    sa_conn_printf(sa_conn *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void    sa_conn_consume(sa_conn *c, gsize len);
void    sa_conn_starttls(sa_conn *c, SSL_CTX *ctx, gboolean server);
void    sa_conn_close(sa_conn *c, gboolean flush);
void    sa_conn_timeout(sa_conn *c, int seconds);
void    sa_conn_pump(sa_conn *c);
void    sa_conn_tick(void);             /* deadlines, once a second */
guint   sa_conn_count(void);
void    sa_conn_shutdown_all(void);
void    sa_peer_name(int fd, char *ip, gsize len, guint *port);

/* Listening sockets (listen.c): at most max_conns connections each. */
typedef struct sa_listen_ops {
    void      (*accept)(int fd, sa_listener *l);   /* serve: sa_conn_new(fd, l, ...) */
    void      (*refuse)(int fd, sa_listener *l);   /* over the limit: record, close */
} sa_listen_ops;
gboolean sa_listen(const char *addr, const sa_listen_ops *ops, guint max_conns,
                   GError **error);
void    sa_listener_hold(sa_listener *l);
void    sa_listener_release(sa_listener *l);
gboolean sa_parse_hostport(const char *text, char **host, guint *port,
                           GError **error);
gboolean sa_is_loopback(const char *addr);     /* numeric HOST:PORT */
const char *sa_ifname_of(const char *ip);   /* "lo", or "unknown"; cached */
void    sa_ifname_free(void);

/* Records (log.c): mail_logs, gui_logs, IDs, the last 20 for the GUI. */
typedef enum { SA_ID_ICID, SA_ID_DCID, SA_ID_MID } sa_id_kind;
gboolean sa_log_open(GError **error);
void    sa_log_reopen(void);
void    sa_log_close(void);
guint64 sa_id_next(sa_id_kind kind);
void    sa_mail_info(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void    sa_gui_record(gboolean warning, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void    sa_gui_request(const char *ip, int status, const char *method, const char *path);
GPtrArray *sa_log_recent(void);         /* newest last, borrowed */

/* Inbound SMTP (smtp_server.c). */
extern const sa_listen_ops sa_smtp_listen_ops;

/* Inbound SMTP command parsers (smtp_parse.c): pure, fuzzed. */
#define SA_ADDR_MAX     256             /* mailbox length */
typedef enum {
    SA_MAIL_PARAM_OK,
    SA_MAIL_PARAM_SYNTAX,               /* SIZE= without a number */
    SA_MAIL_PARAM_TOO_BIG,              /* SIZE= over the limit */
    SA_MAIL_PARAM_UNKNOWN,              /* not SIZE= or BODY= */
} sa_mail_param;
char   *sa_smtp_split(char *line);     /* cuts off the verb, returns arg */
gboolean sa_smtp_path(const char *arg, const char *prefix, char **addr,
                      char **params);
sa_mail_param sa_smtp_mail_params(const char *params, guint64 max_size,
                                  char **bad);

/* Message text after DATA (sa_smtp_data_next): only CR LF . CR LF ends it. */
typedef enum {
    SA_DATA_MORE,                       /* no complete line yet: wait */
    SA_DATA_TEXT,                       /* text: a line, or a piece of a long one */
    SA_DATA_END,                        /* the final dot */
    SA_DATA_BARE_LF,                    /* an LF without CR before it */
    SA_DATA_BARE_CR,                    /* a CR without LF after it */
} sa_data_token;
sa_data_token sa_smtp_data_next(const guint8 *buf, gsize len, gboolean line_start,
                                gsize chunk, gsize *take, gsize *text, gboolean *eol);

/* Outbound SMTP reply lines (sa_smtp_reply_next). */
#define SA_REPLY_LINE_MAX 1000          /* with CRLF; longer lines are malformed */
typedef struct sa_reply_line {
    gboolean    ok;                     /* FALSE: malformed */
    int         code;
    gboolean    more;                   /* "250-": more lines follow */
    const char *text;                   /* within the buffer, text_len bytes */
    gsize       text_len;
} sa_reply_line;
gsize   sa_smtp_reply_next(const guint8 *buf, gsize len, sa_reply_line *r);

/* Relayed message text in CRLF lines (sa_smtp_crlf): bare CR and LF
 * become CRLF, a lone "." line becomes "..", the text ends with CRLF. */
typedef struct sa_crlf {
    gboolean    mid_line;               /* the last line is not ended yet */
    gboolean    cr;                     /* a CR waits for its LF */
    gboolean    dot;                    /* the line so far is "." */
} sa_crlf;
void    sa_smtp_crlf(sa_crlf *st, const guint8 *in, gsize len, GByteArray *out);
void    sa_smtp_crlf_end(sa_crlf *st, GByteArray *out);

/* Spool (spool.c). */
typedef struct sa_spool_msg {
    char       *path;                   /* queue file */
    guint64     mid;
    guint64     icid;
    char       *sender;
    GPtrArray  *rcpts;                  /* char * */
    goffset     body_offset;
} sa_spool_msg;

typedef struct sa_spool_file sa_spool_file;
gboolean sa_spool_init(const char *dir, GError **error);
sa_spool_file *sa_spool_begin(guint64 mid, guint64 icid, const char *sender,
                              GPtrArray *rcpts, GError **error);
gboolean sa_spool_append(sa_spool_file *f, const void *buf, gsize len,
                         GError **error);
gboolean sa_spool_commit(sa_spool_file *f, GError **error);
void    sa_spool_abort(sa_spool_file *f);
GPtrArray *sa_spool_list(void);         /* queue file paths, oldest MID first */
sa_spool_msg *sa_spool_read(const char *path, GError **error);
void    sa_spool_msg_free(sa_spool_msg *m);
gboolean sa_spool_remove(const char *path, GError **error);
guint   sa_spool_count(void);

/* Outbound SMTP (smtp_client.c): one delivery attempt per connection. */
typedef struct sa_qent {
    char       *path;                   /* queue file */
    gint64      next_try;               /* monotonic usec */
    int         backoff;                /* seconds before the next retry */
    char       *tls_failed;             /* tuple: next attempt without TLS */
    gboolean    busy;                   /* a delivery is running */
} sa_qent;

gboolean sa_client_init(const char *relay, GError **error);
gboolean sa_deliver(sa_qent *q);
void    sa_client_shutdown(void);

/* Delivery schedule (schedule.c). */
void    sa_schedule_init(void);
void    sa_schedule_done(sa_qent *q, gboolean finished);
void    sa_schedule_shutdown(void);
void    sa_client_kick(void);           /* look at the queue now */
void    sa_client_tick(void);           /* several times a second */

/* GUI HTTPS (https.c). */
extern const sa_listen_ops sa_https_listen_ops;
void    sa_https_settings_changed(void);    /* recompute usable versions */

/* GUI HTTPS in front of segtls-policyd's web UI (gui_proxy.c). */
gboolean sa_gui_proxy_init(GError **error);     /* loads libsoup */
void    sa_gui_proxy_take(sa_conn *c);

/* GUI HTTPS request parser (http_parse.c): pure, fuzzed. */
#define SA_REQ_MAX      (16 * 1024)     /* request header bound */
typedef enum {
    SA_HTTP_MORE,                       /* header not complete yet */
    SA_HTTP_TOO_LARGE,                  /* 431 */
    SA_HTTP_BAD,                        /* 400 */
    SA_HTTP_METHOD,                     /* 405 */
    SA_HTTP_OK,                         /* GET or HEAD of *path */
} sa_http_result;
sa_http_result sa_http_parse(const char *data, gsize len, gboolean *head,
                             char **path);

/* Settings (main.c). */
gboolean sa_settings_load(GError **error);

#endif
