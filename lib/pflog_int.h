/*
 * pflog_int - internals shared by pflog.c, pflog_rec.c, pflog_smtpd.c and
 * pflog_smtp.c.
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

/* an ID in decimal, formatted once when the ID is assigned */
typedef struct pf_idtext {
    guint8      n;
    char        t[23];
} pf_idtext;

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
    pf_idtext   idt;            /* id in decimal */
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
    pf_str      key;            /* qid, the key in seg_pflog.msgs */
    guint32     hash;           /* qid_hash of key */
    guint64     mid;
    guint64     icid;           /* 0: local submission or unknown */
    pf_idtext   midt;           /* mid and icid in decimal */
    pf_idtext   icidt;
    gboolean    from_done;
    long        dpid;           /* smtp pid delivering it, 0: none */
    guint       nrcpt;          /* RIDs given: 0 .. nrcpt - 1 */
    size_t      rcpt_len;       /* bytes used in rcpt */
    size_t      rcpt_size;
    char       *rcpt;           /* by RID: a guint32 length, then the address */
} pf_msg;

#define PF_CONN_CACHE   256     /* direct-mapped pid -> pf_conn cache slots */

struct seg_pflog {
    seg_ids    *ids;
    seg_pflog_emit_fn emit;
    void       *ctx;
    char       *ifname;         /* NULL: syslog name */
    char       *local_addr;
    size_t      ifname_len, local_addr_len;
    int         year;
    int         last_mon;       /* for the December -> January step */
    GHashTable *in;             /* smtpd pid -> pf_conn */
    GHashTable *out;            /* smtp pid -> pf_conn */
    pf_msg    **msgs;           /* by queue id: open addressing, linear probing */
    guint32    *msgs_hash;      /* the hash of each message in msgs */
    size_t      msgs_mask;      /* slots - 1 (a power of two) */
    size_t      msgs_used;
    pf_conn    *in_cache[PF_CONN_CACHE];    /* in and out by pid % PF_CONN_CACHE */
    pf_conn    *out_cache[PF_CONN_CACHE];
    seg_pflog_stats st;
    gboolean    id_warned;
    int         tc_key[4];      /* year, mon, day, hour of tc_base */
    time_t      tc_base;
    guint64     ts_last[2];     /* the last RFC 3164 time field ... */
    time_t      ts_when;        /* ... and its time; ts_when 0: none */
    size_t      len;            /* bytes of the record being built */
    char        buf[SEG_RECORD_LINE_MAX];
};

/* pf_has - does s start with the literal? (advances past it when it does) */
static inline gboolean pf_has(pf_str *s, const char *lit, size_t n)
{
    if (s->n < n || (n > 0 && s->p[0] != lit[0]) || memcmp(s->p, lit, n) != 0)
        return FALSE;
    s->p += n;
    s->n -= n;
    return TRUE;
}
#define PF_HAS(s, lit) pf_has((s), (lit), sizeof(lit) - 1)

/* pf_nul_len - bytes before the first NUL of s (n when none), 8 at a time */
static inline size_t pf_nul_len(const char *s, size_t n)
{
    size_t i = 0;
    guint64 v;

    for (; i + 8 <= n; i += 8) {
        memcpy(&v, s + i, 8);
        if ((v - 0x0101010101010101ULL) & ~v & 0x8080808080808080ULL)
            break;
    }
    while (i < n && s[i] != 0)
        i++;
    return i;
}

/*
 * Records are built piece by piece in p->buf (no printf: this is the hot
 * path of segtls-logparse) and handed to the callback by pf_rec(); the
 * builder is pflog_rec.c. Pieces are cut at the end of the buffer, and a
 * pf_str piece stops at a NUL, as "%.*s" did.
 */
static inline void pf_put(seg_pflog *p, const char *s, size_t n)
{
    size_t room = sizeof(p->buf) - 1 - p->len;

    if (n > room)
        n = room;
    memcpy(p->buf + p->len, s, n);
    p->len += n;
}

/* pf_put_short - pf_put for short pieces of unknown length: no call */
static inline void pf_put_short(seg_pflog *p, const char *s, size_t n)
{
    char *d = p->buf + p->len;

    if (n > 32 || n > sizeof(p->buf) - 1 - p->len) {
        pf_put(p, s, n);
        return;
    }
    p->len += n;
    for (; n >= 8; n -= 8, s += 8, d += 8)
        memcpy(d, s, 8);
    if (n & 4) {
        memcpy(d, s, 4);
        s += 4;
        d += 4;
    }
    if (n & 2) {
        memcpy(d, s, 2);
        s += 2;
        d += 2;
    }
    if (n & 1)
        *d = *s;
}
#define PF_PUT(p, lit) pf_put((p), (lit), sizeof(lit) - 1)

/* pf_put_str - a piece of the current line, up to a NUL */
static inline void pf_put_str(seg_pflog *p, pf_str s)
{
    pf_put_short(p, s.p, pf_nul_len(s.p, s.n));
}

/* pf_put_id - an ID in decimal */
static inline void pf_put_id(seg_pflog *p, const pf_idtext *d)
{
    pf_put_short(p, d->t, d->n);
}
void    pf_id_text(pf_idtext *d, guint64 v);
void    pf_put_cstr(seg_pflog *p, const char *s);
void    pf_put_u64(seg_pflog *p, guint64 v);
void    pf_rec(seg_pflog *p, time_t when);
void    pf_rec_tls_error(seg_pflog *p, time_t when, const char *kind, const pf_idtext *id,
                         const char *what, unsigned long code, const char *err);
void    pf_rec_tls_success(seg_pflog *p, time_t when, const char *kind, const pf_idtext *id,
                           pf_str proto, pf_str cipher);
guint64 pf_new_id(seg_pflog *p, seg_id_kind kind);
gboolean pf_find(pf_str s, const char *lit, size_t n, size_t *at);
gboolean pf_peer(pf_str *s, pf_str *name, pf_str *addr, pf_str *port);
gboolean pf_qid(pf_str *s, pf_str *qid);
gboolean pf_tls_established(pf_str s, const char *dir, size_t dirlen, pf_str *addr,
                            pf_str *port, pf_str *proto, pf_str *cipher);
void    pf_copy(char *dst, size_t size, pf_str s);
void    pf_tls_error_begin(pf_conn *c, pf_str reason);
gboolean pf_tls_library(pf_conn *c, pf_str s);
pf_conn *pf_conn_get(seg_pflog *p, GHashTable *t, long pid);
pf_conn *pf_conn_find(seg_pflog *p, GHashTable *t, long pid);
pf_msg *pf_msg_get(seg_pflog *p, pf_str qid);
guint   pf_msg_rcpt(pf_msg *m, pf_str rcpt, gboolean *added);
pf_msg *pf_msg_new(seg_pflog *p, time_t when, pf_str qid, guint64 icid);
void    pf_msg_remove(seg_pflog *p, pf_msg *m);
void    pf_msgs_init(seg_pflog *p);
void    pf_msgs_free(seg_pflog *p);

gboolean pf_smtpd(seg_pflog *p, const pf_line *l);
gboolean pf_smtp(seg_pflog *p, const pf_line *l);
gboolean pf_qmgr(seg_pflog *p, const pf_line *l);
gboolean pf_pickup(seg_pflog *p, const pf_line *l);
gboolean pf_local(seg_pflog *p, const pf_line *l);
void    pf_delivery_end(seg_pflog *p, pf_conn *c, time_t when);

#endif
