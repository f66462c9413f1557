/*
 * probe - unit tests of the target parser, the SMTP reply reader and the
 * probe's SMTP steps against scripted loopback servers (the TLS part is
 * covered against real Postfix and nginx in t/tlsverify.t).
 */
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "error.h"
#include "probe.h"
#include "smtpio.h"

/* test_parse_target - HOST, HOST:PORT, [V6]:PORT and garbage */
static void test_parse_target(void)
{
    static const struct {
        const char *in;
        const char *host;
        int port;
    } good[] = {
        {"127.0.0.1", "127.0.0.1", 25},
        {"127.0.0.1:2525", "127.0.0.1", 2525},
        {"mx.example.org:465", "mx.example.org", 465},
        {"[::1]:587", "::1", 587},
        {"[::1]", "::1", 25},
        {"::1", "::1", 25},
    };
    static const char *const bad[] = {
        "", ":25", "host:", "host:0", "host:65536", "host:2x", "[::1", "[]:25",
        "[::1]x", "a b", "a;b:25", "host/x",
    };

    for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *host = NULL;
        int port = 0;

        g_assert_true(seg_probe_parse_target(good[i].in, 25, &host, &port, &err));
        g_assert_no_error(err);
        g_assert_cmpstr(host, ==, good[i].host);
        g_assert_cmpint(port, ==, good[i].port);
    }
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        char *host = NULL;
        int port = 0;

        g_assert_false(seg_probe_parse_target(bad[i], 25, &host, &port, &err));
        g_assert_error(err, SEG_ERROR, SEG_ERROR_INVALID);
        g_assert_null(host);
    }
}

/* reply_of - feed text to the reply reader; the code or -1 and the error */
static int reply_of(const char *text, GPtrArray *lines, char **message)
{
    int sv[2], code = -1;
    g_autoptr(GError) err = NULL;
    g_autoptr(seg_smtpio) io = NULL;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    g_assert_cmpint(write(sv[1], text, strlen(text)), ==, (ssize_t) strlen(text));
    close(sv[1]);
    io = seg_smtpio_new(sv[0], 2);
    if (!seg_smtpio_reply(io, &code, lines, &err)) {
        code = -1;
        *message = g_strdup(err->message);
    }
    close(sv[0]);
    return code;
}

/* test_reply - multi-line replies, mixed codes, garbage, EOF */
static void test_reply(void)
{
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;

    g_assert_cmpint(reply_of("250-mta.test.local\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
                             lines, &m1), ==, 250);
    g_assert_cmpuint(lines->len, ==, 3);
    g_assert_cmpstr(lines->pdata[2], ==, "STARTTLS");
    g_assert_null(m1);
    g_assert_cmpint(reply_of("220\n", NULL, &m1), ==, 220);
    g_assert_cmpint(reply_of("250-a\r\n354 b\r\n", NULL, &m1), ==, -1);
    g_assert_cmpstr(m1, ==, "reply codes 250 and 354 mixed in one reply");
    g_assert_cmpint(reply_of("HTTP/1.1 400 Bad\r\n", NULL, &m2), ==, -1);
    g_assert_cmpstr(m2, ==, "malformed reply line \"HTTP/1.1 400 Bad\"");
    g_assert_cmpint(reply_of("250-a\r\n", NULL, &m3), ==, -1);
    g_assert_cmpstr(m3, ==, "connection closed by the server");
    g_assert_cmpint(reply_of("25", NULL, &m4), ==, -1);
    g_assert_cmpstr(m4, ==, "connection closed by the server");
}

/* A scripted server: one connection, answers each line read in turn. */
typedef struct script {
    int         lfd;
    int         port;
    const char *const *says;    /* first the banner, then one per command */
    gboolean    hold;           /* then keep reading until the client closes */
} script;

/* serve - accept one connection and play the script */
static gpointer serve(gpointer data)
{
    script *s = data;
    int fd = accept(s->lfd, NULL, NULL);
    char buf[512];

    if (fd < 0)
        return NULL;
    for (const char *const *say = s->says; *say; say++) {
        if (say != s->says && read(fd, buf, sizeof(buf)) <= 0)
            break;
        if (write(fd, *say, strlen(*say)) < 0)
            break;
    }
    /* let the client finish (QUIT) before closing */
    while (read(fd, buf, sizeof(buf)) > 0 && s->hold)
        ;
    close(fd);
    return NULL;
}

/* script_start - a listening socket on 127.0.0.1 and its thread */
static GThread *script_start(script *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    g_assert_cmpint(bind(s->lfd, (struct sockaddr *) &a, sizeof(a)), ==, 0);
    g_assert_cmpint(listen(s->lfd, 1), ==, 0);
    g_assert_cmpint(getsockname(s->lfd, (struct sockaddr *) &a, &len), ==, 0);
    s->port = ntohs(a.sin_port);
    return g_thread_new("script", serve, s);
}

/* probe_script - one SMTP probe at TLS 1.2 against a script */
static seg_probe_result *probe_script(const char *const *says, gboolean hold)
{
    script s = {.says = says, .hold = hold};
    GThread *t = script_start(&s);
    seg_probe_opts o = {.host = "127.0.0.1", .port = s.port, .kind = SEG_PROBE_SMTP,
                        .timeout = hold ? 0.5 : 2};
    seg_probe_result *r = seg_probe_version(&o, SEG_TLS_V12);

    g_thread_join(t);
    close(s.lfd);
    return r;
}

/* test_smtp_steps - no STARTTLS, a refusing banner, a refused STARTTLS */
static void test_smtp_steps(void)
{
    static const char *const no_tls[] = {
        "220 mx ESMTP\r\n", "250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
        "221 bye\r\n", NULL};
    static const char *const busy[] = {"554 5.3.2 go away\r\n", NULL};
    static const char *const refused[] = {
        "220 mx ESMTP\r\n", "250-mx\r\n250 STARTTLS\r\n",
        "454 4.7.0 TLS not available due to local problem\r\n", NULL};
    static const char *const hangup[] = {
        "220 mx ESMTP\r\n", "250-mx\r\n250 starttls\r\n", "220 2.0.0 Ready to start TLS\r\n",
        NULL};
    seg_probe_result *r;

    r = probe_script(no_tls, FALSE);
    g_assert_cmpint(r->status, ==, SEG_PROBE_NO_STARTTLS);
    g_assert_cmpstr(r->failure, ==, "STARTTLS not offered");
    g_assert_false(r->negotiated);
    seg_probe_result_free(r);

    r = probe_script(busy, FALSE);
    g_assert_cmpint(r->status, ==, SEG_PROBE_SMTP_FAILED);
    g_assert_cmpstr(r->failure, ==, "banner: server said 554 5.3.2 go away");
    seg_probe_result_free(r);

    r = probe_script(refused, FALSE);
    g_assert_cmpint(r->status, ==, SEG_PROBE_SMTP_FAILED);
    g_assert_cmpstr(r->failure, ==,
                    "STARTTLS: server said 454 4.7.0 TLS not available due to local problem");
    seg_probe_result_free(r);

    /* the server closes instead of shaking hands */
    r = probe_script(hangup, FALSE);
    g_assert_cmpint(r->status, ==, SEG_PROBE_REFUSED);
    g_assert_cmpstr(r->protocol, ==, NULL);
    g_assert_cmpstr(r->failure, ==, "handshake: error:0A000126:SSL routines::unexpected eof while reading");
    g_assert_cmpuint(r->ssl_error, ==, 0x0A000126);
    seg_probe_result_free(r);

    /* the server never answers the ClientHello */
    r = probe_script(hangup, TRUE);
    g_assert_cmpint(r->status, ==, SEG_PROBE_REFUSED);
    g_assert_cmpstr(r->failure, ==, "handshake: timed out");
    g_assert_null(r->ssl_error_text);
    seg_probe_result_free(r);
}

/* test_unreachable - a closed port */
static void test_unreachable(void)
{
    script s = {0};
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    seg_probe_result *res[SEG_TLS_NVERS];
    g_autofree char *want = NULL, *tuple = NULL;

    /* a port that was just free */
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s.lfd = socket(AF_INET, SOCK_STREAM, 0);
    g_assert_cmpint(bind(s.lfd, (struct sockaddr *) &a, sizeof(a)), ==, 0);
    g_assert_cmpint(getsockname(s.lfd, (struct sockaddr *) &a, &len), ==, 0);
    close(s.lfd);

    seg_probe_opts o = {.host = "127.0.0.1", .port = ntohs(a.sin_port),
                        .kind = SEG_PROBE_TLS, .timeout = 1};

    g_assert_cmpuint(seg_probe_all(&o, res), ==, 0);
    want = g_strdup_printf("connect to 127.0.0.1:%d: Connection refused", o.port);
    for (int i = 0; i < SEG_TLS_NVERS; i++) {
        g_assert_cmpuint(res[i]->version, ==, seg_tlsver_table[i].bit);
        g_assert_cmpint(res[i]->status, ==, SEG_PROBE_UNREACHABLE);
        g_assert_cmpstr(res[i]->failure, ==, want);
        g_assert_cmpstr(seg_probe_status_name(res[i]->status), ==, "unreachable");
    }
    tuple = seg_probe_error_tuple(res[0]);
    g_assert_true(g_str_has_prefix(tuple, "(0, 'connect to 127.0.0.1:"));
    for (int i = 0; i < SEG_TLS_NVERS; i++)
        seg_probe_result_free(res[i]);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/probe/parse_target", test_parse_target);
    g_test_add_func("/probe/reply", test_reply);
    g_test_add_func("/probe/smtp_steps", test_smtp_steps);
    g_test_add_func("/probe/unreachable", test_unreachable);
    return g_test_run();
}
