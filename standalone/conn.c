/*
 * conn - non-blocking connections with bounded buffers and OpenSSL.
 *
 * An sa_conn owns one socket. sa_conn_pump() does all the I/O it can
 * without blocking: it drives the TLS handshake, flushes the output
 * buffer, reads into the input buffer (at most SA_IN_MAX bytes, and not
 * at all while SA_OUT_MAX bytes of replies are unread by the peer), then
 * lets the protocol consume input, and repeats while that makes
 * progress. The socket's poll events follow from what is still wanted.
 *
 * STARTTLS: sa_conn_starttls() stops reading at once (so nothing after
 * the STARTTLS command is read as plaintext), the caller discards what
 * is already buffered, the reply is flushed, then the handshake runs.
 *
 * Protocol callbacks never free a connection: sa_conn_close() marks it,
 * and the pump frees it (after ops->closed) when it unwinds.
 *
 * Memory: a held TLS connection costs about 15 kB, 14 of them OpenSSL's
 * (the SSL object alone is 7.5 kB). The buffers grow on demand and are
 * given back whenever the pump leaves them empty (data is then NULL);
 * SSL_MODE_RELEASE_BUFFERS does the same for OpenSSL's record buffers.
 * glibc keeps freed heap pages resident, and the transients of many
 * handshakes in flight leave holes between the connections that stay:
 * the heap is trimmed when a burst of handshakes is over (none left in
 * flight) and after bursts of closes (sa_conn_tick).
 *
 * Cost per connection: the poll events are changed only when they
 * differ (each change wakes the GLib loop), and OpenSSL reads ahead so
 * a flight of records takes one read() instead of two per record.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <glib-unix.h>
#include <openssl/err.h>

#include "error.h"
#include "msg.h"
#include "standalone.h"
#include "tlsctx.h"

#define SA_PUMP_ROUNDS  32              /* then let other connections run */
#define SA_TRIM_AFTER   64              /* closes or handshakes between heap trims */

static GQueue conns = G_QUEUE_INIT;     /* every live sa_conn */
static guint nfreed;                    /* closed since the last heap trim */
static guint nhs_live;                  /* handshakes in flight */
static guint nhs_done;                  /* handshakes ended since the last trim */
static guint nopened;                   /* opened since the last tick */

/* set_nonblock - O_NONBLOCK and FD_CLOEXEC */
static gboolean set_nonblock(int fd)
{
    int     fl = fcntl(fd, F_GETFL);

    return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0
        && fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

/* addr_text - numeric address and port of a sockaddr */
static void addr_text(const struct sockaddr *addr, socklen_t len, char *host, gsize hlen,
                      guint *port)
{
    char    serv[16];

    if (getnameinfo(addr, len, host, hlen, serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        g_strlcpy(host, "unknown", hlen);
        *port = 0;
        return;
    }
    /* Report IPv4-mapped IPv6 peers as IPv4. */
    if (g_str_has_prefix(host, "::ffff:") && strchr(host + 7, '.'))
        memmove(host, host + 7, strlen(host + 7) + 1);
    *port = (guint) strtoul(serv, NULL, 10);
}

/* fill_names - local and peer address of a connected socket */
static void fill_names(sa_conn *c)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(c->fd, (struct sockaddr *) &ss, &len) == 0)
        addr_text((struct sockaddr *) &ss, len, c->local_ip,
                  sizeof(c->local_ip), &c->local_port);
    sa_peer_name(c->fd, c->peer_ip, sizeof(c->peer_ip), &c->peer_port);
}

/* on_io - poll callback */
static gboolean on_io(gpointer data)
{
    sa_conn *c = data;
    int     fd = c->fd;

    if (c->connecting) {
        int     err = 0;
        socklen_t elen = sizeof(err);

        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
            err = errno;
        c->connecting = 0;
        if (err == 0)
            fill_names(c);
        c->in_pump = 1;
        c->ops->connected(c, err);
        c->in_pump = 0;
        if (err != 0)
            c->dead = 1;
    }
    sa_conn_pump(c);
    return G_SOURCE_CONTINUE;
}

/* src_dispatch - a connection source is dispatched when its fd is ready */
static gboolean src_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    return cb(data);
}

static GSourceFuncs conn_source_funcs = {
    .dispatch = src_dispatch,
};

/* conn_alloc - common part of accepted and outgoing connections */
static sa_conn *conn_alloc(int fd, const sa_conn_ops *ops, void *ctx)
{
    sa_conn *c = g_new0(sa_conn, 1);

    c->fd = fd;
    c->ops = ops;
    c->ctx = ctx;
    c->in = g_byte_array_new();
    c->out = g_byte_array_new();
    c->src = g_source_new(&conn_source_funcs, sizeof(GSource));
    c->events = G_IO_IN;
    c->tag = g_source_add_unix_fd(c->src, fd, c->events);
    g_source_set_callback(c->src, on_io, c, NULL);
    /* GLib blocks a non-recursive source while it runs: its fd leaves
     * the poll set and comes back, and each change wakes the loop (an
     * eventfd write, a read, one more poll) on every event. The pump
     * guards itself (in_pump), so recursion is harmless. */
    g_source_set_can_recurse(c->src, TRUE);
    g_source_attach(c->src, NULL);
    g_queue_push_head_link(&conns, &c->link);
    c->link.data = c;
    nopened++;
    return c;
}

/* sa_conn_new - wrap a socket accepted by a listener (non-blocking, close-on-exec) */
sa_conn *sa_conn_new(int fd, sa_listener *from, const sa_conn_ops *ops, void *ctx)
{
    sa_conn *c;

    c = conn_alloc(fd, ops, ctx);
    c->listener = from;
    sa_listener_hold(from);
    fill_names(c);
    return c;
}

/* sa_peer_name - numeric address and port of a socket's peer */
void sa_peer_name(int fd, char *ip, gsize len, guint *port)
{
    struct sockaddr_storage ss;
    socklen_t slen = sizeof(ss);

    if (getpeername(fd, (struct sockaddr *) &ss, &slen) == 0) {
        addr_text((struct sockaddr *) &ss, slen, ip, len, port);
    } else {
        g_strlcpy(ip, "unknown", len);
        *port = 0;
    }
}

/* sa_conn_connect - start a non-blocking connect; ops->connected follows */
sa_conn *sa_conn_connect(const struct sockaddr *addr, socklen_t len,
                         const sa_conn_ops *ops, void *ctx, GError **error)
{
    int     fd = socket(addr->sa_family, SOCK_STREAM, 0);
    sa_conn *c;

    if (fd < 0 || !set_nonblock(fd)
        || (connect(fd, addr, len) < 0 && errno != EINPROGRESS)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "connect: %s",
                    g_strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    c = conn_alloc(fd, ops, ctx);
    c->connecting = 1;
    c->events = G_IO_OUT;
    g_source_modify_unix_fd(c->src, c->tag, c->events);
    return c;
}

/* sa_conn_write - queue output */
void sa_conn_write(sa_conn *c, const void *buf, gsize len)
{
    if (!c->dead)
        g_byte_array_append(c->out, buf, (guint) len);
}

/* sa_conn_printf - queue formatted output */
void sa_conn_printf(sa_conn *c, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *s = NULL;

    va_start(ap, fmt);
    s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    sa_conn_write(c, s, strlen(s));
}

/* sa_conn_consume - drop LEN bytes of input */
void sa_conn_consume(sa_conn *c, gsize len)
{
    g_byte_array_remove_range(c->in, 0, (guint) MIN(len, c->in->len));
}

/* sa_conn_starttls - handshake once the output is flushed */
void sa_conn_starttls(sa_conn *c, SSL_CTX *ctx, gboolean server)
{
    c->tls_pending = 1;
    c->tls_server = server ? 1 : 0;
    c->tls_ctx = ctx;
    SSL_CTX_up_ref(ctx);
}

/* sa_conn_close - close now, or once the output is flushed */
void sa_conn_close(sa_conn *c, gboolean flush)
{
    if (flush)
        c->closing = 1;
    else
        c->dead = 1;
}

/* sa_conn_timeout - (re)arm the deadline; 0 disarms */
void sa_conn_timeout(sa_conn *c, int seconds)
{
    c->deadline = seconds > 0 ?
        g_get_monotonic_time() + (gint64) seconds * G_USEC_PER_SEC : 0;
}

/* conn_free - the end of a connection */
static void conn_free(sa_conn *c)
{
    g_queue_unlink(&conns, &c->link);
    nfreed++;
    if (c->hs_counted)
        nhs_live--;
    if (c->idle)
        g_source_remove(c->idle);
    if (c->ops->closed)
        c->ops->closed(c);
    if (c->ssl) {
        if (!c->handshaking && !c->eof) {
            SSL_set_quiet_shutdown(c->ssl, 0);
            (void) SSL_shutdown(c->ssl);
        }
        SSL_free(c->ssl);
    }
    ERR_clear_error();
    if (c->tls_ctx)
        SSL_CTX_free(c->tls_ctx);
    g_source_destroy(c->src);
    g_source_unref(c->src);
    close(c->fd);
    g_byte_array_unref(c->in);
    g_byte_array_unref(c->out);
    if (c->listener)
        sa_listener_release(c->listener);
    g_free(c);
}

/* tls_fail - report a failed handshake to the protocol */
static void tls_fail(sa_conn *c, int ret, int saved_errno)
{
    g_autofree char *tuple = seg_tls_failure(c->ssl, ret, saved_errno);

    c->handshaking = 0;
    c->eof = 1;                         /* no close_notify after a failure */
    c->ops->tls_done(c, tuple);
    if (!c->closing)
        c->dead = 1;
}

/* do_handshake - one step of the handshake; TRUE when it progressed */
static gboolean do_handshake(sa_conn *c)
{
    int     ret, err;

    if (c->tls_pending && c->out->len == 0) {
        c->tls_pending = 0;
        c->ssl = SSL_new(c->tls_ctx);
        SSL_set_fd(c->ssl, c->fd);
        SSL_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
        SSL_set_read_ahead(c->ssl, 1);
        if (c->tls_server)
            SSL_set_accept_state(c->ssl);
        else
            SSL_set_connect_state(c->ssl);
        c->handshaking = 1;
    }
    if (!c->handshaking)
        return FALSE;
    ERR_clear_error();
    errno = 0;
    ret = SSL_do_handshake(c->ssl);
    if (ret == 1) {
        c->handshaking = 0;
        c->hs_want_write = 0;
        c->ops->tls_done(c, NULL);
        return TRUE;
    }
    err = SSL_get_error(c->ssl, ret);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        c->hs_want_write = err == SSL_ERROR_WANT_WRITE;
        return FALSE;
    }
    tls_fail(c, ret, errno);
    return TRUE;
}

/* do_write - flush as much output as the socket takes */
static gboolean do_write(sa_conn *c)
{
    gboolean progress = FALSE;

    c->want_read = 0;
    while (c->out->len > 0 && !c->dead) {
        ssize_t n;

        if (c->ssl) {
            int     ret, err;

            ERR_clear_error();
            ret = SSL_write(c->ssl, c->out->data, (int) MIN(c->out->len, 16384));
            if (ret > 0) {
                n = ret;
            } else {
                err = SSL_get_error(c->ssl, ret);
                if (err == SSL_ERROR_WANT_WRITE)
                    break;
                if (err == SSL_ERROR_WANT_READ) {
                    c->want_read = 1;
                    break;
                }
                ERR_clear_error();
                c->eof = 1;
                c->dead = 1;
                break;
            }
        } else {
            n = send(c->fd, c->out->data, c->out->len, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                    break;
                c->eof = 1;
                c->dead = 1;
                break;
            }
        }
        g_byte_array_remove_range(c->out, 0, (guint) n);
        progress = TRUE;
    }
    return progress;
}

/* do_read - read what is there, within the bound */
static gboolean do_read(sa_conn *c)
{
    gboolean progress = FALSE;
    guint8  buf[16384];

    c->want_write = 0;
    while (!c->eof && !c->dead && !c->paused && !c->tls_pending
           && !c->handshaking && !c->connecting
           && c->in->len < SA_IN_MAX && c->out->len < SA_OUT_MAX) {
        gsize   room = MIN(sizeof(buf), SA_IN_MAX - c->in->len);
        ssize_t n;

        if (c->ssl) {
            int     ret, err;

            ERR_clear_error();
            ret = SSL_read(c->ssl, buf, (int) room);
            if (ret > 0) {
                n = ret;
            } else {
                err = SSL_get_error(c->ssl, ret);
                if (err == SSL_ERROR_WANT_READ)
                    break;
                if (err == SSL_ERROR_WANT_WRITE) {
                    c->want_write = 1;
                    break;
                }
                ERR_clear_error();
                c->eof = 1;
                progress = TRUE;
                break;
            }
        } else {
            n = recv(c->fd, buf, room, 0);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                break;
            if (n <= 0) {
                c->eof = 1;
                progress = TRUE;
                break;
            }
        }
        g_byte_array_append(c->in, buf, (guint) n);
        progress = TRUE;
        /* A short plaintext read drained the socket; poll says when
         * there is more (saves a recv() that only returns EAGAIN). */
        if (c->ssl == NULL && (gsize) n < room)
            break;
    }
    return progress;
}

/* update_events - poll for what is still wanted */
static void update_events(sa_conn *c)
{
    GIOCondition ev = 0;

    if (c->connecting) {
        ev = G_IO_OUT;
    } else if (c->handshaking) {
        ev = c->hs_want_write ? G_IO_OUT : G_IO_IN;
    } else {
        if (c->out->len > 0)
            ev |= c->want_read ? G_IO_IN : G_IO_OUT;
        if (c->want_write)
            ev |= G_IO_OUT;
        else if (!c->eof && !c->paused && !c->tls_pending
                 && c->in->len < SA_IN_MAX && c->out->len < SA_OUT_MAX)
            ev |= G_IO_IN;
    }
    /* Nothing wanted (paused): no watch, or HUP would wake us forever.
     * Every change wakes the main loop up, so change only on change. */
    if (ev != c->events) {
        c->events = ev;
        g_source_modify_unix_fd(c->src, c->tag, ev);
    }
}

/* shrink - give back the storage of empty buffers */
static void shrink(sa_conn *c)
{
    /* A free now, a malloc at the next read or reply: little next to
     * the system calls around them; an idle connection holds nothing. */
    if (c->in->len == 0 && c->in->data != NULL)
        g_free(g_byte_array_steal(c->in, NULL));
    if (c->out->len == 0 && c->out->data != NULL)
        g_free(g_byte_array_steal(c->out, NULL));
}

/* heap_trim - give freed heap pages back to the kernel */
static void heap_trim(void)
{
    nfreed = nhs_done = 0;
    malloc_trim(0);
}

/* hs_account - count handshakes in flight; trim after a burst of them */
static void hs_account(sa_conn *c)
{
    if (c->handshaking && !c->hs_counted) {
        c->hs_counted = 1;
        nhs_live++;
    } else if (!c->handshaking && c->hs_counted) {
        c->hs_counted = 0;
        nhs_live--;
        /* A trim walks the heap (0.1-3 ms): at most once per burst. */
        if (++nhs_done >= SA_TRIM_AFTER && nhs_live == 0)
            heap_trim();
    }
}

/* on_idle - resume a pump that stopped with work left */
static gboolean on_idle(gpointer data)
{
    sa_conn *c = data;

    c->idle = 0;
    sa_conn_pump(c);
    return G_SOURCE_REMOVE;
}

/* sa_conn_pump - do all I/O possible now, then let the protocol run */
void sa_conn_pump(sa_conn *c)
{
    gboolean progress;
    guint   rounds = 0;

    if (c->in_pump)
        return;
    c->in_pump = 1;
    do {
        progress = FALSE;
        if (c->dead)
            break;
        if (!c->connecting) {
            progress |= do_handshake(c);
            if (!c->handshaking && !c->tls_pending) {
                progress |= do_write(c);
                if (c->out->len == 0 && c->closing) {
                    c->dead = 1;
                    break;
                }
                if (c->out->len == 0 && c->ops->drain && !c->dead) {
                    guint   before = c->out->len;

                    c->ops->drain(c);
                    progress |= c->out->len != before;
                }
                progress |= do_read(c);
                if ((c->in->len > 0 || c->eof) && !c->dead && !c->closing) {
                    guint   before = c->in->len, obefore = c->out->len;
                    gboolean was_paused = c->paused, was_pending = c->tls_pending;

                    c->ops->input(c);
                    progress |= c->in->len != before || c->out->len != obefore
                        || c->paused != was_paused || c->tls_pending != was_pending
                        || c->closing || c->dead;
                    /* The peer is gone: nothing more can be answered. */
                    if (c->eof && !c->closing)
                        c->dead = 1;
                }
            } else if (c->tls_pending) {
                progress |= do_write(c);
            }
        }
    } while (progress && ++rounds < SA_PUMP_ROUNDS);
    c->in_pump = 0;
    if (c->dead) {
        conn_free(c);
        return;
    }
    hs_account(c);
    shrink(c);
    update_events(c);
    /* Fairness cut, or records waiting inside OpenSSL (read ahead): no
     * poll event will come for them, so come back from the main loop. */
    if (c->idle == 0 && !c->dead
        && ((progress && rounds >= SA_PUMP_ROUNDS)
            || (c->ssl && !c->handshaking && SSL_has_pending(c->ssl)
                && c->in->len < SA_IN_MAX && c->out->len < SA_OUT_MAX)))
        c->idle = g_idle_add(on_idle, c);
}

/* sa_conn_tick - enforce deadlines; trim the heap after closes */
void sa_conn_tick(void)
{
    gint64  now = g_get_monotonic_time();
    GList  *l, *expired = NULL;

    /* glibc keeps freed heap pages resident: hand them back after a
     * burst, once it is over (no new connection since the last tick);
     * under steady load the pages are reused, trimming would only cost. */
    if (nopened == 0 && (nfreed + nhs_done >= SA_TRIM_AFTER
                         || (nfreed > 0 && conns.length == 0)))
        heap_trim();
    nopened = 0;
    for (l = conns.head; l; l = l->next) {
        sa_conn *c = l->data;

        if (c->deadline && now >= c->deadline)
            expired = g_list_prepend(expired, c);
    }
    for (l = expired; l; l = l->next) {
        sa_conn *c = l->data;

        c->deadline = 0;
        c->in_pump = 1;
        if (c->ops->timeout)
            c->ops->timeout(c);
        else
            c->dead = 1;
        c->in_pump = 0;
        sa_conn_pump(c);
    }
    g_list_free(expired);
}

/* sa_conn_count - live connections */
guint sa_conn_count(void)
{
    return conns.length;
}

/* sa_conn_shutdown_all - close every connection (exit) */
void sa_conn_shutdown_all(void)
{
    while (conns.head) {
        sa_conn *c = conns.head->data;

        c->dead = 1;
        conn_free(c);
    }
}
