/*
 * report_int - what report.c (reading, joining, counting) hands to
 * report_out.c (the renderers). Private to the records layer.
 */
#ifndef SEGTLS_REPORT_INT_H
#define SEGTLS_REPORT_INT_H

#include "report.h"

enum { RP_IN, RP_OUT, RP_NDIRS };
enum { RP_PLAIN, RP_SUCCESS, RP_FAILED };

#define RP_BUCKETS_MAX  48

typedef struct rp_count {
    guint32     id;             /* a name of rp_result.names */
    guint64     n;
} rp_count;

typedef struct rp_row {
    const char *domain;         /* "*" for the totals */
    guint64     conns, success, failed, required, plain, msgs, msgs_tls;
    GArray     *versions;       /* rp_count, most first */
    GArray     *ciphers;        /* rp_count, most first */
} rp_row;

typedef struct rp_bucket {
    guint64     failed, plain;
    GArray     *versions;       /* rp_count by version name */
} rp_bucket;

typedef struct rp_dir {
    gboolean    shown;
    guint       nrows;          /* rows before --top */
    GPtrArray  *rows;           /* rp_row, sorted, --top applied */
    rp_row      total;
    gint64      bucket0;        /* first second of the first bucket */
    gint64      width;          /* seconds per bucket */
    guint       nbuckets;
    rp_bucket   buckets[RP_BUCKETS_MAX];
} rp_dir;

typedef struct rp_result {
    gint64      first, last;    /* times of the first and last connection counted */
    gint64      since, until;   /* the options */
    const char *domain;
    guint       top;
    GPtrArray  *names;          /* versions, ciphers (owned by the report) */
    GHashTable *owned;          /* names made for the result */
    rp_dir      dir[RP_NDIRS];
} rp_result;

/* rp_compute - the report as it stands */
rp_result *rp_compute(seg_report *r);
void    rp_result_free(rp_result *res);

#endif
