/*
 * smtpio - plain TCP connect with a timeout and the SMTP client's reply
 * reader (RFC 5321 section 4.2: "250-" continues, "250 " ends a reply).
 * Used by the probe for the banner, EHLO and STARTTLS steps before TLS.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "error.h"
#include "smtpio.h"

#define SMTP_LINE_MAX   2048    /* longer reply lines are refused */
#define SMTP_LINES_MAX  100     /* and so are longer replies */

struct seg_smtpio {
    int         fd;
    int         timeout_ms;
    char        buf[4096];
    gsize       len;            /* bytes in buf */
};

/* timeout_ms - seconds to poll() milliseconds */
static int timeout_ms(double timeout)
{
    return timeout > 0 ? (int) (timeout * 1000) : 5000;
}

/* set_io_timeouts - SO_RCVTIMEO / SO_SNDTIMEO, so blocking TLS I/O ends */
static void set_io_timeouts(int fd, double timeout)
{
    int ms = timeout_ms(timeout);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* connect_one - non-blocking connect to one address; errno on failure */
static int connect_one(const struct addrinfo *ai, int ms)
{
    int fd, err = 0;
    socklen_t len = sizeof(err);
    struct pollfd p;

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                ai->ai_protocol);
    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            err = errno;
            goto fail;
        }
        p.fd = fd;
        p.events = POLLOUT;
        int n;
        do
            n = poll(&p, 1, ms);
        while (n < 0 && errno == EINTR);
        if (n == 0) {
            err = ETIMEDOUT;
            goto fail;
        }
        if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
            err = errno;
            goto fail;
        }
        if (err)
            goto fail;
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
        err = errno;
        goto fail;
    }
    return fd;

fail:
    close(fd);
    errno = err;
    return -1;
}

/* seg_tcp_connect - connect with a timeout, every address in turn */
int seg_tcp_connect(const char *host, int port, double timeout, GError **error)
{
    struct addrinfo hints = {0}, *res = NULL;
    char service[16];
    int fd = -1, err = 0, rc;

    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    g_snprintf(service, sizeof(service), "%d", port);
    if ((rc = getaddrinfo(host, service, &hints, &res)) != 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "connect to %s:%d: %s",
                    host, port, gai_strerror(rc));
        return -1;
    }
    for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
        if ((fd = connect_one(ai, timeout_ms(timeout))) < 0)
            err = errno;
    freeaddrinfo(res);
    if (fd < 0) {
        gboolean v6 = strchr(host, ':') != NULL;

        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "connect to %s%s%s:%d: %s",
                    v6 ? "[" : "", host, v6 ? "]" : "", port,
                    err == ETIMEDOUT ? "timed out" : g_strerror(err));
        return -1;
    }
    set_io_timeouts(fd, timeout);
    return fd;
}

/* seg_smtpio_new - wrap a connected socket */
seg_smtpio *seg_smtpio_new(int fd, double timeout)
{
    seg_smtpio *io = g_new0(seg_smtpio, 1);

    io->fd = fd;
    io->timeout_ms = timeout_ms(timeout);
    return io;
}

/* seg_smtpio_free - release the reader (the fd stays open) */
void seg_smtpio_free(seg_smtpio *io)
{
    g_free(io);
}

/* seg_smtpio_pending - unread buffered bytes */
gsize seg_smtpio_pending(const seg_smtpio *io)
{
    return io->len;
}

/* seg_smtpio_command - write "CMD\r\n" */
gboolean seg_smtpio_command(seg_smtpio *io, const char *cmd, GError **error)
{
    g_autofree char *line = g_strconcat(cmd, "\r\n", NULL);
    gsize off = 0, len = strlen(line);

    while (off < len) {
        ssize_t n = send(io->fd, line + off, len - off, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "sending %s: %s", cmd,
                        n < 0 && errno != EAGAIN ? g_strerror(errno) : "timed out");
            return FALSE;
        }
        off += (gsize) n;
    }
    return TRUE;
}

/* fill - read more bytes into the buffer, waiting at most the timeout */
static gboolean fill(seg_smtpio *io, GError **error)
{
    struct pollfd p = {io->fd, POLLIN, 0};
    ssize_t n;
    int rc;

    if (io->len == sizeof(io->buf)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL, "reply line too long");
        return FALSE;
    }
    do
        rc = poll(&p, 1, io->timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc == 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "timed out waiting for a reply");
        return FALSE;
    }
    do
        n = recv(io->fd, io->buf + io->len, sizeof(io->buf) - io->len, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s",
                    n == 0 ? "connection closed by the server" : g_strerror(errno));
        return FALSE;
    }
    io->len += (gsize) n;
    return TRUE;
}

/* read_line - one line without its CR LF, newly allocated */
static char *read_line(seg_smtpio *io, GError **error)
{
    for (;;) {
        char *nl = memchr(io->buf, '\n', io->len);

        if (nl) {
            gsize take = (gsize) (nl - io->buf) + 1, l = take - 1;

            if (l > 0 && io->buf[l - 1] == '\r')
                l--;
            char *line = g_strndup(io->buf, l);

            memmove(io->buf, io->buf + take, io->len - take);
            io->len -= take;
            if (strlen(line) != l || l > SMTP_LINE_MAX) {
                g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                            "malformed reply line");
                g_free(line);
                return NULL;
            }
            return line;
        }
        if (!fill(io, error))
            return NULL;
    }
}

/* seg_smtp_reply_line - code, continuation and text of one reply line */
gboolean seg_smtp_reply_line(const char *line, gsize len, int *code, gboolean *more,
                             gsize *text_off, gsize *text_len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len < 3 || !g_ascii_isdigit(line[0]) || !g_ascii_isdigit(line[1])
        || !g_ascii_isdigit(line[2])
        || (len > 3 && line[3] != '-' && line[3] != ' ')
        || memchr(line, 0, len) != NULL)
        return FALSE;
    *code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    *more = len > 3 && line[3] == '-';
    *text_off = MIN(len, 4);
    *text_len = len - *text_off;
    return TRUE;
}

/* seg_smtpio_reply - read one multi-line reply */
gboolean seg_smtpio_reply(seg_smtpio *io, int *code, GPtrArray *lines,
                          GError **error)
{
    int first = -1;

    for (int n = 0; n < SMTP_LINES_MAX; n++) {
        g_autofree char *line = read_line(io, error);
        gboolean more;
        gsize   off, tlen;
        int c;

        if (!line)
            return FALSE;
        if (!seg_smtp_reply_line(line, strlen(line), &c, &more, &off, &tlen)) {
            g_autofree char *shown = g_strescape(line, NULL);

            g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                        "malformed reply line \"%.80s\"", shown);
            return FALSE;
        }
        if (first >= 0 && c != first) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                        "reply codes %d and %d mixed in one reply", first, c);
            return FALSE;
        }
        first = c;
        if (lines)
            g_ptr_array_add(lines, g_strndup(line + off, tlen));
        if (!more) {
            *code = c;
            return TRUE;
        }
    }
    g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL, "reply has more than %d lines",
                SMTP_LINES_MAX);
    return FALSE;
}
