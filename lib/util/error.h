/*
 * error - the GError domain of segtls.
 */
#ifndef SEGTLS_ERROR_H
#define SEGTLS_ERROR_H

#include <glib.h>

#define SEG_ERROR seg_error_quark()
GQuark seg_error_quark(void);

typedef enum {
    SEG_ERROR_INVALID,          /* a value breaks a rule */
    SEG_ERROR_UNKNOWN_KEY,      /* no such setting */
    SEG_ERROR_IO,               /* file system */
    SEG_ERROR_LOCKED,           /* store lock not available */
    SEG_ERROR_PROTOCOL,         /* control protocol */
    SEG_ERROR_DENIED,           /* caller not allowed */
    SEG_ERROR_NOT_FOUND,        /* e.g. no such rollback entry */
    SEG_ERROR_TLS,              /* OpenSSL said no */
    SEG_ERROR_APPLY,            /* apply step failed */
    SEG_ERROR_CONFLICT,         /* another commit came first (cluster) */
    SEG_ERROR_UNREACHABLE,      /* etcd cannot be reached (cluster) */
} seg_error_code;

#endif
