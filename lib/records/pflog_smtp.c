/*
 * pflog_smtp - outbound records from postfix/smtp, qmgr and pickup lines.
 *
 * An smtp process delivers one message to one next hop at a time. Its
 * connection (DCID) starts at the TLS line ("... TLS connection
 * established to", "SSL_connect error to") or, without TLS, at the first
 * "QUEUEID: to=<...>, relay=..." line. Recipient lines are collected and
 * the delivery ends (Delivery start, Message done, DCID close) when the
 * same process starts something else, when qmgr removes or re-activates
 * the message, when the process exits, or at seg_pflog_flush() /
 * seg_pflog_expire(). Postfix does not log outbound disconnects, so this
 * is the closest honest "close". One message may be delivered by several
 * processes at once (recipients on different transports or next hops):
 * each is linked to the message, and each delivery ends on its own.
 * A handshake failure becomes "TLS deferring" when the status line says
 * "deferred (Cannot start TLS: handshake failure)", and "TLS failed" when
 * Postfix goes on without TLS ("QUEUEID: Cannot start TLS: handshake
 * failure" followed by a plaintext delivery).
 */
#include "pflog_conn.h"
#include "pflog_field.h"
#include "pflog_int.h"
#include "pflog_msg.h"
#include "pflog_rec.h"
#include "pflog_smtp.h"

/* tls_failed - a pending handshake failure that did not defer the mail */
static void tls_failed(seg_pflog *p, pf_conn *c, time_t when)
{
    if (c->tls != PF_TLS_NONE && c->id)
        pf_rec_tls_error(p, when, "DCID ", &c->idt, "failed", c->err_code, c->err);
    c->tls = PF_TLS_NONE;
}

/* rid_list - "0, 1, 2" of the delivered recipients (at most ~1000 bytes) */
static size_t rid_list(const pf_conn *c, char *buf, size_t size)
{
    size_t n = 0;

    for (guint i = 0; i < c->rids->len && n + 16 < size; i++) {
        char d[16], *e = d + sizeof(d), *s = e;
        guint v = g_array_index(c->rids, guint, i);

        do
            *--s = (char) ('0' + v % 10);
        while ((v /= 10) != 0);
        if (i) {
            buf[n++] = ',';
            buf[n++] = ' ';
        }
        memcpy(buf + n, s, e - s);
        n += e - s;
    }
    return n;
}

/*
 * delivery_recs - "Delivery start DCID n MID m to RID [rids]" and "Message
 * done" with the same tail, built once (it always fits: rids is short)
 */
static void delivery_recs(seg_pflog *p, const pf_conn *c, const pf_msg *m, time_t when)
{
    char tail[sizeof(p->buf)];
    size_t t0, n;

    PF_PUT(p, "Delivery start");
    t0 = p->len;
    PF_PUT(p, " DCID ");
    pf_put_id(p, &c->idt);
    PF_PUT(p, " MID ");
    pf_put_id(p, &m->midt);
    PF_PUT(p, " to RID [");
    p->len += rid_list(c, p->buf + p->len, MIN(1024, sizeof(p->buf) - 1 - p->len));
    PF_PUT(p, "]");
    n = p->len - t0;
    memcpy(tail, p->buf + t0, n);
    pf_rec(p, c->start);
    PF_PUT(p, "Message done");
    pf_put(p, tail, n);
    pf_rec(p, when);
}

/* pf_delivery_end - Delivery start / Message done / DCID close of the delivery of c */
void pf_delivery_end(seg_pflog *p, pf_conn *c, time_t when)
{
    pf_msg *m = c->msg;

    tls_failed(p, c, when);
    if (c->id && m && m->mid && c->rids && c->rids->len)
        delivery_recs(p, c, m, when);
    if (c->id) {
        PF_PUT(p, "DCID ");
        pf_put_id(p, &c->idt);
        PF_PUT(p, " close");
        pf_rec(p, when);
    }
    pf_conn_unlink(c);
    c->id = 0;
    c->qid[0] = 0;
    c->tls_reported = FALSE;
    c->dest[0] = 0;
    c->verr_code = 0;
    if (c->rids)
        g_array_set_size(c->rids, 0);
}

/*
 * destination_rec - "DCID n destination ENTRY TLS MODE" when the entry of
 * this recipient's domain is not the one this connection reported last
 */
static void destination_rec(seg_pflog *p, pf_conn *c, time_t when, pf_str rcpt)
{
    const char *at = NULL;
    const char *entry, *mode = NULL;
    size_t  n;

    if (p->dest == NULL || c->id == 0)
        return;
    for (size_t i = 0; i < rcpt.n; i++)
        if (rcpt.p[i] == '@')
            at = rcpt.p + i;
    if (at == NULL)
        return;
    n = rcpt.n - (size_t) (at + 1 - rcpt.p);
    if ((entry = p->dest(p->dest_ctx, at + 1, n, &mode)) == NULL || mode == NULL
        || strcmp(entry, c->dest) == 0)
        return;
    g_strlcpy(c->dest, entry, sizeof(c->dest));
    PF_PUT(p, "DCID ");
    pf_put_id(p, &c->idt);
    PF_PUT(p, " destination ");
    pf_put_cstr(p, entry);
    PF_PUT(p, " TLS ");
    pf_put_cstr(p, mode);
    pf_rec(p, when);
}

/*
 * on_verify_failed - "server certificate verification failed for
 * NAME[ADDR]:PORT: num=N:TEXT": kept for the status line
 */
static gboolean on_verify_failed(pf_conn *c, pf_str s)
{
    pf_str name, addr, port;
    unsigned long code = 0;

    if (!pf_peer(&s, &name, &addr, &port) || !PF_HAS(&s, ": num="))
        return FALSE;
    while (s.n && g_ascii_isdigit(s.p[0]) && code < 100000) {
        code = code * 10 + (unsigned long) (s.p[0] - '0');
        s.p++;
        s.n--;
    }
    if (code == 0 || !PF_HAS(&s, ":"))
        return FALSE;
    c->verr_code = code;
    pf_copy(c->verr, sizeof(c->verr), s);
    return TRUE;
}

/* conn_start - a new delivery connection of process c */
static void conn_start(seg_pflog *p, pf_conn *c, time_t when, pf_str addr, pf_str port)
{
    size_t  n;

    if (c->id) {
        /* a verify failure logged just before belongs to the new connection */
        unsigned long verr_code = c->verr_code;
        char    verr[sizeof(c->verr)];

        memcpy(verr, c->verr, sizeof(verr));
        pf_delivery_end(p, c, c->last);
        c->verr_code = verr_code;
        memcpy(c->verr, verr, sizeof(verr));
    }
    pf_copy(c->peer, PF_ADDR_MAX, addr);
    n = strlen(c->peer);
    c->peer[n++] = ' ';
    pf_copy(c->peer + n, sizeof(c->peer) - n, port.n ? port : (pf_str) {"25", 2});
    if ((c->id = pf_new_id(p, SEG_ID_DCID, &c->idt)) != 0) {
        PF_PUT(p, "New SMTP DCID ");
        pf_put_id(p, &c->idt);
        PF_PUT(p, " interface ");
        if (p->client_addr)
            pf_put_short(p, p->client_addr, p->client_addr_len);
        else
            pf_put_short(p, p->local_addr, p->local_addr_len);
        PF_PUT(p, " address ");
        pf_put_str(p, addr);
        PF_PUT(p, " port ");
        if (port.n)
            pf_put_str(p, port);
        else
            PF_PUT(p, "25");
        pf_rec(p, when);
    }
}

/* on_connect_error - "SSL_connect error to NAME[ADDR]:PORT: REASON" */
static gboolean on_connect_error(seg_pflog *p, pf_conn *c, const pf_line *l, pf_str s)
{
    pf_str name, addr, port;

    if (!pf_peer(&s, &name, &addr, &port) || !PF_HAS(&s, ": "))
        return FALSE;
    conn_start(p, c, l->when, addr, port);
    pf_tls_error_begin(c, s);
    return TRUE;
}

/* rcpt_rid - the RID of a recipient, "MID m ICID n RID r To: <a>" when new */
static guint rcpt_rid(seg_pflog *p, pf_msg *m, time_t when, pf_str rcpt)
{
    gboolean added;
    guint i = pf_msg_rcpt(m, rcpt, &added);

    if (added && m->mid) {
        pf_put_mid_icid(p, m);
        PF_PUT(p, " RID ");
        pf_put_u64(p, i);
        PF_PUT(p, " To: <");
        pf_put_str(p, rcpt);
        PF_PUT(p, ">");
        pf_rec(p, when);
    }
    return i;
}

/* same_peer - is ADDR:PORT the peer of c's connection */
static gboolean same_peer(const pf_conn *c, pf_str addr, pf_str port)
{
    const char *sp = strchr(c->peer, ' ');

    if (port.n == 0)
        port = (pf_str) {"25", 2};
    return sp != NULL && (size_t) (sp - c->peer) == addr.n
        && memcmp(c->peer, addr.p, addr.n) == 0
        && strlen(sp + 1) == port.n && memcmp(sp + 1, port.p, port.n) == 0;
}

/*
 * on_status - "QID: to=<r>, [orig_to=<o>, ]relay=N[A]:P, delay=..., ...,
 * status=S (text)", each piece where the grammar puts it: the addresses
 * (the sender chose them, quotes and all) end at their own '>', and only
 * the status= field after relay= and the fields Postfix writes counts
 */
static gboolean on_status(seg_pflog *p, pf_conn *c, const pf_line *l, pf_str qid, pf_str s)
{
    pf_str rcpt, orig, name, addr, port, status, why;
    pf_msg *m;
    guint rid;

    if (!pf_addr(&s, &rcpt) || !PF_HAS(&s, ", "))
        return FALSE;
    if (PF_HAS(&s, "orig_to=<") && (!pf_addr(&s, &orig) || !PF_HAS(&s, ", ")))
        return FALSE;
    if (!PF_HAS(&s, "relay="))
        return FALSE;
    if (!pf_peer(&s, &name, &addr, &port)) {
        /* relay=none: no connection was made; nothing to record */
        return FALSE;
    }
    if (!pf_status(s, &status, &why))
        return FALSE;
    m = pf_msg_get(p, qid);
    /* the same process delivers another message now: the last delivery is over */
    if (c->id && (c->msg ? c->msg != m
                  : c->qid[0] && (strlen(c->qid) != qid.n || memcmp(c->qid, qid.p, qid.n) != 0)))
        pf_delivery_end(p, c, c->last);
    /* the same message to another next hop, in plain text: a new connection */
    else if (c->id && !same_peer(c, addr, port))
        pf_delivery_end(p, c, c->last);
    if (c->id == 0)
        conn_start(p, c, l->when, addr, port);
    pf_copy(c->qid, sizeof(c->qid), qid);
    if (m == NULL)
        m = pf_msg_new(p, l->when, qid, 0, NULL);
    m->last = l->when;
    pf_conn_link(c, m);
    rid = rcpt_rid(p, m, l->when, rcpt);
    destination_rec(p, c, l->when, rcpt);
    if (status.n == 8 && memcmp(status.p, "deferred", 8) == 0) {
        if (c->tls != PF_TLS_NONE && PF_HAS(&why, "Cannot start TLS: handshake failure")) {
            if (c->id)
                pf_rec_tls_error(p, l->when, "DCID ", &c->idt, "deferring", c->err_code, c->err);
            c->tls = PF_TLS_NONE;
            c->tls_reported = TRUE;
        } else if (PF_HAS(&why, "TLS is required, but was not offered by host")) {
            if (c->id && !c->tls_reported) {
                PF_PUT(p, "DCID ");
                pf_put_id(p, &c->idt);
                PF_PUT(p, " STARTTLS command not supported.");
                pf_rec(p, l->when);
                if (p->dest != NULL) {
                    PF_PUT(p, "DCID ");
                    pf_put_id(p, &c->idt);
                    PF_PUT(p, " TLS required but not available");
                    pf_rec(p, l->when);
                }
            }
            c->tls_reported = TRUE;
        } else if (PF_HAS(&why, "Server certificate not verified")) {
            if (c->id && !c->tls_reported && c->verr_code) {
                char    err[sizeof(c->verr) + 32];

                g_snprintf(err, sizeof(err), "certificate verify failed: %s", c->verr);
                pf_rec_tls_error(p, l->when, "DCID ", &c->idt, "deferring", c->verr_code,
                                 err);
            }
            c->tls_reported = TRUE;
        }
    }
    tls_failed(p, c, l->when);
    if (status.n == 4 && memcmp(status.p, "sent", 4) == 0) {
        if (c->rids == NULL)
            c->rids = g_array_new(FALSE, FALSE, sizeof(guint));
        if (c->rids->len == 0)
            c->start = l->when;
        g_array_append_val(c->rids, rid);
    }
    return TRUE;
}

/* pf_smtp - one postfix/.../smtp line */
gboolean pf_smtp(seg_pflog *p, const pf_line *l)
{
    pf_conn *c = pf_conn_get(p, p->out, l);
    pf_str s = l->text, qid, proto, cipher, addr, port;
    gboolean used = FALSE;

    if (c == NULL)
        return FALSE;
    if (PF_HAS(&s, "SSL_connect error to ")) {
        used = on_connect_error(p, c, l, s);
    } else if (PF_HAS(&s, "server certificate verification failed for ")) {
        used = on_verify_failed(c, s);
    } else if (PF_HAS(&s, "warning: TLS library problem: ")) {
        used = pf_tls_library(c, s);   /* kept for the outcome */
    } else if (pf_tls_established(s, "to", 2, &addr, &port, &proto, &cipher)) {
        conn_start(p, c, l->when, addr, port);
        if (c->id)
            pf_rec_tls_success(p, l->when, "DCID ", &c->idt, proto, cipher);
        used = TRUE;
    } else if (PF_HAS(&s, "fatal: ") || PF_HAS(&s, "panic: ")) {
        pf_delivery_end(p, c, l->when); /* the process exits */
        pf_conn_release(p, p->out, c);
        return TRUE;
    } else if (pf_qid(&s, &qid)) {
        if (PF_HAS(&s, "to=<")) {
            used = on_status(p, c, l, qid, s);
        } else if (PF_HAS(&s, "Cannot start TLS: handshake failure") && c->tls != PF_TLS_NONE) {
            pf_copy(c->qid, sizeof(c->qid), qid);
            tls_failed(p, c, l->when);  /* delivery goes on without TLS */
            used = TRUE;
        }
    }
    c->last = l->when;
    return used;
}

/* end_deliveries - end every delivery of message m in progress, by DCID */
static void end_deliveries(seg_pflog *p, pf_msg *m, time_t when)
{
    pf_conn *c, *first;

    while ((first = m->dconns) != NULL) {
        for (c = first->dnext; c; c = c->dnext)
            if (c->id < first->id)
                first = c;
        pf_delivery_end(p, first, when);        /* unlinks it */
    }
}

/* pf_msg_forget - end the deliveries of m, then forget it */
void pf_msg_forget(seg_pflog *p, pf_msg *m, time_t when)
{
    end_deliveries(p, m, when);
    pf_msg_remove(p, m);
}

/* pf_qmgr - "QID: from=<a>, size=..." and "QID: removed" */
gboolean pf_qmgr(seg_pflog *p, const pf_line *l)
{
    pf_str s = l->text, qid, from;
    pf_msg *m;

    if (!pf_qid(&s, &qid))
        return FALSE;
    m = pf_msg_get(p, qid);
    if (PF_HAS(&s, "from=<")) {
        if (!pf_addr(&s, &from) || !PF_HAS(&s, ", "))
            return FALSE;
        if (m == NULL)
            m = pf_msg_new(p, l->when, qid, 0, NULL);
        m->last = l->when;
        end_deliveries(p, m, l->when);  /* a retry: the last attempts are over */
        if (!m->from_done && m->mid) {
            pf_put_mid_icid(p, m);
            PF_PUT(p, " From: <");
            pf_put_str(p, from);
            PF_PUT(p, ">");
            pf_rec(p, l->when);
        }
        m->from_done = TRUE;
        return TRUE;
    }
    if (m && s.n == 7 && memcmp(s.p, "removed", 7) == 0) {
        end_deliveries(p, m, l->when);  /* every connection it left over */
        if (m->mid) {
            PF_PUT(p, "Message finished MID ");
            pf_put_id(p, &m->midt);
            PF_PUT(p, " done");
            pf_rec(p, l->when);
        }
        pf_msg_remove(p, m);
        return TRUE;
    }
    return FALSE;
}

/* pf_local - "QID: to=<r>, ..." of discard, local, virtual, pipe, error: RIDs only */
gboolean pf_local(seg_pflog *p, const pf_line *l)
{
    pf_str s = l->text, qid, rcpt;
    pf_msg *m;

    if (!pf_qid(&s, &qid) || !PF_HAS(&s, "to=<") || !pf_addr(&s, &rcpt) || !PF_HAS(&s, ", "))
        return FALSE;
    if ((m = pf_msg_get(p, qid)) == NULL)
        m = pf_msg_new(p, l->when, qid, 0, NULL);
    m->last = l->when;
    rcpt_rid(p, m, l->when, rcpt);
    return TRUE;
}

/* pf_pickup - "QID: uid=0 from=<a>": a local submission (ICID 0) */
gboolean pf_pickup(seg_pflog *p, const pf_line *l)
{
    pf_str s = l->text, qid;

    if (!pf_qid(&s, &qid) || !PF_HAS(&s, "uid="))
        return FALSE;
    pf_msg_new(p, l->when, qid, 0, NULL);
    return TRUE;
}
