/*
 * pflog_conn - the Postfix processes the parser follows, by pid.
 *
 * smtpd processes (p->in) hold the open ICID of the connection they
 * serve, smtp processes (p->out) the open DCID and the delivery in
 * progress. A direct-mapped cache by pid sits in front of each table.
 */
#include "pflog_conn.h"

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

/* pf_conns_init - the two empty tables */
void pf_conns_init(seg_pflog *p)
{
    p->in = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, conn_free);
    p->out = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, conn_free);
}

/* pf_conns_free - release both tables and every state in them */
void pf_conns_free(seg_pflog *p)
{
    g_hash_table_destroy(p->in);
    g_hash_table_destroy(p->out);
}
