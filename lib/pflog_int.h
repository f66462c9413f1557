/*
 * pflog_int - internals shared by pflog.c, pflog_smtpd.c, pflog_smtp.c.
 */
#ifndef SEGTLS_PFLOG_INT_H
#define SEGTLS_PFLOG_INT_H

#include <string.h>
#include "pflog.h"

#define PF_ADDR_MAX     64      /* IPv6 text + zone fits */
#define PF_NAME_MAX     256     /* DNS name */
#define PF_QID_MAX      32      /* long queue ids are ~15-20 characters */
#define PF_ERR_MAX      512     /* OpenSSL error string */

/* a piece of the line: pointer + length, never NUL-terminated */
typedef struct pf_str {
    const char *p;
    size_t      n;
} pf_str;

typedef struct pf_line {
    time_t      when;
    pf_str      syslog_name;    /* "postfix/submission" */
    pf_str      daemon;         /* "smtpd" */
    long        pid;
    pf_str      text;           /* after "]: " */
} pf_line;

/* TLS handshake failure waiting for its details or its outcome */
enum { PF_TLS_NONE, PF_TLS_ERROR, PF_TLS_TUPLE };

typedef struct pf_conn {
    long        pid;
    guint64     id;             /* open ICID/DCID, 0: none */
    time_t      last;           /* time of the last line of this pid */
    int         tls;            /* PF_TLS_* */
    unsigned long err_code;
    char        err[PF_ERR_MAX];
    /* smtpd: "hostname NAME does not resolve to address ADDR" */
    char        ptr_name[PF_NAME_MAX];
    char        ptr_addr[PF_ADDR_MAX];
    /* smtp: the delivery in progress */
    char        qid[PF_QID_MAX];
    gboolean    tls_reported;   /* deferring/STARTTLS record written */
    GArray     *rids;           /* guint RIDs delivered (status=sent) */
    time_t      start;          /* time of the first delivered RID */
} pf_conn;

typedef struct pf_msg {
    char        qid[PF_QID_MAX];
    guint64     mid;
    guint64     icid;           /* 0: local submission or unknown */
    gboolean    from_done;
    long        dpid;           /* smtp pid delivering it, 0: none */
    GPtrArray  *rcpts;          /* RID -> "<addr>" */
} pf_msg;

struct seg_pflog {
    seg_ids    *ids;
    seg_pflog_emit_fn emit;
    void       *ctx;
    char       *ifname;         /* NULL: syslog name */
    char       *local_addr;
    int         year;
    int         last_mon;       /* for the December -> January step */
    GHashTable *in;             /* smtpd pid -> pf_conn */
    GHashTable *out;            /* smtp pid -> pf_conn */
    GHashTable *msgs;           /* queue id -> pf_msg */
    seg_pflog_stats st;
    gboolean    id_warned;
    int         tc_key[4];      /* year, mon, day, hour of tc_base */
    time_t      tc_base;
    char        buf[SEG_RECORD_LINE_MAX];
};

/* pf_has - does s start with the literal? (advances past it when it does) */
static inline gboolean pf_has(pf_str *s, const char *lit, size_t n)
{
    if (s->n < n || memcmp(s->p, lit, n) != 0)
        return FALSE;
    s->p += n;
    s->n -= n;
    return TRUE;
}
#define PF_HAS(s, lit) pf_has((s), (lit), sizeof(lit) - 1)

void    pf_emit(seg_pflog *p, time_t when, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
guint64 pf_new_id(seg_pflog *p, seg_id_kind kind);
gboolean pf_find(pf_str s, const char *lit, size_t n, size_t *at);
gboolean pf_peer(pf_str *s, pf_str *name, pf_str *addr, pf_str *port);
gboolean pf_qid(pf_str *s, pf_str *qid);
gboolean pf_tls_established(pf_str s, const char *dir, size_t dirlen, pf_str *addr,
                            pf_str *port, pf_str *proto, pf_str *cipher);
void    pf_copy(char *dst, size_t size, pf_str s);
pf_conn *pf_conn_get(seg_pflog *p, GHashTable *t, long pid);
pf_msg *pf_msg_get(seg_pflog *p, pf_str qid);
pf_msg *pf_msg_new(seg_pflog *p, time_t when, pf_str qid, guint64 icid);
void    pf_msg_remove(seg_pflog *p, pf_msg *m);

gboolean pf_smtpd(seg_pflog *p, const pf_line *l);
gboolean pf_smtp(seg_pflog *p, const pf_line *l);
gboolean pf_qmgr(seg_pflog *p, const pf_line *l);
gboolean pf_pickup(seg_pflog *p, const pf_line *l);
gboolean pf_local(seg_pflog *p, const pf_line *l);
void    pf_delivery_end(seg_pflog *p, pf_conn *c, time_t when);

#endif
