/*
 * report - read mail_logs records, join them by ID, count TLS outcomes.
 *
 * An open connection lives in a table by ICID or DCID until its "close"
 * record, then becomes one rconn (inbound) or one per recipient domain
 * (outbound) in a flat array; the report is computed from that array
 * (and the connections still open) when asked, so that a live file can
 * be reported again and again. Recipients (MID, RID -> domain) are kept
 * until a while after "Message finished" (deliveries close after it).
 * Names (domains, versions, ciphers, peers) are interned once.
 */
#include <string.h>
#include <time.h>
#include <libpsl.h>

#include "recparse.h"
#include "report_int.h"

#define NO_ID           G_MAXUINT32
#define FINISHED_KEEP   65536           /* finished messages remembered */
#define NAME_MAX_LEN    255

typedef struct rconn {
    gint64      when;
    guint32     domain;         /* NO_ID: by peer, when the report is made */
    guint32     peer;           /* outbound: "address]port" name */
    guint32     msgs;           /* messages to this domain */
    guint32     all_msgs;       /* messages on the connection (first entry) */
    guint32     proto, cipher;  /* NO_ID: none */
    guint8      dir, outcome, required, extra;
} rconn;

typedef struct dpair {
    guint64     mid, rid;
} dpair;

typedef struct live {
    guint64     id;             /* key */
    gint64      when;
    guint32     domain;         /* inbound */
    guint32     peer;           /* outbound */
    guint32     proto, cipher;
    guint32     msgs;
    guint8      outcome, required, no_starttls;
    GArray     *deliv;          /* outbound: dpair */
} live;

typedef struct msgent {
    guint64     mid;            /* key */
    GArray     *rcpt;           /* guint32 domain by RID, NO_ID: unknown */
} msgent;

struct seg_report {
    seg_report_opts opts;
    char       *domain_opt;
    seg_rec_clock clock;
    guint64     lines, records;
    GHashTable *conns[RP_NDIRS];        /* id -> live */
    GHashTable *msgs;                   /* mid -> msgent */
    GArray     *finished;               /* guint64 mids, oldest first */
    GArray     *done;                   /* rconn */
    GHashTable *domain_ids;             /* name -> id + 1 */
    GPtrArray  *domains;
    GHashTable *name_ids;               /* versions and ciphers */
    GPtrArray  *names;
    GHashTable *peer_ids;
    GPtrArray  *peers;
    GArray     *peer_domains;           /* by peer: guint32 domain last delivered to */
    GHashTable *host_domain;            /* reverse dns host -> domain id + 1 */
    psl_ctx_t  *psl;
};

/* intern - the id of a name in a table (added when new) */
static guint32 intern(GHashTable *ids, GPtrArray *names, const char *p, size_t n)
{
    char    buf[NAME_MAX_LEN + 1];
    gpointer v;
    char   *copy;

    n = MIN(n, NAME_MAX_LEN);
    memcpy(buf, p, n);
    buf[n] = 0;
    if ((v = g_hash_table_lookup(ids, buf)) != NULL)
        return GPOINTER_TO_UINT(v) - 1;
    copy = g_strndup(buf, n);
    g_ptr_array_add(names, copy);
    g_hash_table_insert(ids, copy, GUINT_TO_POINTER(names->len));
    return names->len - 1;
}

/*
 * clean_name - a name from a record as the report shows it: lower case
 * (domains), printable ASCII without space, quote, backslash, <, >, &
 * or comma (each becomes '?'); length
 */
static size_t clean_name(const char *p, size_t n, gboolean lower, char *buf)
{
    n = MIN(n, NAME_MAX_LEN);
    for (size_t i = 0; i < n; i++) {
        char    c = p[i];

        if (c <= ' ' || c >= 0x7f || strchr("\"'\\<>&,", c))
            c = '?';
        buf[i] = lower ? g_ascii_tolower(c) : c;
    }
    buf[n] = 0;
    return n;
}

/* intern_clean - intern a cleaned name */
static guint32 intern_clean(GHashTable *ids, GPtrArray *names, const char *p, size_t n, gboolean lower)
{
    char    buf[NAME_MAX_LEN + 1];

    n = clean_name(p, n, lower, buf);
    return intern(ids, names, buf, n);
}

/* inbound_domain - the domain of a reverse DNS host (see report.h) */
static guint32 inbound_domain(seg_report *r, const seg_rec *rec)
{
    char    host[NAME_MAX_LEN + 1];
    const char *reg;
    gpointer v;
    guint32 id;

    if (rec->b.n != 3 || memcmp(rec->b.p, "yes", 3) != 0
        || (rec->a.n == 7 && memcmp(rec->a.p, "unknown", 7) == 0))
        return intern(r->domain_ids, r->domains, "unknown", 7);
    clean_name(rec->a.p, rec->a.n, TRUE, host);
    if ((v = g_hash_table_lookup(r->host_domain, host)) != NULL)
        return GPOINTER_TO_UINT(v) - 1;
    reg = r->psl ? psl_registrable_domain(r->psl, host) : NULL;
    if (reg == NULL || *reg == 0)
        reg = host;
    id = intern(r->domain_ids, r->domains, reg, strlen(reg));
    if (g_hash_table_size(r->host_domain) < 1000000)
        g_hash_table_insert(r->host_domain, g_strdup(host), GUINT_TO_POINTER(id + 1));
    return id;
}

/* live_free - a live connection */
static void live_free(gpointer p)
{
    live   *l = p;

    if (l->deliv)
        g_array_unref(l->deliv);
    g_free(l);
}

/* msgent_free - a message's recipients */
static void msgent_free(gpointer p)
{
    msgent *m = p;

    g_array_unref(m->rcpt);
    g_free(m);
}

/* seg_report_new - an empty report with these options */
seg_report *seg_report_new(const seg_report_opts *opts)
{
    seg_report *r = g_new0(seg_report, 1);

    r->opts = *opts;
    if (opts->domain) {
        char    buf[NAME_MAX_LEN + 1];

        clean_name(opts->domain, strlen(opts->domain), TRUE, buf);
        r->domain_opt = g_strdup(buf);
        r->opts.domain = r->domain_opt;
    }
    for (int d = 0; d < RP_NDIRS; d++)
        r->conns[d] = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, live_free);
    r->msgs = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, msgent_free);
    r->finished = g_array_new(FALSE, FALSE, sizeof(guint64));
    r->done = g_array_sized_new(FALSE, FALSE, sizeof(rconn), 4096);
    r->domains = g_ptr_array_new_with_free_func(g_free);
    r->domain_ids = g_hash_table_new(g_str_hash, g_str_equal);
    r->names = g_ptr_array_new_with_free_func(g_free);
    r->name_ids = g_hash_table_new(g_str_hash, g_str_equal);
    r->peers = g_ptr_array_new_with_free_func(g_free);
    r->peer_ids = g_hash_table_new(g_str_hash, g_str_equal);
    r->peer_domains = g_array_new(FALSE, FALSE, sizeof(guint32));
    r->host_domain = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    r->psl = psl_latest(NULL);
    if (r->psl == NULL)
        r->psl = (psl_ctx_t *) psl_builtin();
    return r;
}

/* seg_report_free - everything */
void seg_report_free(seg_report *r)
{
    if (r == NULL)
        return;
    for (int d = 0; d < RP_NDIRS; d++)
        g_hash_table_destroy(r->conns[d]);
    g_hash_table_destroy(r->msgs);
    g_array_unref(r->finished);
    g_array_unref(r->done);
    g_hash_table_destroy(r->domain_ids);
    g_ptr_array_unref(r->domains);
    g_hash_table_destroy(r->name_ids);
    g_ptr_array_unref(r->names);
    g_hash_table_destroy(r->peer_ids);
    g_ptr_array_unref(r->peers);
    g_array_unref(r->peer_domains);
    g_hash_table_destroy(r->host_domain);
    if (r->psl != psl_builtin())
        psl_free(r->psl);
    g_free(r->domain_opt);
    g_free(r);
}

/* seg_report_counts - lines read and lines that were records */
void seg_report_counts(const seg_report *r, guint64 *lines, guint64 *records)
{
    *lines = r->lines;
    *records = r->records;
}

/* conn_get - the open connection of a record, or NULL */
static live *conn_get(seg_report *r, const seg_rec *rec)
{
    return g_hash_table_lookup(r->conns[rec->dcid ? RP_OUT : RP_IN], &rec->id);
}

/* new_conn - "New SMTP ICID|DCID" */
static void new_conn(seg_report *r, gint64 when, const seg_rec *rec)
{
    live   *l = g_new0(live, 1);

    l->id = rec->id;
    l->when = when;
    l->proto = l->cipher = NO_ID;
    l->domain = NO_ID;
    if (rec->dcid) {
        char    key[2 * NAME_MAX_LEN + 2];
        size_t  n = clean_name(rec->c.p, MIN(rec->c.n, 64), TRUE, key);

        key[n++] = ']';
        n += clean_name(rec->b.p, MIN(rec->b.n, 8), TRUE, key + n);
        l->peer = intern(r->peer_ids, r->peers, key, n);
        while (r->peer_domains->len < r->peers->len) {
            guint32 none = NO_ID;

            g_array_append_val(r->peer_domains, none);
        }
    } else {
        l->domain = inbound_domain(r, rec);
    }
    g_hash_table_replace(r->conns[rec->dcid ? RP_OUT : RP_IN], &l->id, l);
}

/* push - one finished connection entry */
static void push(seg_report *r, const live *l, int dir, guint32 domain, guint32 msgs,
                 guint32 all_msgs, gboolean extra)
{
    rconn   c = {
        .when = l->when, .domain = domain, .peer = l->peer, .msgs = msgs,
        .all_msgs = all_msgs, .proto = l->proto, .cipher = l->cipher, .dir = dir,
        .outcome = l->outcome, .required = l->required, .extra = extra,
    };

    if (dir == RP_OUT && l->no_starttls && l->outcome == RP_PLAIN && all_msgs == 0) {
        c.outcome = RP_FAILED;          /* TLS required and not offered: nothing sent */
        c.required = TRUE;
    }
    g_array_append_val(r->done, c);
}

/* dcid_domains - count a DCID's deliveries by recipient domain into doms (id -> msgs) */
static guint32 dcid_domains(seg_report *r, const live *l, GArray *doms)
{
    guint32 n = 0;

    for (guint i = 0; l->deliv && i < l->deliv->len; i++) {
        const dpair *d = &g_array_index(l->deliv, dpair, i);
        msgent *m = g_hash_table_lookup(r->msgs, &d->mid);
        guint32 dom = NO_ID;
        guint   j;

        if (d->rid == G_MAXUINT64) {    /* the end of one Delivery start */
            n++;
            continue;
        }
        if (m && d->rid < m->rcpt->len)
            dom = g_array_index(m->rcpt, guint32, d->rid);
        if (dom == NO_ID)
            continue;
        /* once per delivery (a message to two RIDs of one domain is one message) */
        for (j = 0; j < doms->len; j += 3)
            if (g_array_index(doms, guint32, j) == dom)
                break;
        if (j == doms->len) {
            guint32 e[3] = {dom, 0, G_MAXUINT32};

            g_array_append_vals(doms, e, 3);
        }
        if (g_array_index(doms, guint32, j + 2) != n) {
            g_array_index(doms, guint32, j + 1)++;
            g_array_index(doms, guint32, j + 2) = n;
        }
    }
    return n;
}

/* finish_conn - turn a live connection into report entries */
static void finish_conn(seg_report *r, int dir, const live *l, gboolean remember)
{
    g_autoptr(GArray) doms = NULL;
    guint32 n;

    if (dir == RP_IN) {
        push(r, l, dir, l->domain, l->msgs, l->msgs, FALSE);
        return;
    }
    doms = g_array_new(FALSE, FALSE, sizeof(guint32));
    n = dcid_domains(r, l, doms);
    if (doms->len == 0) {
        push(r, l, dir, NO_ID, 0, n, FALSE);
        return;
    }
    for (guint j = 0; j < doms->len; j += 3)
        push(r, l, dir, g_array_index(doms, guint32, j), g_array_index(doms, guint32, j + 1),
             j == 0 ? n : 0, j > 0);
    if (remember)
        g_array_index(r->peer_domains, guint32, l->peer) = g_array_index(doms, guint32, 0);
}

/* forget_finished - drop the recipients of messages finished long ago */
static void forget_finished(seg_report *r)
{
    for (guint i = 0; i < FINISHED_KEEP; i++)
        g_hash_table_remove(r->msgs, &g_array_index(r->finished, guint64, i));
    g_array_remove_range(r->finished, 0, FINISHED_KEEP);
}

/* rcpt - "MID m ICID i RID r To: <addr>": the recipient's domain */
static void rcpt(seg_report *r, const seg_rec *rec)
{
    msgent *m = g_hash_table_lookup(r->msgs, &rec->mid);
    const char *at = memrchr(rec->a.p, '@', rec->a.n);
    guint32 dom, none = NO_ID;

    if (rec->rid > 10000)
        return;
    if (at == NULL || at + 1 == rec->a.p + rec->a.n)
        dom = intern(r->domain_ids, r->domains, "unknown", 7);
    else
        dom = intern_clean(r->domain_ids, r->domains, at + 1,
                           (size_t) (rec->a.p + rec->a.n - at - 1), TRUE);
    if (m == NULL) {
        m = g_new0(msgent, 1);
        m->mid = rec->mid;
        m->rcpt = g_array_new(FALSE, FALSE, sizeof(guint32));
        g_hash_table_replace(r->msgs, &m->mid, m);
    }
    while (m->rcpt->len <= rec->rid)
        g_array_append_val(m->rcpt, none);
    g_array_index(m->rcpt, guint32, rec->rid) = dom;
}

/* delivery - "Delivery start DCID d MID m to RID [list]" */
static void delivery(seg_report *r, live *l, const seg_rec *rec)
{
    dpair   d = {.mid = rec->mid};
    size_t  at = 0;

    if (l->deliv == NULL)
        l->deliv = g_array_new(FALSE, FALSE, sizeof(dpair));
    while (seg_recparse_rids(&rec->a, &at, &d.rid) && l->deliv->len < 100000)
        g_array_append_val(l->deliv, d);
    d.rid = G_MAXUINT64;
    g_array_append_val(l->deliv, d);
}

/* seg_report_line - one record line */
void seg_report_line(void *report, const char *line, size_t len)
{
    seg_report *r = report;
    const char *msg;
    size_t  mlen;
    gint64  when;
    seg_rec rec;
    live   *l;

    r->lines++;
    if (!seg_recparse_time(&r->clock, line, len, &when, &msg, &mlen))
        return;
    r->records++;
    if (!seg_recparse_msg(msg, mlen, &rec))
        return;
    switch (rec.kind) {
    case SEG_REC_NEW_CONN:
        if ((l = conn_get(r, &rec)) != NULL) {  /* never closed: the writer stopped */
            finish_conn(r, rec.dcid ? RP_OUT : RP_IN, l, TRUE);
            g_hash_table_remove(r->conns[rec.dcid ? RP_OUT : RP_IN], &rec.id);
        }
        new_conn(r, when, &rec);
        break;
    case SEG_REC_TLS_SUCCESS:
        if ((l = conn_get(r, &rec)) != NULL) {
            l->outcome = RP_SUCCESS;
            l->proto = intern_clean(r->name_ids, r->names, rec.a.p, rec.a.n, FALSE);
            l->cipher = intern_clean(r->name_ids, r->names, rec.b.p, rec.b.n, FALSE);
        }
        break;
    case SEG_REC_TLS_FAILED:
    case SEG_REC_TLS_DEFERRING:
    case SEG_REC_TLS_REQUIRED:
        if ((l = conn_get(r, &rec)) != NULL && l->outcome != RP_SUCCESS) {
            l->outcome = RP_FAILED;
            l->required |= rec.kind != SEG_REC_TLS_FAILED;
        }
        break;
    case SEG_REC_NO_STARTTLS:
        if ((l = conn_get(r, &rec)) != NULL)
            l->no_starttls = TRUE;
        break;
    case SEG_REC_CLOSE:
        if ((l = conn_get(r, &rec)) != NULL) {
            finish_conn(r, rec.dcid ? RP_OUT : RP_IN, l, TRUE);
            g_hash_table_remove(r->conns[rec.dcid ? RP_OUT : RP_IN], &rec.id);
        }
        break;
    case SEG_REC_START_MID:
        rec.dcid = FALSE;
        if ((l = conn_get(r, &rec)) != NULL)
            l->msgs++;
        break;
    case SEG_REC_RCPT:
        rcpt(r, &rec);
        break;
    case SEG_REC_DELIVERY:
        if ((l = conn_get(r, &rec)) != NULL)
            delivery(r, l, &rec);
        break;
    case SEG_REC_FINISHED:
        g_array_append_val(r->finished, rec.mid);
        if (r->finished->len >= 2 * FINISHED_KEEP)
            forget_finished(r);
        break;
    default:
        break;
    }
}

/* ---- computing the report ---- */

/* count_add - add n to the entry of id in a rp_count array */
static void count_add(GArray *a, guint32 id, guint64 n)
{
    rp_count c = {id, n};

    for (guint i = 0; i < a->len; i++)
        if (g_array_index(a, rp_count, i).id == id) {
            g_array_index(a, rp_count, i).n += n;
            return;
        }
    g_array_append_val(a, c);
}

/* row_new - an empty row */
static rp_row *row_new(const char *domain)
{
    rp_row *row = g_new0(rp_row, 1);

    row->domain = domain;
    row->versions = g_array_new(FALSE, FALSE, sizeof(rp_count));
    row->ciphers = g_array_new(FALSE, FALSE, sizeof(rp_count));
    return row;
}

/* row_free - a row */
static void row_free(gpointer p)
{
    rp_row *row = p;

    g_array_unref(row->versions);
    g_array_unref(row->ciphers);
    g_free(row);
}

/* row_add - count one entry into a row; all: the connection itself too */
static void row_add(rp_row *row, const rconn *c, gboolean conn, guint32 msgs)
{
    if (conn) {
        row->conns++;
        if (c->outcome == RP_SUCCESS) {
            row->success++;
            if (c->proto != NO_ID)
                count_add(row->versions, c->proto, 1);
            if (c->cipher != NO_ID)
                count_add(row->ciphers, c->cipher, 1);
        } else if (c->outcome == RP_FAILED) {
            row->failed++;
            row->required += c->required;
        } else {
            row->plain++;
        }
    }
    row->msgs += msgs;
    if (c->outcome == RP_SUCCESS)
        row->msgs_tls += msgs;
}

/* count_cmp - most first, then by name */
static gint count_cmp(gconstpointer a, gconstpointer b, gpointer names)
{
    const rp_count *x = a, *y = b;

    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return strcmp(g_ptr_array_index((GPtrArray *) names, x->id),
                  g_ptr_array_index((GPtrArray *) names, y->id));
}

/* row_cmp - most connections first, then by domain */
static gint row_cmp(gconstpointer a, gconstpointer b)
{
    const rp_row *x = *(rp_row * const *) a, *y = *(rp_row * const *) b;

    if (x->conns != y->conns)
        return x->conns > y->conns ? -1 : 1;
    return strcmp(x->domain, y->domain);
}

/* bucket_width - seconds per bucket: the first of these that needs at most RP_BUCKETS_MAX */
static gint64 bucket_width(gint64 span)
{
    static const gint64 widths[] = {60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600,
                                    86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400};

    for (gsize i = 0; i < G_N_ELEMENTS(widths); i++)
        if (span / widths[i] < RP_BUCKETS_MAX)
            return widths[i];
    return span / (RP_BUCKETS_MAX - 1) + 1;
}

/* entry_domain - the domain of an entry, its peer's when it has none */
static const char *entry_domain(seg_report *r, const rconn *c)
{
    guint32 d = c->domain;

    if (d == NO_ID && c->dir == RP_OUT)
        d = g_array_index(r->peer_domains, guint32, c->peer);
    if (d == NO_ID)
        return NULL;
    return g_ptr_array_index(r->domains, d);
}

/* peer_name - "[address]:port" of an outbound entry without a domain */
static const char *peer_name(seg_report *r, const rconn *c, GHashTable *made)
{
    const char *key = g_ptr_array_index(r->peers, c->peer), *sep = strchr(key, ']');
    char   *name = g_strdup_printf("[%.*s]:%s", (int) (sep - key), key, sep + 1);
    char   *have = g_hash_table_lookup(made, name);

    if (have) {
        g_free(name);
        return have;
    }
    g_hash_table_insert(made, name, name);
    return name;
}

/* recparse_utc_offset - seconds east of UTC of the local zone at a time */
static gint64 recparse_utc_offset(gint64 when)
{
    time_t  t = (time_t) when;
    struct tm tm;

    return localtime_r(&t, &tm) ? tm.tm_gmtoff : 0;
}

/* rp_compute - the report as it stands */
rp_result *rp_compute(seg_report *r)
{
    rp_result *res = g_new0(rp_result, 1);
    g_autoptr(GArray) all = g_array_copy(r->done);
    GHashTable *rows[RP_NDIRS];
    GHashTable *made = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GHashTableIter it;
    gpointer v;

    /* the connections still open, as they are now */
    for (int d = 0; d < RP_NDIRS; d++) {
        guint   before = r->done->len;

        g_hash_table_iter_init(&it, r->conns[d]);
        while (g_hash_table_iter_next(&it, NULL, &v))
            finish_conn(r, d, v, FALSE);
        g_array_append_vals(all, &g_array_index(r->done, rconn, before), r->done->len - before);
        g_array_set_size(r->done, before);
    }
    res->since = r->opts.since;
    res->until = r->opts.until;
    res->domain = r->opts.domain;
    res->top = r->opts.top;
    res->names = r->names;
    res->first = G_MAXINT64;
    res->last = G_MININT64;
    for (int d = 0; d < RP_NDIRS; d++) {
        rows[d] = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, row_free);
        res->dir[d].shown = (r->opts.dirs & (d == RP_IN ? SEG_REPORT_INBOUND : SEG_REPORT_OUTBOUND)) != 0;
        res->dir[d].rows = g_ptr_array_new_with_free_func(row_free);
        res->dir[d].total.domain = "*";
        res->dir[d].total.versions = g_array_new(FALSE, FALSE, sizeof(rp_count));
        res->dir[d].total.ciphers = g_array_new(FALSE, FALSE, sizeof(rp_count));
    }
    /* pass 1: rows and totals */
    for (guint i = 0; i < all->len; i++) {
        rconn  *c = &g_array_index(all, rconn, i);
        const char *dom;
        rp_row *row;

        if (!res->dir[c->dir].shown || c->when < r->opts.since || c->when >= r->opts.until)
            continue;
        if ((dom = entry_domain(r, c)) == NULL)
            dom = peer_name(r, c, made);
        if (r->opts.domain && strcmp(dom, r->opts.domain) != 0) {
            c->dir = RP_NDIRS;          /* not counted: the chart skips it too */
            continue;
        }
        if ((row = g_hash_table_lookup(rows[c->dir], dom)) == NULL) {
            row = row_new(dom);
            g_hash_table_insert(rows[c->dir], (char *) dom, row);
        }
        row_add(row, c, TRUE, c->msgs);
        if (r->opts.domain)
            row_add(&res->dir[c->dir].total, c, TRUE, c->msgs);
        else if (!c->extra)
            row_add(&res->dir[c->dir].total, c, TRUE, c->all_msgs);
        res->first = MIN(res->first, c->when);
        res->last = MAX(res->last, c->when);
    }
    /* pass 2: the chart, one bucket per width from the first connection */
    for (int d = 0; d < RP_NDIRS; d++) {
        rp_dir *dir = &res->dir[d];
        gint64  from = r->opts.since != G_MININT64 ? r->opts.since : res->first;
        gint64  to = r->opts.until != G_MAXINT64 ? r->opts.until - 1 : res->last;
        gint64  off;

        if (res->first > res->last)
            continue;
        dir->width = bucket_width(MAX(to - from, 0));
        /* buckets start at local multiples of their width (whole hours, days) */
        off = recparse_utc_offset(from);
        dir->bucket0 = from + off - (((from + off) % dir->width) + dir->width) % dir->width - off;
        dir->nbuckets = (guint) MIN((to - dir->bucket0) / dir->width + 1, RP_BUCKETS_MAX);
        for (guint b = 0; b < dir->nbuckets; b++)
            dir->buckets[b].versions = g_array_new(FALSE, FALSE, sizeof(rp_count));
    }
    for (guint i = 0; i < all->len; i++) {
        const rconn *c = &g_array_index(all, rconn, i);
        rp_dir *dir;
        gint64  b;

        if (c->dir >= RP_NDIRS || (c->extra && !r->opts.domain) || !res->dir[c->dir].shown
            || c->when < r->opts.since || c->when >= r->opts.until)
            continue;
        dir = &res->dir[c->dir];
        b = (c->when - dir->bucket0) / dir->width;
        if (b < 0 || b >= dir->nbuckets)
            continue;
        if (c->outcome == RP_SUCCESS)
            count_add(dir->buckets[b].versions, c->proto, 1);
        else if (c->outcome == RP_FAILED)
            dir->buckets[b].failed++;
        else
            dir->buckets[b].plain++;
    }
    for (int d = 0; d < RP_NDIRS; d++) {
        rp_dir *dir = &res->dir[d];

        g_hash_table_iter_init(&it, rows[d]);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
            g_hash_table_iter_steal(&it);
            g_array_sort_with_data(((rp_row *) v)->versions, count_cmp, r->names);
            g_array_sort_with_data(((rp_row *) v)->ciphers, count_cmp, r->names);
            g_ptr_array_add(dir->rows, v);
        }
        g_hash_table_destroy(rows[d]);
        g_ptr_array_sort(dir->rows, row_cmp);
        dir->nrows = dir->rows->len;
        if (r->opts.top && dir->rows->len > r->opts.top)
            g_ptr_array_set_size(dir->rows, r->opts.top);
        g_array_sort_with_data(dir->total.versions, count_cmp, r->names);
        g_array_sort_with_data(dir->total.ciphers, count_cmp, r->names);
    }
    res->owned = made;                  /* the "[address]:port" names */
    return res;
}

/* rp_result_free - a computed report */
void rp_result_free(rp_result *res)
{
    for (int d = 0; d < RP_NDIRS; d++) {
        g_ptr_array_unref(res->dir[d].rows);
        g_array_unref(res->dir[d].total.versions);
        g_array_unref(res->dir[d].total.ciphers);
        for (guint b = 0; b < res->dir[d].nbuckets; b++)
            g_array_unref(res->dir[d].buckets[b].versions);
    }
    g_hash_table_destroy(res->owned);
    g_free(res);
}
