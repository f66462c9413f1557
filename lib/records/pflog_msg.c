/*
 * pflog_msg - the queue id table of the Postfix log parser.
 *
 * One pf_msg per queue id between its first line and qmgr's "removed":
 * open addressing with linear probing, keyed by the queue id kept in the
 * message, with the hash of each slot beside it so that a collision does
 * not cost a cache miss. Removal shifts back (no tombstones). Removed
 * messages go to a free list and are used again, recipient buffer and
 * all: the log of a busy gateway starts and ends messages all the time.
 * A message is removed at qmgr's "removed" or, by age, by pflog.c.
 */
#include "pflog_conn.h"
#include "pflog_field.h"
#include "pflog_int.h"
#include "pflog_msg.h"
#include "pflog_rec.h"

#define PF_MSG_POOL     1024    /* free messages kept for reuse */
#define PF_RCPT_KEEP    1024    /* recipient buffers up to this size are kept */

/* msg_free - give a message back (to the free list while it has room) */
static void msg_free(seg_pflog *p, pf_msg *m)
{
    while (m->dconns)                   /* its deliveries go on without it */
        pf_conn_unlink(m->dconns);
    if (p->msg_pool_n >= PF_MSG_POOL) {
        g_free(m->rcpt);
        g_free(m);
        return;
    }
    if (m->rcpt_size > PF_RCPT_KEEP) {
        g_free(m->rcpt);
        m->rcpt = NULL;
        m->rcpt_size = 0;
    }
    m->next_free = p->msg_pool;
    p->msg_pool = m;
    p->msg_pool_n++;
}

/* msg_alloc - a cleared message, from the free list when it has one */
static pf_msg *msg_alloc(seg_pflog *p)
{
    pf_msg *m = p->msg_pool;
    char *rcpt;
    size_t size;

    if (m == NULL)
        return g_new0(pf_msg, 1);
    p->msg_pool = m->next_free;
    p->msg_pool_n--;
    rcpt = m->rcpt;
    size = m->rcpt_size;
    memset(m, 0, sizeof(*m));
    m->rcpt = rcpt;
    m->rcpt_size = size;
    return m;
}

/* qid_hash - hash of a queue id: its first and last 8 bytes, mixed */
static guint32 qid_hash(const pf_str *s)
{
    guint64 a = 0, b = 0;

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
                                          && pf_same(m->key.p, qid.p, qid.n)))
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
    pf_msg *m;

    for (size_t i = 0; i <= p->msgs_mask; i++)
        if (p->msgs[i])
            msg_free(p, p->msgs[i]);
    while ((m = p->msg_pool) != NULL) {
        p->msg_pool = m->next_free;
        g_free(m->rcpt);
        g_free(m);
    }
    p->msg_pool_n = 0;
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
        if (n == rcpt.n && pf_same(m->rcpt + off + sizeof(n), rcpt.p, n)) {
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

/* pf_msg_new - a new message (new MID), "Start MID m ICID n"; icidt: icid in decimal, or NULL */
pf_msg *pf_msg_new(seg_pflog *p, time_t when, pf_str qid, guint64 icid, const pf_idtext *icidt)
{
    static const pf_idtext zero = {1, "0"};

    pf_msg *m = msg_alloc(p);
    size_t i;

    pf_copy(m->qid, sizeof(m->qid), qid);
    m->key.p = m->qid;
    m->key.n = strlen(m->qid);
    m->hash = qid_hash(&m->key);
    m->icid = icid;
    m->last = when;
    if (icid == 0)
        m->icidt = zero;
    else if (icidt)
        m->icidt = *icidt;
    else
        pf_id_text(&m->icidt, icid);
    m->mid = pf_new_id(p, SEG_ID_MID, &m->midt);
    i = msg_slot(p, m->key, m->hash);
    if (p->msgs[i]) {
        msg_free(p, p->msgs[i]);        /* a queue id used again */
        p->msgs[i] = m;
    } else {
        p->msgs[i] = m;
        p->msgs_hash[i] = m->hash;
        if (++p->msgs_used * 2 > p->msgs_mask + 1)
            msgs_grow(p);
    }
    if (m->mid) {
        PF_PUT(p, "Start ");
        pf_put_mid_icid(p, m);
        pf_rec(p, when);
    }
    return m;
}

/* pf_msgs_idle - the messages without a line since before = new_before (never queued) or before */
GPtrArray *pf_msgs_idle(seg_pflog *p, time_t new_before, time_t before)
{
    GPtrArray *a = g_ptr_array_new();

    for (size_t i = 0; i <= p->msgs_mask; i++) {
        pf_msg *m = p->msgs[i];

        if (m && m->last < (m->from_done ? before : new_before))
            g_ptr_array_add(a, m);
    }
    return a;
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
    msg_free(p, m);
}

