/*
 * polreq - one Postfix policy delegation request (SMTPD_POLICY_README).
 *
 * smtpd sends "name=value" lines, each ending in a newline, and an empty
 * line after the last; it may send the next request on the same
 * connection. The parser takes one line at a time (without its newline)
 * and says when the request is complete. Everything comes from the
 * network and is checked: a line is at most SEG_POLREQ_MAX_LINE bytes, a
 * request has at most SEG_POLREQ_MAX_ATTRS attributes, a name is
 * [a-z0-9_] and non-empty, a value holds no NUL or control character
 * other than tab, and a name comes once. A request that breaks a rule is
 * refused with a one-line error; the connection is then closed.
 */
#ifndef SEGTLS_POLREQ_H
#define SEGTLS_POLREQ_H

#include <glib.h>

#define SEG_POLREQ_MAX_LINE     2048
#define SEG_POLREQ_MAX_ATTRS    64

typedef struct seg_polreq seg_polreq;

typedef enum {
    SEG_POLREQ_MORE,            /* the line was taken; more to come */
    SEG_POLREQ_DONE,            /* the empty line: the request is complete */
    SEG_POLREQ_ERROR,           /* broken request (error set) */
} seg_polreq_state;

seg_polreq *seg_polreq_new(void);
void seg_polreq_free(seg_polreq *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(seg_polreq, seg_polreq_free)

/* seg_polreq_line - one line of len bytes, no newline (a trailing \r is kept) */
seg_polreq_state seg_polreq_line(seg_polreq *r, const char *line, gsize len,
                                 GError **error);

/* seg_polreq_get - the value of an attribute, NULL when absent */
const char *seg_polreq_get(const seg_polreq *r, const char *name);

/* seg_polreq_count - attributes so far */
guint seg_polreq_count(const seg_polreq *r);

/* seg_polreq_reset - forget the request, for the next one on the connection */
void seg_polreq_reset(seg_polreq *r);

#endif
