/*
 * pflog_smtpd - inbound records from postfix/smtpd log lines.
 *
 * One smtpd process serves one client at a time, so the pid names the
 * connection from "connect from" to "disconnect from": the ICID is taken
 * at the connect line and every later line of that pid carries it. A
 * failed handshake is logged in two lines or more ("SSL_accept error from
 * ...: -1", then a "warning: TLS library problem: error:...:file:line:"
 * per OpenSSL error); the failure is kept, with the last error, until
 * another line of the process arrives. The
 * state of a process is released when it exits (pflog.c also releases it
 * once it has been quiet for a while).
 */
#include "pflog_conn.h"
#include "pflog_field.h"
#include "pflog_int.h"
#include "pflog_msg.h"
#include "pflog_rec.h"
#include "pflog_smtpd.h"

/* tls_failed - "ICID n TLS failed: (code, 'string')" for a pending failure */
static void tls_failed(seg_pflog *p, pf_conn *c, time_t when)
{
    if (c->tls != PF_TLS_NONE && c->id)
        pf_rec_tls_error(p, when, "ICID ", &c->idt, "failed", c->err_code, c->err);
    c->tls = PF_TLS_NONE;
}

/* pf_smtpd_close - "ICID n close" (a pending TLS failure first) */
void pf_smtpd_close(seg_pflog *p, pf_conn *c, time_t when)
{
    tls_failed(p, c, when);
    if (c->id) {
        PF_PUT(p, "ICID ");
        pf_put_id(p, &c->idt);
        PF_PUT(p, " close");
        pf_rec(p, when);
    }
    c->id = 0;
}

/*
 * put_interface - "NAME (ADDR)" of a new connection: the override, else
 * where the smtpd service of this syslog name listens, else unknown
 */
static void put_interface(seg_pflog *p, const pf_line *l)
{
    char    key[PF_NAME_LEN + 1];
    const pf_iface *f = NULL;

    if (p->ifname == NULL && l->syslog_name.n < sizeof(key)) {
        memcpy(key, l->syslog_name.p, l->syslog_name.n);
        key[l->syslog_name.n] = 0;
        f = g_hash_table_lookup(p->ifaces, key);
    }
    if (p->ifname)
        pf_put_short(p, p->ifname, p->ifname_len);
    else if (f)
        pf_put_short(p, f->name, f->name_len);
    else
        PF_PUT(p, "unknown");
    PF_PUT(p, " (");
    if (f)
        pf_put_short(p, f->addr, f->addr_len);
    else
        pf_put_short(p, p->local_addr, p->local_addr_len);
}

/* on_connect - "connect from NAME[ADDR]:PORT" */
static gboolean on_connect(seg_pflog *p, pf_conn *c, const pf_line *l, pf_str s)
{
    pf_str name, addr, port, host = {"unknown", 7};
    gboolean verified = FALSE;

    if (!pf_peer(&s, &name, &addr, &port))
        return FALSE;
    pf_smtpd_close(p, c, c->last);          /* its disconnect line was lost */
    addr.n = pf_nul_len(addr.p, addr.n);        /* as a C string copy would be */
    if (!(name.n == 7 && memcmp(name.p, "unknown", 7) == 0)) {
        host = name;
        verified = TRUE;
    } else if (c->ptr_name[0] && strlen(c->ptr_addr) == addr.n
               && memcmp(c->ptr_addr, addr.p, addr.n) == 0) {
        host.p = c->ptr_name;           /* PTR that did not verify */
        host.n = strlen(c->ptr_name);
    }
    if ((c->id = pf_new_id(p, SEG_ID_ICID, &c->idt)) != 0) {
        PF_PUT(p, "New SMTP ICID ");
        pf_put_id(p, &c->idt);
        PF_PUT(p, " interface ");
        put_interface(p, l);
        PF_PUT(p, ") address ");
        pf_put_short(p, addr.p, addr.n);
        PF_PUT(p, " reverse dns host ");
        pf_put_str(p, host);
        if (verified)
            PF_PUT(p, " verified yes");
        else
            PF_PUT(p, " verified no");
        pf_rec(p, l->when);
    }
    c->ptr_name[0] = c->ptr_addr[0] = 0;
    return TRUE;
}

/* on_disconnect - "disconnect from NAME[ADDR]:PORT ..." */
static gboolean on_disconnect(seg_pflog *p, pf_conn *c, const pf_line *l, pf_str s)
{
    if (c->id == 0)
        return FALSE;
    pf_smtpd_close(p, c, l->when);
    return TRUE;
}

/* on_accept_error - "SSL_accept error from NAME[ADDR]:PORT: REASON" */
static gboolean on_accept_error(seg_pflog *p, pf_conn *c, const pf_line *l, pf_str s)
{
    pf_str name, addr, port;

    if (c->id == 0 || !pf_peer(&s, &name, &addr, &port) || !PF_HAS(&s, ": "))
        return FALSE;
    pf_tls_error_begin(c, s);
    return TRUE;
}

/*
 * on_library - "warning: TLS library problem: error:...": kept; the
 * failure is written at the next other line of the process (Postfix may
 * log several of these, and the last one counts)
 */
static gboolean on_library(seg_pflog *p, pf_conn *c, const pf_line *l, pf_str s)
{
    return pf_tls_library(c, s);
}

/* pf_smtpd_flush - end of input: write a pending TLS failure */
void pf_smtpd_flush(seg_pflog *p, pf_conn *c)
{
    tls_failed(p, c, c->last);
}

/* on_hostname - "warning: hostname NAME does not resolve to address ADDR..." */
static gboolean on_hostname(seg_pflog *p, pf_conn *c, const pf_line *l, pf_str s)
{
    pf_str name = s, addr;
    size_t end;

    /* NAME is one word (Postfix logs only valid host names here) */
    name.n = pf_span(s.p, s.n, ' ', ' ', ' ');
    s.p += name.n;
    s.n -= name.n;
    if (!PF_HAS(&s, " does not resolve to address "))
        return FALSE;
    addr = s;
    if (pf_find(addr, " ", 1, &end))
        addr.n = end;
    if (addr.n > 0 && addr.p[addr.n - 1] == ':')
        addr.n--;                       /* "ADDR: Name or service not known" */
    if (name.n == 0 || name.n >= PF_NAME_MAX || addr.n == 0 || addr.n >= PF_ADDR_MAX)
        return FALSE;
    pf_copy(c->ptr_name, sizeof(c->ptr_name), name);
    pf_copy(c->ptr_addr, sizeof(c->ptr_addr), addr);
    return TRUE;
}

/*
 * on_reject - "NOQUEUE: reject: CMD from NAME[ADDR]:PORT: 530 5.7.0 Must
 * issue a STARTTLS command first; ..." (Postfix's own encrypt level), or
 * "... 530 5.7.0 <SENDER>: Sender address rejected: Must issue a STARTTLS
 * command first; ..." (segtls-policy's): the reply must be exactly that,
 * where the grammar puts it (a client's address, HELO name or a reply
 * text quoting them may say the same words anywhere else on the line)
 */
static gboolean on_reject(seg_pflog *p, pf_conn *c, const pf_line *l, pf_str s)
{
    pf_str name, addr, port, sender;
    size_t cmd = pf_span(s.p, s.n, ' ', ' ', ' ');

    s.p += cmd;
    s.n -= cmd;
    if (c->id == 0 || cmd == 0 || !PF_HAS(&s, " from ") || !pf_peer(&s, &name, &addr, &port)
        || !PF_HAS(&s, ": "))
        return FALSE;
    if (!PF_HAS(&s, "530 5.7.0 "))
        return FALSE;
    /* segtls-policy's answer, which Postfix prefixes with the sender */
    if (PF_HAS(&s, "<")
        && (!pf_addr(&s, &sender) || !PF_HAS(&s, ": Sender address rejected: ")))
        return FALSE;
    if (!PF_HAS(&s, "Must issue a STARTTLS command first") || !(s.n == 0 || s.p[0] == ';'))
        return FALSE;
    PF_PUT(p, "ICID ");
    pf_put_id(p, &c->idt);
    PF_PUT(p, " TLS was required but remote host did not initiate it");
    pf_rec(p, l->when);
    return TRUE;
}

static const struct {
    const char *prefix;
    size_t      len;
    gboolean  (*fn)(seg_pflog *, pf_conn *, const pf_line *, pf_str);
} handlers[] = {
#define H(s, f) {s, sizeof(s) - 1, f}
    H("connect from ", on_connect),
    H("disconnect from ", on_disconnect),
    H("SSL_accept error from ", on_accept_error),
    H("warning: TLS library problem: ", on_library),
    H("warning: hostname ", on_hostname),
    H("NOQUEUE: reject: ", on_reject),
#undef H
};

/* 1 + the first of the handlers above whose prefix starts with that byte, 0: none */
static const guint8 first[256] = {['c'] = 1, ['d'] = 2, ['S'] = 3, ['w'] = 4, ['N'] = 6};

/* pf_smtpd - one postfix/.../smtpd line */
gboolean pf_smtpd(seg_pflog *p, const pf_line *l)
{
    pf_conn *c = pf_conn_get(p, p->in, l);
    pf_str s = l->text, qid, proto, cipher, addr, port;
    gboolean used = FALSE;
    size_t i, k;

    if (c == NULL)
        return FALSE;
    /* only the handlers whose prefix starts with the first byte of the text */
    i = G_N_ELEMENTS(handlers);
    for (k = s.n ? first[(guchar) s.p[0]] : 0; k > 0 && k <= G_N_ELEMENTS(handlers)
         && handlers[k - 1].prefix[0] == s.p[0]; k++) {
        if (pf_has(&s, handlers[k - 1].prefix, handlers[k - 1].len)) {
            i = k - 1;
            break;
        }
    }
    /* A failure not followed by its library line is written as it is. */
    if (c->tls != PF_TLS_NONE && !(i < G_N_ELEMENTS(handlers) && handlers[i].fn == on_library)) {
        tls_failed(p, c, l->when);
        used = TRUE;
    }
    if (i < G_N_ELEMENTS(handlers)) {
        used |= handlers[i].fn(p, c, l, s);
    } else if (pf_tls_established(s, "from", 4, &addr, &port, &proto, &cipher)) {
        if (c->id) {
            pf_rec_tls_success(p, l->when, "ICID ", &c->idt, proto, cipher);
            used = TRUE;
        }
    } else if (PF_HAS(&s, "fatal: ") || PF_HAS(&s, "panic: ")) {
        pf_smtpd_close(p, c, l->when);  /* the process exits */
        pf_conn_release(p, p->in, c);
        return TRUE;
    } else if (pf_qid(&s, &qid) && PF_HAS(&s, "client=")) {
        pf_msg_new(p, l->when, qid, c->id, &c->idt);
        used = TRUE;
    }
    c->last = l->when;
    return used;
}
