/*
 * polreq - the parser of Postfix policy delegation requests (polreq.h).
 *
 * Attributes are kept in the order they came, in one array; requests
 * are small (some 30 attributes), so a lookup is a walk.
 */
#include <string.h>

#include "error.h"
#include "polreq.h"

struct seg_polreq {
    GPtrArray  *names;          /* char * */
    GPtrArray  *values;         /* char *, same order */
};

/* seg_polreq_new - an empty request */
seg_polreq *seg_polreq_new(void)
{
    seg_polreq *r = g_new0(seg_polreq, 1);

    r->names = g_ptr_array_new_with_free_func(g_free);
    r->values = g_ptr_array_new_with_free_func(g_free);
    return r;
}

/* seg_polreq_free - release a request */
void seg_polreq_free(seg_polreq *r)
{
    if (r == NULL)
        return;
    g_ptr_array_unref(r->names);
    g_ptr_array_unref(r->values);
    g_free(r);
}

/* seg_polreq_reset - forget every attribute */
void seg_polreq_reset(seg_polreq *r)
{
    g_ptr_array_set_size(r->names, 0);
    g_ptr_array_set_size(r->values, 0);
}

/* refuse - one-line error */
G_GNUC_PRINTF(2, 3)
static seg_polreq_state refuse(GError **error, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, SEG_ERROR, SEG_ERROR_PROTOCOL, msg);
    return SEG_POLREQ_ERROR;
}

/* seg_polreq_line - one line of the request */
seg_polreq_state seg_polreq_line(seg_polreq *r, const char *line, gsize len,
                                 GError **error)
{
    const char *eq;
    gsize   nlen;

    if (len == 0)
        return r->names->len ? SEG_POLREQ_DONE
            : refuse(error, "policy request: empty request");
    if (len > SEG_POLREQ_MAX_LINE)
        return refuse(error, "policy request: line longer than %d bytes",
                      SEG_POLREQ_MAX_LINE);
    if ((eq = memchr(line, '=', len)) == NULL)
        return refuse(error, "policy request: line without '='");
    nlen = (gsize) (eq - line);
    if (nlen == 0)
        return refuse(error, "policy request: attribute without a name");
    for (gsize i = 0; i < nlen; i++)
        if (!g_ascii_islower(line[i]) && !g_ascii_isdigit(line[i]) && line[i] != '_')
            return refuse(error, "policy request: attribute name with character "
                          "0x%02x", (guchar) line[i]);
    for (gsize i = nlen + 1; i < len; i++)
        if (((guchar) line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
            return refuse(error, "policy request: control character 0x%02x in a "
                          "value", (guchar) line[i]);
    if (r->names->len >= SEG_POLREQ_MAX_ATTRS)
        return refuse(error, "policy request: more than %d attributes",
                      SEG_POLREQ_MAX_ATTRS);
    for (guint i = 0; i < r->names->len; i++) {
        const char *n = g_ptr_array_index(r->names, i);

        if (strlen(n) == nlen && memcmp(n, line, nlen) == 0)
            return refuse(error, "policy request: attribute %s given twice", n);
    }
    g_ptr_array_add(r->names, g_strndup(line, nlen));
    g_ptr_array_add(r->values, g_strndup(eq + 1, len - nlen - 1));
    return SEG_POLREQ_MORE;
}

/* seg_polreq_get - the value of an attribute */
const char *seg_polreq_get(const seg_polreq *r, const char *name)
{
    for (guint i = 0; i < r->names->len; i++)
        if (strcmp(g_ptr_array_index(r->names, i), name) == 0)
            return g_ptr_array_index(r->values, i);
    return NULL;
}

/* seg_polreq_count - attributes so far */
guint seg_polreq_count(const seg_polreq *r)
{
    return r->names->len;
}
