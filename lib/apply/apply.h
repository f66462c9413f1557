/*
 * apply - render, validate, write, reload and prove (SPEC section 5).
 *
 * seg_apply() is what segtls-apply and a commit run:
 *
 *  1. take STATE_DIR/apply/lock (a second apply waits for the first);
 *  2. find the master.cf services segtls governs (apply_services.c):
 *     Inbound SMTP every inet service running smtpd, Outbound SMTP every
 *     unix service running smtp or lmtp, unless the options name them or
 *     exclude some;
 *  3. render every target (render.h) and check each value with OpenSSL:
 *     the OpenSSL configuration texts through SSL_CONF_cmd(), the
 *     certificate files with their keys, the verify CA file;
 *  4. note the current value of every Postfix parameter it is about to
 *     set and the current contents of every file it writes (copies under
 *     STATE_DIR/apply/ for the administrator);
 *  5. write: `postconf -c DIR -e` and `postconf -c DIR -P` for Postfix
 *     (main.cf and master.cf are never edited by hand), the other files
 *     atomically; `nginx -t`;
 *  6. `postfix -c DIR reload` and `nginx -s reload`, for the servers that
 *     run (a stopped one gets its files and one line saying so);
 *  7. probe every governed smtpd service (STARTTLS, or direct TLS in
 *     wrapper mode) and nginx (lib/tls/probe.h) with one handshake per TLS
 *     version and the renegotiation check: exactly the usable versions
 *     of the policy (usable.h) must negotiate;
 *  8. when anything fails or disagrees after step 4, put back what segtls
 *     changed and nobody changed since (each parameter and file compared
 *     with what segtls wrote), reload again and fail with an error saying
 *     what disagreed and what was left alone.
 *
 * A successful apply records the master.cf overrides it set and what was
 * there before (STATE_DIR/apply/postfix-params): a service that leaves
 * segtls's governance gets its previous values back, and an override
 * segtls did not write (submission's smtpd_tls_security_level=encrypt) is
 * told from one it did.
 *
 * With dry_run only steps 2 and 3 run, and report->diff gets a unified
 * diff of every file that would change (computed on copies in a temp
 * directory).
 */
#ifndef SEGTLS_APPLY_H
#define SEGTLS_APPLY_H

#include <glib.h>
#include "render.h"
#include "settings.h"

#define SEG_APPLY_DEFAULT_POSTFIX_DIR   "/etc/postfix"
#define SEG_APPLY_DEFAULT_TLS_CONFIG    SEGTLS_SYSCONFDIR "/segtls/postfix-tls.cnf"
#define SEG_APPLY_DEFAULT_NGINX_INCLUDE SEGTLS_SYSCONFDIR "/nginx/snippets/segtls-gui.conf"
#define SEG_APPLY_DEFAULT_CLIENT_CONF   SEGTLS_SYSCONFDIR "/segtls/openssl-client.cnf"
#define SEG_APPLY_DEFAULT_PROBE_HTTPS   "127.0.0.1:443"
#define SEG_APPLY_DEFAULT_TIMEOUT       30.0    /* seconds per command */
#define SEG_APPLY_PROBE_WAIT            10.0    /* seconds for a reload to show */

typedef struct seg_apply_opts {
    const char *postfix_dir;            /* config_directory; NULL = default */
    const char *const *smtpd_services;  /* NULL = every inet smtpd service */
    const char *const *smtp_services;   /* NULL = every unix smtp/lmtp service */
    const char *const *exclude_services; /* "name/type" left alone; NULL = none */
    const char *tls_config_file;        /* NULL = default */
    const char *nginx_prefix;           /* nginx -p; NULL = nginx's own */
    const char *nginx_conf;             /* nginx -c; NULL = nginx's own */
    const char *nginx_include;          /* NULL = default */
    const char *client_conf;            /* NULL = default */
    const char *gui_log;                /* segtls_gui_log in the nginx
                                           include; NULL = none */
    const char *const *probe_smtp;      /* "[NAME/TYPE=]HOST:PORT" each: where
                                           to probe a service (no NAME/TYPE:
                                           the first smtpd service); NULL =
                                           from master.cf */
    const char *probe_https;            /* HOST:PORT; NULL = default */
    const char *state_dir;              /* NULL = SEG_DEFAULT_STATE_DIR */
    const char *policy_service;         /* check_policy_service endpoint of
                                           segtls-policy; NULL = default
                                           (SEG_RENDER_DEFAULT_POLICY_SERVICE) */
    gboolean    no_postfix;
    gboolean    no_nginx;
    gboolean    dry_run;
    double      timeout;                /* <= 0: default */
} seg_apply_opts;

typedef struct seg_apply_report {
    GPtrArray  *warnings;       /* "Warning: Inbound SMTP: ..." (usable.h), of
                                   the servers being applied */
    GPtrArray  *notices;        /* "notice: ..." (render.h) */
    GPtrArray  *lines;          /* what was done and what the probes saw */
    char       *diff;           /* dry run: unified diff ("" = no change) */
} seg_apply_report;

seg_apply_report *seg_apply_report_new(void);
void seg_apply_report_free(seg_apply_report *rep);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(seg_apply_report, seg_apply_report_free)

/*
 * seg_apply - the whole sequence above. FALSE with one error line when it
 * failed; the message then ends in "; the previous configuration was
 * restored" when files had been written.
 */
gboolean seg_apply(const seg_settings *s, const seg_apply_opts *o,
                   seg_apply_report *rep, GError **error);

/*
 * seg_apply_remove - take segtls out of the servers (segtls-apply
 * --remove, before the package is purged): under the lock, every
 * master.cf override segtls set gets its value from before segtls back
 * where segtls's value still holds (the ledger), Postfix is reloaded, and
 * the files segtls wrote (their first lines say so) are removed:
 * tls_config_file, the client configuration, the nginx include (only
 * when nginx -t still passes without it; then nginx is reloaded). main.cf
 * keeps the logging parameters. FALSE with one error line.
 */
gboolean seg_apply_remove(const seg_apply_opts *o, seg_apply_report *rep, GError **error);

/* One master.cf service as segtls sees it (seg_apply_services()). */
typedef struct seg_pf_service {
    char       *name;           /* "submission/inet" */
    char       *command;        /* "smtpd", "smtp", "lmtp", "pickup", ... */
    int         governed;       /* SEG_SVC_INBOUND, SEG_SVC_OUTBOUND or -1 */
    char       *level;          /* its *_tls_security_level now: its own
                                   override, else main.cf's ("" = unset) */
    gboolean    own_level;      /* its entry overrides that level */
    gboolean    wrapper;        /* smtpd_tls_wrappermode = yes (smtpd) */
    char       *target;         /* inet smtpd: HOST:PORT to probe, or NULL
                                   when it cannot be told */
} seg_pf_service;

/*
 * seg_apply_services - every service of master.cf (postconf -M, -P, -h),
 * in its order, with the segtls service that governs it under these
 * options. FALSE and an error when master.cf cannot be read, or when the
 * options name a service master.cf does not have or one that runs the
 * wrong program. Needs a Postfix (not no_postfix).
 */
GPtrArray *seg_apply_services(const seg_apply_opts *o, GError **error);
void seg_pf_service_free(seg_pf_service *sv);

/*
 * seg_apply_listen_target - where an inet service listens, from its
 * master.cf name ("smtp", "587", "127.0.0.1:2525", "[::1]:25"): HOST:PORT
 * with default_host when the name has no address (or a wildcard one);
 * NULL when the port cannot be told.
 */
char *seg_apply_listen_target(const char *service, const char *default_host);

/*
 * seg_apply_target - the render target of the options: the governed
 * services (from master.cf, or as named when there is no Postfix to
 * read) and paths. Free with seg_apply_target_free().
 */
seg_render_target *seg_apply_target(const seg_apply_opts *o, GError **error);
void seg_apply_target_free(seg_render_target *t);

/*
 * seg_apply_nexthop - where this host's Postfix (config_directory
 * pf_dir) sends mail for domain: *nexthop "[127.0.0.1]:2525" from the
 * transport maps (domain, .parent, *), else relayhost, else the domain
 * itself (its MX); NULL when the transport does not deliver by SMTP.
 * *how says which ("transport map inline:{...}, key old.test:
 * smtp:[127.0.0.1]:2525", "relayhost [relay]:25", "MX of example.com").
 */
gboolean seg_apply_nexthop(const char *pf_dir, const char *domain, double timeout,
                           char **nexthop, char **how, GError **error);

/* apply_check.c - OpenSSL checks */
gboolean seg_apply_check_openssl_conf(const char *what, const char *text,
                                      const char *const *apps, GError **error);
gboolean seg_apply_check_certificate(const char *what, const char *path,
                                     GError **error);
gboolean seg_apply_check_ca_file(const char *what, const char *path,
                                 GError **error);

/*
 * apply_run.c - run a command from argv (no shell) with a timeout in
 * seconds; *output is stdout and stderr together. tty: stderr and
 * stdout are a pseudo terminal (postfix prints errors only then).
 * seg_apply_run() fails only when the command cannot run or times out;
 * seg_apply_run_ok() also on a non-zero exit.
 */
gboolean seg_apply_run(const char *const *argv, double timeout, gboolean tty,
                       char **output, int *status, GError **error);
gboolean seg_apply_run_ok(const char *const *argv, double timeout,
                          gboolean tty, char **output, GError **error);

#endif
