/*
 * render - settings to configuration text (SPEC section 5).
 *
 * The renderers are pure functions: settings plus a small description of
 * the target (master.cf service names, file paths) give text, nothing is
 * read or written. Every value is checked again before it is rendered:
 * versions (seg_methods_check), cipher strings (seg_cipher_string_check)
 * and paths and service names (seg_render_check_*); a value that would
 * inject into a configuration file (newline, ';', '{', '}', quotes, '#',
 * '$', blanks, ...) makes the renderer fail with a GError naming it, and
 * then nothing at all is rendered.
 *
 *  Postfix:  main.cf parameters for `postconf -c DIR -e` ("name = value"),
 *            master.cf overrides for `postconf -c DIR -P`
 *            ("service/type/parameter=value") and the OpenSSL
 *            configuration file named by tls_config_file (one application
 *            section per direction, selected with -o tls_config_name=).
 *  nginx:    an include file for the GUI HTTPS server block.
 *  clients:  an OpenSSL configuration file for OPENSSL_CONF.
 *
 * Where a target cannot express a setting, the renderer says so in a
 * one-line notice ("notice: GUI HTTPS: ...") instead of pretending.
 */
#ifndef SEGTLS_RENDER_H
#define SEGTLS_RENDER_H

#include <glib.h>
#include "settings.h"

/* OpenSSL application names in the Postfix tls_config_file. */
#define SEG_RENDER_APP_INBOUND  "segtls_inbound"
#define SEG_RENDER_APP_OUTBOUND "segtls_outbound"

#define SEG_RENDER_DEFAULT_SMTPD_SERVICE "smtp/inet"
#define SEG_RENDER_DEFAULT_SMTP_SERVICE  "smtp/unix"

typedef struct seg_render_target {
    const char *const *smtpd_services;  /* master.cf "name/type", NULL ends */
    const char *const *smtp_services;   /* "smtp/unix", "relay/unix", ... */
    const char *tls_config_file;        /* absolute path */
    const char *gui_log;                /* nginx "segtls_gui_log PATH;" (needs
                                           ngx_http_segtls_module); NULL or
                                           "" = none */
} seg_render_target;

typedef struct seg_render {
    GPtrArray  *main_cf;        /* char *: "name = value" */
    GPtrArray  *master_cf;      /* char *: "service/type/parameter=value" */
    char       *postfix_tls;    /* text of the tls_config_file */
    char       *nginx;          /* text of the nginx include */
    char       *client;         /* text of the OPENSSL_CONF file */
    GPtrArray  *notices;        /* char *: "notice: Service: ..." */
} seg_render;

/* seg_render_new - render every target; NULL and an error on a bad value */
seg_render *seg_render_new(const seg_settings *s, const seg_render_target *t,
                           GError **error);
void seg_render_free(seg_render *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(seg_render, seg_render_free)

/*
 * seg_render_format - the whole rendering as text, one section per target
 * with a "### ..." header line (segtls-apply --render).
 */
char *seg_render_format(const seg_render *r, const seg_render_target *t,
                        const char *nginx_include, const char *client_conf);

/* seg_render_settings_check - every settings value, checked again */
gboolean seg_render_settings_check(const seg_settings *s, GError **error);

/* seg_render_target_check - service names, tls_config_file and gui_log paths */
gboolean seg_render_target_check(const seg_render_target *t, GError **error);

/*
 * seg_render_check_path - an absolute path without blanks, commas,
 * control characters or any of ; { } ' " # $ \ `. "what" names it in
 * the message: "inbound.certificate: character ';' is not allowed in a
 * path".
 */
gboolean seg_render_check_path(const char *what, const char *path,
                               GError **error);

/* seg_render_check_service - "name/type" of a master.cf service */
gboolean seg_render_check_service(const char *service, GError **error);

/*
 * The renderers, one per target (render_postfix.c, render_nginx.c,
 * render_client.c). Each checks the settings itself; notices are added
 * to the array given.
 */
gboolean seg_render_postfix(const seg_settings *s, const seg_render_target *t,
                            seg_render *r, GError **error);
char *seg_render_nginx(const seg_settings *s, GPtrArray *notices,
                       GError **error);
/* seg_render_nginx_target - add the target's lines (gui_log) to *nginx */
gboolean seg_render_nginx_target(const seg_render_target *t, char **nginx,
                                 GError **error);
char *seg_render_client(const seg_settings *s, GPtrArray *notices,
                        GError **error);

#endif
