/*
 * apply - render, validate, write, reload and prove (SPEC section 5).
 *
 * seg_apply() is what segtls-apply and a commit run:
 *
 *  1. render every target (render.h) and check each value with OpenSSL:
 *     the OpenSSL configuration texts through SSL_CONF_cmd(), the
 *     certificate files with their keys, the verify CA file;
 *  2. keep the current files (main.cf, master.cf, the tls_config_file,
 *     the nginx include, the client configuration) under
 *     STATE_DIR/apply/;
 *  3. write: `postconf -c DIR -e` and `postconf -c DIR -P` for Postfix
 *     (main.cf and master.cf are never edited by hand), the other files
 *     atomically; `nginx -t`;
 *  4. `postfix -c DIR reload` and `nginx -s reload`;
 *  5. probe each server (lib/tls/probe.h) with one handshake per TLS version
 *     and the renegotiation check: exactly the usable versions of the
 *     policy (usable.h) must negotiate;
 *  6. when anything fails or disagrees after step 2, put the kept files
 *     back, reload again and fail with an error saying what disagreed.
 *
 * With dry_run only step 1 runs, and report->diff gets a unified diff of
 * every file that would change (computed on copies in a temp directory).
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
    const char *const *smtpd_services;  /* NULL = smtp/inet */
    const char *const *smtp_services;   /* NULL = smtp/unix (+ relay/unix) */
    const char *tls_config_file;        /* NULL = default */
    const char *nginx_prefix;           /* nginx -p; NULL = nginx's own */
    const char *nginx_conf;             /* nginx -c; NULL = nginx's own */
    const char *nginx_include;          /* NULL = default */
    const char *client_conf;            /* NULL = default */
    const char *gui_log;                /* segtls_gui_log in the nginx
                                           include; NULL = none */
    const char *probe_smtp;             /* HOST:PORT; NULL = from the service */
    const char *probe_https;            /* HOST:PORT; NULL = default */
    const char *state_dir;              /* NULL = SEG_DEFAULT_STATE_DIR */
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
 * seg_apply_target - the render target of the options: services (relay
 * is added when master.cf has it and no smtp service was named) and
 * paths. Free with seg_apply_target_free().
 */
seg_render_target *seg_apply_target(const seg_apply_opts *o, GError **error);
void seg_apply_target_free(seg_render_target *t);

/*
 * seg_apply_probe - apply_probe.c: probe Inbound SMTP and GUI HTTPS
 * (unless no_postfix / no_nginx) until both agree with the policy; what
 * was seen goes to lines; the error names every disagreement.
 */
gboolean seg_apply_probe(const seg_settings *s, const seg_apply_opts *o,
                         const seg_render_target *t, GPtrArray *lines,
                         GError **error);

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
