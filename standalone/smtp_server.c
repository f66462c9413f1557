/*
 * smtp_server - Inbound SMTP of segtls-standalone.
 *
 * One session per accepted connection, driven by conn.c: ESMTP with
 * PIPELINING, SIZE and STARTTLS (RFC 3207) under the inbound.* settings.
 * Command lines are at most SA_LINE_MAX octets with CRLF; a longer line
 * is discarded up to its end and answered with 500, and the session
 * goes on. Only <CR><LF>.<CR><LF> ends the message text (SMTP
 * smuggling): a bare LF or CR in it is never a line end; the text is
 * read on to the real end, the message refused with "550 5.5.2 Error:
 * bare <LF> received" (Postfix 3.7, smtpd_forbid_bare_newline = reject)
 * and the session closed, so nothing after it is read as a command. After STARTTLS whatever the client pipelined behind it is
 * thrown away before the handshake, and after the handshake the session
 * starts over (no HELO, no transaction). A message reaches the spool
 * completely (fsync, rename, fsync dir) before 250 is sent.
 *
 * Records (mail_logs): New SMTP ICID, ICID TLS success/failed (a handshake
 * that times out fails with "(0, 'Connection timed out')"), ICID TLS was
 * required but remote host did not initiate it, ICID refused: too many
 * connections (the listener stayed full, listen.c), Start MID, From, RID
 * To, Message finished MID done/aborted, ICID close.
 */
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "standalone.h"

#define SA_LINE_MAX     1000            /* command line with CRLF, RFC 5321 */
#define SA_DATA_CHUNK   8192            /* flush a long text line in pieces */
#define SA_ERROR_LIMIT  20              /* like smtpd_hard_error_limit */

typedef struct session {
    sa_conn    *c;
    guint64     icid;
    char       *helo;                   /* NULL before HELO/EHLO */
    gboolean    tls;                    /* TLS is active */
    gboolean    skipping;               /* discarding an overlong line */
    guint       errors;
    /* transaction */
    guint64     mid;                    /* 0: no transaction */
    char       *sender;
    GPtrArray  *rcpts;
    /* DATA */
    gboolean    in_data;
    gboolean    line_start;
    gboolean    oversize;
    const char *bare;                   /* "LF" or "CR": refuse at the end */
    gsize       size;
    sa_spool_file *spool;
} session;

/* reply - queue one reply line */
static void reply(session *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void reply(session *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *text = NULL;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    sa_conn_printf(s->c, "%s\r\n", text);
}

/* error_reply - a 4xx/5xx answer to a bad command, counted */
static void error_reply(session *s, const char *text)
{
    reply(s, "%s", text);
    if (++s->errors >= SA_ERROR_LIMIT) {
        reply(s, "421 4.7.0 %s Error: too many errors", sa.opt.hostname);
        sa_conn_close(s->c, TRUE);
    }
}

/* txn_reset - forget the transaction; log an unfinished one as aborted */
static void txn_reset(session *s)
{
    if (s->spool) {
        sa_spool_abort(s->spool);
        s->spool = NULL;
    }
    if (s->mid)
        sa_mail_info("Message finished MID %" G_GUINT64_FORMAT " aborted", s->mid);
    s->mid = 0;
    g_clear_pointer(&s->sender, g_free);
    g_ptr_array_set_size(s->rcpts, 0);
    s->in_data = FALSE;
    s->oversize = FALSE;
    s->bare = NULL;
    s->size = 0;
}

/* cmd_helo - HELO and EHLO */
static void cmd_helo(session *s, const char *verb, const char *arg)
{
    gboolean ehlo = g_ascii_strcasecmp(verb, "EHLO") == 0;

    if (*arg == 0 || strlen(arg) > 255) {
        error_reply(s, ehlo ? "501 5.5.4 Syntax: EHLO hostname"
                    : "501 5.5.4 Syntax: HELO hostname");
        return;
    }
    txn_reset(s);
    g_free(s->helo);
    s->helo = g_strdup(arg);
    if (!ehlo) {
        reply(s, "250 %s", sa.opt.hostname);
        return;
    }
    reply(s, "250-%s", sa.opt.hostname);
    reply(s, "250-PIPELINING");
    reply(s, "250-SIZE %d", sa.opt.max_size);
    if (!s->tls && sa.inbound_ctx
        && sa.settings->svc[SEG_SVC_INBOUND].tls != SEG_TLSMODE_NO)
        reply(s, "250-STARTTLS");
    reply(s, "250-ENHANCEDSTATUSCODES");
    reply(s, "250 8BITMIME");
}

/* cmd_starttls - RFC 3207 */
static void cmd_starttls(session *s, const char *verb, const char *arg)
{
    if (*arg) {
        error_reply(s, "501 5.5.4 Syntax: STARTTLS");
    } else if (s->tls) {
        error_reply(s, "554 5.5.1 Error: TLS already active");
    } else if (sa.inbound_ctx == NULL
               || sa.settings->svc[SEG_SVC_INBOUND].tls == SEG_TLSMODE_NO) {
        error_reply(s, "502 5.5.1 Error: command not implemented");
    } else {
        reply(s, "220 2.0.0 Ready to start TLS");
        /* Plaintext pipelined behind STARTTLS never reaches the TLS session. */
        g_byte_array_set_size(s->c->in, 0);
        txn_reset(s);
        sa_conn_starttls(s->c, sa.inbound_ctx, TRUE);
    }
}

/* tls_required - inbound.tls = required and no TLS yet */
static gboolean tls_required(session *s)
{
    if (s->tls || sa.settings->svc[SEG_SVC_INBOUND].tls != SEG_TLSMODE_REQUIRED)
        return FALSE;
    sa_mail_info("ICID %" G_GUINT64_FORMAT
                 " TLS was required but remote host did not initiate it", s->icid);
    error_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
    return TRUE;
}

/* replies to bad MAIL parameters (555 names the parameter) */
static const char *const param_replies[] = {
    [SA_MAIL_PARAM_SYNTAX] = "501 5.5.4 Bad message size syntax",
    [SA_MAIL_PARAM_TOO_BIG] = "552 5.3.4 Message size exceeds fixed limit",
};

/* mail_params - the MAIL parameters we know; FALSE when answered */
static gboolean mail_params(session *s, const char *params)
{
    g_autofree char *bad = NULL;
    g_autofree char *t = NULL;
    sa_mail_param res = sa_smtp_mail_params(params, (guint64) sa.opt.max_size, &bad);

    if (res == SA_MAIL_PARAM_OK)
        return TRUE;
    if (res == SA_MAIL_PARAM_UNKNOWN) {
        t = g_strdup_printf("555 5.5.4 Unsupported option: %.64s", bad);
        error_reply(s, t);
    } else {
        error_reply(s, param_replies[res]);
    }
    return FALSE;
}

/* cmd_mail - MAIL FROM */
static void cmd_mail(session *s, const char *verb, const char *arg)
{
    g_autofree char *addr = NULL;
    g_autofree char *params = NULL;

    if (s->helo == NULL) {
        error_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
    } else if (tls_required(s)) {
        return;
    } else if (s->mid) {
        error_reply(s, "503 5.5.1 Error: nested MAIL command");
    } else if (!sa_smtp_path(arg, "FROM:", &addr, &params)) {
        error_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
    } else if (mail_params(s, params)) {
        s->mid = sa_id_next(SA_ID_MID);
        s->sender = g_steal_pointer(&addr);
        sa_mail_info("Start MID %" G_GUINT64_FORMAT " ICID %" G_GUINT64_FORMAT,
                     s->mid, s->icid);
        sa_mail_info("MID %" G_GUINT64_FORMAT " ICID %" G_GUINT64_FORMAT
                     " From: <%s>", s->mid, s->icid, s->sender);
        reply(s, "250 2.1.0 Ok");
    }
}

/* cmd_rcpt - RCPT TO */
static void cmd_rcpt(session *s, const char *verb, const char *arg)
{
    g_autofree char *addr = NULL;
    g_autofree char *params = NULL;

    if (tls_required(s)) {
        return;
    } else if (s->mid == 0) {
        error_reply(s, "503 5.5.1 Error: need MAIL command");
    } else if (!sa_smtp_path(arg, "TO:", &addr, &params) || *addr == 0) {
        error_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
    } else if (*params) {
        error_reply(s, "555 5.5.4 Unsupported option");
    } else if (s->rcpts->len >= (guint) sa.opt.max_rcpt) {
        reply(s, "452 4.5.3 Error: too many recipients");
    } else {
        sa_mail_info("MID %" G_GUINT64_FORMAT " ICID %" G_GUINT64_FORMAT
                     " RID %u To: <%s>", s->mid, s->icid, s->rcpts->len, addr);
        g_ptr_array_add(s->rcpts, g_steal_pointer(&addr));
        reply(s, "250 2.1.5 Ok");
    }
}

/* cmd_data - DATA */
static void cmd_data(session *s, const char *verb, const char *arg)
{
    g_autoptr(GError) err = NULL;

    if (tls_required(s))
        return;
    if (*arg) {
        error_reply(s, "501 5.5.4 Syntax: DATA");
    } else if (s->mid == 0) {
        error_reply(s, "503 5.5.1 Error: need MAIL command");
    } else if (s->rcpts->len == 0) {
        error_reply(s, "554 5.5.1 Error: no valid recipients");
    } else if ((s->spool = sa_spool_begin(s->mid, s->icid, s->sender, s->rcpts,
                                          &err)) == NULL) {
        msg_warn("%s", err->message);
        reply(s, "451 4.3.0 Error: queue file write error");
    } else {
        s->in_data = TRUE;
        s->line_start = TRUE;
        s->size = 0;
        reply(s, "354 End data with <CR><LF>.<CR><LF>");
    }
}

/* cmd_rset - RSET */
static void cmd_rset(session *s, const char *verb, const char *arg)
{
    txn_reset(s);
    reply(s, "250 2.0.0 Ok");
}

/* cmd_noop - NOOP */
static void cmd_noop(session *s, const char *verb, const char *arg)
{
    reply(s, "250 2.0.0 Ok");
}

/* cmd_vrfy - VRFY: never confirm addresses */
static void cmd_vrfy(session *s, const char *verb, const char *arg)
{
    reply(s, "252 2.0.0 Send some mail, I'll try my best");
}

/* cmd_quit - QUIT */
static void cmd_quit(session *s, const char *verb, const char *arg)
{
    reply(s, "221 2.0.0 Bye");
    sa_conn_close(s->c, TRUE);
}

static const struct {
    const char *verb;
    void      (*fn)(session *s, const char *verb, const char *arg);
} commands[] = {
    {"EHLO", cmd_helo},
    {"HELO", cmd_helo},
    {"STARTTLS", cmd_starttls},
    {"MAIL", cmd_mail},
    {"RCPT", cmd_rcpt},
    {"DATA", cmd_data},
    {"RSET", cmd_rset},
    {"NOOP", cmd_noop},
    {"VRFY", cmd_vrfy},
    {"QUIT", cmd_quit},
};

/* command - one command line (CRLF stripped) */
static void command(session *s, char *line)
{
    char   *arg = sa_smtp_split(line);

    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        if (g_ascii_strcasecmp(line, commands[i].verb) == 0) {
            commands[i].fn(s, line, arg);
            return;
        }
    error_reply(s, "502 5.5.2 Error: command not recognized");
}

/* data_end - the final dot: spool and answer */
static void data_end(session *s)
{
    g_autoptr(GError) err = NULL;
    sa_spool_file *f = g_steal_pointer(&s->spool);

    s->in_data = FALSE;
    if (s->bare) {
        /* SMTP smuggling, or a broken client: as Postfix 3.7 with
         * smtpd_forbid_bare_newline = reject, and then the session ends. */
        msg_warn("ICID %" G_GUINT64_FORMAT ": bare <%s> in DATA from %s: refused",
                 s->icid, s->bare, s->c->peer_ip);
        sa_spool_abort(f);
        reply(s, "550 5.5.2 %s Error: bare <%s> received", sa.opt.hostname, s->bare);
        sa_conn_close(s->c, TRUE);
    } else if (s->oversize) {
        sa_spool_abort(f);
        reply(s, "552 5.3.4 Message size exceeds fixed limit");
    } else if (!sa_spool_commit(f, &err)) {
        msg_warn("%s", err->message);
        reply(s, "451 4.3.0 Error: queue file write error");
    } else {
        sa_mail_info("Message finished MID %" G_GUINT64_FORMAT " done", s->mid);
        reply(s, "250 2.0.0 Ok: queued as %" G_GUINT64_FORMAT, s->mid);
        s->mid = 0;                     /* done, not aborted */
        sa_client_kick();
    }
    txn_reset(s);
}

/* data_write - message text into the spool, within the size limit */
static void data_write(session *s, const void *buf, gsize len)
{
    g_autoptr(GError) err = NULL;

    s->size += len;
    if (s->bare || s->oversize)         /* refused at the end anyway */
        return;
    if (s->size > (gsize) sa.opt.max_size) {
        s->oversize = TRUE;
        return;
    }
    if (!sa_spool_append(s->spool, buf, len, &err)) {
        msg_warn("%s", err->message);
        s->oversize = TRUE;             /* answered 552; keep it simple */
    }
}

/* data_input - message text until CR LF . CR LF; FALSE to wait */
static gboolean data_input(session *s)
{
    GByteArray *in = s->c->in;
    gsize   take, text;
    gboolean eol;
    sa_data_token t = sa_smtp_data_next(in->data, in->len, s->line_start,
                                        SA_DATA_CHUNK, &take, &text, &eol);

    if (t == SA_DATA_MORE)
        return FALSE;
    if (t == SA_DATA_END) {
        sa_conn_consume(s->c, take);
        data_end(s);
        return TRUE;
    }
    if (t == SA_DATA_BARE_LF || t == SA_DATA_BARE_CR) {
        /* Never a line end: read on to the real end, keep nothing. */
        if (s->bare == NULL)
            s->bare = t == SA_DATA_BARE_LF ? "LF" : "CR";
    } else {
        data_write(s, in->data, text);
        if (eol)
            data_write(s, "\r\n", 2);
    }
    s->line_start = eol;
    sa_conn_consume(s->c, take);
    return TRUE;
}

/* command_input - one command line; FALSE to wait */
static gboolean command_input(session *s)
{
    GByteArray *in = s->c->in;
    guint8 *lf = memchr(in->data, '\n', in->len);
    g_autofree char *line = NULL;
    gsize   len;

    if (lf == NULL) {
        if (in->len >= SA_LINE_MAX) {
            s->skipping = TRUE;         /* discard until the end of line */
            g_byte_array_set_size(in, 0);
        }
        return FALSE;
    }
    len = (gsize) (lf - in->data) + 1;
    if (s->skipping || len > SA_LINE_MAX) {
        s->skipping = FALSE;
        sa_conn_consume(s->c, len);
        error_reply(s, "500 5.5.0 Error: line too long");
        return TRUE;
    }
    line = g_strndup((char *) in->data, len - 1);
    sa_conn_consume(s->c, len);
    if (strlen(line) != len - 1) {
        error_reply(s, "500 5.5.2 Error: bad syntax");
        return TRUE;
    }
    g_strchomp(line);                   /* CR and trailing blanks */
    command(s, line);
    return TRUE;
}

/* on_input - process what was read */
static void on_input(sa_conn *c)
{
    session *s = c->ctx;

    while (c->in->len > 0 && !c->closing && !c->dead && !c->tls_pending) {
        if (!(s->in_data ? data_input(s) : command_input(s)))
            break;
        sa_conn_timeout(c, sa.opt.timeout);
    }
}

/* on_tls_done - handshake result */
static void on_tls_done(sa_conn *c, const char *fail)
{
    session *s = c->ctx;

    if (fail) {
        sa_mail_info("ICID %" G_GUINT64_FORMAT " TLS failed: %s", s->icid, fail);
        return;
    }
    s->tls = TRUE;
    g_clear_pointer(&s->helo, g_free);  /* RFC 3207: forget EHLO */
    txn_reset(s);
    sa_mail_info("ICID %" G_GUINT64_FORMAT " TLS success protocol %s cipher %s",
                 s->icid, SSL_get_version(c->ssl),
                 SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)));
    sa_conn_timeout(c, sa.opt.timeout);
}

/* on_timeout - no command within the timeout */
static void on_timeout(sa_conn *c)
{
    session *s = c->ctx;

    /* Mid-handshake (one record, as for a failed one), or a peer that
     * does not even read our goodbye. */
    if (c->handshaking || c->tls_pending) {
        sa_mail_info("ICID %" G_GUINT64_FORMAT " TLS failed: (0, '%s')", s->icid,
                     g_strerror(ETIMEDOUT));
        sa_conn_close(c, FALSE);
        return;
    }
    if (c->closing) {
        sa_conn_close(c, FALSE);
        return;
    }
    reply(s, "421 4.4.2 %s Error: timeout exceeded", sa.opt.hostname);
    sa_conn_close(c, TRUE);
    sa_conn_timeout(c, 10);             /* the reply gets 10 s to drain */
}

/* on_closed - end of session */
static void on_closed(sa_conn *c)
{
    session *s = c->ctx;

    txn_reset(s);
    sa_mail_info("ICID %" G_GUINT64_FORMAT " close", s->icid);
    g_free(s->helo);
    g_ptr_array_unref(s->rcpts);
    g_free(s);
}

static const sa_conn_ops server_ops = {
    .input = on_input,
    .tls_done = on_tls_done,
    .timeout = on_timeout,
    .closed = on_closed,
};

/* session_new - a session for an accepted connection: ICID and record */
static session *session_new(int fd, sa_listener *l)
{
    session *s = g_new0(session, 1);

    s->rcpts = g_ptr_array_new_with_free_func(g_free);
    s->c = sa_conn_new(fd, l, &server_ops, s);
    s->icid = sa_id_next(SA_ID_ICID);
    sa_mail_info("New SMTP ICID %" G_GUINT64_FORMAT " interface %s (%s) address %s"
                 " reverse dns host unknown verified no", s->icid,
                 sa_ifname_of(s->c->local_ip), s->c->local_ip, s->c->peer_ip);
    return s;
}

/* smtp_accept - a new inbound connection: the banner */
static void smtp_accept(int fd, sa_listener *l)
{
    session *s = session_new(fd, l);

    reply(s, "220 %s ESMTP segtls", sa.opt.hostname);
    sa_conn_timeout(s->c, sa.opt.timeout);
    sa_conn_pump(s->c);
}

/* smtp_refuse - the listener is full: 421 and one record */
static void smtp_refuse(int fd, sa_listener *l)
{
    session *s = session_new(fd, l);

    sa_mail_info("ICID %" G_GUINT64_FORMAT " refused: too many connections", s->icid);
    reply(s, "421 4.3.2 %s Service not available, too many connections", sa.opt.hostname);
    sa_conn_close(s->c, TRUE);
    sa_conn_timeout(s->c, 10);          /* the reply gets 10 s to drain */
    sa_conn_pump(s->c);
}

const sa_listen_ops sa_smtp_listen_ops = {
    .accept = smtp_accept,
    .refuse = smtp_refuse,
};
