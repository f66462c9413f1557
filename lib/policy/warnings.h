/*
 * warnings - usable-cipher warnings of a whole configuration.
 */
#ifndef SEGTLS_WARNINGS_H
#define SEGTLS_WARNINGS_H

#include <glib.h>
#include "settings.h"

/*
 * seg_settings_warnings - the usable-cipher warnings of all services, in
 * service order, one line each (char *, owned by the array):
 *  "Warning: Inbound SMTP: TLS v1.1 is enabled but no cipher in the cipher
 *   string can be used with it; only TLS v1.2 can be negotiated."
 * With several usable versions: "only TLS v1.2 and TLS v1.3 can be
 * negotiated"; with none: "no TLS version can be negotiated."
 * A certificate that cannot be read gives a warning line too, and so do
 * the words of a cipher string OpenSSL does not know and skips:
 *  "Warning: Inbound SMTP: OpenSSL does not know "MEDUIM" in the cipher
 *   string and ignores it."
 */
GPtrArray *seg_settings_warnings(const seg_settings *s);

/* seg_service_usable - usable mask of one service, as the warnings see it */
unsigned seg_service_usable(const seg_settings *s, seg_service svc);

/*
 * seg_cert_reader - how the analysis reads a certificate file: its
 * contents (*pem, g_free) or FALSE with the reason alone ("No such file
 * or directory"), which becomes "Warning: TITLE: cannot load certificate
 * PATH: REASON".
 */
typedef gboolean (*seg_cert_reader)(const char *path, char **pem, gsize *len,
                                    gpointer data, GError **error);

/* The analysis of a whole configuration, per service. */
typedef struct seg_analysis {
    GPtrArray  *warnings[SEG_SVC_COUNT];        /* lines, as above */
    unsigned    usable[SEG_SVC_COUNT];
} seg_analysis;

/*
 * seg_settings_analyse - every service's warnings and usable versions in
 * one pass; reader NULL: seg_file_read_bounded(). Free with
 * seg_analysis_clear().
 */
void seg_settings_analyse(const seg_settings *s, seg_cert_reader reader,
                          gpointer data, seg_analysis *a);
void seg_analysis_clear(seg_analysis *a);

#endif
