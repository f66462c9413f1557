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
 * it only for a table operation and at most one write(2): the records
 * are held (seg_record_hold) and those of one hold of the mutex are
 * written together as it is let go. The follower defers its records
 * over the lines of one read (mt_records_defer); the next write of any
 * thread takes them along, in their place, so the file's order is the
 * mutex's order and the follower's records cost one write(2) a read.
 *
 * Order of the records. A new ID and the record that introduces it
 * ("New SMTP ICID n", "Start MID m", "New SMTP DCID d") are written under
 * that mutex together, so those records appear in ID order. IDs come
 * from blocks reserved in STATE_DIR/ids (flock, fsync): no thread waits
 * for that file while it holds the mutex. A thread of our own reserves
 * each kind's next block once half of the current one is used
 * (seg_ids_reserve_ahead); only when both are used up does the taker
 * reserve, with the mutex released. A record's time never goes back in
 * the file (a log line's time is raised to the last one written).
 *
 * "ICID n close" comes last of a connection's records. The follower
 * writes what smtpd only logs (TLS failed, TLS success without a HELO
 * after STARTTLS), up to the "disconnect from" line, which may be read
 * after the milter's close callback: a close with the follower running
 * is held until the follower read that line, or read the whole log from
 * a moment CLOSE_GRACE after the close (the log writer is asynchronous).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"
#include "milter.h"
#include "recmetrics.h"

#define CONN_KEEP       600     /* seconds a closed connection is remembered */
#define MSG_KEEP        (6 * 86400)     /* longer than a queue lifetime */
#define TABLE_MAX       200000  /* entries per table before old ones go */
#define CLOSE_GRACE     G_USEC_PER_SEC  /* the log writer's delay, at most */

typedef enum {
    CLOSE_OPEN,                 /* the milter's connection is open */
    CLOSE_PENDING,              /* closed; its record waits for the follower */
    CLOSE_WRITTEN,              /* "ICID n close" is written */
} close_state;

typedef struct conn_ent {
    guint64     icid;
    long        pid;
    char        peer[80];       /* "ADDR]PORT" */
    time_t      closed;         /* 0: open */
    gint64      closed_mono;    /* monotonic time of the milter's close */
    close_state close;
    gboolean    log_closed;     /* the follower read smtpd's disconnect */
    gboolean    tls;            /* its TLS success record is written */
} conn_ent;

typedef struct msg_ent {
    guint64     mid;
    guint64     icid;
    time_t      created;
    char        qid[MT_QID_MAX + 1];    /* its key in mt.msgs */
    guint       nrcpt;
    char        rcpts[];        /* nrcpt addresses without <>, each with its NUL */
} msg_ent;

static struct {
    GMutex      lock;
    seg_ids    *ids;
    int         id_waiters;     /* takers reserving with the lock released */
    gboolean    ids_closing;
    GCond       ids_idle;       /* id_waiters reached 0 while closing */
    seg_record *rec;
    time_t      last_when;      /* time of the last record written */
    gboolean    follow;         /* a log follower runs: closes wait for it */
    GQueue      pending;        /* ICIDs (as pointers to guint64) whose close waits */
    GHashTable *by_icid;        /* icid -> conn_ent (owner) */
    GHashTable *by_peer;        /* "ADDR]PORT" -> conn_ent */
    GHashTable *by_pid;         /* pid -> conn_ent (latest) */
    GHashTable *msgs;           /* qid -> msg_ent */
    gboolean    id_warned;
    char       *msgs_path;      /* STATE_DIR/msgs */
    gboolean    msgs_dirty;
} mt;

/* the thread that reserves ID blocks ahead */
static struct {
    GThread    *thread;
    GMutex      lock;
    GCond       cond;
    gboolean    kicked;
    gboolean    stop;
    gboolean    warned;
} refill;

static void flush_closes(gint64 before);

/* this thread leaves its records held until its batch ends (mt_records_defer) */
static _Thread_local gboolean deferred;

/* unlock - release mt.lock, the records held until now written first (one write(2)) */
static void unlock(void)
{
    if (mt.rec && !deferred)
        (void) seg_record_flush(mt.rec);
    g_mutex_unlock(&mt.lock);
}

/*
 * mt_records_defer - on: the calling thread's records stay held until it
 * turns it off (the follower, over the lines of one read); another
 * thread's unlock may write them earlier, in their place
 */
void mt_records_defer(gboolean on)
{
    deferred = on;
    if (!on) {
        g_mutex_lock(&mt.lock);
        unlock();
    }
}

/* peer_key - "ADDR]PORT" (']' never occurs in an address) */
static void peer_key(char *buf, size_t size, const char *addr, const char *port)
{
    snprintf(buf, size, "%s]%s", addr, port);
}

/* msg_ent_new - a queue id's entry (one allocation: the rcpts follow it) */
static msg_ent *msg_ent_new(const char *qid, guint64 mid, guint64 icid, time_t created,
                            const char *rcpts, size_t len, guint nrcpt)
{
    msg_ent *m = g_malloc(sizeof(*m) + len);

    m->mid = mid;
    m->icid = icid;
    m->created = created;
    g_strlcpy(m->qid, qid, sizeof(m->qid));
    m->nrcpt = nrcpt;
    memcpy(m->rcpts, rcpts, len);
    return m;
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
        g_autoptr(GString) rcpts = g_string_new(NULL);
        guint64 mid, icid;
        guint   n = 0;
        msg_ent *m;

        if (g_strv_length(f) < 3 || !mt_qid_ok(f[0])
            || !g_ascii_string_to_unsigned(f[1], 10, 1, G_MAXUINT64, &mid, NULL)
            || !g_ascii_string_to_unsigned(f[2], 10, 0, G_MAXUINT64, &icid, NULL))
            continue;
        for (guint j = 3; f[j]; j++, n++)
            g_string_append_len(rcpts, f[j], (gssize) strlen(f[j]) + 1);
        m = msg_ent_new(f[0], mid, icid, now, rcpts->str, rcpts->len, n);
        g_hash_table_replace(mt.msgs, m->qid, m);
    }
}

/* mt_save - write the queue id table (atomically) when it changed */
void mt_save(void)
{
    g_autoptr(GString) text = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    GHashTableIter it;
    gpointer v;

    g_mutex_lock(&mt.lock);
    if (mt.msgs_path == NULL || !mt.msgs_dirty) {
        unlock();
        return;
    }
    g_hash_table_iter_init(&it, mt.msgs);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        msg_ent *m = v;
        const char *r = m->rcpts;

        g_string_append_printf(text, "%s\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT,
                               m->qid, m->mid, m->icid);
        for (guint i = 0; i < m->nrcpt; i++, r += strlen(r) + 1)
            g_string_append_printf(text, "\t%s", r);
        g_string_append_c(text, '\n');
    }
    mt.msgs_dirty = FALSE;
    unlock();
    if (!g_file_set_contents(mt.msgs_path, text->str, text->len, &err))
        msg_warn("save queue ids: %s", err->message);
}

/* mt_init - open the IDs (blocks of id_block, 0: default) and the record file */
gboolean mt_init(const char *state_dir, const char *record_path, guint64 id_block,
                 GError **error)
{
    g_mutex_init(&mt.lock);
    g_cond_init(&mt.ids_idle);
    g_queue_init(&mt.pending);
    mt.ids_closing = mt.follow = FALSE;
    mt.id_waiters = 0;
    mt.last_when = 0;
    if ((mt.ids = seg_ids_open(state_dir, error)) == NULL)
        return FALSE;
    if (id_block)
        seg_ids_set_block(mt.ids, id_block);
    if ((mt.rec = seg_record_open(record_path, error)) == NULL) {
        seg_ids_close(mt.ids);
        mt.ids = NULL;
        return FALSE;
    }
    seg_record_hold(mt.rec, TRUE);
    mt.by_icid = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    mt.by_peer = g_hash_table_new(g_str_hash, g_str_equal);
    mt.by_pid = g_hash_table_new(g_direct_hash, g_direct_equal);
    mt.msgs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);   /* key: m->qid */
    if (state_dir) {
        mt.msgs_path = g_build_filename(state_dir, MT_MSGS_FILE, NULL);
        msgs_load();
    }
    return TRUE;
}

/* mt_set_push - also push every record by syslog (tag mail_logs) */
void mt_set_push(seg_syslogpush *push)
{
    g_mutex_lock(&mt.lock);
    seg_record_set_push(mt.rec, push, SEG_RECORD_SYSLOG_IDENT);
    unlock();
}

/* mt_metrics - count the records (lib/records/recmetrics.h) */
void mt_metrics(void)
{
    g_mutex_lock(&mt.lock);
    seg_recmetrics_attach(mt.rec, "mail_logs");
    unlock();
}

/* mt_shutdown - close everything */
void mt_shutdown(void)
{
    mt_save();
    if (refill.thread) {
        g_mutex_lock(&refill.lock);
        refill.stop = TRUE;
        g_cond_signal(&refill.cond);
        g_mutex_unlock(&refill.lock);
        g_thread_join(refill.thread);
        refill.thread = NULL;
    }
    g_mutex_lock(&mt.lock);
    mt.ids_closing = TRUE;
    while (mt.id_waiters > 0)
        g_cond_wait(&mt.ids_idle, &mt.lock);
    flush_closes(G_MAXINT64);
    if (mt.by_peer) {
        g_hash_table_destroy(mt.by_peer);
        g_hash_table_destroy(mt.by_pid);
        g_hash_table_destroy(mt.by_icid);
        g_hash_table_destroy(mt.msgs);
    }
    g_queue_clear_full(&mt.pending, g_free);
    seg_record_close(mt.rec);
    seg_ids_close(mt.ids);
    mt.rec = NULL;
    mt.ids = NULL;
    mt.by_icid = mt.by_peer = mt.by_pid = mt.msgs = NULL;
    g_clear_pointer(&mt.msgs_path, g_free);
    unlock();
}

/* mt_reopen - reopen the record file (SIGHUP, after logrotate) */
gboolean mt_reopen(void)
{
    g_autoptr(GError) err = NULL;
    gboolean ok;

    g_mutex_lock(&mt.lock);
    ok = mt.rec && seg_record_reopen(mt.rec, &err);
    unlock();
    if (!ok)
        msg_warn("reopen records: %s", err ? err->message : "not open");
    return ok;
}

/* write_locked - one record (when 0: now), never older than the last (mt.lock held) */
static void write_locked(time_t when, const char *text, size_t len)
{
    if (mt.rec == NULL)
        return;
    if (when == 0)
        when = time(NULL);
    if (when < mt.last_when)
        when = mt.last_when;            /* a late log line, or the clock went back */
    mt.last_when = when;
    seg_record_write_text(mt.rec, when, SEG_RECORD_INFO, text, len);
}

/* format - vsnprintf into a record buffer; the length written */
static size_t format(char *buf, size_t size, const char *fmt, va_list ap) G_GNUC_PRINTF(3, 0);
static size_t format(char *buf, size_t size, const char *fmt, va_list ap)
{
    int n = vsnprintf(buf, size, fmt, ap);

    return n > 0 ? MIN((size_t) n, size - 1) : 0;
}

/* refill_run - the thread that reserves each kind's next block ahead */
static gpointer refill_run(gpointer data)
{
    g_mutex_lock(&refill.lock);
    while (!refill.stop) {
        if (!refill.kicked) {
            g_cond_wait(&refill.cond, &refill.lock);
            continue;
        }
        refill.kicked = FALSE;
        g_mutex_unlock(&refill.lock);
        for (int k = 0; k < SEG_ID_NKINDS; k++) {
            g_autoptr(GError) err = NULL;

            if (!seg_ids_reserve_ahead(mt.ids, k, &err) && !refill.warned) {
                msg_warn("cannot reserve %s ahead: %s", seg_ids_kind_name(k), err->message);
                refill.warned = TRUE;
            }
        }
        g_mutex_lock(&refill.lock);
    }
    g_mutex_unlock(&refill.lock);
    return NULL;
}

/* refill_kick - wake the refill thread */
static void refill_kick(void)
{
    g_mutex_lock(&refill.lock);
    refill.kicked = TRUE;
    g_cond_signal(&refill.cond);
    g_mutex_unlock(&refill.lock);
}

/* mt_ids_reserve - reserve each kind's first block now: a clear error at start-up */
gboolean mt_ids_reserve(GError **error)
{
    for (int k = 0; k < SEG_ID_NKINDS; k++)
        if (!seg_ids_reserve_ahead(mt.ids, k, error))
            return FALSE;
    return TRUE;
}

/* mt_ids_refill_start - start the thread that reserves the next blocks ahead */
gboolean mt_ids_refill_start(GError **error)
{
    g_mutex_init(&refill.lock);
    g_cond_init(&refill.cond);
    refill.stop = refill.kicked = refill.warned = FALSE;
    refill.thread = g_thread_try_new("ids", refill_run, NULL, error);
    return refill.thread != NULL;
}

/* take_id - the next ID with mt.lock held; may release it to reserve a block; 0: none */
static guint64 take_id(seg_id_kind kind)
{
    g_autoptr(GError) err = NULL;
    guint64 id = 0;
    gboolean ok;

    while (mt.ids && !mt.ids_closing && (id = seg_ids_try_next(mt.ids, kind)) == 0) {
        mt.id_waiters++;
        g_mutex_unlock(&mt.lock);      /* what is held stays held, in order */
        ok = seg_ids_reserve_ahead(mt.ids, kind, &err);
        g_mutex_lock(&mt.lock);
        if (--mt.id_waiters == 0 && mt.ids_closing)
            g_cond_signal(&mt.ids_idle);
        if (!ok) {
            if (!mt.id_warned)
                msg_warn("no new %s: %s; its records are not written", seg_ids_kind_name(kind),
                         err->message);
            mt.id_warned = TRUE;
            return 0;
        }
    }
    if (mt.ids == NULL || mt.ids_closing)   /* a late callback after mt_shutdown */
        return 0;
    mt.id_warned = FALSE;
    return id;
}

/*
 * new_id_locked - a new ID of kind and the record that introduces it,
 * "PREFIX<id>REST" (rn bytes of rest), with mt.lock held; 0 when no ID
 * can be reserved (nothing written); *low: reserve the next block
 */
static guint64 new_id_locked(seg_id_kind kind, time_t when, const char *prefix,
                             const char *rest, size_t rn, gboolean *low)
{
    char buf[SEG_RECORD_LINE_MAX];
    guint64 id;
    int n;

    if ((id = take_id(kind)) != 0) {
        n = snprintf(buf, sizeof(buf), "%s%" G_GUINT64_FORMAT "%.*s", prefix, id, (int) rn, rest);
        write_locked(when, buf, MIN((size_t) MAX(n, 0), sizeof(buf) - 1));
        *low = seg_ids_low(mt.ids, kind);
    }
    return id;
}

/*
 * mt_new_id_record - a new ICID/DCID/MID and the record that introduces
 * it, "PREFIX<id>REST" (REST from fmt), written in ID order; 0 when no ID
 * can be reserved (nothing written)
 */
guint64 mt_new_id_record(seg_id_kind kind, time_t when, const char *prefix,
                         const char *fmt, ...)
{
    char rest[SEG_RECORD_LINE_MAX];
    size_t rn;
    va_list ap;
    guint64 id;
    gboolean low = FALSE;

    va_start(ap, fmt);
    rn = format(rest, sizeof(rest), fmt, ap);
    va_end(ap);
    g_mutex_lock(&mt.lock);
    id = new_id_locked(kind, when, prefix, rest, rn, &low);
    unlock();
    if (low)
        refill_kick();
    return id;
}

/*
 * mt_msg_start - a new MID of connection icid: "Start MID m ICID n" and
 * "MID m ICID n From: <from>" (from cleaned), in one hold of the lock;
 * 0 when no MID can be reserved (nothing written)
 */
guint64 mt_msg_start(guint64 icid, const char *from)
{
    char rest[64], buf[SEG_RECORD_LINE_MAX];
    size_t rn = (size_t) snprintf(rest, sizeof(rest), " ICID %" G_GUINT64_FORMAT, icid);
    guint64 mid;
    gboolean low = FALSE;
    int n;

    g_mutex_lock(&mt.lock);
    if ((mid = new_id_locked(SEG_ID_MID, 0, "Start MID ", rest, rn, &low)) != 0) {
        n = snprintf(buf, sizeof(buf), "MID %" G_GUINT64_FORMAT " ICID %" G_GUINT64_FORMAT
                     " From: <%s>", mid, icid, from);
        write_locked(0, buf, MIN((size_t) MAX(n, 0), sizeof(buf) - 1));
    }
    unlock();
    if (low)
        refill_kick();
    return mid;
}

/* mt_record_text - one record (when 0: now); failures are only counted */
void mt_record_text(time_t when, const char *text, size_t len)
{
    g_mutex_lock(&mt.lock);
    write_locked(when, text, len);
    unlock();
}

/* mt_record - one formatted record stamped now */
void mt_record(const char *fmt, ...)
{
    char buf[SEG_RECORD_LINE_MAX];
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    n = format(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0)
        mt_record_text(0, buf, n);
}

/* mt_dropped - records that could not be written */
guint64 mt_dropped(void)
{
    guint64 n;

    g_mutex_lock(&mt.lock);
    n = mt.rec ? seg_record_dropped(mt.rec) : 0;
    unlock();
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

/*
 * mt_conn_new - a new inbound connection: its ICID and "New SMTP ICID
 * n<REST>" (REST from fmt), and the connection remembered by smtpd pid
 * and client address:port for the follower, in one hold of the lock;
 * 0 when no ICID can be reserved (nothing written)
 */
guint64 mt_conn_new(long pid, const char *addr, const char *port, const char *fmt, ...)
{
    char rest[SEG_RECORD_LINE_MAX];
    conn_ent *e = g_new0(conn_ent, 1), *old;
    size_t rn;
    va_list ap;
    guint64 icid = 0;
    gboolean low = FALSE;

    va_start(ap, fmt);
    rn = format(rest, sizeof(rest), fmt, ap);
    va_end(ap);
    e->pid = pid;
    peer_key(e->peer, sizeof(e->peer), addr, port);
    g_mutex_lock(&mt.lock);
    if (mt.by_icid && (icid = new_id_locked(SEG_ID_ICID, 0, "New SMTP ICID ", rest, rn, &low)) != 0) {
        e->icid = icid;
        if ((old = g_hash_table_lookup(mt.by_icid, &icid)) != NULL)
            conn_forget(old);
        g_hash_table_insert(mt.by_icid, &e->icid, e);
        g_hash_table_insert(mt.by_peer, e->peer, e);
        if (pid)
            g_hash_table_insert(mt.by_pid, GSIZE_TO_POINTER(pid), e);
        e = NULL;
    }
    unlock();
    g_free(e);
    if (low)
        refill_kick();
    return icid;
}

/* write_close - "ICID n close" (mt.lock held) */
static void write_close(conn_ent *e, time_t when)
{
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "ICID %" G_GUINT64_FORMAT " close", e->icid);

    write_locked(when, buf, (size_t) n);
    e->close = CLOSE_WRITTEN;
}

/* flush_closes - write the held closes of connections closed before the grace (mt.lock held) */
static void flush_closes(gint64 before)
{
    conn_ent *e;
    guint64 *icid;

    while ((icid = g_queue_peek_head(&mt.pending)) != NULL) {
        e = mt.by_icid ? g_hash_table_lookup(mt.by_icid, icid) : NULL;
        if (e && e->close == CLOSE_PENDING) {
            if (e->closed_mono + CLOSE_GRACE > before)
                break;
            write_close(e, e->closed);
        }
        g_free(g_queue_pop_head(&mt.pending));
    }
}

/* mt_follow_log - a log follower runs: hold each close until it read the disconnect */
void mt_follow_log(gboolean on)
{
    g_mutex_lock(&mt.lock);
    mt.follow = on;
    if (!on)
        flush_closes(G_MAXINT64);
    unlock();
}

/* mt_conn_close - the milter's connection ended: its close record (now or held) */
void mt_conn_close(guint64 icid)
{
    conn_ent *e;

    g_mutex_lock(&mt.lock);
    if (mt.by_icid && (e = g_hash_table_lookup(mt.by_icid, &icid)) != NULL
        && e->close == CLOSE_OPEN) {
        e->closed = time(NULL);
        e->closed_mono = g_get_monotonic_time();
        if (!mt.follow || e->log_closed) {
            write_close(e, 0);
        } else {
            e->close = CLOSE_PENDING;
            g_queue_push_tail(&mt.pending, g_memdup2(&icid, sizeof(icid)));
        }
    }
    unlock();
}

/* mt_conn_log_close - the follower read the connection's disconnect (at when) */
void mt_conn_log_close(guint64 icid, time_t when)
{
    conn_ent *e;

    g_mutex_lock(&mt.lock);
    if (mt.by_icid && (e = g_hash_table_lookup(mt.by_icid, &icid)) != NULL) {
        e->log_closed = TRUE;
        if (e->close == CLOSE_PENDING)
            write_close(e, when);
    }
    unlock();
}

/* mt_log_read_to - the follower read every log line written before monotonic time t */
void mt_log_read_to(gint64 t)
{
    g_mutex_lock(&mt.lock);
    flush_closes(t);
    unlock();
}

/*
 * mt_conn_tls_record - "ICID n TLS success ..." (text after the ICID),
 * once per connection: TRUE for the first caller, who wrote it
 */
gboolean mt_conn_tls_record(guint64 icid, time_t when, const char *fmt, ...)
{
    char rest[SEG_RECORD_LINE_MAX], buf[SEG_RECORD_LINE_MAX];
    conn_ent *e;
    gboolean first = FALSE;
    size_t rn;
    int n;
    va_list ap;

    va_start(ap, fmt);
    rn = format(rest, sizeof(rest), fmt, ap);
    va_end(ap);
    g_mutex_lock(&mt.lock);
    if (mt.by_icid && (e = g_hash_table_lookup(mt.by_icid, &icid)) != NULL && !e->tls) {
        first = e->tls = TRUE;
        n = snprintf(buf, sizeof(buf), "ICID %" G_GUINT64_FORMAT "%.*s", icid, (int) rn, rest);
        write_locked(when, buf, MIN((size_t) MAX(n, 0), sizeof(buf) - 1));
    }
    unlock();
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
        unlock();
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
    unlock();
    return icid;
}

/*
 * mt_msg_done - "Message finished MID m done", after binding the queue
 * id (NULL: none) to MID, ICID and the recipients for the follower's
 * delivery records (rcpts: nrcpt addresses, each with its NUL, len
 * bytes; a binding replaces the queue id's last), in one hold of the lock
 */
void mt_msg_done(const char *qid, guint64 mid, guint64 icid, const char *rcpts, size_t len,
                 guint nrcpt)
{
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "Message finished MID %" G_GUINT64_FORMAT " done", mid);
    msg_ent *m = qid ? msg_ent_new(qid, mid, icid, time(NULL), rcpts, len, nrcpt) : NULL;

    g_mutex_lock(&mt.lock);
    if (m && mt.msgs) {
        g_hash_table_replace(mt.msgs, m->qid, m);
        mt.msgs_dirty = TRUE;
        m = NULL;
    }
    write_locked(0, buf, (size_t) n);
    unlock();
    g_free(m);
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
    unlock();
    return m != NULL;
}

/* mt_msg_rid - the RID the milter gave a recipient of a queue id, or -1 */
int mt_msg_rid(const char *qid, const char *rcpt)
{
    msg_ent *m = NULL;
    int rid = -1;

    g_mutex_lock(&mt.lock);
    if (mt.msgs && (m = g_hash_table_lookup(mt.msgs, qid)) != NULL) {
        const char *r = m->rcpts;

        for (guint i = 0; i < m->nrcpt && rid < 0; i++, r += strlen(r) + 1)
            if (g_ascii_strcasecmp(r, rcpt) == 0)
                rid = (int) i;
    }
    unlock();
    return rid;
}

/* mt_msg_forget - the message left the queue */
void mt_msg_forget(const char *qid)
{
    g_mutex_lock(&mt.lock);
    if (mt.msgs)
        mt.msgs_dirty |= g_hash_table_remove(mt.msgs, qid);
    unlock();
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
        unlock();
        return;
    }
    full = g_hash_table_size(mt.by_icid) > TABLE_MAX;
    g_hash_table_iter_init(&it, mt.by_icid);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        conn_ent *e = v;

        if (e->close == CLOSE_WRITTEN && (e->closed < now - CONN_KEEP || full))
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
    unlock();
}
