/*
 * relabel - the pflog parser's records, with the IDs the milter gave.
 *
 * The follower feeds each Postfix log line to a seg_pflog parser that
 * numbers connections and messages on its own (in-memory IDs). Its
 * records pass through here, with the log line that caused them:
 *
 *   inbound records the milter writes itself (New SMTP ICID, close,
 *   Start MID / From / To / Message finished of messages that came
 *   through the milter) are dropped; "ICID n TLS success" is written by
 *   whichever of milter and follower sees it first (a client may never
 *   send the HELO after STARTTLS that carries the milter its macros);
 *   "ICID n TLS failed" and "TLS was required ..." get the milter's
 *   ICID of that smtpd pid and client address:port; the parser's
 *   "ICID n close" (smtpd's disconnect line) lets the milter write its
 *   close, which waits for it (correlate.c);
 *   outbound records get new persistent DCIDs, and the MID (and RIDs)
 *   the milter bound to the queue id; messages the milter never saw
 *   (pickup, bounces, milter down) get a new persistent MID and all
 *   their records.
 *
 * Log only (segtls-milter --no-milter, nothing in the mail path): there
 * is no milter, so every record comes from the log, inbound ones too,
 * with new persistent ICIDs and MIDs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "pflog.h"
#include "milter.h"

#define ID "%" G_GUINT64_FORMAT
#define KEEP_CONN       3600    /* forget parser connections idle this long */
#define KEEP_MSG        (6 * 86400)

typedef struct in_ent {
    guint64     real;           /* log only: its persistent ICID */
    long        pid;
    char        addr[64];
    char        port[8];
    time_t      seen;
} in_ent;

typedef struct mid_ent {
    char        qid[32];
    guint64     real;           /* 0: not resolved yet */
    guint64     icid;           /* real ICID, 0: none */
    gboolean    milter;         /* the milter wrote its inbound records */
    GPtrArray  *rids;           /* parser RID -> address */
    time_t      seen;
} mid_ent;

typedef struct dcid_ent {
    guint64     real;
    time_t      seen;
} dcid_ent;

struct mt_relabel {
    gboolean    log_only;       /* no milter: the inbound records too */
    seg_ids    *ids;            /* the parser's own numbering */
    seg_pflog  *parser;
    GHashTable *icids;          /* parser ICID -> in_ent */
    GHashTable *mids;           /* parser MID -> mid_ent */
    GHashTable *dcids;          /* parser DCID -> dcid_ent */
    /* the line being parsed */
    gboolean    have_line;
    long        pid;
    const char *daemon;
    size_t      daemon_len;
    const char *text;
    size_t      text_len;
    time_t      last_sweep;
};

typedef void (*rec_fn)(mt_relabel *, time_t, const char *, size_t);

/* num - a decimal number at *s, advancing; 0 when none */
static guint64 num(const char **s, const char *e)
{
    guint64 v = 0;

    while (*s < e && **s >= '0' && **s <= '9')
        v = v * 10 + (guint64) (*(*s)++ - '0');
    return v;
}

/* lit - does *s start with the literal? (advances past it) */
static gboolean lit(const char **s, const char *e, const char *l)
{
    size_t n = strlen(l);

    if ((size_t) (e - *s) < n || memcmp(*s, l, n) != 0)
        return FALSE;
    *s += n;
    return TRUE;
}

/* line_qid - the queue id at the start of the current line's text */
static void line_qid(mt_relabel *r, char *buf, size_t size)
{
    size_t n = 0;

    buf[0] = 0;
    if (!r->have_line)
        return;
    while (n < r->text_len && n + 1 < size && g_ascii_isalnum(r->text[n]))
        n++;
    if (n < r->text_len && r->text[n] == ':') {
        memcpy(buf, r->text, n);
        buf[n] = 0;
    }
}

/* real_icid - the milter's (log only: our) ICID for a parser ICID, 0 unknown */
static guint64 real_icid(mt_relabel *r, guint64 x)
{
    in_ent *e = x ? g_hash_table_lookup(r->icids, &x) : NULL;

    if (e == NULL)
        return 0;
    return r->log_only ? e->real : mt_conn_icid(e->pid, e->addr, e->port);
}

/* mid_get - the entry of a parser MID */
static mid_ent *mid_get(mt_relabel *r, guint64 y)
{
    return g_hash_table_lookup(r->mids, &y);
}

/* mid_real - resolve a message's MID: the milter's, else a new one */
static guint64 mid_real(mt_relabel *r, mid_ent *m, time_t when)
{
    guint64 mid, icid;

    if (m->real)
        return m->real;
    if (mt_msg_lookup(m->qid, &mid, &icid)) {
        m->real = mid;
        m->icid = icid;
        m->milter = TRUE;
        return mid;
    }
    m->milter = FALSE;
    m->real = mt_new_id_record(SEG_ID_MID, when, "Start MID ", " ICID " ID, m->icid);
    return m->real;
}

/* emit - a record with rewritten IDs */
static void emit(time_t when, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void emit(time_t when, const char *fmt, ...)
{
    char buf[SEG_RECORD_LINE_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0)
        mt_record_text(when, buf, MIN((size_t) n, sizeof(buf) - 1));
}

/* on_new_icid - "New SMTP ICID x ...": remember pid and client of x */
static void on_new_icid(mt_relabel *r, time_t when, const char *s, size_t n)
{
    const char *e = s + n, *b, *c, *t, *te;
    guint64 x = num(&s, e);
    in_ent *ie;

    if (x == 0 || !r->have_line)
        return;
    t = r->text;
    te = t + r->text_len;
    if (!lit(&t, te, "connect from ") || (b = memchr(t, '[', te - t)) == NULL
        || (c = memchr(b, ']', te - b)) == NULL || c - b - 1 >= 64)
        return;
    ie = g_new0(in_ent, 1);
    ie->pid = r->pid;
    ie->seen = when;
    if (r->log_only
        && (ie->real = mt_new_id_record(SEG_ID_ICID, when, "New SMTP ICID ", "%.*s",
                                        (int) (e - s), s)) == 0) {
        g_free(ie);
        return;
    }
    memcpy(ie->addr, b + 1, c - b - 1);
    if (c + 1 < te && c[1] == ':') {
        size_t pn = 0;

        while (c + 2 + pn < te && g_ascii_isdigit(c[2 + pn]))  /* te: no NUL */
            pn++;
        memcpy(ie->port, c + 2, MIN(pn, sizeof(ie->port) - 1));
    }
    g_hash_table_replace(r->icids, g_memdup2(&x, sizeof(x)), ie);
}

/* on_icid - "ICID x ...": failures get the milter's ICID; the rest is its own */
static void on_icid(mt_relabel *r, time_t when, const char *s, size_t n)
{
    const char *e = s + n;
    guint64 x = num(&s, e), icid;

    if (lit(&s, e, " close")) {
        if ((icid = real_icid(r, x)) != 0) {
            if (r->log_only)
                emit(when, "ICID " ID " close", icid);
            else
                mt_conn_log_close(icid, when);  /* the milter's close may wait for this */
        }
        g_hash_table_remove(r->icids, &x);
        return;
    }
    if (e - s > 12 && memcmp(s, " TLS success", 12) == 0) {
        /* usually the milter's (HELO after STARTTLS); ours if it had none */
        if ((icid = real_icid(r, x)) == 0)
            return;
        if (r->log_only)
            emit(when, "ICID " ID "%.*s", icid, (int) (e - s), s);
        else
            mt_conn_tls_record(icid, when, "%.*s", (int) (e - s), s);
        return;
    }
    if (!(e - s > 11 && (memcmp(s, " TLS failed", 11) == 0 || memcmp(s, " TLS was re", 11) == 0)))
        return;
    if ((icid = real_icid(r, x)) == 0) {
        msg_info("no milter connection for a TLS record of smtpd[%ld]; not written", r->pid);
        return;
    }
    emit(when, "ICID " ID "%.*s", icid, (int) (e - s), s);
}

/* on_start - "Start MID y ICID x" */
static void on_start(mt_relabel *r, time_t when, const char *s, size_t n)
{
    const char *e = s + n;
    guint64 y = num(&s, e), x, mid, icid;
    mid_ent *m;

    if (y == 0 || !lit(&s, e, " ICID "))
        return;
    x = num(&s, e);
    m = g_new0(mid_ent, 1);
    m->rids = g_ptr_array_new_with_free_func(g_free);
    m->seen = when;
    line_qid(r, m->qid, sizeof(m->qid));
    g_hash_table_replace(r->mids, g_memdup2(&y, sizeof(y)), m);
    if (r->log_only) {
        m->icid = real_icid(r, x);
        mid_real(r, m, when);
    } else if (m->qid[0] && mt_msg_lookup(m->qid, &mid, &icid)) {
        m->real = mid;
        m->icid = icid;
        m->milter = TRUE;
    } else if ((m->icid = real_icid(r, x)) != 0) {
        m->milter = TRUE;               /* the milter binds the queue id soon */
    } else {
        mid_real(r, m, when);
    }
}

/* on_mid - "MID y ICID x From: ..." / "... RID r To: <a>" */
static void on_mid(mt_relabel *r, time_t when, const char *s, size_t n)
{
    const char *e = s + n, *rest;
    guint64 y = num(&s, e), rid;
    mid_ent *m = mid_get(r, y);

    if (m == NULL || !lit(&s, e, " ICID "))
        return;
    num(&s, e);
    rest = s;
    if (lit(&s, e, " RID ")) {
        rid = num(&s, e);
        if (lit(&s, e, " To: <") && e > s && e[-1] == '>' && rid < 100000) {
            if (m->rids->len <= rid)
                g_ptr_array_set_size(m->rids, (guint) rid + 1);
            g_free(m->rids->pdata[rid]);
            m->rids->pdata[rid] = g_strndup(s, e - s - 1);
        }
    }
    if (m->milter)
        return;                         /* the milter wrote it */
    if (mid_real(r, m, when) == 0 || m->milter)
        return;                         /* resolving found the milter's MID */
    emit(when, "MID " ID " ICID " ID "%.*s", m->real, m->icid, (int) (e - rest), rest);
}

/* on_finished - "Message finished MID y done": the message left the queue */
static void on_finished(mt_relabel *r, time_t when, const char *s, size_t n)
{
    const char *e = s + n;
    guint64 y = num(&s, e);
    mid_ent *m = mid_get(r, y);

    if (m == NULL)
        return;
    if (m->milter)
        mt_msg_forget(m->qid);
    else if (m->real)
        emit(when, "Message finished MID " ID " done", m->real);
    g_hash_table_remove(r->mids, &y);
}

/* dcid_real - the persistent DCID of a parser DCID */
static guint64 dcid_real(mt_relabel *r, guint64 d)
{
    dcid_ent *de = g_hash_table_lookup(r->dcids, &d);

    return de ? de->real : 0;
}

/* on_new_dcid - "New SMTP DCID d ...": a new persistent DCID */
static void on_new_dcid(mt_relabel *r, time_t when, const char *s, size_t n)
{
    const char *e = s + n;
    guint64 d = num(&s, e);
    dcid_ent *de;

    if (d == 0)
        return;
    de = g_new0(dcid_ent, 1);
    de->seen = when;
    de->real = mt_new_id_record(SEG_ID_DCID, when, "New SMTP DCID ", "%.*s", (int) (e - s), s);
    g_hash_table_replace(r->dcids, g_memdup2(&d, sizeof(d)), de);
}

/* on_dcid - "DCID d ..." */
static void on_dcid(mt_relabel *r, time_t when, const char *s, size_t n)
{
    const char *e = s + n;
    guint64 d = num(&s, e), real = dcid_real(r, d);

    if (real)
        emit(when, "DCID " ID "%.*s", real, (int) (e - s), s);
    if (e - s == 6 && memcmp(s, " close", 6) == 0)
        g_hash_table_remove(r->dcids, &d);
}

/* rid_map - "[0, 1]" of parser RIDs as the milter's RIDs */
static void rid_map(mid_ent *m, const char *s, const char *e, GString *out)
{
    while (s < e) {
        guint64 rid = num(&s, e);
        const char *addr = rid < m->rids->len ? m->rids->pdata[rid] : NULL;
        int mr = m->milter && addr ? mt_msg_rid(m->qid, addr) : -1;

        g_string_append_printf(out, "%s%" G_GUINT64_FORMAT, out->len ? ", " : "",
                               mr >= 0 ? (guint64) mr : rid);
        while (s < e && (*s < '0' || *s > '9'))
            s++;
    }
}

/* delivery - "Delivery start|Message done DCID d MID y to RID [list]" */
static void delivery(mt_relabel *r, time_t when, const char *what, const char *s, size_t n)
{
    const char *e = s + n;
    guint64 d = num(&s, e), y, dreal = dcid_real(r, d), mreal;
    mid_ent *m;
    g_autoptr(GString) rids = g_string_new(NULL);

    if (!lit(&s, e, " MID "))
        return;
    y = num(&s, e);
    if (dreal == 0 || (m = mid_get(r, y)) == NULL || (mreal = mid_real(r, m, when)) == 0
        || !lit(&s, e, " to RID [") || e == s || e[-1] != ']')
        return;
    rid_map(m, s, e - 1, rids);
    emit(when, "%s DCID " ID " MID " ID " to RID [%s]", what, dreal, mreal, rids->str);
}

/* on_dstart - "Delivery start DCID ..." */
static void on_dstart(mt_relabel *r, time_t when, const char *s, size_t n)
{
    delivery(r, when, "Delivery start", s, n);
}

/* on_mdone - "Message done DCID ..." */
static void on_mdone(mt_relabel *r, time_t when, const char *s, size_t n)
{
    delivery(r, when, "Message done", s, n);
}

static const struct {
    const char *prefix;
    rec_fn      fn;
} records[] = {
    {"New SMTP ICID ", on_new_icid},
    {"New SMTP DCID ", on_new_dcid},
    {"ICID ", on_icid},
    {"DCID ", on_dcid},
    {"Start MID ", on_start},
    {"MID ", on_mid},
    {"Message finished MID ", on_finished},
    {"Delivery start DCID ", on_dstart},
    {"Message done DCID ", on_mdone},
};

/* on_record - the parser's emit callback */
static void on_record(void *ctx, time_t when, seg_record_level level, const char *text, size_t len)
{
    mt_relabel *r = ctx;

    for (size_t i = 0; i < G_N_ELEMENTS(records); i++) {
        size_t pl = strlen(records[i].prefix);

        if (len > pl && memcmp(text, records[i].prefix, pl) == 0) {
            records[i].fn(r, when, text + pl, len - pl);
            return;
        }
    }
}

/* on_release - the parser forgot a message unfinished (its session ended before it was queued, or it went quiet): so do we */
static void on_release(void *ctx, guint64 y)
{
    mt_relabel *r = ctx;

    g_hash_table_remove(r->mids, &y);
}

/* mid_ent_free - hash table value destructor */
static void mid_ent_free(gpointer v)
{
    mid_ent *m = v;

    g_ptr_array_unref(m->rids);
    g_free(m);
}

/* The Destination Controls for the parsers (mt_relabel_destinations). */
static seg_pflog_dest_fn dest_fn;
static void *dest_ctx;

/* mt_relabel_destinations - name the destination entry of each delivery */
void mt_relabel_destinations(seg_pflog_dest_fn fn, void *ctx)
{
    dest_fn = fn;
    dest_ctx = ctx;
}

/* mt_relabel_new - a parser of Postfix's programs (names; NULL: "postfix") whose records come out with live IDs */
mt_relabel *mt_relabel_new(gboolean log_only, const char *const *names)
{
    mt_relabel *r = g_new0(mt_relabel, 1);

    r->log_only = log_only;
    r->ids = seg_ids_open(NULL, NULL);
    r->parser = seg_pflog_new(r->ids, on_record, r);
    seg_pflog_set_release(r->parser, on_release, r);
    if (dest_fn != NULL)
        seg_pflog_set_destinations(r->parser, dest_fn, dest_ctx);
    if (!seg_pflog_set_syslog_names(r->parser, names, NULL))
        msg_warn("bad syslog names; following \"postfix\"");
    r->icids = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    r->mids = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, mid_ent_free);
    r->dcids = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    return r;
}

/* mt_relabel_set_postfix - the interfaces and addresses of the records, from config_dir */
void mt_relabel_set_postfix(mt_relabel *r, const char *config_dir)
{
    g_autoptr(GError) err = NULL;

    if (!seg_pflog_postfix_interfaces(r->parser, config_dir, &err))
        msg_warn("%s; records say interface unknown", err->message);
}

/* mt_relabel_line - one Postfix log line */
void mt_relabel_line(mt_relabel *r, const char *line, size_t len)
{
    const char *end = memmem(line, len, "]: ", 3), *b, *d;

    r->have_line = FALSE;
    if (end && (b = memrchr(line, '[', end - line)) != NULL) {
        r->pid = strtol(b + 1, NULL, 10);
        for (d = b; d > line && d[-1] != '/' && d[-1] != ' '; d--)
            ;
        r->daemon = d;
        r->daemon_len = b - d;
        r->text = end + 3;
        r->text_len = len - (end + 3 - line);
        while (r->text_len && (r->text[r->text_len - 1] == '\n' || r->text[r->text_len - 1] == '\r'))
            r->text_len--;
        r->have_line = TRUE;
    }
    seg_pflog_line(r->parser, line, len);
    r->have_line = FALSE;
}

/* sweep - forget entries whose end was never logged */
static void sweep(GHashTable *t, time_t before, gsize off)
{
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, t);
    while (g_hash_table_iter_next(&it, NULL, &v))
        if (G_STRUCT_MEMBER(time_t, v, off) < before)
            g_hash_table_iter_remove(&it);
}

/* mt_relabel_tick - end idle deliveries, forget stale state (about 1/s) */
void mt_relabel_tick(mt_relabel *r, time_t now)
{
    seg_pflog_expire(r->parser, now, 10);
    mt_expire(now);
    if (now - r->last_sweep < 60)
        return;
    r->last_sweep = now;
    sweep(r->icids, now - KEEP_CONN, G_STRUCT_OFFSET(in_ent, seen));
    sweep(r->dcids, now - KEEP_CONN, G_STRUCT_OFFSET(dcid_ent, seen));
    sweep(r->mids, now - KEEP_MSG, G_STRUCT_OFFSET(mid_ent, seen));
}

/* mt_relabel_free - forget everything */
void mt_relabel_free(mt_relabel *r)
{
    if (r == NULL)
        return;
    seg_pflog_free(r->parser);
    seg_ids_close(r->ids);
    g_hash_table_destroy(r->icids);
    g_hash_table_destroy(r->mids);
    g_hash_table_destroy(r->dcids);
    g_free(r);
}
