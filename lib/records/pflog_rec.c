/*
 * pflog_rec - the record builder of the Postfix log parser.
 *
 * Records are built piece by piece in p->buf with the pf_put*() helpers
 * of pflog_int.h (no printf: this is the hot path of segtls-logparse)
 * and handed to the callback by pf_rec(), cleaned as the record writer
 * cleans (seg_recfmt_clean: control characters from the log, which
 * hold what remote parties sent, never reach a record, whoever writes
 * it). IDs are formatted in decimal once, when they are taken
 * (pf_id_text), and copied as text after that.
 */
#include "msg.h"
#include "pflog_int.h"
#include "recfmt.h"
#include "pflog_rec.h"

/* pf_put_cut - the part of a piece that fits (pf_put of a piece that does not) */
void pf_put_cut(seg_pflog *p, const char *s, size_t n)
{
    size_t room = sizeof(p->buf) - 1 - p->len;

    if (n > room)
        n = room;
    memcpy(p->buf + p->len, s, n);
    p->len += n;
}

/* pf_put_cstr - a C string */
void pf_put_cstr(seg_pflog *p, const char *s)
{
    pf_put_short(p, s, strlen(s));
}

/* u64_text - v in decimal, ending at e; the first digit */
static char *u64_text(guint64 v, char *e)
{
    static const char pairs[201] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    char *s = e;

    while (v >= 100) {
        s -= 2;
        memcpy(s, pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    if (v >= 10) {
        s -= 2;
        memcpy(s, pairs + 2 * v, 2);
    } else {
        *--s = (char) ('0' + v);
    }
    return s;
}

/* pf_put_u64 - a number in decimal */
void pf_put_u64(seg_pflog *p, guint64 v)
{
    char d[24], *e = d + sizeof(d), *s = u64_text(v, e);

    pf_put(p, s, e - s);
}

/* pf_id_text - format an ID once, for pf_put_id() */
void pf_id_text(pf_idtext *d, guint64 v)
{
    char t[24], *e = t + sizeof(t), *s = u64_text(v, e);

    d->n = (guint8) (e - s);
    memcpy(d->t, s, d->n);
}

/* pf_rec - hand the record built in p->buf to the callback, cleaned */
void pf_rec(seg_pflog *p, time_t when)
{
    size_t n = seg_recfmt_clean(p->buf, p->buf, p->len, 0);

    p->len = 0;
    p->st.records++;
    p->emit(p->ctx, when, SEG_RECORD_INFO, p->buf, n);
}

/* pf_rec_tls_error - "KIND n TLS WHAT: (code, 'err')" */
void pf_rec_tls_error(seg_pflog *p, time_t when, const char *kind, const pf_idtext *id,
                      const char *what, unsigned long code, const char *err)
{
    pf_put_cstr(p, kind);
    pf_put_id(p, id);
    PF_PUT(p, " TLS ");
    pf_put_cstr(p, what);
    PF_PUT(p, ": (");
    pf_put_u64(p, code);
    PF_PUT(p, ", '");
    pf_put_cstr(p, err);
    PF_PUT(p, "')");
    pf_rec(p, when);
}

/* pf_rec_tls_success - "KIND n TLS success protocol P cipher C" (KIND: "ICID " or "DCID ") */
void pf_rec_tls_success(seg_pflog *p, time_t when, const char *kind, const pf_idtext *id,
                        pf_str proto, pf_str cipher)
{
    pf_put_short(p, kind, 5);
    pf_put_id(p, id);
    PF_PUT(p, " TLS success protocol ");
    pf_put_str(p, proto);
    PF_PUT(p, " cipher ");
    pf_put_str(p, cipher);
    pf_rec(p, when);
}

/* id_text_next - the decimal text of v + 1 from that of v */
static void id_text_next(pf_idtext *d)
{
    int i = d->n;

    while (i > 0 && d->t[i - 1] == '9')
        d->t[--i] = '0';
    if (i > 0) {
        d->t[i - 1]++;
    } else {                            /* 99 -> 100 */
        memmove(d->t + 1, d->t, d->n++);
        d->t[0] = '1';
    }
}

/*
 * pf_new_id - the next ID and its text, 0 (records suppressed) when none
 * can be had; the text of an ID one more than the last of its kind is
 * that one's, incremented
 */
guint64 pf_new_id(seg_pflog *p, seg_id_kind kind, pf_idtext *text)
{
    g_autoptr(GError) err = NULL;
    guint64 id = seg_ids_next(p->ids, kind, &err);

    if (id == 0) {
        if (!p->id_warned) {
            msg_warn("no new %s: %s; records of that object are not written",
                     seg_ids_kind_name(kind), err ? err->message : "unknown error");
            p->id_warned = TRUE;
        }
        return 0;
    }
    if (p->last_id[kind] != 0 && id == p->last_id[kind] + 1)
        id_text_next(&p->last_idt[kind]);
    else
        pf_id_text(&p->last_idt[kind], id);
    p->last_id[kind] = id;
    *text = p->last_idt[kind];
    return id;
}
