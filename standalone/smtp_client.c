/*
 * smtp_client - Outbound SMTP of segtls-standalone.
 *
 * Delivers spooled messages to the --relay next hop, one connection per
 * message, with STARTTLS under the
 * outbound.* settings. What happens at each outbound.tls mode:
 *
 *   no                never STARTTLS
 *   preferred         STARTTLS when offered. A failed handshake defers the
 *                     message ("TLS deferring"); the next attempt for that
 *                     message goes without TLS ("TLS failed", then the
 *                     delivery) - Postfix's opportunistic behaviour.
 *   required          no STARTTLS offered, or a failed handshake, defers
 *   preferred-verify  as preferred; the certificate is checked and a
 *                     failed check is reported, but mail still goes over
 *                     the encrypted session
 *   required-verify   as required; a failed check defers the message
 *
 * The check: the chain against outbound.ca_file (X509_V_FLAG_X509_STRICT
 * with peer_cert.x509 = on) and, with peer_cert.fqdn = on, the relay's
 * host name against the certificate.
 *
 * When to try which message is schedule.c's business. 5xx answers remove the recipients
 * (or the message) with a "Bounced:" record; no bounce mail is sent.
 *
 * Lines: the body goes out as CRLF lines whatever the queue file holds
 * (a bare LF or CR becomes CRLF, a lone "." line "..", the last line is
 * ended), so no next hop can read a bare line end as the end of DATA.
 * Reply lines end at LF (a CR before it is dropped), are parsed within
 * the input buffer (smtp_parse.c) and are at most SA_REPLY_LINE_MAX.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "msg.h"
#include "standalone.h"
#include "tlsctx.h"

#define SA_REPLY_MAX    (64 * 1024)     /* a multi-line reply, at most */

typedef enum {
    D_GREETING, D_EHLO, D_HELO, D_STARTTLS, D_EHLO_TLS, D_MAIL, D_RCPT,
    D_DATA, D_BODY, D_DOT, D_QUIT,
} dstate;

typedef enum { O_NONE, O_DONE, O_DEFER, O_BOUNCE } outcome;

typedef struct delivery {
    sa_conn    *c;
    sa_qent    *q;
    sa_spool_msg *m;
    guint64     dcid;
    dstate      st;
    gboolean    tls;
    gboolean    starttls;               /* offered in the EHLO reply */
    guint       rcpt;                   /* RCPT whose reply is awaited */
    GArray     *ok_rids;
    FILE       *body;
    sa_crlf     crlf;                   /* the body as CRLF lines */
    GString    *reply;                  /* reply text so far */
    outcome     result;
} delivery;

static struct sockaddr_storage relay_addr;
static socklen_t relay_len;
static char *relay_host;
/* sa_client_init - resolve the next hop once */
gboolean sa_client_init(const char *relay, GError **error)
{
    g_autofree char *port_s = NULL;
    struct addrinfo hints = {0}, *res;
    guint   port;
    int     rc;

    if (!sa_parse_hostport(relay, &relay_host, &port, error))
        return FALSE;
    port_s = g_strdup_printf("%u", port);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if ((rc = getaddrinfo(relay_host, port_s, &hints, &res)) != 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s: %s", relay_host,
                    gai_strerror(rc));
        return FALSE;
    }
    memcpy(&relay_addr, res->ai_addr, res->ai_addrlen);
    relay_len = res->ai_addrlen;
    freeaddrinfo(res);
    sa_schedule_init();
    return TRUE;
}

/* rid_list - "[0, 1]" */
static char *rid_list(GArray *rids)
{
    GString *s = g_string_new("[");

    for (guint i = 0; i < rids->len; i++)
        g_string_append_printf(s, "%s%u", i ? ", " : "", g_array_index(rids, guint, i));
    g_string_append_c(s, ']');
    return g_string_free(s, FALSE);
}

/* mode - outbound.tls now */
static seg_tls_mode mode(void)
{
    return sa.settings->svc[SEG_SVC_OUTBOUND].tls;
}

/* tls_is_required - required and required-verify */
static gboolean tls_is_required(void)
{
    return mode() == SEG_TLSMODE_REQUIRED || mode() == SEG_TLSMODE_REQUIRED_VERIFY;
}

/* send_cmd - one command, and the state that awaits its reply */
static void send_cmd(delivery *d, dstate st, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void send_cmd(delivery *d, dstate st, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *text = NULL;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    sa_conn_printf(d->c, "%s\r\n", text);
    d->st = st;
    sa_conn_timeout(d->c, sa.opt.timeout);
}

/* finish - the outcome is known: say goodbye and close */
static void finish(delivery *d, outcome result, const char *why)
{
    d->result = result;
    if (why && result == O_DEFER)
        msg_info("MID %" G_GUINT64_FORMAT ": deferred: %s", d->m->mid, why);
    if (d->st != D_QUIT && !d->c->handshaking && !d->c->tls_pending)
        send_cmd(d, D_QUIT, "QUIT");
    sa_conn_close(d->c, TRUE);
}

/* bounce_rids - a 5xx for some recipients */
static void bounce_rids(delivery *d, GArray *rids, int code, const char *text)
{
    g_autofree char *list = rid_list(rids);

    sa_mail_info("Bounced: DCID %" G_GUINT64_FORMAT " MID %" G_GUINT64_FORMAT
                 " to RID %s - %d %s", d->dcid, d->m->mid, list, code, text);
}

/* bounce_all - every recipient refused */
static void bounce_all(delivery *d, int code, const char *text)
{
    g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(guint));

    for (guint i = 0; i < d->m->rcpts->len; i++)
        g_array_append_val(all, i);
    bounce_rids(d, all, code, text);
    finish(d, O_BOUNCE, NULL);
}

/* start_mail - Delivery start and MAIL FROM */
static void start_mail(delivery *d)
{
    g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(guint));
    g_autofree char *list = NULL;

    for (guint i = 0; i < d->m->rcpts->len; i++)
        g_array_append_val(all, i);
    list = rid_list(all);
    sa_mail_info("Delivery start DCID %" G_GUINT64_FORMAT " MID %" G_GUINT64_FORMAT
                 " to RID %s", d->dcid, d->m->mid, list);
    send_cmd(d, D_MAIL, "MAIL FROM:<%s>", d->m->sender);
}

/* after_ehlo - STARTTLS or not, per outbound.tls */
static void after_ehlo(delivery *d)
{
    if (d->tls || mode() == SEG_TLSMODE_NO) {
        start_mail(d);
    } else if (!d->starttls) {
        sa_mail_info("DCID %" G_GUINT64_FORMAT " STARTTLS command not supported.", d->dcid);
        if (tls_is_required())
            finish(d, O_DEFER, "TLS is required, but was not offered by the host");
        else
            start_mail(d);
    } else if (d->q->tls_failed && !tls_is_required()) {
        /* The previous attempt failed the handshake: go on without TLS. */
        sa_mail_info("DCID %" G_GUINT64_FORMAT " TLS failed: %s", d->dcid, d->q->tls_failed);
        g_clear_pointer(&d->q->tls_failed, g_free);
        start_mail(d);
    } else {
        send_cmd(d, D_STARTTLS, "STARTTLS");
    }
}

/* next_rcpt - RCPT for the next recipient, or DATA */
static void next_rcpt(delivery *d)
{
    if (d->rcpt < d->m->rcpts->len)
        send_cmd(d, D_RCPT, "RCPT TO:<%s>", (char *) d->m->rcpts->pdata[d->rcpt]);
    else if (d->ok_rids->len == 0)
        finish(d, O_BOUNCE, NULL);
    else
        send_cmd(d, D_DATA, "DATA");
}

/* bounce_and_finish - the accepted recipients refused after all */
static void bounce_and_finish(delivery *d, int code, const char *text)
{
    bounce_rids(d, d->ok_rids, code, text);
    finish(d, O_BOUNCE, NULL);
}

/* r_greeting - 220 banner */
static void r_greeting(delivery *d, int code, const char *text)
{
    if (code / 100 != 2)
        finish(d, O_DEFER, text);
    else
        send_cmd(d, D_EHLO, "EHLO %s", sa.opt.hostname);
}

/* r_ehlo - EHLO reply, before or after TLS */
static void r_ehlo(delivery *d, int code, const char *text)
{
    if (code / 100 != 2)
        send_cmd(d, D_HELO, "HELO %s", sa.opt.hostname);
    else
        after_ehlo(d);
}

/* r_helo - HELO reply: no extensions */
static void r_helo(delivery *d, int code, const char *text)
{
    d->starttls = FALSE;
    if (code / 100 != 2)
        finish(d, O_DEFER, text);
    else
        after_ehlo(d);
}

/* r_starttls - 220: handshake; else carry on as if not offered */
static void r_starttls(delivery *d, int code, const char *text)
{
    if (code != 220) {
        d->starttls = FALSE;
        after_ehlo(d);
        return;
    }
    g_byte_array_set_size(d->c->in, 0);
    sa_conn_starttls(d->c, sa.outbound_ctx, FALSE);
}

/* r_mail - MAIL FROM reply */
static void r_mail(delivery *d, int code, const char *text)
{
    if (code / 100 == 5) {
        bounce_all(d, code, text);
    } else if (code / 100 != 2) {
        finish(d, O_DEFER, text);
    } else {
        d->rcpt = 0;
        next_rcpt(d);
    }
}

/* r_rcpt - RCPT TO reply: 5xx bounces that recipient, 4xx defers all */
static void r_rcpt(delivery *d, int code, const char *text)
{
    if (code / 100 == 2) {
        g_array_append_val(d->ok_rids, d->rcpt);
    } else if (code / 100 == 5) {
        g_autoptr(GArray) one = g_array_new(FALSE, FALSE, sizeof(guint));

        g_array_append_val(one, d->rcpt);
        bounce_rids(d, one, code, text);
    } else {
        finish(d, O_DEFER, text);
        return;
    }
    d->rcpt++;
    next_rcpt(d);
}

/* r_data - 354: stream the body (on_drain) */
static void r_data(delivery *d, int code, const char *text)
{
    if (code / 100 == 5) {
        bounce_and_finish(d, code, text);
    } else if (code != 354) {
        finish(d, O_DEFER, text);
    } else if ((d->body = fopen(d->m->path, "re")) == NULL
               || fseeko(d->body, d->m->body_offset, SEEK_SET) < 0) {
        msg_warn("%s: %s", d->m->path, g_strerror(errno));
        finish(d, O_DEFER, "cannot read the queue file");
    } else {
        d->st = D_BODY;
    }
}

/* r_dot - reply to the final dot */
static void r_dot(delivery *d, int code, const char *text)
{
    g_autofree char *list = NULL;

    if (code / 100 == 5) {
        bounce_and_finish(d, code, text);
    } else if (code / 100 != 2) {
        finish(d, O_DEFER, text);
    } else {
        list = rid_list(d->ok_rids);
        sa_mail_info("Message done DCID %" G_GUINT64_FORMAT " MID %" G_GUINT64_FORMAT
                     " to RID %s", d->dcid, d->m->mid, list);
        finish(d, O_DONE, NULL);
    }
}

/* r_body - a reply while we are still sending */
static void r_body(delivery *d, int code, const char *text)
{
    finish(d, O_DEFER, "reply during message transfer");
}

/* r_quit - 221 */
static void r_quit(delivery *d, int code, const char *text)
{
    sa_conn_close(d->c, TRUE);
}

static void (*const reply_handler[])(delivery *, int, const char *) = {
    [D_GREETING] = r_greeting,
    [D_EHLO] = r_ehlo,
    [D_HELO] = r_helo,
    [D_STARTTLS] = r_starttls,
    [D_EHLO_TLS] = r_ehlo,
    [D_MAIL] = r_mail,
    [D_RCPT] = r_rcpt,
    [D_DATA] = r_data,
    [D_BODY] = r_body,
    [D_DOT] = r_dot,
    [D_QUIT] = r_quit,
};

/* on_input - collect reply lines */
static void on_input(sa_conn *c)
{
    delivery *d = c->ctx;

    while (!c->closing && !c->dead && !c->tls_pending) {
        sa_reply_line r;
        gsize   take = sa_smtp_reply_next(c->in->data, c->in->len, &r);

        if (take == 0) {
            if (c->in->len >= SA_REPLY_LINE_MAX)
                finish(d, O_DEFER, "reply line too long");
            else if (c->eof)
                finish(d, O_DEFER, "lost connection");
            return;
        }
        if (!r.ok) {
            sa_conn_consume(c, take);
            finish(d, O_DEFER, "malformed reply");
            return;
        }
        if ((d->st == D_EHLO || d->st == D_EHLO_TLS)
            && r.text_len == 8 && g_ascii_strncasecmp(r.text, "STARTTLS", 8) == 0)
            d->starttls = TRUE;
        if (d->reply->len + r.text_len + 1 > SA_REPLY_MAX) {
            sa_conn_consume(c, take);
            finish(d, O_DEFER, "reply too long");
            return;
        }
        if (d->reply->len)
            g_string_append_c(d->reply, ' ');
        g_string_append_len(d->reply, r.text, (gssize) r.text_len);
        sa_conn_consume(c, take);
        if (!r.more) {
            g_autofree char *text = g_string_free(g_steal_pointer(&d->reply), FALSE);

            d->reply = g_string_new(NULL);
            reply_handler[d->st](d, r.code, text);
        }
    }
    if (c->eof && !c->closing)
        finish(d, O_DEFER, "lost connection");
}

/* on_drain - stream the message body, as CRLF lines */
static void on_drain(sa_conn *c)
{
    delivery *d = c->ctx;
    guint8  buf[16384];
    size_t  n;
    g_autoptr(GByteArray) out = NULL;

    if (d->st != D_BODY || d->body == NULL)
        return;
    out = g_byte_array_sized_new(sizeof(buf) + 64);
    while ((n = fread(buf, 1, sizeof(buf), d->body)) > 0) {
        sa_smtp_crlf(&d->crlf, buf, n, out);
        if (out->len > 0) {             /* else a lone CR waits: read on */
            sa_conn_write(c, out->data, out->len);
            sa_conn_timeout(c, sa.opt.timeout);
            return;
        }
    }
    if (ferror(d->body)) {
        finish(d, O_DEFER, "cannot read the queue file");
        return;
    }
    sa_smtp_crlf_end(&d->crlf, out);
    sa_conn_write(c, out->data, out->len);
    g_clear_pointer(&d->body, fclose);
    send_cmd(d, D_DOT, ".");
}

/* on_tls_done - handshake result */
static void on_tls_done(sa_conn *c, const char *fail)
{
    delivery *d = c->ctx;
    const seg_settings *s = sa.settings;
    g_autofree char *why = NULL;

    if (fail) {
        sa_mail_info("DCID %" G_GUINT64_FORMAT " TLS deferring: %s", d->dcid, fail);
        if (!tls_is_required()) {
            g_free(d->q->tls_failed);
            d->q->tls_failed = g_strdup(fail);
        }
        d->result = O_DEFER;
        return;
    }
    d->tls = TRUE;
    sa_mail_info("DCID %" G_GUINT64_FORMAT " TLS success protocol %s cipher %s",
                 d->dcid, SSL_get_version(c->ssl),
                 SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)));
    if ((mode() == SEG_TLSMODE_PREFERRED_VERIFY || mode() == SEG_TLSMODE_REQUIRED_VERIFY)
        && (why = seg_tls_check_peer(c->ssl, TRUE, s->peer_cert_fqdn ? relay_host : NULL))) {
        if (mode() == SEG_TLSMODE_REQUIRED_VERIFY) {
            sa_mail_info("DCID %" G_GUINT64_FORMAT " TLS deferring: (0, '%s')", d->dcid, why);
            {
                finish(d, O_DEFER, why);
                return;
            }
        }
        msg_info("DCID %" G_GUINT64_FORMAT ": %s; delivering over TLS anyway", d->dcid, why);
    }
    send_cmd(d, D_EHLO_TLS, "EHLO %s", sa.opt.hostname);
}

/* on_connected - the TCP connection is up (or not) */
static void on_connected(sa_conn *c, int err)
{
    delivery *d = c->ctx;

    if (err) {
        msg_warn("connect to %s: %s", sa.opt.relay, g_strerror(err));
        d->result = O_DEFER;
        return;
    }
    d->dcid = sa_id_next(SA_ID_DCID);
    sa_mail_info("New SMTP DCID %" G_GUINT64_FORMAT " interface %s address %s port %u",
                 d->dcid, c->local_ip, c->peer_ip, c->peer_port);
    d->st = D_GREETING;
    sa_conn_timeout(c, sa.opt.timeout);
}

/* on_timeout - the next hop did not answer */
static void on_timeout(sa_conn *c)
{
    delivery *d = c->ctx;

    d->result = O_DEFER;
    msg_info("MID %" G_GUINT64_FORMAT ": deferred: timeout", d->m->mid);
    sa_conn_close(c, FALSE);
}

/* on_closed - account for the outcome */
static void on_closed(sa_conn *c)
{
    delivery *d = c->ctx;

    if (d->dcid)
        sa_mail_info("DCID %" G_GUINT64_FORMAT " close", d->dcid);
    if (d->body)
        fclose(d->body);
    sa_schedule_done(d->q, d->result == O_DONE || d->result == O_BOUNCE);
    sa_spool_msg_free(d->m);
    g_array_unref(d->ok_rids);
    g_string_free(d->reply, TRUE);
    g_free(d);
}

static const sa_conn_ops client_ops = {
    .input = on_input,
    .drain = on_drain,
    .tls_done = on_tls_done,
    .connected = on_connected,
    .timeout = on_timeout,
    .closed = on_closed,
};

/* sa_deliver - one attempt for one message; FALSE when it cannot start */
gboolean sa_deliver(sa_qent *q)
{
    g_autoptr(GError) err = NULL;
    sa_spool_msg *m = sa_spool_read(q->path, &err);
    delivery *d;

    if (m == NULL) {
        msg_warn("%s", err->message);
        return FALSE;
    }
    d = g_new0(delivery, 1);
    d->q = q;
    d->m = m;
    d->ok_rids = g_array_new(FALSE, FALSE, sizeof(guint));
    d->reply = g_string_new(NULL);
    if ((d->c = sa_conn_connect((struct sockaddr *) &relay_addr, relay_len,
                                &client_ops, d, &err)) == NULL) {
        msg_warn("%s: %s", sa.opt.relay, err->message);
        sa_spool_msg_free(m);
        g_array_unref(d->ok_rids);
        g_string_free(d->reply, TRUE);
        g_free(d);
        return FALSE;
    }
    sa_conn_timeout(d->c, sa.opt.timeout);
    return TRUE;
}

/* sa_client_shutdown - at exit */
void sa_client_shutdown(void)
{
    sa_conn_shutdown_all();
    sa_schedule_shutdown();
    g_clear_pointer(&relay_host, g_free);
}
