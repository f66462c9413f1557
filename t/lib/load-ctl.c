/*
 * load-ctl - many concurrent clients of the segtls-policyd control socket.
 *
 * Usage: load-ctl SOCKET N [REQUEST]
 *
 * Opens N connections and keeps them all open, then sends REQUEST
 * (default {"op":"show"}) on every one, then reads one reply line from
 * each with poll(2). Prints "connected C answered A ok K ms T" and exits
 * 0 when all N answered with "ok":true, 1 otherwise, 2 on usage errors.
 * A test helper (t/load.t): built with cc by the test itself.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX   (256 * 1024)
#define TIMEOUT_MS  60000

typedef struct client {
    int     fd;
    size_t  len;
    int     done;
    char   *buf;
} client;

/* now_ms - monotonic milliseconds */
static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* connect_to - one blocking connection to the socket, or -1 */
static int connect_to(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int     fd;

    if (strlen(path) >= sizeof(sun.sun_path))
        return -1;
    strcpy(sun.sun_path, path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* main - connect all, send all, read all */
int main(int argc, char **argv)
{
    const char *req = argc > 3 ? argv[3] : "{\"op\":\"show\"}";
    struct pollfd *pfd;
    client *c;
    long long t0, deadline;
    int     n, connected = 0, answered = 0, good = 0, i;
    char   *line;

    if (argc < 3 || (n = atoi(argv[2])) <= 0) {
        fprintf(stderr, "usage: load-ctl SOCKET N [REQUEST]\n");
        return 2;
    }
    c = calloc((size_t) n, sizeof(*c));
    pfd = calloc((size_t) n, sizeof(*pfd));
    if (c == NULL || pfd == NULL || asprintf(&line, "%s\n", req) < 0)
        return 1;
    t0 = now_ms();
    for (i = 0; i < n; i++) {
        c[i].fd = connect_to(argv[1]);
        if (c[i].fd < 0) {
            fprintf(stderr, "load-ctl: connect %d: %s\n", i, strerror(errno));
            c[i].done = 1;
            continue;
        }
        connected++;
    }
    for (i = 0; i < n; i++)
        if (!c[i].done && write(c[i].fd, line, strlen(line)) != (ssize_t) strlen(line)) {
            fprintf(stderr, "load-ctl: write %d: %s\n", i, strerror(errno));
            c[i].done = 1;
        }
    deadline = t0 + TIMEOUT_MS;
    for (;;) {
        int     m = 0;

        for (i = 0; i < n; i++) {
            pfd[i].fd = c[i].done ? -1 : c[i].fd;
            pfd[i].events = POLLIN;
            m += !c[i].done;
        }
        if (m == 0 || now_ms() > deadline)
            break;
        if (poll(pfd, (nfds_t) n, 1000) < 0 && errno != EINTR)
            break;
        for (i = 0; i < n; i++) {
            char    tmp[65536];
            ssize_t r;
            char   *nl;

            if (c[i].done || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            r = read(c[i].fd, tmp, sizeof(tmp));
            if (r <= 0) {
                c[i].done = 1;
                continue;
            }
            if (c[i].len + (size_t) r > REPLY_MAX) {
                c[i].done = 1;
                continue;
            }
            c[i].buf = realloc(c[i].buf, c[i].len + (size_t) r + 1);
            memcpy(c[i].buf + c[i].len, tmp, (size_t) r);
            c[i].len += (size_t) r;
            c[i].buf[c[i].len] = 0;
            if ((nl = strchr(c[i].buf, '\n')) != NULL) {
                c[i].done = 1;
                answered++;
                *nl = 0;
                if (strstr(c[i].buf, "\"ok\":true") == c[i].buf + 1)
                    good++;
                else if (good + 1 == answered)
                    fprintf(stderr, "load-ctl: reply %d: %.200s\n", i, c[i].buf);
            }
        }
    }
    printf("connected %d answered %d ok %d ms %lld\n", connected, answered,
           good, now_ms() - t0);
    for (i = 0; i < n; i++) {
        if (c[i].fd >= 0)
            close(c[i].fd);
        free(c[i].buf);
    }
    free(c);
    free(pfd);
    free(line);
    return good == n ? 0 : 1;
}
