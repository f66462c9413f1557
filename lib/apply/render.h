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
#include "render_check.h"

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

#endif
