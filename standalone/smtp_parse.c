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
 */
#include <string.h>

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
