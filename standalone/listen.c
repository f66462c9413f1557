/*
 * listen - listening sockets of segtls-standalone.
 *
 * Numeric HOST:PORT addresses only (no resolver at start-up), accept4()
 * of every pending connection per wake-up, and a one-second pause when
 * the process runs out of descriptors (the socket stays readable, so
 * going on would spin). It also names the interface of a local address
 * for the records ("interface lo (127.0.0.1)").
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <glib-unix.h>

#include "error.h"
#include "msg.h"
#include "standalone.h"

#define SA_IF_MAX_AGE   60              /* re-read the interfaces after, seconds */
#define SA_IF_MISS_GAP  1               /* at most one re-read per miss per second */

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

/* A listening socket. */
typedef struct listener {
    int         fd;
    sa_accept_fn fn;
} listener;

static gboolean on_listen(gint fd, GIOCondition cond, gpointer data);

/* watch - poll a listening socket; recursive, so GLib does not take
 * the fd out of the poll set (and wake the loop) around each dispatch */
static void watch(listener *l)
{
    guint   id = g_unix_fd_add(l->fd, G_IO_IN, on_listen, l);

    g_source_set_can_recurse(g_main_context_find_source_by_id(NULL, id), TRUE);
}

/* on_resume - listen again after running out of descriptors */
static gboolean on_resume(gpointer data)
{
    listener *l = data;

    watch(l);
    return G_SOURCE_REMOVE;
}

/* on_listen - accept every pending connection */
static gboolean on_listen(gint fd, GIOCondition cond, gpointer data)
{
    listener *l = data;

    for (;;) {
        int     cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (cfd >= 0) {
            l->fn(cfd);
            continue;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* The socket stays readable: pause, or we would spin. */
            msg_warn("accept: %s; not accepting for a second", g_strerror(errno));
            g_timeout_add_seconds(1, on_resume, l);
            return G_SOURCE_REMOVE;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
            && errno != ECONNABORTED)
            msg_warn("accept: %s", g_strerror(errno));
        if (errno != EINTR && errno != ECONNABORTED)
            break;
    }
    return G_SOURCE_CONTINUE;
}

/* sa_listen - listen on a numeric HOST:PORT */
gboolean sa_listen(const char *text, sa_accept_fn fn, GError **error)
{
    g_autofree char *host = NULL;
    g_autofree char *port_s = NULL;
    struct addrinfo hints = {0}, *res = NULL;
    guint   port;
    int     fd, on = 1, rc;
    listener *l;

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
        || listen(fd, 128) < 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "listen on %s: %s", text,
                    g_strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return FALSE;
    }
    freeaddrinfo(res);
    l = g_new0(listener, 1);            /* lives as long as the process */
    l->fd = fd;
    l->fn = fn;
    watch(l);
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
