/*
 * pflog - Postfix log line parser: line header, times and the tables.
 *
 * seg_pflog_line() splits "TIME HOST PROGRAM[PID]: TEXT" with memchr and
 * fixed offsets (no regex, no allocation), converts the time, and hands
 * the line to the handler of the daemon named by the last component of
 * PROGRAM (postfix/smtpd, postfix/submission/smtpd, postfix-in/smtp ...).
 * The handlers (pflog_smtpd.c, pflog_smtp.c) keep one pf_conn per
 * process id and one pf_msg per queue id; messages are in an open
 * addressing table keyed by queue id (pf_msg_*). Records are built by
 * pflog_rec.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "msg.h"
#include "pflog_int.h"

#define PF_LINE_MAX     65536   /* longer lines are malformed */

/* month names as three bytes in an integer (see MON) */
#define MON(a, b, c)    ((guint32) (guchar) (a) << 16 | (guint32) (guchar) (b) << 8 | (guchar) (c))
static const guint32 months[12] = {
    MON('J', 'a', 'n'), MON('F', 'e', 'b'), MON('M', 'a', 'r'), MON('A', 'p', 'r'),
    MON('M', 'a', 'y'), MON('J', 'u', 'n'), MON('J', 'u', 'l'), MON('A', 'u', 'g'),
    MON('S', 'e', 'p'), MON('O', 'c', 't'), MON('N', 'o', 'v'), MON('D', 'e', 'c'),
};

static const struct {
    const char *name;
    size_t      len;
    gboolean  (*fn)(seg_pflog *, const pf_line *);
} daemons[] = {
    {"smtpd", 5, pf_smtpd},
    {"smtp", 4, pf_smtp},
    {"qmgr", 4, pf_qmgr},
    {"pickup", 6, pf_pickup},
    {"lmtp", 4, pf_smtp},
    {"discard", 7, pf_local},
    {"local", 5, pf_local},
    {"virtual", 7, pf_local},
    {"pipe", 4, pf_local},
    {"error", 5, pf_local},
    {"retry", 5, pf_local},
};

/* digits - n decimal digits at s, or -1 */
static int digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* days_from_civil - days since 1970-01-01 of a proleptic Gregorian date */
static long days_from_civil(long y, int m, int d)
{
    long era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    doy = (unsigned) ((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long) doe - 719468;
}

/* local_time - seconds since the epoch of a local time (cached per hour) */
static time_t local_time(seg_pflog *p, int year, int mon, int day, int h, int m, int s)
{
    if (p->tc_key[0] != year || p->tc_key[1] != mon || p->tc_key[2] != day
        || p->tc_key[3] != h) {
        struct tm tm = {.tm_year = year - 1900, .tm_mon = mon, .tm_mday = day,
                        .tm_hour = h, .tm_isdst = -1};

        p->tc_base = mktime(&tm);
        p->tc_key[0] = year;
        p->tc_key[1] = mon;
        p->tc_key[2] = day;
        p->tc_key[3] = h;
    }
    return p->tc_base + m * 60 + s;
}

/* parse_3164 - "Nov 27 23:16:05 " */
static size_t parse_3164(seg_pflog *p, const char *s, size_t n, time_t *when)
{
    int mon, day, h, m, sec;
    guint32 name;
    guint64 ts[2];

    if (n >= 16) {                      /* the same field as the last line? */
        memcpy(ts, s, 16);
        if (p->ts_when && ts[0] == p->ts_last[0] && ts[1] == p->ts_last[1]) {
            *when = p->ts_when;
            return 16;
        }
    }
    if (n < 16 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':' || s[15] != ' ')
        return 0;
    name = MON(s[0], s[1], s[2]);
    for (mon = 0; mon < 12 && months[mon] != name; mon++)
        ;
    day = s[4] == ' ' ? digits(s + 5, 1) : digits(s + 4, 2);
    h = digits(s + 7, 2);
    m = digits(s + 10, 2);
    sec = digits(s + 13, 2);
    if (mon == 12 || day < 1 || day > 31 || h < 0 || h > 23 || m < 0 || m > 59
        || sec < 0 || sec > 60)
        return 0;
    if (mon + 6 < p->last_mon)
        p->year++;                      /* the log went from December to January */
    p->last_mon = mon;
    *when = local_time(p, p->year, mon, day, h, m, sec);
    memcpy(p->ts_last, ts, 16);
    p->ts_when = *when;                 /* a time of 0 is just not cached */
    return 16;
}

/* parse_3339 - "2026-11-27T23:16:05.123456+01:00 " */
static size_t parse_3339(const char *s, size_t n, time_t *when)
{
    int y, mo, d, h, m, sec, oh, om;
    size_t i = 19;
    long off = 0;

    if (n < 21 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ')
        || s[13] != ':' || s[16] != ':')
        return 0;
    y = digits(s, 4);
    mo = digits(s + 5, 2);
    d = digits(s + 8, 2);
    h = digits(s + 11, 2);
    m = digits(s + 14, 2);
    sec = digits(s + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23
        || m < 0 || m > 59 || sec < 0 || sec > 60)
        return 0;
    if (s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            ;
    if (i < n && s[i] == 'Z') {
        i++;
    } else if (i + 6 <= n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        oh = digits(s + i + 1, 2);
        om = digits(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return 0;
        off = (oh * 3600L + om * 60L) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return 0;
    }
    if (i >= n || s[i] != ' ')
        return 0;
    *when = (time_t) (days_from_civil(y, mo, d) * 86400L + h * 3600L + m * 60L + sec - off);
    return i + 1;
}

/* the bytes that end or split a program name: ' ', '/', '[' */
static const guchar prog_stop[256] = {[' '] = 1, ['/'] = 1, ['['] = 1};

/* split - "TIME HOST PROG[PID]: TEXT" into l; FALSE when malformed */
static gboolean split(seg_pflog *p, const char *s, size_t n, pf_line *l)
{
    const char *e = s + n, *q, *b, *slash = NULL;
    size_t used;
    long pid = 0;

    used = (s[0] >= '0' && s[0] <= '9') ? parse_3339(s, n, &l->when)
        : parse_3164(p, s, n, &l->when);
    if (used == 0)
        return FALSE;
    s += used;
    for (q = s; q < e && *q != ' '; q++)                      /* host */
        ;
    if (q == e || q == s)
        return FALSE;
    s = q + 1;
    for (b = s; b < e; b++) {                               /* program */
        if (G_LIKELY(!prog_stop[(guchar) *b]))
            continue;
        if (*b == '[')
            break;
        if (*b == ' ')
            return FALSE;
        slash = b;
    }
    if (b == e || b == s)
        return FALSE;
    for (q = b + 1; q < e && *q >= '0' && *q <= '9' && q - b < 12; q++)
        pid = pid * 10 + (*q - '0');
    if (q == b + 1 || e - q < 3 || q[0] != ']' || q[1] != ':' || q[2] != ' ' || pid <= 0)
        return FALSE;
    l->pid = pid;
    l->text.p = q + 3;
    l->text.n = e - (q + 3);
    l->daemon.p = slash ? slash + 1 : s;
    l->daemon.n = b - l->daemon.p;
    l->syslog_name.p = s;
    l->syslog_name.n = slash ? (size_t) (slash - s) : (size_t) (b - s);
    return TRUE;
}

/* seg_pflog_line - parse one line (trailing newline allowed); TRUE if used */
gboolean seg_pflog_line(seg_pflog *p, const char *line, size_t len)
{
    pf_line l;
    gboolean used = FALSE;

    p->st.lines++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len > PF_LINE_MAX || !split(p, line, len, &l)) {
        p->st.malformed++;
        p->st.skipped++;
        return FALSE;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(daemons); i++) {
        if (l.daemon.n == daemons[i].len && l.daemon.p[0] == daemons[i].name[0]
            && memcmp(l.daemon.p, daemons[i].name, l.daemon.n) == 0) {
            used = daemons[i].fn(p, &l);
            break;
        }
    }
    if (used)
        p->st.used++;
    else
        p->st.skipped++;
    return used;
}

/* pf_find - offset of a literal in s (short literals: memchr + memcmp) */
gboolean pf_find(pf_str s, const char *lit, size_t n, size_t *at)
{
    const char *q = s.p, *last;

    if (n == 0 || n > s.n) {
        *at = 0;
        return n == 0;
    }
    last = s.p + s.n - n;
    while (q <= last && (q = memchr(q, lit[0], last - q + 1)) != NULL) {
        size_t i;

        for (i = 1; i < n && q[i] == lit[i]; i++)
            ;
        if (i == n) {
            *at = q - s.p;
            return TRUE;
        }
        q++;
    }
    return FALSE;
}

/* pf_peer - "NAME[ADDR]" or "NAME[ADDR]:PORT"; advances past it */
gboolean pf_peer(pf_str *s, pf_str *name, pf_str *addr, pf_str *port)
{
    const char *b, *e = s->p + s->n, *c, *q;

    for (b = s->p; b < e && *b != '['; b++)         /* a name without spaces */
        if (*b == ' ')
            return FALSE;
    if (b == e || b - s->p >= PF_NAME_MAX)
        return FALSE;
    for (c = b + 1; c < e && *c != ']'; c++)
        ;
    if (c == e || c == b + 1 || c - b - 1 >= PF_ADDR_MAX)
        return FALSE;
    name->p = s->p;
    name->n = b - s->p;
    addr->p = b + 1;
    addr->n = c - b - 1;
    q = c + 1;
    port->p = q;
    port->n = 0;
    if (q < e && *q == ':') {
        const char *d = q + 1, *de = d;

        while (de < e && *de >= '0' && *de <= '9' && de - d < 5)
            de++;
        if (de > d) {
            port->p = d;
            port->n = de - d;
            q = de;
        }
    }
    s->n -= q - s->p;
    s->p = q;
    return TRUE;
}

/* pf_qid - "QUEUEID: " at the start of s; advances past it */
gboolean pf_qid(pf_str *s, pf_str *qid)
{
    size_t i;

    for (i = 0; i < s->n && i < PF_QID_MAX && g_ascii_isalnum(s->p[i]); i++)
        ;
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
    return cipher->n > 0 && !memchr(proto->p, ' ', proto->n);
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

/* pf_tls_library - "TLS library problem: error:..." after an error line */
gboolean pf_tls_library(pf_conn *c, pf_str s)
{
    size_t  n;

    if (c->tls != PF_TLS_ERROR || !seg_pflog_tls_error(s.p, s.n, &c->err_code, &n))
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

/* pf_conn_find - the state of a process, or NULL (cached: conns are never freed) */
pf_conn *pf_conn_find(seg_pflog *p, GHashTable *t, long pid)
{
    pf_conn **slot = (t == p->in ? p->in_cache : p->out_cache) + (gulong) pid % PF_CONN_CACHE;
    pf_conn *c = *slot;

    if (c && c->pid == pid)
        return c;
    if ((c = g_hash_table_lookup(t, GSIZE_TO_POINTER(pid))) != NULL)
        *slot = c;
    return c;
}

/* pf_conn_get - the state of a process, created on first use */
pf_conn *pf_conn_get(seg_pflog *p, GHashTable *t, long pid)
{
    pf_conn *c = pf_conn_find(p, t, pid);

    if (c == NULL) {
        c = g_new0(pf_conn, 1);
        c->pid = pid;
        g_hash_table_insert(t, GSIZE_TO_POINTER(pid), c);
    }
    return c;
}

/* conn_free - hash table value destructor */
static void conn_free(gpointer v)
{
    pf_conn *c = v;

    if (c->rids)
        g_array_unref(c->rids);
    g_free(c);
}

/* msg_free - free a message */
static void msg_free(pf_msg *m)
{
    g_free(m->rcpt);
    g_free(m);
}

/* qid_hash - hash of a queue id: its first and last 8 bytes, mixed */
static guint32 qid_hash(const pf_str *s)
{    guint64 a = 0, b = 0;

    if (s->n >= 8) {
        memcpy(&a, s->p, 8);
        memcpy(&b, s->p + s->n - 8, 8);
    } else {
        for (size_t i = 0; i < s->n; i++)
            a = a << 8 | (guchar) s->p[i];
    }
    a = (a ^ (b * 0x9E3779B97F4A7C15ULL) ^ s->n) * 0xBF58476D1CE4E5B9ULL;
    return (guint32) (a >> 32);
}

/* msg_slot - the slot of a queue id: its message or the empty slot to use */
static size_t msg_slot(const seg_pflog *p, pf_str qid, guint32 h)
{
    size_t i = h & p->msgs_mask;
    const pf_msg *m;

    /* the hash in the slot spares a cache miss per collision */
    while ((m = p->msgs[i]) != NULL && !(p->msgs_hash[i] == h && m->key.n == qid.n
                                          && memcmp(m->key.p, qid.p, qid.n) == 0))
        i = (i + 1) & p->msgs_mask;
    return i;
}

/* msgs_grow - twice the slots, every message moved */
static void msgs_grow(seg_pflog *p)
{
    pf_msg **old = p->msgs;
    guint32 *old_hash = p->msgs_hash;
    size_t n = p->msgs_mask + 1;

    p->msgs_mask = 2 * n - 1;
    p->msgs = g_new0(pf_msg *, 2 * n);
    p->msgs_hash = g_new(guint32, 2 * n);
    for (size_t i = 0; i < n; i++) {
        if (old[i]) {
            size_t j = old_hash[i] & p->msgs_mask;

            while (p->msgs[j])
                j = (j + 1) & p->msgs_mask;
            p->msgs[j] = old[i];
            p->msgs_hash[j] = old_hash[i];
        }
    }
    g_free(old);
    g_free(old_hash);
}

/* pf_msgs_init - an empty message table */
void pf_msgs_init(seg_pflog *p)
{
    p->msgs_mask = 1024 - 1;
    p->msgs = g_new0(pf_msg *, p->msgs_mask + 1);
    p->msgs_hash = g_new(guint32, p->msgs_mask + 1);
    p->msgs_used = 0;
}

/* pf_msgs_free - forget every message */
void pf_msgs_free(seg_pflog *p)
{
    for (size_t i = 0; i <= p->msgs_mask; i++)
        if (p->msgs[i])
            msg_free(p->msgs[i]);
    g_free(p->msgs);
    g_free(p->msgs_hash);
    p->msgs = NULL;
    p->msgs_hash = NULL;
}

/* pf_msg_get - the message of a queue id, or NULL */
pf_msg *pf_msg_get(seg_pflog *p, pf_str qid)
{
    /* as a NUL-terminated copy of the id would be */
    qid.n = pf_nul_len(qid.p, MIN(qid.n, PF_QID_MAX - 1));
    return p->msgs[msg_slot(p, qid, qid_hash(&qid))];
}

/* pf_msg_rcpt - the RID of a recipient address, added when new */
guint pf_msg_rcpt(pf_msg *m, pf_str rcpt, gboolean *added)
{
    size_t off = 0, keep = pf_nul_len(rcpt.p, rcpt.n);
    guint32 n;
    guint i;

    /* an address with a NUL is kept up to it and never matches again */
    for (i = 0; i < m->nrcpt; i++) {
        memcpy(&n, m->rcpt + off, sizeof(n));
        if (n == rcpt.n && memcmp(m->rcpt + off + sizeof(n), rcpt.p, n) == 0) {
            *added = FALSE;
            return i;
        }
        off += sizeof(n) + n;
    }
    if (m->rcpt_len + sizeof(n) + keep > m->rcpt_size) {
        m->rcpt_size = MAX(m->rcpt_size * 2, m->rcpt_len + sizeof(n) + keep + 64);
        m->rcpt = g_realloc(m->rcpt, m->rcpt_size);
    }
    n = (guint32) keep;
    memcpy(m->rcpt + m->rcpt_len, &n, sizeof(n));
    memcpy(m->rcpt + m->rcpt_len + sizeof(n), rcpt.p, keep);
    m->rcpt_len += sizeof(n) + keep;
    *added = TRUE;
    return m->nrcpt++;
}

/* pf_msg_new - a new message (new MID), "Start MID m ICID n" */
pf_msg *pf_msg_new(seg_pflog *p, time_t when, pf_str qid, guint64 icid)
{
    pf_msg *m = g_new0(pf_msg, 1);

    size_t i;

    pf_copy(m->qid, sizeof(m->qid), qid);
    m->key.p = m->qid;
    m->key.n = strlen(m->qid);
    m->hash = qid_hash(&m->key);
    m->icid = icid;
    pf_id_text(&m->icidt, icid);
    m->mid = pf_new_id(p, SEG_ID_MID);
    if (m->mid)
        pf_id_text(&m->midt, m->mid);
    i = msg_slot(p, m->key, m->hash);
    if (p->msgs[i]) {
        msg_free(p->msgs[i]);           /* a queue id used again */
        p->msgs[i] = m;
    } else {
        p->msgs[i] = m;
        p->msgs_hash[i] = m->hash;
        if (++p->msgs_used * 2 > p->msgs_mask + 1)
            msgs_grow(p);
    }
    if (m->mid) {
        PF_PUT(p, "Start MID ");
        pf_put_id(p, &m->midt);
        PF_PUT(p, " ICID ");
        pf_put_id(p, &m->icidt);
        pf_rec(p, when);
    }
    return m;
}

/* pf_msg_remove - forget a message (backward shift: no tombstones) */
void pf_msg_remove(seg_pflog *p, pf_msg *m)
{
    size_t i = msg_slot(p, m->key, m->hash), j = i, k;

    if (p->msgs[i] != m)
        return;
    for (;;) {
        j = (j + 1) & p->msgs_mask;
        if (p->msgs[j] == NULL)
            break;
        k = p->msgs_hash[j] & p->msgs_mask;
        /* move j back to i unless its home k is cyclically in (i, j] */
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            p->msgs[i] = p->msgs[j];
            p->msgs_hash[i] = p->msgs_hash[j];
            i = j;
        }
    }
    p->msgs[i] = NULL;
    p->msgs_used--;
    msg_free(m);
}

/* seg_pflog_new - parser taking IDs from ids (borrowed, must outlive it) */
seg_pflog *seg_pflog_new(seg_ids *ids, seg_pflog_emit_fn emit, void *ctx)
{
    seg_pflog *p = g_new0(seg_pflog, 1);
    time_t now = time(NULL);
    struct tm tm;

    p->ids = ids;
    p->emit = emit;
    p->ctx = ctx;
    p->year = localtime_r(&now, &tm) ? tm.tm_year + 1900 : 1970;
    p->last_mon = -1;
    p->tc_key[0] = -1;
    p->local_addr = g_strdup("unknown");
    p->local_addr_len = strlen(p->local_addr);
    p->in = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, conn_free);
    p->out = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, conn_free);
    pf_msgs_init(p);
    return p;
}

/* seg_pflog_set_year - year of RFC 3164 times (default: this year) */
void seg_pflog_set_year(seg_pflog *p, int year)
{
    p->year = year;
    p->last_mon = -1;
    p->tc_key[0] = -1;
    p->ts_when = 0;
}

/* seg_pflog_set_interface - interface name and local address of records */
void seg_pflog_set_interface(seg_pflog *p, const char *name, const char *addr)
{
    g_free(p->ifname);
    g_free(p->local_addr);
    p->ifname = g_strdup(name);
    p->local_addr = g_strdup(addr ? addr : "unknown");
    p->ifname_len = name ? strlen(name) : 0;
    p->local_addr_len = strlen(p->local_addr);
}

/* seg_pflog_expire - end deliveries idle since before now - idle (live mode) */
void seg_pflog_expire(seg_pflog *p, time_t now, int idle)
{
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, p->out);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        pf_conn *c = v;

        if (c->id && c->last < now - idle)
            pf_delivery_end(p, c, c->last);
    }
}

/* by_id - order connections by ID so that flush output is stable */
static gint by_id(gconstpointer a, gconstpointer b)
{
    const pf_conn *x = *(pf_conn *const *) a, *y = *(pf_conn *const *) b;

    return x->id < y->id ? -1 : x->id > y->id;
}

/* seg_pflog_flush - end of input: finish every pending delivery */
void seg_pflog_flush(seg_pflog *p)
{
    g_autoptr(GPtrArray) open = g_ptr_array_new();
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, p->out);
    while (g_hash_table_iter_next(&it, NULL, &v))
        if (((pf_conn *) v)->id)
            g_ptr_array_add(open, v);
    g_ptr_array_sort(open, by_id);
    for (guint i = 0; i < open->len; i++) {
        pf_conn *c = open->pdata[i];

        pf_delivery_end(p, c, c->last);
    }
}

/* seg_pflog_get_stats - counters so far */
void seg_pflog_get_stats(const seg_pflog *p, seg_pflog_stats *st)
{
    *st = p->st;
}

/* seg_pflog_free - forget everything (no records are written) */
void seg_pflog_free(seg_pflog *p)
{
    if (p == NULL)
        return;
    g_hash_table_destroy(p->in);
    g_hash_table_destroy(p->out);
    pf_msgs_free(p);
    g_free(p->ifname);
    g_free(p->local_addr);
    g_free(p);
}
