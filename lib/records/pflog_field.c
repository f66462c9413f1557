/*
 * pflog_field - the pieces of a Postfix log line the handlers look for:
 * literals, "NAME[ADDR]:PORT" peers, queue ids, mail addresses, the
 * "NAME=VALUE, " fields of a delivery status, the "TLS connection
 * established" line and the OpenSSL error of a failed handshake. Each
 * takes a pf_str (pointer + length into the line, no NUL) and reads only
 * its bytes.
 *
 * Parts of a line are chosen by remote parties (addresses, HELO names,
 * reply texts): a piece is taken only where the line's grammar puts it,
 * never by searching the rest of the line for a literal. Addresses are
 * read as Postfix logs them (info_log_address_format = external): a
 * local part that needs it is an RFC 5321 quoted string, in which '>',
 * ',' and spaces are text and '\' escapes the next character, so
 * to=<"x>, relay=a[1.2.3.4]:25, status=sent (ok"@evil.test> is one
 * address.
 */
#include "pflog_field.h"
#include "pflog_int.h"

/*
 * pf_find - offset of a literal in s. With SSE2, 16 places at a time are
 * tested for the first and the last byte of the literal (the one before
 * it when the last is a space), the rest only where both match; the last
 * places (and literals of one byte) go through memchr.
 */
gboolean pf_find(pf_str s, const char *lit, size_t n, size_t *at)
{
    const char *q = s.p, *last, *f;
    size_t i;

    if (n == 0 || n > s.n) {
        *at = 0;
        return n == 0;
    }
    last = s.p + s.n - n;               /* the last place it can start */
    if (n == 1) {                       /* one byte: nearby without a call */
        i = pf_span(s.p, MIN(s.n, 64), lit[0], lit[0], lit[0]);
        if (i < MIN(s.n, 64) || (s.n > 64 && (f = memchr(s.p + 64, lit[0], s.n - 64)) != NULL
                                 && (i = f - s.p, TRUE))) {
            *at = i;
            return TRUE;
        }
        return FALSE;
    }
#ifdef __SSE2__
    {
        /* the second byte tested: the last, or the one before a last space */
        size_t k = (lit[n - 1] == ' ' && n > 2) ? n - 2 : n - 1;
        const __m128i first = _mm_set1_epi8(lit[0]), other = _mm_set1_epi8(lit[k]);

        for (; last - q >= 15; q += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *) (const void *) q);
            __m128i z = _mm_loadu_si128((const __m128i *) (const void *) (q + k));
            unsigned m = (unsigned) _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first),
                                                                    _mm_cmpeq_epi8(z, other)));

            for (; m != 0; m &= m - 1) {
                f = q + __builtin_ctz(m);
                if (pf_same(f + 1, lit + 1, n - 1)) {
                    *at = f - s.p;
                    return TRUE;
                }
            }
        }
    }
#endif
    for (; q <= last && (f = memchr(q, lit[0], last - q + 1)) != NULL; q = f + 1) {
        if (pf_same(f + 1, lit + 1, n - 1)) {
            *at = f - s.p;
            return TRUE;
        }
    }
    return FALSE;
}

/* port_len - the digits of a port at d (at most 5; e: end of line) */
static size_t port_len(const char *d, const char *e)
{
    const char *de = d;
    guint64 nd;

    if (e - d >= 8) {
        nd = pf_nondigit8(pf_load8(d));
        return nd ? MIN((size_t) __builtin_ctzll(nd) >> 3, 5) : 5;
    }
    while (de < e && *de >= '0' && *de <= '9' && de - d < 5)
        de++;
    return de - d;
}

/* brackets - NAME[ADDR] at s: the '[' and the ']' (FALSE: malformed) */
static gboolean brackets(const char *s, const char *e, const char **b, const char **c)
{
    size_t i;

#ifdef __SSE2__
    if (e - s >= 48) {                  /* both in 48 bytes: no loop */
        guint64 op, sp, cl;
        unsigned k;

        pf_masks48(s, '[', ' ', ']', &op, &sp, &cl);
        if (op != 0 && (k = (unsigned) __builtin_ctzll(op)) < 46
            && (cl & (~0ULL << (k + 1))) != 0) {
            if ((sp & ((1ULL << k) - 1)) != 0)
                return FALSE;           /* a space in the name */
            *b = s + k;
            *c = s + __builtin_ctzll(cl & (~0ULL << (k + 1)));
            return TRUE;
        }
    }
#endif
    i = pf_span(s, e - s, '[', ' ', '[');                  /* a name without spaces */
    if (s + i == e || s[i] == ' ')
        return FALSE;
    *b = s + i;
    *c = *b + 1 + pf_span(*b + 1, e - *b - 1, ']', ']', ']');
    return *c != e;
}

/* pf_peer - "NAME[ADDR]" or "NAME[ADDR]:PORT"; advances past it */
gboolean pf_peer(pf_str *s, pf_str *name, pf_str *addr, pf_str *port)
{
    const char *b, *e = s->p + s->n, *c, *q;
    size_t i;

    if (!brackets(s->p, e, &b, &c) || b - s->p >= PF_NAME_MAX || c == b + 1
        || c - b - 1 >= PF_ADDR_MAX)
        return FALSE;
    name->p = s->p;
    name->n = b - s->p;
    addr->p = b + 1;
    addr->n = c - b - 1;
    q = c + 1;
    port->p = q;
    port->n = 0;
    if (q < e && *q == ':' && (i = port_len(q + 1, e)) > 0) {
        port->p = q + 1;
        port->n = i;
        q += 1 + i;
    }
    s->n -= q - s->p;
    s->p = q;
    return TRUE;
}

/* pf_qid - "QUEUEID: " at the start of s; advances past it */
gboolean pf_qid(pf_str *s, pf_str *qid)
{
    size_t i = 0, lim = MIN(s->n, PF_QID_MAX);
    guint64 m;

    for (; i + 8 <= lim; i += 8) {
        if ((m = pf_nonalnum8(pf_load8(s->p + i))) != 0) {
            i += __builtin_ctzll(m) >> 3;
            goto end;
        }
    }
    for (; i < lim && g_ascii_isalnum(s->p[i]); i++)
        ;
end:
    if (i < 5 || i >= PF_QID_MAX || i + 2 > s->n || s->p[i] != ':' || s->p[i + 1] != ' ')
        return FALSE;
    if (i == 7 && memcmp(s->p, "NOQUEUE", 7) == 0)
        return FALSE;
    qid->p = s->p;
    qid->n = i;
    s->p += i + 2;
    s->n -= i + 2;
    return TRUE;
}

/*
 * pf_addr - an address after its "<", as Postfix logs it: up to the '>'
 * that is not inside a quoted string; s is advanced past that '>'.
 * FALSE when it does not end on the line.
 */
gboolean pf_addr(pf_str *s, pf_str *addr)
{
    const char *p = s->p, *e = s->p + s->n;
    gboolean quoted = FALSE;

    /* most addresses: no quote before the '>' */
    for (p += pf_span(p, s->n, '>', '"', '"'); p < e; p++) {
        if (quoted) {
            if (*p == '\\')
                p++;                    /* the next character is text */
            else if (*p == '"')
                quoted = FALSE;
        } else if (*p == '"') {
            quoted = TRUE;
        } else if (*p == '>') {
            addr->p = s->p;
            addr->n = p - s->p;
            s->n -= p + 1 - s->p;
            s->p = p + 1;
            return TRUE;
        }
    }
    return FALSE;
}

/*
 * pf_status - the fields after relay=NAME[ADDR]:PORT of a delivery
 * status line, ", NAME=VALUE" each (delay, delays, dsn, conn_use ...:
 * values Postfix writes, without spaces or commas), up to ", status=S"
 * and its " (text)"; s is the rest of the line. FALSE when the line
 * does not have that shape.
 */
gboolean pf_status(pf_str s, pf_str *status, pf_str *why)
{
    size_t i;

    while (PF_HAS(&s, ", ")) {
        if (PF_HAS(&s, "status=")) {
            i = pf_span(s.p, s.n, ' ', ',', ' ');
            status->p = s.p;
            status->n = i;
            s.p += i;
            s.n -= i;
            why->p = s.p;
            why->n = 0;
            if (PF_HAS(&s, " ("))
                *why = s;
            return status->n > 0;
        }
        i = pf_span(s.p, s.n, '=', ' ', ',');
        if (i == 0 || i == s.n || s.p[i] != '=')
            return FALSE;
        i += 1 + pf_span(s.p + i + 1, s.n - i - 1, ',', ' ', ',');
        s.p += i;
        s.n -= i;
    }
    return FALSE;
}

/*
 * pf_tls_established - "Anonymous TLS connection established DIR
 * NAME[ADDR]:PORT: PROTO with cipher CIPHER (...)"; DIR is "from" or "to"
 */
gboolean pf_tls_established(pf_str s, const char *dir, size_t dirlen, pf_str *addr,
                            pf_str *port, pf_str *proto, pf_str *cipher)
{
    static const struct {
        const char *name;
        size_t      len;
    } kinds[] = {
        {"Anonymous ", 10}, {"Untrusted ", 10}, {"Trusted ", 8}, {"Verified ", 9},
    };
    pf_str name;
    size_t i, at;

    for (i = 0; i < G_N_ELEMENTS(kinds) && !pf_has(&s, kinds[i].name, kinds[i].len); i++)
        ;
    if (i == G_N_ELEMENTS(kinds) || !PF_HAS(&s, "TLS connection established ")
        || !pf_has(&s, dir, dirlen) || !PF_HAS(&s, " ") || !pf_peer(&s, &name, addr, port)
        || !PF_HAS(&s, ": ") || !pf_find(s, " with cipher ", 13, &at) || at == 0)
        return FALSE;
    proto->p = s.p;
    proto->n = at;
    cipher->p = s.p + at + 13;
    cipher->n = s.n - at - 13;
    if (pf_find(*cipher, " ", 1, &at))
        cipher->n = at;
    return cipher->n > 0 && pf_span(proto->p, proto->n, ' ', ' ', ' ') == proto->n;
}

/* pf_tls_error_begin - "SSL_accept/connect error ...: REASON" seen */
void pf_tls_error_begin(pf_conn *c, pf_str reason)
{
    c->tls = PF_TLS_ERROR;
    c->err_code = 0;
    if (reason.n == 2 && memcmp(reason.p, "-1", 2) == 0)
        g_strlcpy(c->err, "handshake failure", sizeof(c->err));
    else
        pf_copy(c->err, sizeof(c->err), reason);
}

/*
 * pf_tls_library - "TLS library problem: error:..." after an error line.
 * Postfix logs the whole OpenSSL queue, one such line per error, oldest
 * first; each one replaces the last, so the failure keeps the last: the
 * SSL library's reason, as segtls reads errors everywhere (tlserr.h).
 */
gboolean pf_tls_library(pf_conn *c, pf_str s)
{
    size_t  n;

    if (c->tls == PF_TLS_NONE || !seg_pflog_tls_error(s.p, s.n, &c->err_code, &n))
        return FALSE;
    s.n = n;
    pf_copy(c->err, sizeof(c->err), s);
    c->tls = PF_TLS_TUPLE;
    return TRUE;
}

/* pf_copy - a piece into a fixed buffer (cut to fit) */
void pf_copy(char *dst, size_t size, pf_str s)
{
    size_t n = MIN(s.n, size - 1);

    memcpy(dst, s.p, n);
    dst[n] = 0;
}

/* seg_pflog_tls_error - "error:0A000102:...:file:line:" -> code and string */
gboolean seg_pflog_tls_error(const char *text, size_t len, unsigned long *code,
                             size_t *str_len)
{
    size_t i, colons = 0;
    unsigned long v = 0;

    if (len < 15 || memcmp(text, "error:", 6) != 0)
        return FALSE;
    for (i = 6; i < len && g_ascii_isxdigit(text[i]) && i < 14; i++)
        v = v * 16 + g_ascii_xdigit_value(text[i]);
    if (i == 6 || i >= len || text[i] != ':')
        return FALSE;
    /* error:CODE:LIB:FUNC:REASON[:FILE:LINE:DATA:] - keep four fields */
    for (i = 0; i < len; i++)
        if (text[i] == ':' && ++colons == 5)
            break;
    *code = v;
    *str_len = i;
    return TRUE;
}
