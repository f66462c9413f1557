/*
 * render_postfix - main.cf parameters, master.cf overrides and the tls_config_file
 * of Postfix (checks the settings itself).
 */
#ifndef SEGTLS_RENDER_POSTFIX_H
#define SEGTLS_RENDER_POSTFIX_H

#include "render_check.h"

/* seg_render_postfix - fill r->main_cf, r->master_cf and r->postfix_tls */
gboolean seg_render_postfix(const seg_settings *s, const seg_render_target *t,
                            seg_render *r, GError **error);

#endif
