/*
 * fuzz_smtp - libFuzzer target: segtls-standalone's Inbound SMTP
 * command parsers (standalone/smtp_parse.c).
 *
 * The input is split into lines as smtp_server.c sees them: at LF, at
 * most 1000 octets with the CRLF, no NUL (such lines are answered 500
 * before any parser runs), CR and trailing blanks stripped. Each line is
 * copied into a buffer of exactly its length plus the NUL and goes
 * through sa_smtp_split, then sa_smtp_path with both prefixes and, when
 * that succeeds, sa_smtp_mail_params with two size limits. The results
 * are checked against what smtp_server.c relies on.
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

/* LLVMFuzzerTestOneInput - one SMTP session's command lines */
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    const char *p = (const char *) data;
    const char *end = p + size;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        size_t  len = nl ? (size_t) (nl - p) : (size_t) (end - p);

        if (len + 1 <= LINE_MAX_CRLF && memchr(p, 0, len) == NULL)
            one_line(p, len);
        p += len + (nl != NULL);
    }
    return 0;
}
