/*
 * smtp_parse - the parsers of segtls-standalone's Inbound SMTP commands.
 *
 * Pure functions on one command line (CRLF already stripped), kept out
 * of the session code of smtp_server.c so that t/fuzz/fuzz_smtp.c can
 * drive them directly:
 *
 *   sa_smtp_split       verb and argument ("MAIL FROM:<a>" -> "MAIL",
 *                       "FROM:<a>"), in place
 *   sa_smtp_path        "FROM:<addr> params" / "TO:<addr> params": the
 *                       address checked (at most SA_ADDR_MAX octets, no
 *                       blanks, controls or '<'), the parameters as text
 *   sa_smtp_mail_params the MAIL parameters we know: SIZE=n within a
 *                       limit, BODY=8BITMIME, BODY=7BIT
 *   sa_smtp_data_next   the message text after DATA, a line at a time:
 *                       only <CR><LF>.<CR><LF> ends it (SMTP smuggling:
 *                       a bare LF or CR is reported, never a line end)
 *
 * and, for Outbound SMTP (smtp_client.c):
 *
 *   sa_smtp_reply_next  one reply line from the input buffer, read
 *                       strictly within it (a bare LF ends a line too)
 *   sa_smtp_crlf        the queued text as the next hop must get it:
 *                       CRLF lines only, never a lone "." line, CRLF at
 *                       the end
 */
#include <string.h>

#include "smtpio.h"
#include "standalone.h"

/* sa_smtp_split - split a command line into verb and argument, in place */
char *sa_smtp_split(char *line)
{
    char   *arg = line + strcspn(line, " ");

    if (*arg)
        *arg++ = 0;
    while (*arg == ' ')
        arg++;
    g_strchomp(arg);
    return arg;
}

/* sa_smtp_path - "<addr>" plus optional parameters; addr checked */
gboolean sa_smtp_path(const char *arg, const char *prefix, char **addr, char **params)
{
    const char *p, *end;

    if (g_ascii_strncasecmp(arg, prefix, strlen(prefix)) != 0)
        return FALSE;
    p = arg + strlen(prefix);
    while (*p == ' ')
        p++;
    if (*p != '<' || (end = strchr(p, '>')) == NULL)
        return FALSE;
    if ((gsize) (end - p - 1) > SA_ADDR_MAX)
        return FALSE;
    for (const char *q = p + 1; q < end; q++)
        if ((unsigned char) *q <= ' ' || *q == 0x7f || *q == '<')
            return FALSE;
    *addr = g_strndup(p + 1, (gsize) (end - p - 1));
    for (p = end + 1; *p == ' '; p++)
        ;
    *params = g_strdup(p);
    return TRUE;
}

/* sa_smtp_mail_params - check the MAIL parameters; *bad: the first bad one */
sa_mail_param sa_smtp_mail_params(const char *params, guint64 max_size, char **bad)
{
    g_auto(GStrv) v = g_strsplit(params, " ", -1);

    *bad = NULL;
    for (char **p = v; *p; p++) {
        if (**p == 0)
            continue;
        if (g_ascii_strncasecmp(*p, "SIZE=", 5) == 0) {
            char   *end;
            guint64 n = g_ascii_strtoull(*p + 5, &end, 10);

            if (*end || end == *p + 5)
                return SA_MAIL_PARAM_SYNTAX;
            if (n > max_size)
                return SA_MAIL_PARAM_TOO_BIG;
        } else if (g_ascii_strcasecmp(*p, "BODY=8BITMIME") != 0
                   && g_ascii_strcasecmp(*p, "BODY=7BIT") != 0) {
            *bad = g_strdup(*p);
            return SA_MAIL_PARAM_UNKNOWN;
        }
    }
    return SA_MAIL_PARAM_OK;
}

/* sa_smtp_data_next - the next token of message text in buf */
sa_data_token sa_smtp_data_next(const guint8 *buf, gsize len, gboolean line_start,
                                gsize chunk, gsize *take, gsize *text, gboolean *eol)
{
    gsize   i;

    *take = *text = 0;
    *eol = FALSE;
    for (i = 0; i < len && buf[i] != '\r' && buf[i] != '\n'; i++)
        ;
    if (i < len && buf[i] == '\n') {
        *take = i + 1;
        return SA_DATA_BARE_LF;
    }
    if (i + 1 < len) {                  /* a CR with a byte after it */
        *take = i + 1;
        if (buf[i + 1] != '\n')
            return SA_DATA_BARE_CR;
        *take = i + 2;
        *text = i;
        *eol = TRUE;
        return line_start && i == 1 && buf[0] == '.' ? SA_DATA_END : SA_DATA_TEXT;
    }
    /* No line end yet (maybe a CR last): a long line goes in pieces,
     * never with the CR, so that CR LF is always seen whole. */
    if (i >= chunk) {
        *take = *text = i;
        return SA_DATA_TEXT;
    }
    return SA_DATA_MORE;
}

/* sa_smtp_reply_next - one reply line; bytes to consume, 0 without a whole line */
gsize sa_smtp_reply_next(const guint8 *buf, gsize len, sa_reply_line *r)
{
    const guint8 *lf = len ? memchr(buf, '\n', MIN(len, SA_REPLY_LINE_MAX)) : NULL;
    gsize   off, tlen;

    memset(r, 0, sizeof(*r));
    if (lf == NULL)
        return 0;
    r->ok = seg_smtp_reply_line((const char *) buf, (gsize) (lf - buf), &r->code,
                                &r->more, &off, &tlen);
    if (r->ok) {
        r->text = (const char *) buf + off;
        r->text_len = tlen;
    }
    return (gsize) (lf - buf) + 1;
}

/* crlf_eol - end the current line with CR LF */
static void crlf_eol(sa_crlf *st, GByteArray *out)
{
    if (st->dot)                        /* "." would end the DATA: make it ".." */
        g_byte_array_append(out, (const guint8 *) ".", 1);
    g_byte_array_append(out, (const guint8 *) "\r\n", 2);
    st->mid_line = st->dot = FALSE;
}

/* sa_smtp_crlf - append len bytes of queued text to out, as CRLF lines */
void sa_smtp_crlf(sa_crlf *st, const guint8 *in, gsize len, GByteArray *out)
{
    gsize   i = 0, j;

    while (i < len) {
        if (st->cr) {                   /* CR LF, or a bare CR: a line end */
            st->cr = FALSE;
            crlf_eol(st, out);
            if (in[i] == '\n')
                i++;
            continue;
        }
        if (in[i] == '\r') {
            st->cr = TRUE;
            i++;
            continue;
        }
        if (in[i] == '\n') {           /* a bare LF */
            crlf_eol(st, out);
            i++;
            continue;
        }
        for (j = i; j < len && in[j] != '\r' && in[j] != '\n'; j++)
            ;
        st->dot = !st->mid_line && j - i == 1 && in[i] == '.';
        st->mid_line = TRUE;
        g_byte_array_append(out, in + i, (guint) (j - i));
        i = j;
    }
}

/* sa_smtp_crlf_end - the end of the text: its last line ended */
void sa_smtp_crlf_end(sa_crlf *st, GByteArray *out)
{
    if (st->cr || st->mid_line)
        crlf_eol(st, out);
    st->cr = FALSE;
}
