/*
 * render_nginx - the nginx include of the GUI HTTPS server block.
 */
#ifndef SEGTLS_RENDER_NGINX_H
#define SEGTLS_RENDER_NGINX_H

#include "render_check.h"

/* seg_render_nginx - the include text; notices are added to the array */
char *seg_render_nginx(const seg_settings *s, GPtrArray *notices,
                       GError **error);
/* seg_render_nginx_target - add the target's lines (gui_log) to *nginx */
gboolean seg_render_nginx_target(const seg_render_target *t, char **nginx,
                                 GError **error);

#endif
