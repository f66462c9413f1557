/*
 * smtp_parse - unit tests of segtls-standalone's SMTP line parsers
 * (standalone/smtp_parse.c): the DATA tokens (only CR LF . CR LF ends a
 * message; bare LF and CR are reported), the relay client's reply lines
 * (read within the buffer: every input is copied into a heap block of
 * exactly its size, so ASan and valgrind see a read past it) and the
 * CRLF normaliser of relayed text.
 */
#include <string.h>

#include "standalone.h"

/* exact - a heap copy of exactly len bytes */
static guint8 *exact(const char *s, gsize len)
{
    return g_memdup2(s, len);
}

/* data_tokens - a message text as "T:text|E|LF|CR|M" tokens */
static char *data_tokens(const char *s, gsize chunk)
{
    gsize   len = strlen(s), off = 0;
    g_autofree guint8 *buf = exact(s, len);
    GString *out = g_string_new(NULL);
    gboolean line_start = TRUE;

    for (;;) {
        gsize   take, text;
        gboolean eol;
        sa_data_token t = sa_smtp_data_next(buf + off, len - off, line_start, chunk,
                                            &take, &text, &eol);
        static const char *const name[] = {
            [SA_DATA_MORE] = "M", [SA_DATA_TEXT] = "T", [SA_DATA_END] = "E",
            [SA_DATA_BARE_LF] = "LF", [SA_DATA_BARE_CR] = "CR",
        };

        g_string_append_printf(out, "%s%s", out->len ? "|" : "", name[t]);
        if (t == SA_DATA_MORE)
            break;
        g_assert_cmpuint(take, >, 0);
        g_assert_cmpuint(take, <=, len - off);
        if (t == SA_DATA_TEXT) {
            g_assert_null(memchr(buf + off, '\n', text));
            g_assert_null(memchr(buf + off, '\r', text));
            g_string_append_printf(out, ":%.*s%s", (int) text, buf + off, eol ? "/" : "");
        }
        line_start = t == SA_DATA_TEXT ? eol : FALSE;
        off += take;
        if (t == SA_DATA_END)
            break;
    }
    return g_string_free(out, FALSE);
}

/* test_data - what ends a message, and what never does */
static void test_data(void)
{
    static const struct {
        const char *in, *want;
        gsize   chunk;
    } t[] = {
        {"a\r\n.\r\n", "T:a/|E", 8192},
        {".\r\n", "E", 8192},                           /* an empty message */
        {"..\r\n.\r\n", "T:../|E", 8192},               /* dot-stuffed */
        {".x\r\n", "T:.x/|M", 8192},
        /* smuggling: none of these ends the message */
        {"a\n.\nMAIL FROM:<e@x>\r\n", "LF|LF|T:MAIL FROM:<e@x>/|M", 8192},
        {"a\n.\r\nRSET\r\n", "LF|T:./|T:RSET/|M", 8192},
        {"a\r.\r\nRSET\r\n", "CR|T:./|T:RSET/|M", 8192},
        {"a\r\n.\nRSET\r\n", "T:a/|LF|T:RSET/|M", 8192},
        {"a\r\n.\r.\r\n", "T:a/|CR|T:./|M", 8192},
        /* after a bare LF the dot is not at a line start */
        {"x\n.\r\n.\r\n", "LF|T:./|E", 8192},
        /* a CR last waits for its LF; long lines come in pieces without it */
        {"abc\r", "M", 8192},
        {"abcdef\r", "T:abcdef|M", 4},
        {"abcdef", "T:abcdef|M", 4},
        {"abc", "M", 4},
        {"", "M", 8192},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(t); i++) {
        g_autofree char *got = data_tokens(t[i].in, t[i].chunk);

        g_assert_cmpstr(got, ==, t[i].want);
    }
}

/* reply_of - parse one buffer: "code more text / take" or "bad / take" or "0" */
static char *reply_of(const char *s, gsize len)
{
    g_autofree guint8 *buf = len ? exact(s, len) : NULL;
    sa_reply_line r;
    gsize   take = sa_smtp_reply_next(buf, len, &r);

    if (take == 0)
        return g_strdup("0");
    if (!r.ok)
        return g_strdup_printf("bad/%zu", take);
    return g_strdup_printf("%d%s[%.*s]/%zu", r.code, r.more ? "-" : " ",
                           (int) r.text_len, r.text, take);
}

/* test_reply - bare LF, CR LF, short and malformed lines, no LF */
static void test_reply(void)
{
    static const struct {
        const char *in;
        const char *want;
    } t[] = {
        {"250\n", "250 []/4"},                          /* the old over-read */
        {"250\r\n", "250 []/5"},
        {"250 ok\n", "250 [ok]/7"},
        {"250-STARTTLS\r\n250 x\r\n", "250-[STARTTLS]/14"},
        {"250-\n", "250-[]/5"},
        {"25\n", "bad/3"},
        {"2500 x\n", "bad/7"},
        {"abc ok\n", "bad/7"},
        {"\n", "bad/1"},
        {"\r\n", "bad/2"},
        {"250", "0"},
        {"250 no line end", "0"},
        {"", "0"},
    };
    g_autofree char *nul = NULL;
    g_autofree char *longl = g_strnfill(SA_REPLY_LINE_MAX + 10, 'x');

    for (gsize i = 0; i < G_N_ELEMENTS(t); i++) {
        g_autofree char *got = reply_of(t[i].in, strlen(t[i].in));

        g_assert_cmpstr(got, ==, t[i].want);
    }
    nul = reply_of("250 a\0b\n", 8);
    g_assert_cmpstr(nul, ==, "bad/8");
    longl[SA_REPLY_LINE_MAX + 5] = '\n';                /* LF beyond the limit */
    g_free(nul);
    nul = reply_of(longl, SA_REPLY_LINE_MAX + 10);
    g_assert_cmpstr(nul, ==, "0");
}

/* crlf_of - normalise text fed in pieces of n bytes */
static char *crlf_of(const char *s, gsize n)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    sa_crlf st = {0};
    gsize   len = strlen(s);

    for (gsize off = 0; off < len; off += n) {
        gsize   k = MIN(n, len - off);
        g_autofree guint8 *piece = exact(s + off, k);

        sa_smtp_crlf(&st, piece, k, out);
    }
    sa_smtp_crlf_end(&st, out);
    return out->len ? g_strndup((char *) out->data, out->len) : g_strdup("");
}

/* test_crlf - the relayed text: CRLF only, no lone dot, ended */
static void test_crlf(void)
{
    static const struct {
        const char *in, *want;
    } t[] = {
        {"a\r\nb\r\n", "a\r\nb\r\n"},
        {"a\nb\n", "a\r\nb\r\n"},
        {"a\rb", "a\r\nb\r\n"},
        {"a\r\r\nb", "a\r\n\r\nb\r\n"},
        {"x\n.\nMAIL FROM:<e@x>\r\n", "x\r\n..\r\nMAIL FROM:<e@x>\r\n"},
        {"x\r.\r\n", "x\r\n..\r\n"},
        {".\r\n", "..\r\n"},
        {"..\r\n", "..\r\n"},
        {".x\n", ".x\r\n"},
        {"last", "last\r\n"},
        {"last\r", "last\r\n"},
        {".", "..\r\n"},
        {"", ""},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(t); i++)
        for (gsize n = 1; n <= 4; n++) {
            g_autofree char *got = crlf_of(t[i].in, n);

            g_assert_cmpstr(got, ==, t[i].want);
        }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/smtp_parse/data", test_data);
    g_test_add_func("/smtp_parse/reply", test_reply);
    g_test_add_func("/smtp_parse/crlf", test_crlf);
    return g_test_run();
}
