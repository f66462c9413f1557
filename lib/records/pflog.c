/*
 * pflog - Postfix log line parser: line header, times and the tables.
 *
 * seg_pflog_line() splits "TIME HOST PROGRAM[PID]: TEXT" eight bytes at
 * a time and at fixed offsets (no regex, no allocation), converts the
 * time (once per distinct time field), checks that PROGRAM is one of
 * Postfix's (NAME/... for an accepted syslog name) and hands the line to
 * the handler of the daemon named by the last component of PROGRAM
 * (postfix/smtpd, postfix/submission/smtpd, postfix-in/smtp ...), found
 * by a small hash table of the names as integers. The handlers
 * (pflog_smtpd.c, pflog_smtp.c) keep one pf_conn per process (host,
 * program and pid: pflog_conn.c) and one pf_msg per queue id
 * (pflog_msg.c); the pieces they look for are parsed by pflog_field.c
 * and records are built by pflog_rec.c. The master's lines about a
 * child that exited release that child's state, and once a minute of
 * log time the state quiet for too long is released (sweep).
 */
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "msg.h"
#include "pflog_conn.h"
#include "pflog_int.h"
#include "pflog_msg.h"
#include "pflog_rec.h"
#include "pflog_smtp.h"
#include "pflog_smtpd.h"

#define PF_LINE_MAX     65536   /* longer lines are malformed */
#define PF_SWEEP        60      /* seconds of log time between sweeps */
#define PF_SWEEP_MSGS   600     /* seconds of log time between looks at the messages */
#define PF_KEEP_IDLE    300     /* a process that holds nothing is kept this long */

static gboolean pf_master(seg_pflog *p, const pf_line *l);

/* month names as three bytes in an integer (see MON) */
#define MON(a, b, c)    ((guint32) (guchar) (a) << 16 | (guint32) (guchar) (b) << 8 | (guchar) (c))
static const guint32 months[12] = {
    MON('J', 'a', 'n'), MON('F', 'e', 'b'), MON('M', 'a', 'r'), MON('A', 'p', 'r'),
    MON('M', 'a', 'y'), MON('J', 'u', 'n'), MON('J', 'u', 'l'), MON('A', 'u', 'g'),
    MON('S', 'e', 'p'), MON('O', 'c', 't'), MON('N', 'o', 'v'), MON('D', 'e', 'c'),
};

/* the handler of each daemon, by the last component of the program name */
static const struct {
    const char *name;
    gboolean  (*fn)(seg_pflog *, const pf_line *);
} daemons[] = {
    {"smtpd", pf_smtpd},
    {"smtp", pf_smtp},
    {"qmgr", pf_qmgr},
    {"pickup", pf_pickup},
    {"lmtp", pf_smtp},
    {"discard", pf_local},
    {"local", pf_local},
    {"virtual", pf_local},
    {"pipe", pf_local},
    {"error", pf_local},
    {"retry", pf_local},
    {"master", pf_master},
};
G_STATIC_ASSERT(G_N_ELEMENTS(daemons) < PF_DAEMON_SLOTS / 2);

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
    if (p->year_now && *when > p->year_now + 86400) {
        p->year--;                      /* read on Jan 1: last December's lines */
        *when = local_time(p, p->year, mon, day, h, m, sec);
    }
    p->year_now = 0;
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

/* daemon_key - a name of 1 to 7 bytes as an integer: its bytes, its length on top */
static guint64 daemon_key(const char *s, size_t n)
{
    guint64 k = (guint64) n << 56;

    for (size_t i = 0; i < n; i++)
        k |= (guint64) (guchar) s[i] << (8 * i);
    return k;
}

/* daemon_slot - the slot of a daemon name key in p->dkey: its own or an empty one */
static guint daemon_slot(const seg_pflog *p, guint64 key)
{
    guint i = (guint) ((key * 0x9E3779B97F4A7C15ULL) >> 58) & (PF_DAEMON_SLOTS - 1);

    while (p->dkey[i] != 0 && p->dkey[i] != key)
        i = (i + 1) & (PF_DAEMON_SLOTS - 1);
    return i;
}

/* daemons_init - the daemon table of a new parser */
static void daemons_init(seg_pflog *p)
{
    for (guint i = 0; i < G_N_ELEMENTS(daemons); i++) {
        const char *name = daemons[i].name;
        guint64 key = daemon_key(name, strlen(name));
        guint s = daemon_slot(p, key);

        p->dkey[s] = key;
        p->dfn[s] = (guint8) i;
    }
}

/* parse_pid - "PID]: " at s (e: end of line); the pid and the text after it */
static long parse_pid(const char *s, const char *e, const char **text)
{
    const char *q = s;
    long pid = 0;
    guint64 w, nd;
    unsigned k;

    if (e - s >= 8) {                   /* up to 7 digits without a loop */
        w = pf_load8(s);
        nd = pf_nondigit8(w);
        if (nd != 0 && (k = (unsigned) __builtin_ctzll(nd) >> 3) != 0) {
            pid = (long) pf_digits8(w << (8 * (8 - k)));
            q = s + k;
            goto end;
        }
    }
    for (; q < e && *q >= '0' && *q <= '9' && q - s < 11; q++)
        pid = pid * 10 + (*q - '0');
end:
    if (q == s || e - q < 3 || q[0] != ']' || q[1] != ':' || q[2] != ' ' || pid <= 0)
        return 0;
    *text = q + 3;
    return pid;
}

/*
 * find_program - "HOST PROG[" at s: the '[' (NULL: malformed), PROG and
 * the last '/' in it (NULL: none). With SSE2, when both fit in 48 bytes,
 * without a loop.
 */
static const char *find_program(const char *s, const char *e, const char **prog,
                                const char **slash)
{
    const char *b;
    size_t i;

    *slash = NULL;
#ifdef __SSE2__
    if (e - s >= 48) {
        guint64 sp, sl, br, in;
        unsigned h, k;

        pf_masks48(s, ' ', '/', '[', &sp, &sl, &br);
        if (sp != 0 && (h = (unsigned) __builtin_ctzll(sp)) > 0 && h < 46
            && (br & (~0ULL << (h + 1))) != 0) {
            k = (unsigned) __builtin_ctzll(br & (~0ULL << (h + 1)));
            in = (~0ULL << (h + 1)) & ((1ULL << k) - 1);        /* PROG */
            if (k == h + 1 || (sp & in) != 0)
                return NULL;
            if ((sl & in) != 0)
                *slash = s + 63 - __builtin_clzll(sl & in);
            *prog = s + h + 1;
            return s + k;
        }
    }
#endif
    i = pf_span(s, e - s, ' ', ' ', ' ');                   /* host */
    if (s + i == e || i == 0)
        return NULL;
    *prog = s += i + 1;
    for (b = s;; b++) {                                     /* program */
        b += pf_span(b, e - b, ' ', '/', '[');
        if (b == e || *b == ' ')
            return NULL;
        if (*b == '[')
            break;
        *slash = b;
    }
    return b == s ? NULL : b;
}

/* split - "TIME HOST PROG[PID]: TEXT" into l; FALSE when malformed */
static gboolean split(seg_pflog *p, const char *s, size_t n, pf_line *l)
{
    const char *e = s + n, *b, *slash, *text;
    size_t used;
    long pid;

    if (n == 0)
        return FALSE;
    used = (s[0] >= '0' && s[0] <= '9') ? parse_3339(s, n, &l->when)
        : parse_3164(p, s, n, &l->when);
    if (used == 0)
        return FALSE;
    l->tag.p = s + used;
    if ((b = find_program(s + used, e, &s, &slash)) == NULL
        || (pid = parse_pid(b + 1, e, &text)) == 0)
        return FALSE;
    l->tag.n = b - l->tag.p;
    l->pid = pid;
    l->text.p = text;
    l->text.n = e - text;
    l->daemon.p = slash ? slash + 1 : s;
    l->daemon.n = b - l->daemon.p;
    l->syslog_name.p = s;
    l->syslog_name.n = slash ? (size_t) (slash - s) : (size_t) (b - s);
    return TRUE;
}

/* postfix_name - is a program's syslog name one of the accepted names, or under one? */
static gboolean postfix_name(const seg_pflog *p, pf_str sn)
{
    for (guint i = 0; i < p->nnames; i++) {
        size_t n = p->names_n[i];

        if (sn.n >= n && (sn.n == n || sn.p[n] == '/') && sn.p[0] == p->names[i][0]
            && pf_same(sn.p, p->names[i], n))
            return TRUE;
    }
    return FALSE;
}

/* by_id - order processes by ID so that what they end is written in a stable order */
static gint by_id(gconstpointer a, gconstpointer b)
{
    const pf_conn *x = *(pf_conn *const *) a, *y = *(pf_conn *const *) b;

    return x->id < y->id ? -1 : x->id > y->id;
}

/* end_conn - end what process c of table t holds (as of when) and forget it */
static void end_conn(seg_pflog *p, GHashTable *t, pf_conn *c, time_t when)
{
    if (t == p->in)
        pf_smtpd_close(p, c, when);
    else
        pf_delivery_end(p, c, when);
    pf_conn_release(p, t, c);
}

/* idle - a process that holds nothing (its state is only a cache) */
static gboolean idle(const pf_conn *c)
{
    return c->id == 0 && c->tls == PF_TLS_NONE && c->msg == NULL;
}

/*
 * end_conns - end and forget the processes of table t that are gone: with
 * pid, that pid on host; else those without a line since before, and
 * those that hold nothing and had no line since before_idle
 */
static void end_conns(seg_pflog *p, GHashTable *t, time_t before, time_t before_idle,
                      long pid, pf_str host)
{
    g_autoptr(GPtrArray) gone = g_ptr_array_new();
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, t);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        pf_conn *c = v;

        if (pid ? c->k.pid == pid && c->host_n == host.n && pf_same(c->tag, host.p, host.n)
            : c->last < before || (c->last < before_idle && idle(c)))
            g_ptr_array_add(gone, c);
    }
    g_ptr_array_sort(gone, by_id);
    for (guint i = 0; i < gone->len; i++) {
        pf_conn *c = gone->pdata[i];

        end_conn(p, t, c, c->last);
    }
}

/*
 * sweep - forget what has been quiet too long, by log time: processes
 * (an open connection is closed), those that hold nothing sooner, and,
 * every PF_SWEEP_MSGS seconds, messages qmgr never took (the session
 * ended before the message was queued) and queued ones
 */
static void sweep(seg_pflog *p)
{
    g_autoptr(GPtrArray) quiet = NULL;
    pf_str none = {NULL, 0};

    end_conns(p, p->in, p->now - SEG_PFLOG_CONN_IDLE, p->now - PF_KEEP_IDLE, 0, none);
    end_conns(p, p->out, p->now - SEG_PFLOG_CONN_IDLE, p->now - PF_KEEP_IDLE, 0, none);
    p->next_sweep = p->now + PF_SWEEP;
    if (p->now < p->next_msg_sweep)
        return;
    p->next_msg_sweep = p->now + PF_SWEEP_MSGS;
    quiet = pf_msgs_idle(p, p->now - SEG_PFLOG_NEW_IDLE, p->now - SEG_PFLOG_MSG_IDLE);
    for (guint i = 0; i < quiet->len; i++) {
        pf_msg *m = quiet->pdata[i];

        if (p->release && m->mid)
            p->release(p->release_ctx, m->mid);
        pf_msg_forget(p, m, m->last);
    }
}

/*
 * pf_master - "warning: process PATH pid N exit status S" or "... killed
 * by signal S": the child N of this host is gone, and what it held ends
 */
static gboolean pf_master(seg_pflog *p, const pf_line *l)
{
    pf_str s = l->text, host = {l->tag.p, l->syslog_name.p - l->tag.p - 1};
    size_t n;
    long pid = 0;

    if (!PF_HAS(&s, "warning: process "))
        return FALSE;
    n = pf_span(s.p, s.n, ' ', ' ', ' ');
    s.p += n;
    s.n -= n;
    if (!PF_HAS(&s, " pid "))
        return FALSE;
    for (n = 0; n < s.n && n < 10 && s.p[n] >= '0' && s.p[n] <= '9'; n++)
        pid = pid * 10 + (s.p[n] - '0');
    s.p += n;
    s.n -= n;
    if (pid <= 0 || !(PF_HAS(&s, " exit status ") || PF_HAS(&s, " killed by signal ")))
        return FALSE;
    end_conns(p, p->in, 0, 0, pid, host);
    end_conns(p, p->out, 0, 0, pid, host);
    return TRUE;
}

/* seg_pflog_line - parse one line (trailing newline allowed); TRUE if used */
gboolean seg_pflog_line(seg_pflog *p, const char *line, size_t len)
{
    pf_line l;
    gboolean used = FALSE;
    guint i;

    p->st.lines++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len > PF_LINE_MAX || !split(p, line, len, &l)) {
        p->st.malformed++;
        p->st.skipped++;
        return FALSE;
    }
    if (l.when > p->now)
        p->now = l.when;
    if (p->now >= p->next_sweep)
        sweep(p);                       /* what is gone ends before what this line starts */
    if (l.daemon.n > 0 && l.daemon.n < 8 && postfix_name(p, l.syslog_name)) {
        /* "[PID]: " follows the name: 8 bytes can be read from names of 3 or more */
        guint64 key = l.daemon.p + 8 <= line + len
            ? (pf_load8(l.daemon.p) & ((1ULL << (8 * l.daemon.n)) - 1)) | (guint64) l.daemon.n << 56
            : daemon_key(l.daemon.p, l.daemon.n);

        if (p->dkey[i = daemon_slot(p, key)] != 0)
            used = daemons[p->dfn[i]].fn(p, &l);
    }
    if (used)
        p->st.used++;
    else
        p->st.skipped++;
    return used;
}

/* iface_free - a pf_iface of the table */
static void iface_free(gpointer v)
{
    pf_iface *f = v;

    g_free(f->name);
    g_free(f->addr);
    g_free(f);
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
    p->year_now = now;
    p->last_mon = -1;
    p->tc_key[0] = -1;
    p->local_addr = g_strdup("unknown");
    p->local_addr_len = strlen(p->local_addr);
    p->ifaces = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, iface_free);
    p->names[0] = g_strdup("postfix");
    p->names_n[0] = strlen(p->names[0]);
    p->nnames = 1;
    pf_conns_init(p);
    pf_msgs_init(p);
    daemons_init(p);
    return p;
}

/* seg_pflog_set_year - year of RFC 3164 times (default: this year, or last
 * year when the first time would be over a day in the future) */
void seg_pflog_set_year(seg_pflog *p, int year)
{
    p->year = year;
    p->year_now = 0;
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

/* seg_pflog_set_service_interface - where the smtpd of one syslog name listens */
void seg_pflog_set_service_interface(seg_pflog *p, const char *syslog_name, const char *ifname,
                                     const char *addr)
{
    pf_iface *f = g_new0(pf_iface, 1);

    f->name = g_strdup(ifname ? ifname : "unknown");
    f->addr = g_strdup(addr ? addr : "unknown");
    f->name_len = strlen(f->name);
    f->addr_len = strlen(f->addr);
    g_hash_table_replace(p->ifaces, g_strdup(syslog_name), f);
}

/* seg_pflog_set_client_address - the source address of smtp's connections */
void seg_pflog_set_client_address(seg_pflog *p, const char *addr)
{
    g_free(p->client_addr);
    p->client_addr = g_strdup(addr);
    p->client_addr_len = addr ? strlen(addr) : 0;
}

/* name_ok - a syslog name as a program name holds it: 1-64 bytes, no space, '[', ']' or control */
static gboolean name_ok(const char *n)
{
    size_t len = strlen(n);

    if (len == 0 || len > PF_NAME_LEN)
        return FALSE;
    for (const char *c = n; *c; c++)
        if ((guchar) *c <= ' ' || *c == '[' || *c == ']' || *c == 0x7f)
            return FALSE;
    return TRUE;
}

/* seg_pflog_set_syslog_names - follow only programs NAME/... for these names (NULL: "postfix"; p NULL: check) */
gboolean seg_pflog_set_syslog_names(seg_pflog *p, const char *const *names, GError **error)
{
    static const char *const dflt[] = {"postfix", NULL};
    guint n = 0;

    if (names == NULL || names[0] == NULL)
        names = dflt;
    for (n = 0; names[n]; n++) {
        if (!name_ok(names[n])) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "syslog name \"%s\": want 1-64 characters without spaces, [ or ]",
                        names[n]);
            return FALSE;
        }
    }
    if (n > PF_NAMES_MAX) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "more than %d syslog names", PF_NAMES_MAX);
        return FALSE;
    }
    if (p == NULL)
        return TRUE;                    /* only checked */
    for (guint i = 0; i < p->nnames; i++)
        g_free(p->names[i]);
    for (guint i = 0; i < n; i++) {
        p->names[i] = g_strdup(names[i]);
        p->names_n[i] = strlen(names[i]);
    }
    p->nnames = n;
    return TRUE;
}

/* seg_pflog_set_destinations - name the destination entry of each delivery */
void seg_pflog_set_destinations(seg_pflog *p, seg_pflog_dest_fn fn, void *ctx)
{
    p->dest = fn;
    p->dest_ctx = ctx;
}

/* seg_pflog_set_release - call fn when a message is forgotten unfinished */
void seg_pflog_set_release(seg_pflog *p, seg_pflog_release_fn fn, void *ctx)
{
    p->release = fn;
    p->release_ctx = ctx;
}

/* seg_pflog_expire - end deliveries idle since before now - idle (live mode) */
void seg_pflog_expire(seg_pflog *p, time_t now, int idle)
{
    g_autoptr(GPtrArray) all = pf_conns_list(p->out);

    g_ptr_array_sort(all, by_id);
    for (guint i = 0; i < all->len; i++) {
        pf_conn *c = all->pdata[i];

        if (c->id && c->last < now - idle)
            end_conn(p, p->out, c, c->last);
    }
}

/* seg_pflog_flush - end of input: write pending inbound TLS failures, finish every delivery */
void seg_pflog_flush(seg_pflog *p)
{
    g_autoptr(GPtrArray) in = pf_conns_list(p->in);
    g_autoptr(GPtrArray) all = pf_conns_list(p->out);

    g_ptr_array_sort(in, by_id);
    for (guint i = 0; i < in->len; i++)
        pf_smtpd_flush(p, in->pdata[i]);
    g_ptr_array_sort(all, by_id);
    for (guint i = 0; i < all->len; i++) {
        pf_conn *c = all->pdata[i];

        if (c->id)
            end_conn(p, p->out, c, c->last);
    }
}

/* seg_pflog_held - processes and messages held now */
void seg_pflog_held(const seg_pflog *p, guint *conns, guint *msgs)
{
    *conns = g_hash_table_size(p->in) + g_hash_table_size(p->out);
    *msgs = (guint) p->msgs_used;
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
    pf_msgs_free(p);
    pf_conns_free(p);
    for (guint i = 0; i < p->nnames; i++)
        g_free(p->names[i]);
    g_free(p->ifname);
    g_free(p->local_addr);
    g_free(p->client_addr);
    g_hash_table_destroy(p->ifaces);
    g_free(p);
}
