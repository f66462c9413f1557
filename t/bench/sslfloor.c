/*
 * sslfloor.c - what OpenSSL itself holds for one idle TLS server
 * connection: the floor under segtls-standalone's memory per connection.
 *
 * usage: bench-sslfloor CERTFILE [N]
 *
 * The server context is segtls's own (seg_tlsctx_server, Inbound SMTP at
 * TLS 1.2-1.3, "HIGH:!aNULL", as t/bench/memory.sh runs the standalone),
 * and each server SSL is set up as standalone/conn.c does it (socket fd,
 * SSL_MODE_RELEASE_BUFFERS, read-ahead). N (default 20) TLS 1.3
 * handshakes over socketpairs; each client is then freed, each server
 * connection kept. OpenSSL's allocations are counted through
 * CRYPTO_set_mem_functions as the heap really takes them (glibc: the
 * usable size plus its 8-byte chunk header). Prints one line:
 *
 *   per-connection BYTES allocations N ssl-new BYTES version V cipher C
 *
 * per-connection is the mean over the N connections held at once;
 * ssl-new is what SSL_new() alone allocates (the SSL object and its
 * copies of the context's certificate and verify settings).
 */
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "tlsctx.h"
#include "tlsver.h"

static long live_bytes;                 /* OpenSSL's heap now */
static long live_allocs;

/* chunk - what glibc's heap gives an allocation */
static long chunk(void *p)
{
    return p ? (long) malloc_usable_size(p) + 8 : 0;
}

/* count_malloc - CRYPTO_malloc's implementation here */
static void *count_malloc(size_t n, const char *file, int line)
{
    void   *p = malloc(n);

    (void) file;
    (void) line;
    if (p) {
        live_bytes += chunk(p);
        live_allocs++;
    }
    return p;
}

/* count_realloc - CRYPTO_realloc's implementation here */
static void *count_realloc(void *old, size_t n, const char *file, int line)
{
    long    was = chunk(old);
    void   *p;

    (void) file;
    (void) line;
    if ((p = realloc(old, n)) == NULL)
        return NULL;
    live_bytes += chunk(p) - was;
    live_allocs += old ? 0 : 1;
    return p;
}

/* count_free - CRYPTO_free's implementation here */
static void count_free(void *p, const char *file, int line)
{
    (void) file;
    (void) line;
    if (p) {
        live_bytes -= chunk(p);
        live_allocs--;
    }
    free(p);
}

/* handshake - one TLS handshake over a socketpair; the server SSL, or NULL */
static SSL *handshake(SSL_CTX *sctx, SSL_CTX *cctx)
{
    int     sv[2], i;
    SSL    *s, *c;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return NULL;
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    s = SSL_new(sctx);
    c = SSL_new(cctx);
    SSL_set_fd(s, sv[0]);
    SSL_set_mode(s, SSL_MODE_RELEASE_BUFFERS);
    SSL_set_read_ahead(s, 1);
    SSL_set_accept_state(s);
    SSL_set_fd(c, sv[1]);
    SSL_set_connect_state(c);
    for (i = 0; i < 100 && !(SSL_is_init_finished(s) && SSL_is_init_finished(c)); i++) {
        struct pollfd p[2] = {{sv[0], POLLIN, 0}, {sv[1], POLLIN, 0}};

        SSL_do_handshake(c);
        SSL_do_handshake(s);
        poll(p, 2, 10);
    }
    SSL_free(c);
    close(sv[1]);
    if (!SSL_is_init_finished(s)) {
        SSL_free(s);
        close(sv[0]);
        return NULL;
    }
    return s;
}

int     main(int argc, char **argv)
{
    GError *err = NULL;
    SSL_CTX *sctx, *cctx;
    SSL    *warm, *held[1000];
    int     n = argc > 2 ? atoi(argv[2]) : 20, i;
    long    before_bytes, before_allocs, ssl_new;

    if (argc < 2 || n < 1 || n > 1000) {
        fprintf(stderr, "usage: bench-sslfloor CERTFILE [N (1-1000)]\n");
        return 2;
    }
    CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free);
    if ((sctx = seg_tlsctx_server(SEG_TLS_V12 | SEG_TLS_V13, "HIGH:!aNULL", FALSE,
                                  argv[1], SEG_SECLEVEL_AUTO, &err)) == NULL) {
        fprintf(stderr, "bench-sslfloor: %s\n", err->message);
        return 1;
    }
    cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION);
    /* the first handshake fills OpenSSL's per-process caches (fetched
     * algorithms, names): not a connection's cost */
    if ((warm = handshake(sctx, cctx)) == NULL) {
        fprintf(stderr, "bench-sslfloor: the handshake failed\n");
        return 1;
    }
    before_bytes = live_bytes;
    held[0] = SSL_new(sctx);
    ssl_new = live_bytes - before_bytes;
    SSL_free(held[0]);
    before_bytes = live_bytes;
    before_allocs = live_allocs;
    for (i = 0; i < n; i++)
        if ((held[i] = handshake(sctx, cctx)) == NULL) {
            fprintf(stderr, "bench-sslfloor: handshake %d failed\n", i + 1);
            return 1;
        }
    printf("per-connection %ld allocations %ld ssl-new %ld version %s cipher %s\n",
           (live_bytes - before_bytes) / n, (live_allocs - before_allocs) / n, ssl_new,
           SSL_get_version(held[0]), SSL_get_cipher_name(held[0]));
    for (i = 0; i < n; i++)
        SSL_free(held[i]);
    SSL_free(warm);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
    return 0;
}
