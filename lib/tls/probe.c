/*
 * probe - one real TLS handshake per attempt against a running server.
 *
 * seg_probe_version() connects (smtpio.c), for SMTP walks banner, EHLO and
 * STARTTLS, then runs SSL_connect with the client pinned to one version
 * and offering everything, and records what the server chose or the
 * OpenSSL error it caused; an SMTP server in wrapper mode then sends its
 * banner over TLS, which is read before anything else is said.
 * seg_probe_renegotiate() adds a client-initiated renegotiation after the
 * handshake (and after that banner: a server that has data on its way
 * cannot answer a renegotiation in the middle of it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cipherstr.h"
#include "error.h"
#include "probe.h"
#include "smtpio.h"
#include "tlserr.h"

#define PROBE_CIPHERS   "ALL:@SECLEVEL=0"
#define PROBE_SUITES    SEG_TLS13_SUITES ":TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256"
#define PROBE_HELO      "segtls-probe.invalid"

/* One row per status: its name in listings and JSON. */
static const char *const status_names[] = {
    [SEG_PROBE_NEGOTIATED] = "negotiated",
    [SEG_PROBE_REFUSED] = "refused",
    [SEG_PROBE_SMTP_FAILED] = "failed",
    [SEG_PROBE_NO_STARTTLS] = "no-starttls",
    [SEG_PROBE_UNREACHABLE] = "unreachable",
    [SEG_PROBE_ERROR] = "error",
};

/* seg_probe_status_name - the name of a status */
const char *seg_probe_status_name(seg_probe_status st)
{
    return (unsigned) st < G_N_ELEMENTS(status_names) ? status_names[st] : "?";
}

/* Per attempt state. */
typedef struct probe {
    const seg_probe_opts *o;
    seg_probe_result *r;
    int         fd;
    seg_smtpio *io;
    SSL_CTX    *ctx;
    SSL        *ssl;
} probe;

/* timeout - the effective timeout in seconds */
static double timeout(const seg_probe_opts *o)
{
    return o->timeout > 0 ? o->timeout : SEG_PROBE_DEFAULT_TIMEOUT;
}

/* fail - set the status and the failure line */
static void G_GNUC_PRINTF(3, 4) fail(probe *p, seg_probe_status st, const char *fmt, ...)
{
    va_list ap;

    p->r->status = st;
    g_free(p->r->failure);
    va_start(ap, fmt);
    p->r->failure = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

/* take_ssl_error - the OpenSSL error (tlserr.h: the last queued) or the cause into the result */
static void take_ssl_error(probe *p, int ret, const char *step)
{
    int saved = errno;
    int se = p->ssl ? SSL_get_error(p->ssl, ret) : SSL_ERROR_SSL;
    char buf[SEG_TLSERR_TEXT_MAX];
    unsigned long e = seg_tlserr_read(buf, sizeof(buf), 0);

    if (e) {
        p->r->ssl_error = e;
        g_free(p->r->ssl_error_text);
        p->r->ssl_error_text = g_strdup(buf);
        fail(p, SEG_PROBE_REFUSED, "%s: %s", step, buf);
    } else if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE
               || (se == SSL_ERROR_SYSCALL && (saved == EAGAIN || saved == EWOULDBLOCK))) {
        /* SO_RCVTIMEO / SO_SNDTIMEO expired */
        fail(p, SEG_PROBE_REFUSED, "%s: timed out", step);
    } else if (se == SSL_ERROR_SYSCALL && saved) {
        fail(p, SEG_PROBE_REFUSED, "%s: %s", step, g_strerror(saved));
    } else {
        fail(p, SEG_PROBE_REFUSED, "%s: connection closed by the server", step);
    }
}

/* smtp_step - send cmd (unless NULL), read the reply, expect code */
static gboolean smtp_step(probe *p, const char *cmd, int want, GPtrArray *lines)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) own = g_ptr_array_new_with_free_func(g_free);
    const char *what = cmd ? cmd : "banner";
    int code = 0;

    if (!lines)
        lines = own;
    if ((cmd && !seg_smtpio_command(p->io, cmd, &err))
        || !seg_smtpio_reply(p->io, &code, lines, &err)) {
        fail(p, SEG_PROBE_SMTP_FAILED, "%s: %s", what, err->message);
        return FALSE;
    }
    if (code != want) {
        fail(p, SEG_PROBE_SMTP_FAILED, "%s: server said %d %s", what, code,
             lines->len ? (char *) lines->pdata[lines->len - 1] : "");
        return FALSE;
    }
    return TRUE;
}

/* offers_starttls - is STARTTLS one of the EHLO keywords? */
static gboolean offers_starttls(GPtrArray *lines)
{
    /* the first line is the greeting, the rest are extensions */
    for (guint i = 1; i < lines->len; i++) {
        const char *l = lines->pdata[i];
        gsize n = strcspn(l, " ");

        if (n == 8 && g_ascii_strncasecmp(l, "STARTTLS", 8) == 0)
            return TRUE;
    }
    return FALSE;
}

/* smtp_quit_plain - QUIT before TLS, reply read but not required */
static void smtp_quit_plain(probe *p)
{
    int code;

    if (seg_smtpio_command(p->io, "QUIT", NULL))
        (void) seg_smtpio_reply(p->io, &code, NULL, NULL);
}

/* smtp_starttls - banner, EHLO, STARTTLS; TRUE when TLS may start */
static gboolean smtp_starttls(probe *p)
{
    g_autoptr(GPtrArray) ehlo = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *cmd = g_strconcat("EHLO ", p->o->helo ? p->o->helo : PROBE_HELO, NULL);

    if (!smtp_step(p, NULL, 220, NULL) || !smtp_step(p, cmd, 250, ehlo))
        return FALSE;
    if (!offers_starttls(ehlo)) {
        fail(p, SEG_PROBE_NO_STARTTLS, "STARTTLS not offered");
        smtp_quit_plain(p);
        return FALSE;
    }
    if (!smtp_step(p, "STARTTLS", 220, NULL))
        return FALSE;
    if (seg_smtpio_pending(p->io)) {
        fail(p, SEG_PROBE_SMTP_FAILED, "STARTTLS: data after the 220 reply");
        return FALSE;
    }
    return TRUE;
}

/* make_ctx - the client context pinned to one version */
static gboolean make_ctx(probe *p, const seg_tlsver *v)
{
    const seg_probe_opts *o = p->o;
    const char *ciphers = o->ciphers ? o->ciphers : PROBE_CIPHERS;
    char buf[SEG_TLSERR_TEXT_MAX];

    if (!(p->ctx = SSL_CTX_new(TLS_client_method())))
        goto ossl;
    SSL_CTX_set_security_level(p->ctx, 0);
    SSL_CTX_set_options(p->ctx, SSL_OP_LEGACY_SERVER_CONNECT);
    if (!SSL_CTX_set_min_proto_version(p->ctx, v->ossl_version)
        || !SSL_CTX_set_max_proto_version(p->ctx, v->ossl_version))
        goto ossl;
    if (!SSL_CTX_set_cipher_list(p->ctx, ciphers)) {
        fail(p, SEG_PROBE_ERROR, "OpenSSL accepts no cipher in \"%s\"", ciphers);
        ERR_clear_error();
        return FALSE;
    }
    if (!SSL_CTX_set_ciphersuites(p->ctx, PROBE_SUITES))
        goto ossl;
    if (o->ca_file && !SSL_CTX_load_verify_locations(p->ctx, o->ca_file, NULL)) {
        seg_tlserr_read(buf, sizeof(buf), 0);
        fail(p, SEG_PROBE_ERROR, "cannot load CA file %s: %s", o->ca_file, buf);
        return FALSE;
    }
    if (o->verify && !o->ca_file && !SSL_CTX_set_default_verify_paths(p->ctx))
        goto ossl;
    SSL_CTX_set_verify(p->ctx, SSL_VERIFY_NONE, NULL);
    return TRUE;

ossl:
    seg_tlserr_read(buf, sizeof(buf), 0);
    fail(p, SEG_PROBE_ERROR, "OpenSSL client setup: %s", buf);
    return FALSE;
}

/* is_address - a literal IPv4/IPv6 address (no SNI, IP match) */
static gboolean is_address(const char *name)
{
    unsigned char a[16];

    return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

/* check_peer - chain and name of the peer certificate */
static void check_peer(probe *p)
{
    const seg_probe_opts *o = p->o;
    seg_probe_result *r = p->r;
    X509 *cert = SSL_get1_peer_certificate(p->ssl);

    if (cert) {
        char *s = X509_NAME_oneline(X509_get_subject_name(cert), NULL, 0);

        r->peer_subject = g_strdup(s);
        OPENSSL_free(s);
    }
    if (o->verify || o->ca_file) {
        r->cert_checked = TRUE;
        r->cert_verify = cert ? SSL_get_verify_result(p->ssl)
                              : X509_V_ERR_UNSPECIFIED;
        r->cert_ok = cert && r->cert_verify == X509_V_OK;
        r->cert_verify_text = g_strdup(cert ? X509_verify_cert_error_string(r->cert_verify)
                                            : "no peer certificate");
    }
    if (o->verify_name) {
        r->name_checked = TRUE;
        if (cert && is_address(o->verify_name))
            r->name_ok = X509_check_ip_asc(cert, o->verify_name, 0) == 1;
        else if (cert)
            r->name_ok = X509_check_host(cert, o->verify_name, 0, 0, NULL) == 1;
    }
    X509_free(cert);
}

/* tls_reply - read one SMTP reply over TLS (the last line's code, or 0) */
static int tls_reply(probe *p)
{
    GString *got = g_string_new(NULL);
    char buf[512];
    const char *last;
    int n, code = 0;

    /* until a line "NNN " (or "NNN" alone) ends, the server closes or times out */
    while (got->len < 4096 && (n = SSL_read(p->ssl, buf, sizeof(buf))) > 0) {
        g_string_append_len(got, buf, n);
        if (got->str[got->len - 1] != '\n')
            continue;
        g_string_truncate(got, got->len - 1);
        last = strrchr(got->str, '\n');
        last = last ? last + 1 : got->str;
        g_string_append_c(got, '\n');
        if (strlen(last) >= 3 && last[3] != '-') {
            code = atoi(last);
            break;
        }
    }
    g_string_free(got, TRUE);
    ERR_clear_error();
    return code;
}

/* is_smtp - an SMTP server, STARTTLS or wrapper mode */
static gboolean is_smtp(const probe *p)
{
    return p->o->kind == SEG_PROBE_SMTP || p->o->kind == SEG_PROBE_SMTPS;
}

/* handshake - SSL_connect on the connected fd */
static gboolean handshake(probe *p, const seg_tlsver *v)
{
    const char *sni = p->o->sni;
    int ret;

    if (!make_ctx(p, v))
        return FALSE;
    if (!(p->ssl = SSL_new(p->ctx)) || !SSL_set_fd(p->ssl, p->fd)) {
        take_ssl_error(p, 0, "SSL_new");
        p->r->status = SEG_PROBE_ERROR;
        return FALSE;
    }
    if (sni && *sni && !is_address(sni))
        SSL_set_tlsext_host_name(p->ssl, sni);
    ERR_clear_error();
    errno = 0;
    if ((ret = SSL_connect(p->ssl)) != 1) {
        take_ssl_error(p, ret, "handshake");
        return FALSE;
    }
    p->r->status = SEG_PROBE_NEGOTIATED;
    p->r->negotiated = TRUE;
    p->r->protocol = g_strdup(SSL_get_version(p->ssl));
    p->r->cipher = g_strdup(SSL_CIPHER_get_name(SSL_get_current_cipher(p->ssl)));
    check_peer(p);
    /* wrapper mode: the banner comes now; what it says does not undo the handshake */
    if (p->o->kind == SEG_PROBE_SMTPS)
        (void) tls_reply(p);
    return TRUE;
}

/* close_tls - QUIT over TLS for SMTP, then close_notify */
static void close_tls(probe *p)
{
    if (is_smtp(p) && SSL_write(p->ssl, "QUIT\r\n", 6) == 6)
        (void) tls_reply(p);
    (void) SSL_shutdown(p->ssl);
    ERR_clear_error();
}

/* connect_and_start - TCP connect and, for SMTP, the plaintext part */
static gboolean connect_and_start(probe *p)
{
    g_autoptr(GError) err = NULL;

    p->fd = seg_tcp_connect(p->o->host, p->o->port, timeout(p->o), &err);
    if (p->fd < 0) {
        fail(p, SEG_PROBE_UNREACHABLE, "%s", err->message);
        return FALSE;
    }
    p->io = seg_smtpio_new(p->fd, timeout(p->o));
    return p->o->kind != SEG_PROBE_SMTP || smtp_starttls(p);
}

/* probe_done - free the attempt state (not the result) */
static void probe_done(probe *p)
{
    if (p->ssl)
        SSL_free(p->ssl);
    if (p->ctx)
        SSL_CTX_free(p->ctx);
    if (p->io)
        seg_smtpio_free(p->io);
    if (p->fd >= 0)
        close(p->fd);
    ERR_clear_error();
}

/* probe_init - start an attempt for one version */
static const seg_tlsver *probe_init(probe *p, const seg_probe_opts *o, unsigned version)
{
    const seg_tlsver *v = seg_tlsver_by_bit(version);

    memset(p, 0, sizeof(*p));
    p->o = o;
    p->fd = -1;
    p->r = g_new0(seg_probe_result, 1);
    p->r->version = version;
    if (!v)
        fail(p, SEG_PROBE_ERROR, "no such TLS version bit %#x", version);
    return v;
}

/* seg_probe_version - one attempt pinned to one version */
seg_probe_result *seg_probe_version(const seg_probe_opts *o, unsigned version)
{
    probe p;
    const seg_tlsver *v = probe_init(&p, o, version);

    if (v && connect_and_start(&p) && handshake(&p, v))
        close_tls(&p);
    probe_done(&p);
    return p.r;
}

/* seg_probe_all - every version, oldest first */
unsigned seg_probe_all(const seg_probe_opts *o, seg_probe_result *res[SEG_TLS_NVERS])
{
    unsigned mask = 0;

    for (int i = 0; i < SEG_TLS_NVERS; i++) {
        res[i] = seg_probe_version(o, seg_tlsver_table[i].bit);
        if (res[i]->negotiated)
            mask |= seg_tlsver_table[i].bit;
    }
    return mask;
}

/* seg_probe_renegotiate - handshake, then a client renegotiation */
seg_probe_result *seg_probe_renegotiate(const seg_probe_opts *o, unsigned version,
                                        gboolean *allowed)
{
    probe p;
    const seg_tlsver *v = probe_init(&p, o, version);
    int ret;

    *allowed = FALSE;
    if (v && connect_and_start(&p) && handshake(&p, v)) {
        if (v->ossl_version >= TLS1_3_VERSION) {
            p.r->failure = g_strdup("renegotiation: TLS v1.3 has none");
        } else if (!SSL_renegotiate(p.ssl)) {
            take_ssl_error(&p, 0, "renegotiation");
        } else {
            ERR_clear_error();
            errno = 0;
            if ((ret = SSL_do_handshake(p.ssl)) == 1) {
                *allowed = TRUE;
                close_tls(&p);
            } else {
                take_ssl_error(&p, ret, "renegotiation");
                /* the first handshake did succeed */
                p.r->status = SEG_PROBE_NEGOTIATED;
            }
        }
    }
    probe_done(&p);
    return p.r;
}

/* seg_probe_result_free - free a result */
void seg_probe_result_free(seg_probe_result *r)
{
    if (!r)
        return;
    g_free(r->protocol);
    g_free(r->cipher);
    g_free(r->ssl_error_text);
    g_free(r->failure);
    g_free(r->cert_verify_text);
    g_free(r->peer_subject);
    g_free(r);
}

/* seg_probe_error_tuple - the records' "(code, 'text')" */
char *seg_probe_error_tuple(const seg_probe_result *r)
{
    if (r->ssl_error_text)
        return g_strdup_printf("(%lu, '%s')", r->ssl_error, r->ssl_error_text);
    return g_strdup_printf("(0, '%s')", r->failure ? r->failure : "");
}

/* seg_probe_parse_target - "host[:port]" / "[v6][:port]" */
gboolean seg_probe_parse_target(const char *target, int default_port,
                                char **host, int *port, GError **error)
{
    g_autofree char *h = NULL;
    const char *ps = NULL;
    gint64 n;

    if (!target || !*target)
        goto bad;
    if (target[0] == '[') {
        const char *end = strchr(target, ']');

        if (!end || end == target + 1 || (end[1] && end[1] != ':'))
            goto bad;
        h = g_strndup(target + 1, (gsize) (end - target - 1));
        ps = end[1] ? end + 2 : NULL;
    } else {
        const char *c = strchr(target, ':');

        if (c && strchr(c + 1, ':')) {  /* bare IPv6 address */
            h = g_strdup(target);
        } else {
            h = c ? g_strndup(target, (gsize) (c - target)) : g_strdup(target);
            ps = c ? c + 1 : NULL;
        }
    }
    for (const char *s = h; *s; s++)
        if (!g_ascii_isalnum(*s) && !strchr(".-_:", *s))
            goto bad;
    if (!*h)
        goto bad;
    *port = default_port;
    if (ps) {
        if (!g_ascii_string_to_signed(ps, 10, 1, 65535, &n, NULL))
            goto bad;
        *port = (int) n;
    }
    *host = g_steal_pointer(&h);
    return TRUE;

bad:
    g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                "\"%s\" is not HOST or HOST:PORT", target ? target : "");
    return FALSE;
}
