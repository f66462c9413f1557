/*
 * render_client - the OpenSSL configuration of Other TLS client services.
 */
#ifndef SEGTLS_RENDER_CLIENT_H
#define SEGTLS_RENDER_CLIENT_H

#include "render_check.h"

/* seg_render_client - the OPENSSL_CONF text; notices are added to the array */
char *seg_render_client(const seg_settings *s, GPtrArray *notices,
                        GError **error);

#endif
