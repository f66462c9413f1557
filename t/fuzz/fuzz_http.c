/*
 * fuzz_http - libFuzzer target: segtls-standalone's GUI HTTPS request
 * parser (standalone/http_parse.c).
 *
 * The whole input is what the connection has read so far (https.c calls
 * the parser after every read): it goes through sa_http_parse once, in a
 * buffer of exactly its length so that a read past it is caught by
 * ASan, and so does every prefix ending in LF, as a client sending a
 * line at a time would produce (the first PREFIXES of them). The result is checked against what
 * https.c relies on.
 */
#include <string.h>

#include "standalone.h"

#define PREFIXES        64              /* reads tried per input */

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

/* one_read - the parser on len bytes */
static void one_read(const guint8 *data, size_t len)
{
    g_autofree char *buf = g_memdup2(data, len);
    g_autofree char *path = NULL;
    gboolean head = TRUE;
    sa_http_result res = sa_http_parse(buf, len, &head, &path);

    if (res > SA_HTTP_OK || (res == SA_HTTP_OK) != (path != NULL))
        __builtin_trap();
    if (head && res != SA_HTTP_OK)
        __builtin_trap();
    if (res == SA_HTTP_TOO_LARGE && len < SA_REQ_MAX)
        __builtin_trap();
    if (path && strpbrk(path, " \r\n"))
        __builtin_trap();
}

/* LLVMFuzzerTestOneInput - the bytes of one request */
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    unsigned reads = 0;

    if (size == 0)
        return 0;                       /* https.c reads at least a byte */
    for (size_t i = 0; i + 1 < size && reads < PREFIXES; i++)
        if (data[i] == '\n') {
            one_read(data, i + 1);
            reads++;
        }
    one_read(data, size);
    return 0;
}
