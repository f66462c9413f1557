/*
 * http_parse - the request parser of segtls-standalone's GUI HTTPS.
 *
 * A pure function on the bytes read so far, kept out of https.c so that
 * t/fuzz/fuzz_http.c can drive it directly. It waits for the end of the
 * header (an empty line, CRLF or LF), at most SA_REQ_MAX bytes, then
 * looks only at the request line: "METHOD PATH HTTP/1.x", with GET and
 * HEAD the only methods served.
 */
#include <string.h>

#include "standalone.h"

/* sa_http_parse - classify a request; *head and *path when SA_HTTP_OK */
sa_http_result sa_http_parse(const char *data, gsize len, gboolean *head, char **path)
{
    g_autofree char *req = NULL;
    g_autofree char *line = NULL;
    g_auto(GStrv) f = NULL;

    *head = FALSE;
    *path = NULL;
    if (g_strstr_len(data, (gssize) len, "\r\n\r\n") == NULL
        && g_strstr_len(data, (gssize) len, "\n\n") == NULL)
        return len >= SA_REQ_MAX ? SA_HTTP_TOO_LARGE : SA_HTTP_MORE;
    req = g_strndup(data, len);
    line = g_strndup(req, strcspn(req, "\r\n"));
    f = g_strsplit(line, " ", 4);
    if (g_strv_length(f) != 3 || !g_str_has_prefix(f[2], "HTTP/1."))
        return SA_HTTP_BAD;
    *head = strcmp(f[0], "HEAD") == 0;
    if (strcmp(f[0], "GET") != 0 && !*head)
        return SA_HTTP_METHOD;
    *path = g_strdup(f[1]);
    return SA_HTTP_OK;
}
