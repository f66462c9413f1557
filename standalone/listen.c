/*
 * listen - listening sockets of segtls-standalone.
 *
 * Numeric HOST:PORT addresses only (no resolver at start-up). Each
 * listener serves at most --max-conns connections at a time and accepts
 * fairly: at most SA_ACCEPT_BATCH connections per wake-up of the main
 * loop, so that the connections already open (whose clients may have
 * finished and closed) are served and reaped between two accepts. (An
 * accept runs the first handshake step, an RSA signature: accepting all
 * that is pending while clients keep connecting starved every open
 * connection and filled the limit with connections long closed by their
 * clients; issue 21.)
 *
 * At the limit the listener stops accepting, as Postfix's master does:
 * new connections wait in the kernel's listen queue and are accepted
 * as soon as a connection ends. When no connection has ended after
 * SA_FULL_WAIT seconds, the waiting ones, and every new one while the
 * listener stays full, are accepted and refused by the protocol (a
 * reply where the protocol has one, and one record each). The process
 * pauses for a second when it runs out of descriptors (the socket stays
 * readable, so going on would spin). This module also names the
 * interface of a local address for the records ("interface lo
 * (127.0.0.1)").
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <glib-unix.h>
#include <gio/gio.h>

#include "error.h"
#include "msg.h"
#include "standalone.h"

#define SA_IF_MAX_AGE   60              /* re-read the interfaces after, seconds */
#define SA_IF_MISS_GAP  1               /* at most one re-read per miss per second */
#define SA_ACCEPT_BATCH 4               /* accepts per wake-up of the main loop */
#define SA_FULL_WAIT    5               /* seconds at the limit before refusing */
#define SA_BACKLOG      SOMAXCONN /* the kernel caps it at net.core.somaxconn */

/* sa_parse_hostport - "HOST:PORT" or "[V6]:PORT" */
gboolean sa_parse_hostport(const char *text, char **host, guint *port, GError **error)
{
    const char *colon = strrchr(text, ':');
    guint64 p;
    char   *end;

    if (colon == NULL || colon == text || colon[1] == 0)
        goto bad;
    p = g_ascii_strtoull(colon + 1, &end, 10);
    if (*end != 0 || p == 0 || p > 65535)
        goto bad;
    if (text[0] == '[' && colon[-1] == ']')
        *host = g_strndup(text + 1, (gsize) (colon - text - 2));
    else
        *host = g_strndup(text, (gsize) (colon - text));
    *port = (guint) p;
    return TRUE;
bad:
    g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                "\"%s\": expected HOST:PORT", text);
    return FALSE;
}

/* sa_is_loopback - a numeric HOST:PORT on a loopback address */
gboolean sa_is_loopback(const char *text)
{
    g_autofree char *host = NULL;
    g_autoptr(GInetAddress) a = NULL;
    guint   port;

    if (!sa_parse_hostport(text, &host, &port, NULL)
        || (a = g_inet_address_new_from_string(host)) == NULL)
        return FALSE;
    return g_inet_address_get_is_loopback(a);
}

/* A listening socket. */
struct sa_listener {
    int         fd;
    const sa_listen_ops *ops;
    guint       max;                    /* --max-conns */
    guint       live;                   /* its connections now open */
    gint64      full_since;             /* monotonic usec the limit was reached; 0 below it */
    gboolean    paused;                 /* not polled: full, or out of descriptors */
    guint       timer;                  /* resumes a pause */
    GSource    *src;
    gpointer    tag;
};

/* poll_listener - poll (TRUE) or stop polling the socket */
static void poll_listener(sa_listener *l, gboolean on)
{
    l->paused = !on;
    g_source_modify_unix_fd(l->src, l->tag, on ? G_IO_IN : 0);
}

/* on_resume - the pause is over: accept (or refuse) again */
static gboolean on_resume(gpointer data)
{
    sa_listener *l = data;

    l->timer = 0;
    poll_listener(l, TRUE);
    return G_SOURCE_REMOVE;
}

/* pause_for - stop accepting for a while */
static void pause_for(sa_listener *l, guint ms)
{
    poll_listener(l, FALSE);
    if (l->timer)
        g_source_remove(l->timer);
    l->timer = g_timeout_add(MAX(ms, 1), on_resume, l);
}

/* full - at the limit: FALSE to wait for a slot, TRUE to refuse now */
static gboolean full(sa_listener *l)
{
    gint64  now = g_get_monotonic_time();
    gint64  waited;

    if (l->full_since == 0)
        l->full_since = now;
    waited = now - l->full_since;
    if (waited >= SA_FULL_WAIT * G_USEC_PER_SEC)
        return TRUE;
    pause_for(l, (guint) ((SA_FULL_WAIT * G_USEC_PER_SEC - waited) / 1000) + 1);
    return FALSE;
}

/* on_listen - accept (or refuse) a few pending connections */
static gboolean on_listen(gpointer data)
{
    sa_listener *l = data;
    gboolean refuse = FALSE;

    for (guint n = 0; n < SA_ACCEPT_BATCH; n++) {
        int     cfd;

        /* At the limit. Only a wake-up says that a connection waits,
         * so the wait for a slot starts at the first accept of one. */
        if (l->live < l->max)
            refuse = FALSE;
        else if (!refuse && (n > 0 || !(refuse = full(l))))
            break;
        cfd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0) {
            if (refuse)
                l->ops->refuse(cfd, l);
            else
                l->ops->accept(cfd, l);
            continue;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* The socket stays readable: pause, or we would spin. */
            msg_warn("accept: %s; not accepting for a second", g_strerror(errno));
            pause_for(l, 1000);
            break;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
            && errno != ECONNABORTED)
            msg_warn("accept: %s", g_strerror(errno));
        if (errno != EINTR && errno != ECONNABORTED)
            break;
    }
    return G_SOURCE_CONTINUE;
}

/* src_dispatch - the listening socket is readable */
static gboolean src_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    return cb(data);
}

static GSourceFuncs listen_source_funcs = {
    .dispatch = src_dispatch,
};

/* sa_listener_hold - a connection of this listener was opened */
void sa_listener_hold(sa_listener *l)
{
    l->live++;
}

/* sa_listener_release - a connection of this listener ended: a slot is free */
void sa_listener_release(sa_listener *l)
{
    l->live--;
    if (l->live >= l->max)
        return;
    l->full_since = 0;
    if (l->paused && l->timer) {
        g_source_remove(l->timer);
        l->timer = 0;
        poll_listener(l, TRUE);
    }
}

/* sa_listen - listen on a numeric HOST:PORT, at most max_conns at a time */
gboolean sa_listen(const char *text, const sa_listen_ops *ops, guint max_conns,
                   GError **error)
{
    g_autofree char *host = NULL;
    g_autofree char *port_s = NULL;
    struct addrinfo hints = {0}, *res = NULL;
    guint   port;
    int     fd, on = 1, rc;
    sa_listener *l;

    if (!sa_parse_hostport(text, &host, &port, error))
        return FALSE;
    port_s = g_strdup_printf("%u", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    if ((rc = getaddrinfo(host, port_s, &hints, &res)) != 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "\"%s\": %s (a numeric address is required)", text,
                    gai_strerror(rc));
        return FALSE;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0
        || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0
        || bind(fd, res->ai_addr, res->ai_addrlen) < 0
        || listen(fd, SA_BACKLOG) < 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "listen on %s: %s", text,
                    g_strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return FALSE;
    }
    freeaddrinfo(res);
    l = g_new0(sa_listener, 1);         /* lives as long as the process */
    l->fd = fd;
    l->ops = ops;
    l->max = max_conns;
    /* Recursive, so GLib does not take the fd out of the poll set (and
     * wake the loop) around each dispatch. */
    l->src = g_source_new(&listen_source_funcs, sizeof(GSource));
    l->tag = g_source_add_unix_fd(l->src, fd, G_IO_IN);
    g_source_set_callback(l->src, on_listen, l, NULL);
    g_source_set_can_recurse(l->src, TRUE);
    g_source_attach(l->src, NULL);
    return TRUE;
}

/* Local address -> interface name, from getifaddrs(). Reading the
 * interfaces is a netlink dump (about 7% of a TLS connection's CPU when
 * done per connection), so it is cached: re-read when older than
 * SA_IF_MAX_AGE, or on a miss (a new address) at most once a second. */
static GHashTable *ifcache;
static gint64 ifcache_time;

/* ifcache_load - (re)read the address-to-interface map */
static void ifcache_load(void)
{
    struct ifaddrs *ifa, *p;
    char    host[64];

    ifcache_time = g_get_monotonic_time();
    if (ifcache == NULL)
        ifcache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (getifaddrs(&ifa) < 0)
        return;
    g_hash_table_remove_all(ifcache);
    for (p = ifa; p; p = p->ifa_next) {
        socklen_t len;

        if (p->ifa_addr == NULL)
            continue;
        if (p->ifa_addr->sa_family == AF_INET)
            len = sizeof(struct sockaddr_in);
        else if (p->ifa_addr->sa_family == AF_INET6)
            len = sizeof(struct sockaddr_in6);
        else
            continue;
        /* The first interface holding an address wins, as before. */
        if (getnameinfo(p->ifa_addr, len, host, sizeof(host), NULL, 0,
                        NI_NUMERICHOST) == 0
            && !g_hash_table_contains(ifcache, host))
            g_hash_table_insert(ifcache, g_strdup(host), g_strdup(p->ifa_name));
    }
    freeifaddrs(ifa);
}

/* sa_ifname_of - the interface holding a local address ("lo"); borrowed */
const char *sa_ifname_of(const char *ip)
{
    gint64  age = g_get_monotonic_time() - ifcache_time;
    const char *name;

    if (ifcache == NULL || age >= SA_IF_MAX_AGE * G_USEC_PER_SEC)
        ifcache_load();
    else if (!g_hash_table_contains(ifcache, ip) && age >= SA_IF_MISS_GAP * G_USEC_PER_SEC)
        ifcache_load();
    name = g_hash_table_lookup(ifcache, ip);
    return name ? name : "unknown";
}

/* sa_ifname_free - forget the interfaces (exit) */
void sa_ifname_free(void)
{
    g_clear_pointer(&ifcache, g_hash_table_unref);
}
