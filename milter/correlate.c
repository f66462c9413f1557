/*
 * correlate - the state segtls-milter's threads share.
 *
 * The milter callbacks (many libmilter threads) and the log follower
 * (one thread) write records to one file with IDs from one counter set,
 * and the follower must write its records with the ICID and MID the
 * milter assigned: an smtpd connection is known to both by its smtpd
 * pid (milter macro v "... smtpd-pid=PID") and by the client
 * address:port (smtpd_client_port_logging = yes), a message by its
 * queue id (macro i). The queue id table is saved in STATE_DIR/msgs
 * (every few seconds and at exit) so that deliveries of mail queued
 * before a restart keep their MID. Everything here is under one mutex; each call holds
 * it only for a table operation or one write(2).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"
#include "milter.h"
#include "recmetrics.h"

#define CONN_KEEP       600     /* seconds a closed connection is remembered */
#define MSG_KEEP        (6 * 86400)     /* longer than a queue lifetime */
#define MSGS_FILE       "msgs"
#define TABLE_MAX       200000  /* entries per table before old ones go */

typedef struct conn_ent {
    guint64     icid;
    long        pid;
    char        peer[80];       /* "ADDR]PORT" */
    time_t      closed;         /* 0: open */
    gboolean    tls;            /* its TLS success record is written */
} conn_ent;

typedef struct msg_ent {
    guint64     mid;
    guint64     icid;
    GPtrArray  *rcpts;          /* addresses without <> */
    time_t      created;
} msg_ent;

static struct {
    GMutex      lock;
    seg_ids    *ids;
    seg_record *rec;
    GHashTable *by_icid;        /* icid -> conn_ent (owner) */
    GHashTable *by_peer;        /* "ADDR]PORT" -> conn_ent */
    GHashTable *by_pid;         /* pid -> conn_ent (latest) */
    GHashTable *msgs;           /* qid -> msg_ent */
    gboolean    id_warned;
    char       *msgs_path;      /* STATE_DIR/msgs */
    gboolean    msgs_dirty;
} mt;

/* peer_key - "ADDR]PORT" (']' never occurs in an address) */
static void peer_key(char *buf, size_t size, const char *addr, const char *port)
{
    snprintf(buf, size, "%s]%s", addr, port);
}

/* msg_ent_free - hash table value destructor */
static void msg_ent_free(gpointer v)
{
    msg_ent *m = v;

    g_ptr_array_unref(m->rcpts);
    g_free(m);
}

/* msgs_load - the queue id table a previous run saved (lines "QID\tMID\tICID\tRCPT...") */
static void msgs_load(void)
{
    g_autofree char *data = NULL;
    g_auto(GStrv) lines = NULL;
    time_t now = time(NULL);

    if (!g_file_get_contents(mt.msgs_path, &data, NULL, NULL))
        return;
    lines = g_strsplit(data, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], "\t", -1);
        guint64 mid, icid;
        msg_ent *m;

        if (g_strv_length(f) < 3 || !*f[0] || strlen(f[0]) >= 32
            || strspn(f[0], "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != strlen(f[0])
            || !g_ascii_string_to_unsigned(f[1], 10, 1, G_MAXUINT64, &mid, NULL)
            || !g_ascii_string_to_unsigned(f[2], 10, 0, G_MAXUINT64, &icid, NULL))
            continue;
        m = g_new0(msg_ent, 1);
        m->mid = mid;
        m->icid = icid;
        m->created = now;
        m->rcpts = g_ptr_array_new_with_free_func(g_free);
        for (guint j = 3; f[j]; j++)
            g_ptr_array_add(m->rcpts, g_strdup(f[j]));
        g_hash_table_replace(mt.msgs, g_strdup(f[0]), m);
    }
}

/* mt_save - write the queue id table (atomically) when it changed */
void mt_save(void)
{
    g_autoptr(GString) text = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    GHashTableIter it;
    gpointer k, v;

    g_mutex_lock(&mt.lock);
    if (mt.msgs_path == NULL || !mt.msgs_dirty) {
        g_mutex_unlock(&mt.lock);
        return;
    }
    g_hash_table_iter_init(&it, mt.msgs);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        msg_ent *m = v;

        g_string_append_printf(text, "%s\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT,
                               (char *) k, m->mid, m->icid);
        for (guint i = 0; i < m->rcpts->len; i++)
            g_string_append_printf(text, "\t%s", (char *) m->rcpts->pdata[i]);
        g_string_append_c(text, '\n');
    }
    mt.msgs_dirty = FALSE;
    g_mutex_unlock(&mt.lock);
    if (!g_file_set_contents(mt.msgs_path, text->str, text->len, &err))
        msg_warn("save queue ids: %s", err->message);
}

/* mt_init - open the IDs and the record file */
gboolean mt_init(const char *state_dir, const char *record_path, GError **error)
{
    g_mutex_init(&mt.lock);
    if ((mt.ids = seg_ids_open(state_dir, error)) == NULL)
        return FALSE;
    if ((mt.rec = seg_record_open(record_path, error)) == NULL) {
        seg_ids_close(mt.ids);
        mt.ids = NULL;
        return FALSE;
    }
    mt.by_icid = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    mt.by_peer = g_hash_table_new(g_str_hash, g_str_equal);
    mt.by_pid = g_hash_table_new(g_direct_hash, g_direct_equal);
    mt.msgs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, msg_ent_free);
    if (state_dir) {
        mt.msgs_path = g_build_filename(state_dir, MSGS_FILE, NULL);
        msgs_load();
    }
    return TRUE;
}

/* mt_set_push - also push every record by syslog (tag mail_logs) */
void mt_set_push(seg_syslogpush *push)
{
    g_mutex_lock(&mt.lock);
    seg_record_set_push(mt.rec, push, SEG_RECORD_SYSLOG_IDENT);
    g_mutex_unlock(&mt.lock);
}

/* mt_metrics - count the records (lib/records/recmetrics.h) */
void mt_metrics(void)
{
    g_mutex_lock(&mt.lock);
    seg_recmetrics_attach(mt.rec, "mail_logs");
    g_mutex_unlock(&mt.lock);
}

/* mt_shutdown - close everything */
void mt_shutdown(void)
{
    mt_save();
    g_mutex_lock(&mt.lock);
    if (mt.by_peer) {
        g_hash_table_destroy(mt.by_peer);
        g_hash_table_destroy(mt.by_pid);
        g_hash_table_destroy(mt.by_icid);
        g_hash_table_destroy(mt.msgs);
    }
    seg_record_close(mt.rec);
    seg_ids_close(mt.ids);
    mt.rec = NULL;
    mt.ids = NULL;
    mt.by_icid = mt.by_peer = mt.by_pid = mt.msgs = NULL;
    g_clear_pointer(&mt.msgs_path, g_free);
    g_mutex_unlock(&mt.lock);
}

/* mt_reopen - reopen the record file (SIGHUP, after logrotate) */
gboolean mt_reopen(void)
{
    g_autoptr(GError) err = NULL;
    gboolean ok;

    g_mutex_lock(&mt.lock);
    ok = mt.rec && seg_record_reopen(mt.rec, &err);
    g_mutex_unlock(&mt.lock);
    if (!ok)
        msg_warn("reopen records: %s", err ? err->message : "not open");
    return ok;
}

/* mt_new_id - the next ICID/DCID/MID, 0 when none can be reserved */
guint64 mt_new_id(seg_id_kind kind)
{
    g_autoptr(GError) err = NULL;
    guint64 id;

    g_mutex_lock(&mt.lock);
    if (mt.ids == NULL) {               /* a late callback after mt_shutdown */
        g_mutex_unlock(&mt.lock);
        return 0;
    }
    id = seg_ids_next(mt.ids, kind, &err);
    if (id == 0 && !mt.id_warned) {
        msg_warn("no new %s: %s; its records are not written", seg_ids_kind_name(kind),
                 err ? err->message : "unknown error");
        mt.id_warned = TRUE;
    } else if (id) {
        mt.id_warned = FALSE;
    }
    g_mutex_unlock(&mt.lock);
    return id;
}

/* mt_record_text - one record (when 0: now); failures are only counted */
void mt_record_text(time_t when, const char *text, size_t len)
{
    g_mutex_lock(&mt.lock);
    if (mt.rec)
        seg_record_write_text(mt.rec, when ? when : time(NULL), SEG_RECORD_INFO, text, len);
    g_mutex_unlock(&mt.lock);
}

/* mt_record - one formatted record stamped now */
void mt_record(const char *fmt, ...)
{
    char buf[SEG_RECORD_LINE_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0)
        mt_record_text(0, buf, MIN((size_t) n, sizeof(buf) - 1));
}

/* mt_dropped - records that could not be written */
guint64 mt_dropped(void)
{
    guint64 n;

    g_mutex_lock(&mt.lock);
    n = mt.rec ? seg_record_dropped(mt.rec) : 0;
    g_mutex_unlock(&mt.lock);
    return n;
}

/* conn_forget - drop a connection from every index */
static void conn_forget(conn_ent *e)
{
    if (g_hash_table_lookup(mt.by_peer, e->peer) == e)
        g_hash_table_remove(mt.by_peer, e->peer);
    if (e->pid && g_hash_table_lookup(mt.by_pid, GSIZE_TO_POINTER(e->pid)) == e)
        g_hash_table_remove(mt.by_pid, GSIZE_TO_POINTER(e->pid));
    g_hash_table_remove(mt.by_icid, &e->icid);
}

/* mt_conn_open - remember a new inbound connection */
void mt_conn_open(guint64 icid, long pid, const char *addr, const char *port)
{
    conn_ent *e = g_new0(conn_ent, 1), *old;

    e->icid = icid;
    e->pid = pid;
    peer_key(e->peer, sizeof(e->peer), addr, port);
    g_mutex_lock(&mt.lock);
    if (mt.by_icid == NULL) {
        g_mutex_unlock(&mt.lock);
        g_free(e);
        return;
    }
    if ((old = g_hash_table_lookup(mt.by_icid, &icid)) != NULL)
        conn_forget(old);
    g_hash_table_insert(mt.by_icid, &e->icid, e);
    g_hash_table_insert(mt.by_peer, e->peer, e);
    if (pid)
        g_hash_table_insert(mt.by_pid, GSIZE_TO_POINTER(pid), e);
    g_mutex_unlock(&mt.lock);
}

/* mt_conn_close - the connection ended (kept a while for the follower) */
void mt_conn_close(guint64 icid)
{
    conn_ent *e;

    g_mutex_lock(&mt.lock);
    if (mt.by_icid && (e = g_hash_table_lookup(mt.by_icid, &icid)) != NULL)
        e->closed = time(NULL);
    g_mutex_unlock(&mt.lock);
}

/* mt_conn_claim_tls - TRUE for the first caller: it writes "ICID n TLS success" */
gboolean mt_conn_claim_tls(guint64 icid)
{
    conn_ent *e;
    gboolean first = FALSE;

    g_mutex_lock(&mt.lock);
    if (mt.by_icid && (e = g_hash_table_lookup(mt.by_icid, &icid)) != NULL && !e->tls)
        first = e->tls = TRUE;
    g_mutex_unlock(&mt.lock);
    return first;
}

/* mt_conn_icid - the ICID of an smtpd connection by client address:port and/or pid */
guint64 mt_conn_icid(long pid, const char *addr, const char *port)
{
    char key[80];
    conn_ent *e = NULL;
    guint64 icid = 0;

    g_mutex_lock(&mt.lock);
    if (mt.by_peer == NULL) {
        g_mutex_unlock(&mt.lock);
        return 0;
    }
    if (addr && port && *port) {
        peer_key(key, sizeof(key), addr, port);
        e = g_hash_table_lookup(mt.by_peer, key);
        if (e && pid && e->pid && e->pid != pid)
            e = NULL;
    }
    if (e == NULL && pid && (e = g_hash_table_lookup(mt.by_pid, GSIZE_TO_POINTER(pid))) != NULL
        && addr && (strncmp(e->peer, addr, strlen(addr)) != 0 || e->peer[strlen(addr)] != ']'))
        e = NULL;
    if (e)
        icid = e->icid;
    g_mutex_unlock(&mt.lock);
    return icid;
}

/* mt_msg_bind - queue id -> MID, ICID and recipients (replaces) */
void mt_msg_bind(const char *qid, guint64 mid, guint64 icid, GPtrArray *rcpts)
{
    msg_ent *m = g_new0(msg_ent, 1);

    m->mid = mid;
    m->icid = icid;
    m->created = time(NULL);
    m->rcpts = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; rcpts && i < rcpts->len; i++)
        g_ptr_array_add(m->rcpts, g_strdup(rcpts->pdata[i]));
    g_mutex_lock(&mt.lock);
    if (mt.msgs == NULL) {
        g_mutex_unlock(&mt.lock);
        msg_ent_free(m);
        return;
    }
    g_hash_table_replace(mt.msgs, g_strdup(qid), m);
    mt.msgs_dirty = TRUE;
    g_mutex_unlock(&mt.lock);
}

/* mt_msg_lookup - the MID and ICID of a queue id */
gboolean mt_msg_lookup(const char *qid, guint64 *mid, guint64 *icid)
{
    msg_ent *m = NULL;

    g_mutex_lock(&mt.lock);
    if (mt.msgs && (m = g_hash_table_lookup(mt.msgs, qid)) != NULL) {
        *mid = m->mid;
        *icid = m->icid;
    }
    g_mutex_unlock(&mt.lock);
    return m != NULL;
}

/* mt_msg_rid - the RID the milter gave a recipient of a queue id, or -1 */
int mt_msg_rid(const char *qid, const char *rcpt)
{
    msg_ent *m = NULL;
    int rid = -1;

    g_mutex_lock(&mt.lock);
    if (mt.msgs && (m = g_hash_table_lookup(mt.msgs, qid)) != NULL)
        for (guint i = 0; i < m->rcpts->len && rid < 0; i++)
            if (g_ascii_strcasecmp(m->rcpts->pdata[i], rcpt) == 0)
                rid = (int) i;
    g_mutex_unlock(&mt.lock);
    return rid;
}

/* mt_msg_forget - the message left the queue */
void mt_msg_forget(const char *qid)
{
    g_mutex_lock(&mt.lock);
    if (mt.msgs)
        mt.msgs_dirty |= g_hash_table_remove(mt.msgs, qid);
    g_mutex_unlock(&mt.lock);
}

/* mt_expire - forget closed connections and messages nobody will ask about */
void mt_expire(time_t now)
{
    GHashTableIter it;
    gpointer k, v;
    g_autoptr(GPtrArray) gone = g_ptr_array_new();
    gboolean full;

    g_mutex_lock(&mt.lock);
    if (mt.by_icid == NULL) {
        g_mutex_unlock(&mt.lock);
        return;
    }
    full = g_hash_table_size(mt.by_icid) > TABLE_MAX;
    g_hash_table_iter_init(&it, mt.by_icid);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        conn_ent *e = v;

        if (e->closed && (e->closed < now - CONN_KEEP || full))
            g_ptr_array_add(gone, e);
    }
    for (guint i = 0; i < gone->len; i++)
        conn_forget(gone->pdata[i]);
    full = g_hash_table_size(mt.msgs) > TABLE_MAX;
    g_hash_table_iter_init(&it, mt.msgs);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (((msg_ent *) v)->created < now - (full ? CONN_KEEP : MSG_KEEP)) {
            g_hash_table_iter_remove(&it);
            mt.msgs_dirty = TRUE;
        }
    g_mutex_unlock(&mt.lock);
}
