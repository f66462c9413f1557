/*
 * listen - listening sockets of segtls-standalone.
 *
 * Numeric HOST:PORT addresses only (no resolver at start-up), accept4()
 * of every pending connection per wake-up, and a one-second pause when
 * the process runs out of descriptors (the socket stays readable, so
 * going on would spin).
 */
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <glib-unix.h>

#include "error.h"
#include "msg.h"
#include "standalone.h"

/* sa_parse_hostport - "HOST:PORT" or "[V6]:PORT" */
gboolean
sa_parse_hostport(const char *text, char **host, guint *port, GError **error)
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

/* on_resume - listen again after running out of descriptors */
static gboolean
on_resume(gpointer data)
{
    listener *l = data;

    g_unix_fd_add(l->fd, G_IO_IN, on_listen, l);
    return G_SOURCE_REMOVE;
}

/* on_listen - accept every pending connection */
static gboolean
on_listen(gint fd, GIOCondition cond, gpointer data)
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
gboolean
sa_listen(const char *text, sa_accept_fn fn, GError **error)
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
    g_unix_fd_add(fd, G_IO_IN, on_listen, l);
    return TRUE;
}
