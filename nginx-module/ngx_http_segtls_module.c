/*
 * ngx_http_segtls_module - GUI HTTPS records (gui_logs) from inside nginx.
 *
 * "segtls_gui_log PATH;" (http or server level; "off" disables an
 * inherited one) writes, once per TLS connection,
 *
 *   Info: GUI HTTPS TLS success protocol P cipher C address IP port N
 *   Warning: SSL error with client IP:N - (CODE, 'OPENSSL ERROR STRING')
 *
 * in the gateway's line format (lib/recfmt/recfmt.c, shared with segtls),
 * the error tuple read and written as segtls does everywhere
 * (lib/tls/tlserr.c, compiled in too: both are GLib-free).
 *
 * The handshake is watched with an OpenSSL info callback set on the
 * SSL_CTX of every server that logs, chained to nginx's own callback:
 * SSL_CB_HANDSHAKE_DONE is a success; SSL_CB_ACCEPT_EXIT with an error on
 * the queue is a failure, read there before nginx's error handling clears
 * the queue. A handshake that ends without either (the client went away
 * or timed out) is recorded when the connection's pool is destroyed.
 * Plain HTTP sent to the HTTPS port never reaches OpenSSL (nginx answers
 * it with 497/400): a log phase handler records it with the error OpenSSL
 * itself gives for it, SSL_R_HTTP_REQUEST.
 *
 * The file is an nginx open file (opened by the master at configuration
 * time, reopened on USR1); a record is one write(2) on it (O_APPEND), so
 * nothing blocks the event loop and workers never tear lines.
 *
 * "segtls_gui_log syslog:server=ADDR[:PORT][,facility=F][,tag=T];" (the
 * syntax of nginx's own access_log and error_log, parsed by nginx) also
 * or instead pushes each record to a syslog receiver, as segtls-milter
 * and segtls-standalone do (lib/recfmt: "<PRI>Mmm dd hh:mm:ss gui_logs:
 * Info: ..."): tag gui_logs and facility mail unless given, severity
 * info or warning by the record's level. It goes out through nginx's
 * syslog sender, one non-blocking UDP datagram per record from the
 * worker: a record that cannot be sent is lost, never waited for, and
 * the loss logged (at most once a minute). One file and one syslog
 * destination per server at most.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/file.h>

#include "recfmt.h"
#include "tlserr.h"

#ifndef SEGTLS_VERSION
#define SEGTLS_VERSION  "unknown"
#endif

#define SEGTLS_LEVEL_INFO     "Info"
#define SEGTLS_LEVEL_WARNING  "Warning"

#define SEGTLS_SYSLOG_TAG       "gui_logs"
#define SEGTLS_SYSLOG_FACILITY  2           /* mail */
#define SEGTLS_SYSLOG_INFO      6
#define SEGTLS_SYSLOG_WARNING   4


typedef struct {
    ngx_array_t           files;        /* ngx_open_file_t *, for headers */
} ngx_http_segtls_main_conf_t;


typedef struct {
    ngx_syslog_peer_t    *peer;
    u_char               *tag;          /* peer->tag, NUL-terminated */
    ngx_uint_t            lost;         /* this worker's, not yet logged */
    time_t                told;         /* when that was last logged */
} ngx_http_segtls_syslog_t;


typedef struct {
    ngx_open_file_t           *file;    /* NULL: no file */
    ngx_http_segtls_syslog_t  *syslog;  /* NULL: no syslog push */
    void                     (*prev)(const SSL *ssl, int where, int ret);
} ngx_http_segtls_srv_conf_t;


typedef struct {
    ngx_http_segtls_srv_conf_t  *conf;
    ngx_connection_t            *connection;
    ngx_uint_t                   done;  /* the record is written */
} ngx_http_segtls_conn_t;


static void *ngx_http_segtls_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_segtls_create_srv_conf(ngx_conf_t *cf);
static char *ngx_http_segtls_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_segtls_gui_log(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_segtls_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_segtls_init_module(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_segtls_commands[] = {

    { ngx_string("segtls_gui_log"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_http_segtls_gui_log,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_segtls_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_segtls_init,                  /* postconfiguration */

    ngx_http_segtls_create_main_conf,      /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_http_segtls_create_srv_conf,       /* create server configuration */
    ngx_http_segtls_merge_srv_conf,        /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_segtls_module = {
    NGX_MODULE_V1,
    &ngx_http_segtls_module_ctx,           /* module context */
    ngx_http_segtls_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_segtls_init_module,           /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static int   ngx_http_segtls_ctx_index = -1;    /* SSL_CTX -> srv conf */
static int   ngx_http_segtls_conn_index = -1;   /* SSL -> conn state */
static void (*ngx_http_segtls_prev)(const SSL *ssl, int where, int ret);
static ngx_uint_t  ngx_http_segtls_failing;     /* in a burst of errors */


/* ngx_http_segtls_header - write the header if the file is empty */

static void
ngx_http_segtls_header(ngx_open_file_t *file)
{
    char         buf[SEG_RECFMT_HEADER_MAX], host[SEG_RECFMT_HOST_LEN];
    size_t       n;
    struct stat  st;

    if (fstat(file->fd, &st) == -1 || st.st_size != 0) {
        return;
    }

    /* another process may be doing the same: look again under the lock */

    (void) flock(file->fd, LOCK_EX);

    if (fstat(file->fd, &st) == 0 && st.st_size == 0) {
        (void) fchmod(file->fd, 0640);

        if (seg_recfmt_host_id(host, sizeof(host)) == 0) {
            ngx_cpystrn((u_char *) host, (u_char *) "unknown", sizeof(host));
        }

        n = seg_recfmt_header(ngx_time(), SEGTLS_VERSION, host,
                              buf, sizeof(buf));
        if (n > 0 && write(file->fd, buf, n) == -1) {
            /* counted with the record that follows */
        }
    }

    (void) flock(file->fd, LOCK_UN);
}


/* ngx_http_segtls_write - one record line in the file, one write(2) */

static void
ngx_http_segtls_write(ngx_open_file_t *file, ngx_log_t *log,
    const char *level, u_char *text, size_t len)
{
    char     buf[SEG_RECFMT_LINE_MAX + SEG_RECFMT_TIME_LEN + 16];
    size_t   n;
    int      w;

    ngx_http_segtls_header(file);

    n = seg_recfmt_line(ngx_time(), level, (char *) text, len,
                        buf, sizeof(buf));
    if (n == 0) {
        return;
    }

    /*
     * one write(2); a short write on a regular file is a full disk: the
     * record is lost, and the part written is marked cut in place when
     * the worker may open the file (recfmt.h), never truncated
     */

    w = seg_recfmt_append(file->fd, buf, n);

    if (w == 1) {
        ngx_http_segtls_failing = 0;
        return;
    }

    if (!ngx_http_segtls_failing) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "segtls_gui_log: write to \"%V\" failed, "
                      "dropping records until it works again", &file->name);
        ngx_http_segtls_failing = 1;
    }
}


/*
 * ngx_http_segtls_push - one record to syslog, one datagram, no waiting.
 * UDP learns that a datagram was refused (ICMP port unreachable) only at
 * the next send, which fails for it: that record is sent again once on a
 * new socket (nginx's sender makes one after an error). Trouble is
 * logged at most once a minute per worker, with what was lost.
 */

static void
ngx_http_segtls_push(ngx_http_segtls_syslog_t *sl, ngx_log_t *log,
    const char *level, u_char *text, size_t len)
{
    char         buf[SEG_RECFMT_LINE_MAX + SEG_RECFMT_TIME_LEN + 64];
    size_t       n;
    ngx_err_t    err;
    ngx_uint_t   refused;
    int          pri;

    pri = (int) (sl->peer->facility << 3)
          + (ngx_strcmp(level, SEGTLS_LEVEL_WARNING) == 0
             ? SEGTLS_SYSLOG_WARNING : SEGTLS_SYSLOG_INFO);

    n = seg_recfmt_syslog_msg(ngx_time(), pri, (char *) sl->tag, level,
                              (char *) text, len, buf, sizeof(buf));
    if (n == 0) {
        return;
    }

    if (ngx_syslog_send(sl->peer, (u_char *) buf, n) == (ssize_t) n) {
        return;
    }

    err = ngx_socket_errno;
    refused = 1;                        /* an earlier record, or this one */

    if (ngx_syslog_send(sl->peer, (u_char *) buf, n) != (ssize_t) n) {
        err = ngx_socket_errno;
        refused++;
    }

    sl->lost += refused;

    if (ngx_time() - sl->told >= 60) {
        ngx_log_error(NGX_LOG_ALERT, log, err,
                      "segtls_gui_log: syslog push to \"%V\" failed: "
                      "%ui records lost since the last such message",
                      &sl->peer->server.name, sl->lost);
        sl->told = ngx_time();
        sl->lost = 0;
    }
}


/* ngx_http_segtls_record - one record, to the file and to syslog */

static void
ngx_http_segtls_record(ngx_http_segtls_srv_conf_t *conf, ngx_log_t *log,
    const char *level, u_char *text, size_t len)
{
    if (conf->file != NULL) {
        ngx_http_segtls_write(conf->file, log, level, text, len);
    }

    if (conf->syslog != NULL) {
        ngx_http_segtls_push(conf->syslog, log, level, text, len);
    }
}


/* ngx_http_segtls_failure - the gui_logs record of a failed handshake */

static void
ngx_http_segtls_failure(ngx_http_segtls_srv_conf_t *conf, ngx_connection_t *c,
    unsigned long code, const char *reason)
{
    u_char  text[NGX_MAX_ERROR_STR], *p;
    char    tuple[SEG_TLSERR_TUPLE_MAX];

    /* "(CODE, 'STRING')" as every segtls record writes it (tlserr.c) */

    if (seg_tlserr_tuple(code, reason, tuple, sizeof(tuple)) == 0) {
        return;
    }

    p = ngx_snprintf(text, sizeof(text),
                     "SSL error with client %V:%ui - %s",
                     &c->addr_text,
                     (ngx_uint_t) ngx_inet_get_port(c->sockaddr),
                     tuple);

    ngx_http_segtls_record(conf, c->log, SEGTLS_LEVEL_WARNING, text, p - text);
}


/* ngx_http_segtls_success - the gui_logs record of a handshake done */

static void
ngx_http_segtls_success(ngx_http_segtls_srv_conf_t *conf, ngx_connection_t *c,
    const SSL *ssl)
{
    u_char            text[NGX_MAX_ERROR_STR], *p;
    const char       *cipher;
    const SSL_CIPHER  *sc;

    sc = SSL_get_current_cipher(ssl);
    cipher = sc ? SSL_CIPHER_get_name(sc) : "NONE";

    p = ngx_snprintf(text, sizeof(text),
                     "GUI HTTPS TLS success protocol %s cipher %s "
                     "address %V port %ui",
                     SSL_get_version(ssl), cipher, &c->addr_text,
                     (ngx_uint_t) ngx_inet_get_port(c->sockaddr));

    ngx_http_segtls_record(conf, c->log, SEGTLS_LEVEL_INFO, text, p - text);
}


/* ngx_http_segtls_cleanup - a handshake that ended without a result */

static void
ngx_http_segtls_cleanup(void *data)
{
    ngx_http_segtls_conn_t  *sc = data;

    ngx_connection_t  *c;

    if (sc->done) {
        return;
    }

    sc->done = 1;
    c = sc->connection;

    if (c->read->timedout) {
        ngx_http_segtls_failure(sc->conf, c, 0, "SSL handshake timed out");
        return;
    }

    /* what OpenSSL 3 reports when SSL_OP_IGNORE_UNEXPECTED_EOF is off */

    ngx_http_segtls_failure(sc->conf, c,
                            ERR_PACK(ERR_LIB_SSL, 0,
                                     SSL_R_UNEXPECTED_EOF_WHILE_READING),
                            NULL);
}


/* ngx_http_segtls_conn - the record state of a connection, made once */

static ngx_http_segtls_conn_t *
ngx_http_segtls_conn(const SSL *ssl, ngx_http_segtls_srv_conf_t *conf)
{
    ngx_connection_t        *c;
    ngx_pool_cleanup_t      *cln;
    ngx_http_segtls_conn_t  *sc;

    sc = SSL_get_ex_data(ssl, ngx_http_segtls_conn_index);
    if (sc != NULL) {
        return sc;
    }

    c = ngx_ssl_get_connection((ngx_ssl_conn_t *) ssl);
    if (c == NULL || c->pool == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(c->pool, sizeof(ngx_http_segtls_conn_t));
    if (cln == NULL) {
        return NULL;
    }

    sc = cln->data;
    sc->conf = conf;
    sc->connection = c;
    sc->done = 0;

    if (SSL_set_ex_data((SSL *) ssl, ngx_http_segtls_conn_index, sc) == 0) {
        sc->done = 1;       /* cannot keep it: stay silent, not wrong */
        return NULL;
    }

    cln->handler = ngx_http_segtls_cleanup;

    return sc;
}


/* ngx_http_segtls_info - the SSL info callback: nginx's, then ours */

static void
ngx_http_segtls_info(const SSL *ssl, int where, int ret)
{
    unsigned long                code;
    ngx_http_segtls_conn_t      *sc;
    ngx_http_segtls_srv_conf_t  *conf;

    conf = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
                               ngx_http_segtls_ctx_index);

    if (conf != NULL && conf->prev != NULL) {
        conf->prev(ssl, where, ret);

    } else if (ngx_http_segtls_prev != NULL) {
        ngx_http_segtls_prev(ssl, where, ret);
    }

    if (conf == NULL || (conf->file == NULL && conf->syslog == NULL)
        || !SSL_is_server((SSL *) ssl))
    {
        return;
    }

    if (!(where & SSL_CB_HANDSHAKE_DONE)
        && (where & SSL_CB_ACCEPT_EXIT) != SSL_CB_ACCEPT_EXIT)
    {
        return;
    }

    sc = ngx_http_segtls_conn(ssl, conf);
    if (sc == NULL || sc->done) {
        return;
    }

    if (where & SSL_CB_HANDSHAKE_DONE) {
        sc->done = 1;
        ngx_http_segtls_success(sc->conf, sc->connection, ssl);
        return;
    }

    /*
     * SSL_CB_ACCEPT_EXIT: ret <= 0 is either "want more data" or a
     * failure; nginx clears the error queue before each SSL_do_handshake
     * (ngx_ssl_clear_error), so an error on it now is this handshake's
     * failure. It is read the one way segtls reads OpenSSL errors
     * (tlserr.c: the last, the SSL library's reason) and left on the
     * queue for nginx's own error handling.
     */

    if (ret > 0) {
        return;
    }

    code = seg_tlserr_read(NULL, 0, SEG_TLSERR_KEEP);
    if (code == 0) {
        return;
    }

    sc->done = 1;
    ngx_http_segtls_failure(sc->conf, sc->connection, code, NULL);
}


/* ngx_http_segtls_log_handler - plain HTTP sent to the HTTPS port */

static ngx_int_t
ngx_http_segtls_log_handler(ngx_http_request_t *r)
{
    ngx_http_segtls_srv_conf_t  *conf;

    if (r != r->main
        || r->connection->ssl != NULL
        || r->http_connection == NULL
        || !r->http_connection->ssl)
    {
        return NGX_OK;
    }

    conf = ngx_http_get_module_srv_conf(r, ngx_http_segtls_module);
    if (conf->file == NULL && conf->syslog == NULL) {
        return NGX_OK;
    }

    ngx_http_segtls_failure(conf, r->connection,
                            ERR_PACK(ERR_LIB_SSL, 0, SSL_R_HTTP_REQUEST),
                            NULL);

    return NGX_OK;
}


/* ngx_http_segtls_create_main_conf - the list of files to give headers */

static void *
ngx_http_segtls_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_segtls_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_segtls_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&smcf->files, cf->pool, 2, sizeof(ngx_open_file_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return smcf;
}


/* ngx_http_segtls_create_srv_conf - unset until merged */

static void *
ngx_http_segtls_create_srv_conf(ngx_conf_t *cf)
{
    ngx_http_segtls_srv_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_segtls_srv_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->file = NGX_CONF_UNSET_PTR;
    conf->syslog = NGX_CONF_UNSET_PTR;

    return conf;
}


/* ngx_http_segtls_merge_srv_conf - a server inherits the http level */

static char *
ngx_http_segtls_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_segtls_srv_conf_t  *prev = parent;
    ngx_http_segtls_srv_conf_t  *conf = child;

    ngx_conf_merge_ptr_value(conf->file, prev->file, NULL);
    ngx_conf_merge_ptr_value(conf->syslog, prev->syslog, NULL);

    return NGX_CONF_OK;
}


/*
 * ngx_http_segtls_syslog - "segtls_gui_log syslog:...": nginx parses it
 * (ngx_syslog_process_conf); segtls's tag and facility unless given, and
 * no severity= (each record has its own)
 */

static char *
ngx_http_segtls_syslog(ngx_conf_t *cf, ngx_http_segtls_srv_conf_t *sconf,
    ngx_str_t *value)
{
    u_char                    *p, *end, *comma;
    ngx_uint_t                 facility, tag;
    ngx_http_segtls_syslog_t  *sl;

    facility = 0;
    tag = 0;
    end = value->data + value->len;

    for (p = value->data + sizeof("syslog:") - 1; p < end; p = comma + 1) {
        comma = ngx_strlchr(p, end, ',');
        if (comma == NULL) {
            comma = end;
        }

        if (comma - p >= 9 && ngx_strncmp(p, "facility=", 9) == 0) {
            facility = 1;
        }

        if (comma - p >= 4 && ngx_strncmp(p, "tag=", 4) == 0) {
            tag = 1;
        }

        if (comma - p >= 9 && ngx_strncmp(p, "severity=", 9) == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "segtls_gui_log takes no syslog \"severity\": "
                               "each record has its own (info, warning)");
            return NGX_CONF_ERROR;
        }
    }

    sl = ngx_pcalloc(cf->pool, sizeof(ngx_http_segtls_syslog_t));
    if (sl == NULL) {
        return NGX_CONF_ERROR;
    }

    sl->peer = ngx_pcalloc(cf->pool, sizeof(ngx_syslog_peer_t));
    if (sl->peer == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_syslog_process_conf(cf, sl->peer) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (!facility) {
        sl->peer->facility = SEGTLS_SYSLOG_FACILITY;
    }

    if (!tag) {
        ngx_str_set(&sl->peer->tag, SEGTLS_SYSLOG_TAG);
    }

    sl->tag = ngx_pnalloc(cf->pool, sl->peer->tag.len + 1);
    if (sl->tag == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) ngx_cpystrn(sl->tag, sl->peer->tag.data, sl->peer->tag.len + 1);

    sconf->syslog = sl;

    return NGX_CONF_OK;
}


/* ngx_http_segtls_gui_log - "segtls_gui_log PATH | syslog:... | off;" */

static char *
ngx_http_segtls_gui_log(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_segtls_srv_conf_t  *sconf = conf;

    ngx_str_t                     *value, name;
    ngx_file_info_t                fi;
    ngx_open_file_t              **pf;
    ngx_http_segtls_main_conf_t   *smcf;

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (sconf->file != NGX_CONF_UNSET_PTR
            || sconf->syslog != NGX_CONF_UNSET_PTR)
        {
            return "is duplicate";
        }

        sconf->file = NULL;
        sconf->syslog = NULL;
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(value[1].data, "syslog:", 7) == 0) {
        if (sconf->syslog != NGX_CONF_UNSET_PTR) {
            return "is duplicate";
        }

        return ngx_http_segtls_syslog(cf, sconf, &value[1]);
    }

    if (sconf->file != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    if (value[1].len == 0
        || ngx_strlchr(value[1].data, value[1].data + value[1].len, '\0'))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid log file name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    name = value[1];

    if (ngx_conf_full_name(cf->cycle, &name, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (name.data[name.len - 1] == '/'
        || (ngx_file_info(name.data, &fi) != NGX_FILE_ERROR
            && ngx_is_dir(&fi)))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "log file \"%V\" is a directory", &name);
        return NGX_CONF_ERROR;
    }

    sconf->file = ngx_conf_open_file(cf->cycle, &value[1]);
    if (sconf->file == NULL) {
        return NGX_CONF_ERROR;
    }

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_segtls_module);

    pf = ngx_array_push(&smcf->files);
    if (pf == NULL) {
        return NGX_CONF_ERROR;
    }

    *pf = sconf->file;

    return NGX_CONF_OK;
}


/* ngx_http_segtls_init - hook every logging server's SSL_CTX */

static ngx_int_t
ngx_http_segtls_init(ngx_conf_t *cf)
{
    ngx_uint_t                    s;
    ngx_http_handler_pt          *h;
    ngx_http_ssl_srv_conf_t      *sscf;
    ngx_http_core_srv_conf_t    **cscfp;
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_segtls_srv_conf_t   *conf;

    if (ngx_http_segtls_ctx_index == -1) {
        ngx_http_segtls_ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL,
                                                             NULL, NULL);
        ngx_http_segtls_conn_index = SSL_get_ex_new_index(0, NULL, NULL,
                                                          NULL, NULL);

        if (ngx_http_segtls_ctx_index == -1
            || ngx_http_segtls_conn_index == -1)
        {
            ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                          "segtls: SSL ex_new_index() failed");
            return NGX_ERROR;
        }
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_segtls_log_handler;

    cscfp = cmcf->servers.elts;

    for (s = 0; s < cmcf->servers.nelts; s++) {

        conf = cscfp[s]->ctx->srv_conf[ngx_http_segtls_module.ctx_index];
        sscf = cscfp[s]->ctx->srv_conf[ngx_http_ssl_module.ctx_index];

        if ((conf->file == NULL && conf->syslog == NULL)
            || sscf == NULL || sscf->ssl.ctx == NULL)
        {
            continue;
        }

        conf->prev = SSL_CTX_get_info_callback(sscf->ssl.ctx);

        if (conf->prev == ngx_http_segtls_info) {
            conf->prev = NULL;          /* a context shared by servers */
            continue;
        }

        if (conf->prev != NULL) {
            ngx_http_segtls_prev = conf->prev;
        }

        if (SSL_CTX_set_ex_data(sscf->ssl.ctx, ngx_http_segtls_ctx_index,
                                conf)
            == 0)
        {
            ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                          "segtls: SSL_CTX_set_ex_data() failed");
            return NGX_ERROR;
        }

        SSL_CTX_set_info_callback(sscf->ssl.ctx, ngx_http_segtls_info);
    }

    return NGX_OK;
}


/* ngx_http_segtls_init_module - headers of new files, before the workers */

static ngx_int_t
ngx_http_segtls_init_module(ngx_cycle_t *cycle)
{
    ngx_uint_t                    i;
    ngx_open_file_t             **file;
    ngx_http_segtls_main_conf_t  *smcf;

    if (ngx_get_conf(cycle->conf_ctx, ngx_http_module) == NULL) {
        return NGX_OK;
    }

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_segtls_module);
    if (smcf == NULL) {
        return NGX_OK;
    }

    file = smcf->files.elts;

    for (i = 0; i < smcf->files.nelts; i++) {
        if (file[i]->fd != NGX_INVALID_FILE) {
            ngx_http_segtls_header(file[i]);
        }
    }

    return NGX_OK;
}
