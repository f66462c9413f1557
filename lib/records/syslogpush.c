/*
 * syslogpush - send records to a remote syslog server, never blocking.
 *
 * Callers format and queue (seg_syslogpush_send); one sender thread per
 * destination owns the connection (GIO: GSocketClient, and
 * GTlsClientConnection for TLS, which verifies the server's chain and
 * name). The queue is a GQueue of formatted messages under a mutex; the
 * sender sends up to BATCH of them per write and removes them only when
 * the write succeeded, so a failed write sends them again after the
 * reconnect. UDP has no connection: a datagram that cannot be sent is
 * counted as dropped.
 */
#include <string.h>
#include <syslog.h>
#include <gio/gio.h>

#include "error.h"
#include "msg.h"
#include "recfmt.h"
#include "syslogpush.h"
#include "quote.h"

#define BATCH           64
#define BACKOFF_FIRST   250000          /* us */
#define BACKOFF_MAX     8000000         /* us */
#define IO_TIMEOUT      10              /* s, connect and write */
#define MSG_MAX         (SEG_RECFMT_LINE_MAX + 128)

typedef enum { P_UDP, P_TCP, P_TLS } proto;

static const struct {
    const char *prefix;
    proto       p;
} protos[] = {{"udp:", P_UDP}, {"tcp:", P_TCP}, {"tls:", P_TLS}};

typedef struct item {
    size_t      len;
    char        data[];
} item;

struct seg_syslogpush {
    char       *dest;
    proto       proto;
    char       *host;
    guint16     port;
    GTlsDatabase *db;           /* NULL: the system's */
    int         facility;
    guint       queue_max;
    GMutex      lock;
    GCond       cond;
    GQueue      q;              /* item */
    GThread    *thread;
    gboolean    stopping;
    gint64      linger_until;   /* monotonic us */
    guint64     sent, dropped, connects;
    gboolean    dropping;       /* inside a burst of drops */
    guint64     burst;
    /* the sender thread's */
    GSocketConnection *conn;
    GIOStream  *stream;
    GSocket    *udp;
    gboolean    failing;        /* inside an outage (logged once) */
};

/* parse_dest - "udp|tcp|tls:HOST:PORT" */
static gboolean parse_dest(seg_syslogpush *p, const char *dest, GError **error)
{
    g_autofree char *q = seg_quote_value(dest);
    const char *rest = NULL, *colon;
    guint64 port;

    for (gsize i = 0; i < G_N_ELEMENTS(protos) && rest == NULL; i++)
        if (g_str_has_prefix(dest, protos[i].prefix)) {
            rest = dest + strlen(protos[i].prefix);
            p->proto = protos[i].p;
        }
    if (rest == NULL || (colon = strrchr(rest, ':')) == NULL || colon == rest
        || !g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &port, NULL)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "syslog destination %s: want udp:HOST:PORT, tcp:HOST:PORT or tls:HOST:PORT", q);
        return FALSE;
    }
    if (*rest == '[' && colon[-1] == ']')
        p->host = g_strndup(rest + 1, (gsize) (colon - rest - 2));
    else
        p->host = g_strndup(rest, (gsize) (colon - rest));
    for (const char *c = p->host; *c; c++)
        if (!g_ascii_isalnum(*c) && !strchr(".-:_", *c)) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "syslog destination %s: bad host name", q);
            return FALSE;
        }
    if (*p->host == 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "syslog destination %s: no host", q);
        return FALSE;
    }
    p->port = (guint16) port;
    return TRUE;
}

/* seg_syslogpush_new - check dest and the CA file; nothing connects yet */
seg_syslogpush *seg_syslogpush_new(const char *dest, const char *ca_file, guint queue_max,
                                   GError **error)
{
    seg_syslogpush *p = g_new0(seg_syslogpush, 1);

    p->dest = g_strdup(dest);
    p->facility = LOG_MAIL;
    p->queue_max = queue_max ? queue_max : SEG_SYSLOGPUSH_QUEUE;
    g_mutex_init(&p->lock);
    g_cond_init(&p->cond);
    g_queue_init(&p->q);
    if (!parse_dest(p, dest, error)) {
        seg_syslogpush_free(p, 0);
        return NULL;
    }
    if (ca_file && p->proto != P_TLS) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "syslog CA file %s: only for a tls: destination", ca_file);
        seg_syslogpush_free(p, 0);
        return NULL;
    }
    if (ca_file && (p->db = g_tls_file_database_new(ca_file, error)) == NULL) {
        g_prefix_error(error, "syslog CA file %s: ", ca_file);
        seg_syslogpush_free(p, 0);
        return NULL;
    }
    if (p->proto == P_TLS && g_tls_backend_supports_tls(g_tls_backend_get_default()) == FALSE) {
        g_autofree char *q = seg_quote_value(dest);

        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "syslog destination %s: GIO has no TLS backend (install glib-networking)", q);
        seg_syslogpush_free(p, 0);
        return NULL;
    }
    return p;
}

static const struct {
    const char *name;
    int         facility;
} facilities[] = {
    {"mail", LOG_MAIL}, {"daemon", LOG_DAEMON}, {"user", LOG_USER}, {"local0", LOG_LOCAL0},
    {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
    {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},
    {"local7", LOG_LOCAL7},
};

/* seg_syslogpush_set_facility - by name */
gboolean seg_syslogpush_set_facility(seg_syslogpush *p, const char *name, GError **error)
{
    g_autofree char *q = NULL;

    for (gsize i = 0; i < G_N_ELEMENTS(facilities); i++)
        if (strcmp(facilities[i].name, name) == 0) {
            p->facility = facilities[i].facility;
            return TRUE;
        }
    q = seg_quote_value(name);
    g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                "syslog facility %s: mail, daemon, user or local0 to local7", q);
    return FALSE;
}

/* seg_syslogpush_dest - the destination as given */
const char *seg_syslogpush_dest(const seg_syslogpush *p)
{
    return p->dest;
}

/* disconnect - drop the connection (sender thread) */
static void disconnect(seg_syslogpush *p)
{
    if (p->stream && p->stream != G_IO_STREAM(p->conn))
        (void) g_io_stream_close(p->stream, NULL, NULL);
    g_clear_object(&p->stream);
    if (p->conn)
        (void) g_io_stream_close(G_IO_STREAM(p->conn), NULL, NULL);
    g_clear_object(&p->conn);
    g_clear_object(&p->udp);
}

/* peer_closed - has the server closed (or written to) the connection? */
static gboolean peer_closed(seg_syslogpush *p)
{
    GSocket *s = g_socket_connection_get_socket(p->conn);

    return g_socket_condition_check(s, G_IO_IN | G_IO_HUP | G_IO_ERR) != 0;
}

/* udp_open - a connected datagram socket to the first address of host */
static gboolean udp_open(seg_syslogpush *p, GError **error)
{
    g_autoptr(GResolver) res = g_resolver_get_default();
    GList  *addrs = g_resolver_lookup_by_name(res, p->host, NULL, error);
    g_autoptr(GSocketAddress) sa = NULL;

    if (addrs == NULL)
        return FALSE;
    sa = g_inet_socket_address_new(addrs->data, p->port);
    g_resolver_free_addresses(addrs);
    p->udp = g_socket_new(g_socket_address_get_family(sa), G_SOCKET_TYPE_DATAGRAM,
                          G_SOCKET_PROTOCOL_UDP, error);
    if (p->udp == NULL || !g_socket_connect(p->udp, sa, NULL, error)) {
        g_clear_object(&p->udp);
        return FALSE;
    }
    g_socket_set_blocking(p->udp, FALSE);
    return TRUE;
}

/* stream_open - a TCP connection, and TLS over it for tls: */
static gboolean stream_open(seg_syslogpush *p, GError **error)
{
    g_autoptr(GSocketClient) client = g_socket_client_new();
    g_autoptr(GSocketConnectable) id = NULL;
    GIOStream *tls;

    g_socket_client_set_timeout(client, IO_TIMEOUT);
    p->conn = g_socket_client_connect_to_host(client, p->host, p->port, NULL, error);
    if (p->conn == NULL)
        return FALSE;
    g_socket_set_timeout(g_socket_connection_get_socket(p->conn), IO_TIMEOUT);
    if (p->proto != P_TLS) {
        p->stream = g_object_ref(G_IO_STREAM(p->conn));
        return TRUE;
    }
    id = g_network_address_new(p->host, p->port);
    tls = g_tls_client_connection_new(G_IO_STREAM(p->conn), id, error);
    if (tls == NULL)
        return FALSE;
    if (p->db)
        g_tls_connection_set_database(G_TLS_CONNECTION(tls), p->db);
    if (!g_tls_connection_handshake(G_TLS_CONNECTION(tls), NULL, error)) {
        g_object_unref(tls);
        return FALSE;
    }
    p->stream = tls;
    return TRUE;
}

/* ensure_open - a usable connection, made anew when the server closed it */
static gboolean ensure_open(seg_syslogpush *p)
{
    g_autoptr(GError) err = NULL;
    gboolean ok;

    if (p->proto == P_UDP ? p->udp != NULL : p->stream != NULL && !peer_closed(p))
        return TRUE;
    disconnect(p);
    ok = p->proto == P_UDP ? udp_open(p, &err) : stream_open(p, &err);
    if (!ok) {
        disconnect(p);
        if (!p->failing)
            msg_warn("syslog push to %s: %s; records are queued, retrying", p->dest, err->message);
        p->failing = TRUE;
        return FALSE;
    }
    if (p->failing)
        msg_info("syslog push to %s: connected again", p->dest);
    p->failing = FALSE;
    g_mutex_lock(&p->lock);
    p->connects++;
    g_mutex_unlock(&p->lock);
    return TRUE;
}

/* send_batch - write items (framed for TCP/TLS); FALSE on an error */
static gboolean send_batch(seg_syslogpush *p, item **items, guint n, guint *udp_lost)
{
    g_autoptr(GString) buf = g_string_sized_new(n * 160);
    g_autoptr(GError) err = NULL;

    if (p->proto == P_UDP) {
        for (guint i = 0; i < n; i++)
            if (g_socket_send(p->udp, items[i]->data, items[i]->len, NULL, NULL) < 0)
                (*udp_lost)++;
        return TRUE;
    }
    for (guint i = 0; i < n; i++) {
        g_string_append_printf(buf, "%zu ", items[i]->len);
        g_string_append_len(buf, items[i]->data, (gssize) items[i]->len);
    }
    if (!g_output_stream_write_all(g_io_stream_get_output_stream(p->stream), buf->str, buf->len,
                                   NULL, NULL, &err)) {
        if (!p->failing)
            msg_warn("syslog push to %s: %s; records are queued, reconnecting", p->dest, err->message);
        p->failing = TRUE;
        disconnect(p);
        return FALSE;
    }
    return TRUE;
}

/* sender - the thread: send what is queued, reconnect with backoff */
static gpointer sender(gpointer data)
{
    seg_syslogpush *p = data;
    gulong  backoff = 0;
    item   *items[BATCH];

    g_mutex_lock(&p->lock);
    for (;;) {
        guint   n = 0, lost = 0;
        gboolean ok;

        while (g_queue_is_empty(&p->q) && !p->stopping)
            g_cond_wait(&p->cond, &p->lock);
        if (g_queue_is_empty(&p->q) || (p->stopping && g_get_monotonic_time() >= p->linger_until))
            break;
        for (GList *l = p->q.head; l && n < BATCH; l = l->next)
            items[n++] = l->data;
        g_mutex_unlock(&p->lock);
        ok = ensure_open(p) && send_batch(p, items, n, &lost);
        g_mutex_lock(&p->lock);
        if (ok) {
            for (guint i = 0; i < n; i++)
                g_free(g_queue_pop_head(&p->q));
            p->sent += n - lost;
            p->dropped += lost;
            backoff = 0;
            continue;
        }
        backoff = backoff ? MIN(backoff * 2, BACKOFF_MAX) : BACKOFF_FIRST;
        {
            gint64  until = g_get_monotonic_time() + (gint64) backoff;

            while (g_get_monotonic_time() < until) {
                if (p->stopping)
                    until = MIN(until, p->linger_until);
                (void) g_cond_wait_until(&p->cond, &p->lock, until);
            }
        }
    }
    g_mutex_unlock(&p->lock);
    disconnect(p);
    return NULL;
}

/* seg_syslogpush_send - queue one record; FALSE when the queue is full */
gboolean seg_syslogpush_send(seg_syslogpush *p, const char *tag, time_t when,
                             const char *level, int prio, const char *text, size_t len)
{
    char    buf[MSG_MAX];
    size_t  n = seg_recfmt_syslog_msg(when, (p->facility & LOG_FACMASK) | (prio & LOG_PRIMASK),
                                      tag, level, text, len, buf, sizeof(buf));
    item   *it;

    if (n == 0)
        return FALSE;
    g_mutex_lock(&p->lock);
    if (p->stopping || g_queue_get_length(&p->q) >= p->queue_max) {
        p->dropped++;
        p->burst++;
        if (!p->dropping)
            msg_warn("syslog push to %s: queue full (%u records), dropping records",
                     p->dest, p->queue_max);
        p->dropping = TRUE;
        g_mutex_unlock(&p->lock);
        return FALSE;
    }
    if (p->dropping) {
        msg_info("syslog push to %s: queueing again, %" G_GUINT64_FORMAT " records were dropped",
                 p->dest, p->burst);
        p->dropping = FALSE;
        p->burst = 0;
    }
    it = g_malloc(sizeof(item) + n);
    it->len = n;
    memcpy(it->data, buf, n);
    g_queue_push_tail(&p->q, it);
    if (p->thread == NULL)
        p->thread = g_thread_new("syslogpush", sender, p);
    g_cond_signal(&p->cond);
    g_mutex_unlock(&p->lock);
    return TRUE;
}

/* seg_syslogpush_get_stats - counters */
void seg_syslogpush_get_stats(seg_syslogpush *p, seg_syslogpush_stats *st)
{
    g_mutex_lock(&p->lock);
    st->sent = p->sent;
    st->dropped = p->dropped;
    st->queued = g_queue_get_length(&p->q);
    st->connects = p->connects;
    g_mutex_unlock(&p->lock);
}

/* seg_syslogpush_free - send what is queued for up to linger_ms, then stop */
void seg_syslogpush_free(seg_syslogpush *p, guint linger_ms)
{
    GThread *t;

    if (p == NULL)
        return;
    g_mutex_lock(&p->lock);
    p->stopping = TRUE;
    p->linger_until = g_get_monotonic_time() + (gint64) linger_ms * 1000;
    t = p->thread;
    g_cond_broadcast(&p->cond);
    g_mutex_unlock(&p->lock);
    if (t)
        g_thread_join(t);
    if (!g_queue_is_empty(&p->q))
        msg_warn("syslog push to %s: %u records not sent at exit", p->dest,
                 g_queue_get_length(&p->q));
    g_queue_clear_full(&p->q, g_free);
    g_clear_object(&p->db);
    g_mutex_clear(&p->lock);
    g_cond_clear(&p->cond);
    g_free(p->host);
    g_free(p->dest);
    g_free(p);
}
