/*
 * fuzz_smtp - libFuzzer target: segtls-standalone's SMTP parsers
 * (standalone/smtp_parse.c): the Inbound SMTP command lines, the message
 * text after DATA, the relay client's reply lines and its CRLF
 * normaliser.
 *
 * The input is split into lines as smtp_server.c sees them: at LF, at
 * most 1000 octets with the CRLF, no NUL (such lines are answered 500
 * before any parser runs), CR and trailing blanks stripped. Each line is
 * copied into a buffer of exactly its length plus the NUL and goes
 * through sa_smtp_split, then sa_smtp_path with both prefixes and, when
 * that succeeds, sa_smtp_mail_params with two size limits. The results
 * are checked against what smtp_server.c relies on.
 *
 * The whole input is also read as message text (sa_smtp_data_next, in
 * a buffer of exactly its size, with two chunk sizes): the message ends
 * only at CR LF . CR LF, a text token never holds a CR or LF. And as the
 * next hop's replies (sa_smtp_reply_next, each line within the buffer),
 * and as queued text to relay (sa_smtp_crlf, in two piece sizes): the
 * output has no bare CR or LF, no "." line, and ends in CR LF.
 */
#include <string.h>

#include "standalone.h"

#define LINE_MAX_CRLF   1000            /* SA_LINE_MAX in smtp_server.c */

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

/* path_check - sa_smtp_path and the MAIL parameters of one argument */
static void path_check(const char *arg, const char *prefix)
{
    g_autofree char *addr = NULL;
    g_autofree char *params = NULL;
    g_autofree char *bad = NULL;
    sa_mail_param res;

    if (!sa_smtp_path(arg, prefix, &addr, &params)) {
        if (addr || params)
            __builtin_trap();
        return;
    }
    if (strlen(addr) > SA_ADDR_MAX || *params == ' '
        || g_ascii_strncasecmp(arg, prefix, strlen(prefix)) != 0)
        __builtin_trap();
    for (const char *q = addr; *q; q++)
        if ((unsigned char) *q <= ' ' || *q == 0x7f || *q == '<' || *q == '>')
            __builtin_trap();
    res = sa_smtp_mail_params(params, 10240000, &bad);
    if (res > SA_MAIL_PARAM_UNKNOWN || (res == SA_MAIL_PARAM_UNKNOWN) != (bad != NULL))
        __builtin_trap();
    g_clear_pointer(&bad, g_free);
    res = sa_smtp_mail_params(params, G_MAXUINT64, &bad);
    if (res == SA_MAIL_PARAM_TOO_BIG || (res == SA_MAIL_PARAM_UNKNOWN) != (bad != NULL))
        __builtin_trap();
}

/* one_line - a command line without CRLF, as command() gets it */
static void one_line(const char *p, size_t len)
{
    g_autofree char *line = g_strndup(p, len);
    char   *arg;

    g_strchomp(line);
    arg = sa_smtp_split(line);
    if (strchr(line, ' ') || *arg == ' ' || (*arg && arg[strlen(arg) - 1] == ' '))
        __builtin_trap();
    path_check(arg, "FROM:");
    path_check(arg, "TO:");
}

/* data_check - the input as message text after DATA */
static void data_check(const guint8 *buf, size_t size, gsize chunk)
{
    gsize   off = 0;
    gboolean line_start = TRUE;

    for (;;) {
        gsize   take, text;
        gboolean eol;
        sa_data_token t = sa_smtp_data_next(buf + off, size - off, line_start, chunk,
                                            &take, &text, &eol);

        if (t == SA_DATA_MORE)
            return;
        if (take == 0 || take > size - off || text > take)
            __builtin_trap();
        if (t == SA_DATA_END && !(line_start && take == 3
                                  && memcmp(buf + off, ".\r\n", 3) == 0))
            __builtin_trap();
        if (t == SA_DATA_END)
            return;
        if (t == SA_DATA_TEXT && (memchr(buf + off, '\r', text) || memchr(buf + off, '\n', text)))
            __builtin_trap();
        line_start = t == SA_DATA_TEXT && eol;
        off += take;
    }
}

/* reply_check - the input as a next hop's reply lines */
static void reply_check(const guint8 *buf, size_t size)
{
    gsize   off = 0, take;
    sa_reply_line r;

    while ((take = sa_smtp_reply_next(buf + off, size - off, &r)) > 0) {
        if (take > size - off || take > SA_REPLY_LINE_MAX || buf[off + take - 1] != '\n')
            __builtin_trap();
        if (r.ok && (r.code < 0 || r.code > 999 || r.text < (const char *) buf + off
                     || r.text + r.text_len > (const char *) buf + off + take
                     || memchr(r.text, 0, r.text_len) != NULL))
            __builtin_trap();
        off += take;
    }
}

/* crlf_check - the input as queued text, relayed in pieces of n bytes */
static void crlf_check(const guint8 *buf, size_t size, gsize n)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    sa_crlf st = {0};
    const guint8 *o;

    for (gsize off = 0; off < size; off += n)
        sa_smtp_crlf(&st, buf + off, MIN(n, size - off), out);
    sa_smtp_crlf_end(&st, out);
    o = out->data;
    if (out->len > 0 && (out->len < 2 || o[out->len - 2] != '\r' || o[out->len - 1] != '\n'))
        __builtin_trap();
    for (gsize i = 0; i < out->len; i++) {
        if (o[i] == '\n' && (i == 0 || o[i - 1] != '\r'))
            __builtin_trap();
        if (o[i] == '\r' && (i + 1 == out->len || o[i + 1] != '\n'))
            __builtin_trap();
        if (o[i] == '.' && (i == 0 || o[i - 1] == '\n') && i + 1 < out->len && o[i + 1] == '\r')
            __builtin_trap();
    }
}

/* LLVMFuzzerTestOneInput - one SMTP session's command lines, and more */
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    const char *p = (const char *) data;
    const char *end = p + size;
    g_autofree guint8 *copy = g_memdup2(data, size);  /* exactly size bytes */

    if (size > 0) {                     /* no arithmetic on a NULL copy */
        data_check(copy, size, 8192);
        data_check(copy, size, 7);
        reply_check(copy, size);
        crlf_check(copy, size, 4096);
        crlf_check(copy, size, 3);
    }

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        size_t  len = nl ? (size_t) (nl - p) : (size_t) (end - p);

        if (len + 1 <= LINE_MAX_CRLF && memchr(p, 0, len) == NULL)
            one_line(p, len);
        p += len + (nl != NULL);
    }
    return 0;
}
