/*
 * schedule - when Outbound SMTP tries which queued message.
 *
 * Every queue file has an sa_qent: when it is due, whether a delivery
 * is running, the backoff, and (Postfix's opportunistic behaviour) the
 * error of a failed TLS handshake that makes the next attempt go without
 * TLS. At most SA_CLIENT_MAX deliveries run at once, oldest MID first.
 * A deferred message is retried after --retry-min seconds, then twice as
 * long each time up to --retry-max. The queue directory is rescanned on
 * every new message and every SA_RESCAN_US. This state is in memory: a
 * restart retries everything at once, with TLS.
 */
#include "msg.h"
#include "standalone.h"

#define SA_CLIENT_MAX   4               /* concurrent deliveries */
#define SA_RESCAN_US    (5 * G_USEC_PER_SEC)

static GHashTable *queue;               /* path -> sa_qent */
static guint active;
static gint64 last_scan;

/* qent_free - forget a message */
static void qent_free(gpointer p)
{
    sa_qent *q = p;

    g_free(q->path);
    g_free(q->tls_failed);
    g_free(q);
}

/* sa_schedule_init - an empty schedule */
void sa_schedule_init(void)
{
    queue = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, qent_free);
}

/* backoff - the next try of a deferred message */
static void backoff(sa_qent *q)
{
    q->next_try = g_get_monotonic_time() + (gint64) q->backoff * G_USEC_PER_SEC;
    q->backoff = MIN(q->backoff * 2, sa.opt.retry_max);
}

/* sa_schedule_done - a delivery ended: gone from the queue, or deferred */
void sa_schedule_done(sa_qent *q, gboolean finished)
{
    g_autoptr(GError) err = NULL;

    q->busy = FALSE;
    active--;
    if (finished) {
        if (!sa_spool_remove(q->path, &err))
            msg_warn("%s", err->message);
        g_hash_table_remove(queue, q->path);
    } else {
        backoff(q);
    }
}

/* scan - pick up new queue files, forget vanished ones */
static void scan(void)
{
    g_autoptr(GPtrArray) files = sa_spool_list();
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    GHashTableIter it;
    gpointer key, val;

    last_scan = g_get_monotonic_time();
    for (guint i = 0; i < files->len; i++) {
        char   *p = files->pdata[i];

        g_hash_table_add(seen, p);
        if (!g_hash_table_contains(queue, p)) {
            sa_qent *q = g_new0(sa_qent, 1);

            q->path = g_strdup(p);
            q->next_try = 0;
            q->backoff = sa.opt.retry_min;
            g_hash_table_insert(queue, q->path, q);
        }
    }
    g_hash_table_iter_init(&it, queue);
    while (g_hash_table_iter_next(&it, &key, &val))
        if (!((sa_qent *) val)->busy && !g_hash_table_contains(seen, key))
            g_hash_table_iter_remove(&it);
}

/* run_due - start deliveries that are due, oldest MID first */
static void run_due(void)
{
    g_autoptr(GPtrArray) files = NULL;
    gint64  now = g_get_monotonic_time();

    if (active >= SA_CLIENT_MAX)
        return;
    files = sa_spool_list();
    for (guint i = 0; i < files->len && active < SA_CLIENT_MAX; i++) {
        sa_qent *q = g_hash_table_lookup(queue, files->pdata[i]);

        if (q == NULL || q->busy || q->next_try > now)
            continue;
        if (!sa_deliver(q)) {
            backoff(q);
            continue;
        }
        q->busy = TRUE;
        active++;
    }
}

/* sa_client_kick - new mail: look at the queue now */
void sa_client_kick(void)
{
    if (queue == NULL)
        return;
    scan();
    run_due();
}

/* sa_client_tick - retries */
void sa_client_tick(void)
{
    GHashTableIter it;
    gpointer val;
    gint64  now = g_get_monotonic_time();
    gboolean due = FALSE;

    if (queue == NULL)
        return;
    if (now - last_scan > SA_RESCAN_US)
        scan();
    g_hash_table_iter_init(&it, queue);
    while (g_hash_table_iter_next(&it, NULL, &val))
        if (!((sa_qent *) val)->busy && ((sa_qent *) val)->next_try <= now)
            due = TRUE;
    if (due)
        run_due();
}

/* sa_schedule_shutdown - at exit */
void sa_schedule_shutdown(void)
{
    g_clear_pointer(&queue, g_hash_table_unref);
}
