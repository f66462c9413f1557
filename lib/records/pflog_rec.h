/*
 * pflog_rec - the record builder of the Postfix log parser.
 *
 * Records are built piece by piece in p->buf (no printf: this is the hot
 * path of segtls-logparse) and handed to the callback by pf_rec(). Pieces
 * are cut at the end of the buffer, and a pf_str piece stops at a NUL, as
 * "%.*s" did.
 */
#ifndef SEGTLS_PFLOG_REC_H
#define SEGTLS_PFLOG_REC_H

#include "pflog_int.h"

void    pf_put_cut(seg_pflog *p, const char *s, size_t n);

/* pf_put - a piece of n bytes (cut by pf_put_cut when it does not fit) */
static inline void pf_put(seg_pflog *p, const char *s, size_t n)
{
    if (G_UNLIKELY(n > sizeof(p->buf) - 1 - p->len)) {
        pf_put_cut(p, s, n);
        return;
    }
    memcpy(p->buf + p->len, s, n);      /* a constant n: no call */
    p->len += n;
}

/* pf_put_short - pf_put for short pieces of unknown length: no call, two overlapping copies */
static inline void pf_put_short(seg_pflog *p, const char *s, size_t n)
{
    char *d = p->buf + p->len;

    if (G_UNLIKELY(n > 32 || n > sizeof(p->buf) - 1 - p->len)) {
        pf_put(p, s, n);
        return;
    }
    p->len += n;
    if (n >= 16) {
        memcpy(d, s, 16);
        memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else if (n > 0) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
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

/* pf_put_mid_icid - "MID m ICID n", the head of a message's records */
static inline void pf_put_mid_icid(seg_pflog *p, const pf_msg *m)
{
    PF_PUT(p, "MID ");
    pf_put_id(p, &m->midt);
    PF_PUT(p, " ICID ");
    pf_put_id(p, &m->icidt);
}

void    pf_id_text(pf_idtext *d, guint64 v);
void    pf_put_cstr(seg_pflog *p, const char *s);
void    pf_put_u64(seg_pflog *p, guint64 v);
void    pf_rec(seg_pflog *p, time_t when);
void    pf_rec_tls_error(seg_pflog *p, time_t when, const char *kind, const pf_idtext *id,
                         const char *what, unsigned long code, const char *err);
void    pf_rec_tls_success(seg_pflog *p, time_t when, const char *kind, const pf_idtext *id,
                           pf_str proto, pf_str cipher);
guint64 pf_new_id(seg_pflog *p, seg_id_kind kind, pf_idtext *text);

#endif
