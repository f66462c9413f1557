/*
 * pflog_conn - the Postfix processes the parser follows.
 *
 * smtpd processes (p->in) hold the open ICID of the connection they
 * serve, smtp processes (p->out) the open DCID and the delivery in
 * progress. A process is known by its host, program and pid (a
 * pf_conn_key): "postfix/smtpd[7]" and "x/smtpd[7]" are two processes.
 * A direct-mapped cache by key hash sits in front of each table; a
 * released process (pf_conn_release: pflog.c decides when) leaves its
 * cache slot too. Released states go to a free list.
 *
 * The smtp processes delivering one message are linked to it
 * (pf_msg.dconns, pf_conn.dnext/dprev): one message can leave over
 * several connections at once.
 */
#include "pflog_conn.h"

#define PF_CONN_POOL    256     /* released states kept for reuse */

/* pf_conn_hash - the hash of a tag and a pid: the first and last 8 bytes of the tag, mixed */
guint64 pf_conn_hash(pf_str tag, long pid)
{
    guint64 a = 0, b = 0;

    if (tag.n >= 8) {
        a = pf_load8(tag.p);
        b = pf_load8(tag.p + tag.n - 8);
    } else {
        for (size_t i = 0; i < tag.n; i++)
            a = a << 8 | (guchar) tag.p[i];
    }
    a = (a ^ (b * 0x9E3779B97F4A7C15ULL) ^ ((guint64) pid << 8) ^ tag.n) * 0xBF58476D1CE4E5B9ULL;
    return a ^ (a >> 31);
}

/* key_hash - GHashTable hash of a pf_conn_key */
static guint key_hash(gconstpointer v)
{
    return (guint) ((const pf_conn_key *) v)->hash;
}

/* same_key - do two pf_conn_keys name the same process? */
static inline gboolean same_key(const pf_conn_key *x, const pf_conn_key *y)
{
    return x->hash == y->hash && x->pid == y->pid && x->tag_n == y->tag_n
        && pf_same(x->tag, y->tag, x->tag_n);
}

/* key_equal - GHashTable equality of two pf_conn_keys */
static gboolean key_equal(gconstpointer a, gconstpointer b)
{
    return same_key(a, b);
}

/* cache_slot - the cache slot of a key hash in the cache of t */
static pf_conn **cache_slot(seg_pflog *p, GHashTable *t, guint64 hash)
{
    return (t == p->in ? p->in_cache : p->out_cache) + (hash & (PF_CONN_CACHE - 1));
}

/* pf_conn_find - the state of the process of a line, or NULL */
pf_conn *pf_conn_find(seg_pflog *p, GHashTable *t, const pf_line *l)
{
    pf_conn_key k = {pf_conn_hash(l->tag, l->pid), l->pid, l->tag.p, l->tag.n};
    pf_conn **slot = cache_slot(p, t, k.hash);
    pf_conn *c = *slot;

    if (c && same_key(&c->k, &k))
        return c;
    if ((c = g_hash_table_lookup(t, &k)) != NULL)
        *slot = c;
    return c;
}

/* pf_conn_get - the state of the process of a line, created on first use (NULL: tag too long) */
pf_conn *pf_conn_get(seg_pflog *p, GHashTable *t, const pf_line *l)
{
    pf_conn *c = pf_conn_find(p, t, l);

    if (c != NULL || l->tag.n > PF_TAG_MAX)
        return c;
    if ((c = p->conn_pool) != NULL) {
        GArray *rids = c->rids;

        p->conn_pool = c->next_free;
        p->conn_pool_n--;
        memset(c, 0, G_STRUCT_OFFSET(pf_conn, ptr_name));
        c->ptr_name[0] = c->ptr_addr[0] = c->err[0] = 0;
        c->rids = rids;                 /* kept empty */
    } else {
        c = g_new0(pf_conn, 1);
    }
    memcpy(c->tag, l->tag.p, l->tag.n);
    c->host_n = l->syslog_name.p - l->tag.p - 1;
    c->k.hash = pf_conn_hash(l->tag, l->pid);
    c->k.pid = l->pid;
    c->k.tag = c->tag;
    c->k.tag_n = l->tag.n;
    g_hash_table_insert(t, &c->k, c);
    *cache_slot(p, t, c->k.hash) = c;
    return c;
}

/* pf_conn_unlink - c no longer delivers its message */
void pf_conn_unlink(pf_conn *c)
{
    if (c->msg == NULL)
        return;
    if (c->dprev)
        c->dprev->dnext = c->dnext;
    else
        c->msg->dconns = c->dnext;
    if (c->dnext)
        c->dnext->dprev = c->dprev;
    c->dnext = c->dprev = NULL;
    c->msg = NULL;
}

/* pf_conn_link - c delivers m (and nothing else) */
void pf_conn_link(pf_conn *c, struct pf_msg *m)
{
    if (c->msg == m)
        return;
    pf_conn_unlink(c);
    c->msg = m;
    c->dprev = NULL;
    c->dnext = m->dconns;
    if (m->dconns)
        m->dconns->dprev = c;
    m->dconns = c;
}

/* pf_conn_release - forget a process of table t (whatever it held is ended by the caller) */
void pf_conn_release(seg_pflog *p, GHashTable *t, pf_conn *c)
{
    pf_conn **slot = cache_slot(p, t, c->k.hash);

    pf_conn_unlink(c);
    if (*slot == c)
        *slot = NULL;
    g_hash_table_remove(t, &c->k);
    if (p->conn_pool_n >= PF_CONN_POOL) {
        if (c->rids)
            g_array_unref(c->rids);
        g_free(c);
        return;
    }
    if (c->rids)
        g_array_set_size(c->rids, 0);
    c->next_free = p->conn_pool;
    p->conn_pool = c;
    p->conn_pool_n++;
}

/* pf_conns_list - every process of table t, in no order (for flush, expiry and sweeps) */
GPtrArray *pf_conns_list(GHashTable *t)
{
    GPtrArray *a = g_ptr_array_sized_new(g_hash_table_size(t));
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, t);
    while (g_hash_table_iter_next(&it, NULL, &v))
        g_ptr_array_add(a, v);
    return a;
}

/* conn_free - a state and its recipients */
static void conn_free(pf_conn *c)
{
    if (c->rids)
        g_array_unref(c->rids);
    g_free(c);
}

/* pf_conns_init - the two empty tables */
void pf_conns_init(seg_pflog *p)
{
    p->in = g_hash_table_new(key_hash, key_equal);
    p->out = g_hash_table_new(key_hash, key_equal);
}

/* pf_conns_free - release both tables, every state in them and the free list */
void pf_conns_free(seg_pflog *p)
{
    GHashTable *t[2] = {p->in, p->out};
    GHashTableIter it;
    gpointer v;
    pf_conn *c;

    for (int i = 0; i < 2; i++) {
        g_hash_table_iter_init(&it, t[i]);
        while (g_hash_table_iter_next(&it, NULL, &v))
            conn_free(v);
        g_hash_table_destroy(t[i]);
    }
    while ((c = p->conn_pool) != NULL) {
        p->conn_pool = c->next_free;
        conn_free(c);
    }
    p->conn_pool_n = 0;
}
