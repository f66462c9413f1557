/*
 * segtls-tlsload - STARTTLS handshake load generator for the benchmarks.
 *
 * Keeps N connections in flight against one SMTP server until M TLS
 * handshakes have completed: connect, banner, EHLO, STARTTLS, a full
 * handshake at exactly one TLS version (no session reuse), QUIT, close.
 * With --hold it instead opens M connections, completes every handshake,
 * prints "held M", keeps them all open for the given seconds and then
 * closes them (for memory measurements of the server).
 * Prints one key=value line: handshakes, failures, seconds, rate and the
 * client's own CPU per handshake. It is a load tool, so it drives its
 * sockets with epoll directly instead of the GLib main loop.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <glib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

typedef enum { ST_CONNECT, ST_BANNER, ST_EHLO, ST_STARTTLS, ST_HANDSHAKE, ST_HELD } state;

typedef struct conn {
    int     fd;
    state   st;
    SSL    *ssl;
    char    buf[4096];
    size_t  len;
    double  deadline;
} conn;

typedef struct version_name {
    const char *name;
    int     version;
} version_name;

static const version_name versions[] = {
    {"1.0", TLS1_VERSION}, {"1.1", TLS1_1_VERSION},
    {"1.2", TLS1_2_VERSION}, {"1.3", TLS1_3_VERSION},
};

static struct sockaddr_in target;
static SSL_CTX *ctx;
static int epfd, want_version;
static gint64 total = 1000, started, done_ok, failed;
static gint conc = 20, timeout_s = 30, verbose;
static gdouble hold_s = -1;
static gboolean direct;
static char ehlo_cmd[300];

/* now - monotonic seconds */
static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* cpu_seconds - this process's user + system time */
static double cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
        + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* watch - set the epoll interest of a connection */
static void watch(conn *c, uint32_t ev)
{
    struct epoll_event e = {.events = ev, .data.ptr = c};

    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e) < 0 && errno == ENOENT)
        epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &e);
}

/* finish - close a connection, counting it */
static void finish(conn *c, gboolean ok, const char *why)
{
    if (ok) {
        done_ok++;
    } else {
        failed++;
        if (verbose) {
            unsigned long e = ERR_peek_last_error();

            fprintf(stderr, "segtls-tlsload: %s%s%s\n", why, e ? ": " : "",
                    e ? ERR_error_string(e, NULL) : "");
        }
    }
    ERR_clear_error();
    if (c->ssl)
        SSL_free(c->ssl);
    c->ssl = NULL;
    if (c->fd >= 0)
        close(c->fd);           /* also removes it from the epoll set */
    c->fd = -1;
}

/* start - open the next connection in slot c */
static gboolean start(conn *c)
{
    int one = 1;

    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        fprintf(stderr, "segtls-tlsload: socket: %s\n", g_strerror(errno));
        return FALSE;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    started++;
    c->deadline = now() + timeout_s;
    c->st = ST_CONNECT;
    if (connect(c->fd, (struct sockaddr *) &target, sizeof(target)) < 0 && errno != EINPROGRESS) {
        finish(c, FALSE, g_strerror(errno));
        return TRUE;
    }
    watch(c, EPOLLOUT);
    return TRUE;
}

/* send_line - write a short command (the socket buffer is empty) */
static gboolean send_line(conn *c, const char *line)
{
    size_t n = strlen(line);

    return write(c->fd, line, n) == (ssize_t) n;
}

/* reply - read a complete SMTP reply: 1 done, 0 more, -1 error */
static int reply(conn *c, int *code)
{
    ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
    char *line, *nl;

    if (n == 0 || (n < 0 && errno != EAGAIN))
        return -1;
    if (n < 0)
        return 0;
    c->len += n;
    c->buf[c->len] = 0;
    for (line = c->buf; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        if (nl - line >= 3 && (line[3] == ' ' || line + 3 == nl || line[3] == '\r')) {
            *code = atoi(line);
            c->len = 0;
            return 1;
        }
    }
    if (c->len == sizeof(c->buf) - 1)
        return -1;
    return 0;
}

/* handshake - drive SSL_connect */
static void handshake(conn *c)
{
    int r = SSL_connect(c->ssl);

    if (r == 1) {
        if (SSL_version(c->ssl) != want_version) {
            finish(c, FALSE, "unexpected TLS version");
            return;
        }
        if (hold_s >= 0) {
            c->st = ST_HELD;
            done_ok++;
            watch(c, 0);
            return;
        }
        SSL_write(c->ssl, "QUIT\r\n", 6);
        finish(c, TRUE, NULL);
        return;
    }
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        watch(c, EPOLLIN);
        break;
    case SSL_ERROR_WANT_WRITE:
        watch(c, EPOLLOUT);
        break;
    default:
        finish(c, FALSE, "handshake failed");
    }
}

/* begin_tls - STARTTLS accepted (or direct TLS): set up the SSL */
static void begin_tls(conn *c)
{
    c->ssl = SSL_new(ctx);
    if (c->ssl == NULL || !SSL_set_fd(c->ssl, c->fd)) {
        finish(c, FALSE, "SSL_new");
        return;
    }
    c->st = ST_HANDSHAKE;
    handshake(c);
}

/* step - advance a connection on an event */
static void step(conn *c, uint32_t ev)
{
    int code = 0, r, err;
    socklen_t len = sizeof(err);

    switch (c->st) {
    case ST_CONNECT:
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
            finish(c, FALSE, g_strerror(err));
            return;
        }
        if (direct) {
            begin_tls(c);
            return;
        }
        c->st = ST_BANNER;
        watch(c, EPOLLIN);
        return;
    case ST_BANNER:
    case ST_EHLO:
    case ST_STARTTLS:
        if ((r = reply(c, &code)) == 0)
            return;
        if (r < 0 || code / 100 != 2) {
            finish(c, FALSE, c->st == ST_BANNER ? "banner" : c->st == ST_EHLO ? "EHLO" : "STARTTLS");
            return;
        }
        if (c->st == ST_BANNER) {
            c->st = ST_EHLO;
            if (!send_line(c, ehlo_cmd))
                finish(c, FALSE, "write");
        } else if (c->st == ST_EHLO) {
            c->st = ST_STARTTLS;
            if (!send_line(c, "STARTTLS\r\n"))
                finish(c, FALSE, "write");
        } else {
            begin_tls(c);
        }
        return;
    case ST_HANDSHAKE:
        handshake(c);
        return;
    case ST_HELD:
        return;
    }
}

/* parse_target - HOST:PORT, an IPv4 address */
static gboolean parse_target(const char *s)
{
    const char *colon = strrchr(s, ':');
    g_autofree char *host = NULL;
    char *end;
    long port;

    if (colon == NULL)
        return FALSE;
    host = g_strndup(s, colon - s);
    port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535)
        return FALSE;
    target.sin_family = AF_INET;
    target.sin_port = htons((uint16_t) port);
    return inet_pton(AF_INET, host, &target.sin_addr) == 1;
}

/* make_ctx - the client SSL_CTX: one version, no session reuse */
static gboolean make_ctx(const char *ciphers)
{
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return FALSE;
    SSL_CTX_set_min_proto_version(ctx, want_version);
    SSL_CTX_set_max_proto_version(ctx, want_version);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    return SSL_CTX_set_cipher_list(ctx, ciphers) == 1;
}

int main(int argc, char **argv)
{
    g_autofree char *connect_to = NULL, *version = NULL, *ciphers = NULL, *ehlo = NULL;
    GOptionEntry entries[] = {
        {"connect", 0, 0, G_OPTION_ARG_STRING, &connect_to, "Server address (IPv4)", "IP:PORT"},
        {"concurrency", 'c', 0, G_OPTION_ARG_INT, &conc, "Connections in flight (20)", "N"},
        {"handshakes", 'n', 0, G_OPTION_ARG_INT64, &total, "Handshakes in all (1000)", "M"},
        {"tls", 0, 0, G_OPTION_ARG_STRING, &version, "TLS version: 1.0, 1.1, 1.2 or 1.3 (1.3)", "V"},
        {"cipher", 0, 0, G_OPTION_ARG_STRING, &ciphers, "Cipher list for TLS <= 1.2 (ALL:@SECLEVEL=0)", "LIST"},
        {"ehlo", 0, 0, G_OPTION_ARG_STRING, &ehlo, "EHLO name (tlsload.test.local)", "NAME"},
        {"direct", 0, 0, G_OPTION_ARG_NONE, &direct, "Direct TLS, no STARTTLS", NULL},
        {"hold", 0, 0, G_OPTION_ARG_DOUBLE, &hold_s, "Open M connections, hold them S seconds", "S"},
        {"timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s, "Seconds per connection (30)", "S"},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Say why connections fail", NULL},
        G_OPTION_ENTRY_NULL
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("- STARTTLS handshake load generator");
    g_autoptr(GError) err = NULL;
    struct epoll_event evs[256];
    struct rlimit rl;
    conn   *conns;
    double t0, c0, t1, c1, wall;
    gint64 slots;

    /* A server that closes early must be a counted failure, not our death. */
    signal(SIGPIPE, SIG_IGN);
    g_option_context_add_main_entries(oc, entries, NULL);
    if (!g_option_context_parse(oc, &argc, &argv, &err)) {
        fprintf(stderr, "segtls-tlsload: %s\n", err->message);
        return 2;
    }
    if (argc > 1 || connect_to == NULL || !parse_target(connect_to)
        || conc < 1 || total < 1 || timeout_s < 1) {
        fprintf(stderr, "segtls-tlsload: usage: segtls-tlsload --connect IP:PORT [-c N] [-n M] [--tls V] [--hold S]\n");
        return 2;
    }
    want_version = TLS1_3_VERSION;
    if (version) {
        want_version = 0;
        for (size_t i = 0; i < G_N_ELEMENTS(versions); i++)
            if (strcmp(version, versions[i].name) == 0)
                want_version = versions[i].version;
        if (want_version == 0) {
            fprintf(stderr, "segtls-tlsload: --tls %s: must be 1.0, 1.1, 1.2 or 1.3\n", version);
            return 2;
        }
    }
    snprintf(ehlo_cmd, sizeof(ehlo_cmd), "EHLO %.256s\r\n", ehlo ? ehlo : "tlsload.test.local");
    if (!make_ctx(ciphers ? ciphers : "ALL:@SECLEVEL=0")) {
        fprintf(stderr, "segtls-tlsload: bad cipher list or no SSL_CTX\n");
        return 2;
    }
    slots = hold_s >= 0 ? total : MIN(total, conc);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t) slots + 64) {
        rl.rlim_cur = MIN(rl.rlim_max, (rlim_t) slots + 64);
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    conns = g_new0(conn, slots);
    t0 = now();
    c0 = cpu_seconds();
    /* in --hold mode, open the connections in waves of --concurrency */
    for (gint64 i = 0; i < slots; i++)
        conns[i].fd = -1;
    for (;;) {
        gint64 active = 0, settled = 0;
        double t = now();

        for (gint64 i = 0; i < slots; i++) {
            conn *c = &conns[i];

            if (c->fd >= 0 && c->st != ST_HELD && t > c->deadline)
                finish(c, FALSE, "timeout");
            if (c->fd >= 0 && c->st != ST_HELD)
                active++;
            if (c->fd >= 0 && c->st == ST_HELD)
                settled++;
        }
        for (gint64 i = 0; i < slots && started < total && active < conc; i++) {
            if (conns[i].fd < 0 && (hold_s < 0 || i >= started)) {
                if (!start(&conns[i]))
                    return 1;
                active++;
            }
        }
        if (active == 0 && started >= total)
            break;
        int n = epoll_wait(epfd, evs, G_N_ELEMENTS(evs), 200);

        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;

            if (c->fd >= 0)
                step(c, evs[i].events);
        }
        (void) settled;
    }
    t1 = now();
    c1 = cpu_seconds();
    wall = t1 - t0;
    if (hold_s >= 0) {
        printf("held %" G_GINT64_FORMAT "\n", done_ok);
        fflush(stdout);
        g_usleep((gulong) (hold_s * 1e6));
        for (gint64 i = 0; i < slots; i++)
            if (conns[i].fd >= 0) {
                SSL_write(conns[i].ssl, "QUIT\r\n", 6);
                done_ok--;      /* finish() counts it again */
                finish(&conns[i], TRUE, NULL);
            }
    }
    printf("handshakes=%" G_GINT64_FORMAT " failures=%" G_GINT64_FORMAT
           " seconds=%.3f rate=%.1f client_cpu_us=%.1f\n",
           done_ok, failed, wall, done_ok / wall,
           done_ok ? (c1 - c0) * 1e6 / done_ok : 0.0);
    g_free(conns);
    SSL_CTX_free(ctx);
    close(epfd);
    return failed ? 1 : 0;
}
