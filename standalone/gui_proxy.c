/*
 * gui_proxy - GUI HTTPS of segtls-standalone in front of the web UI.
 *
 * With --gui-proxy PATH, every request that arrives on GUI HTTPS (TLS
 * from the first byte, under the gui.* settings, recorded by https.c) is
 * handed to the web UI and REST API of segtls-policyd on its UNIX socket,
 * as nginx does with proxy_pass: the request header is parsed by libsoup
 * (soup_headers_parse_request), hop-by-hop headers and whatever the
 * client claims in X-Real-IP / X-Forwarded-* are dropped, the client's
 * address, "X-Forwarded-Proto: https" and "Connection: close" are added,
 * and from then on the bytes flow both ways unchanged (the body, then
 * the answer) until the web UI closes. One request per connection.
 *
 * Both sides are sa_conns: while one side has SA_OUT_MAX bytes queued
 * for its peer, the other stops reading.
 *
 * libsoup is loaded (GModule) only when --gui-proxy is given: linked, it
 * and the libraries it pulls in (SQLite, Kerberos, nghttp2, brotli,
 * libpsl...) cost every segtls-standalone about 1.5 MB resident, proxy
 * or not.
 */
#include <string.h>
#include <sys/un.h>

#include <gmodule.h>
#include <libsoup/soup.h>

#include "error.h"
#include "msg.h"
#include "standalone.h"

#define PROXY_TIMEOUT   300     /* seconds: a commit answers after its apply */
#define SOUP_LIBRARY    "libsoup-3.0.so.0"

/* the libsoup functions used, from sa_gui_proxy_init() */
static struct soup_fns {
    SoupMessageHeaders *(*headers_new)(SoupMessageHeadersType type);
    guint   (*parse_request)(const char *str, int len, SoupMessageHeaders *req_headers,
                             char **method, char **path, SoupHTTPVersion *ver);
    void    (*headers_foreach)(SoupMessageHeaders *hdrs, SoupMessageHeadersForeachFunc func,
                               gpointer user_data);
    void    (*headers_unref)(SoupMessageHeaders *hdrs);
} soup;

typedef struct proxy {
    sa_conn    *client;         /* TLS side, NULL once closed */
    sa_conn    *up;             /* web UI side, NULL once closed */
    gboolean    header_done;    /* the request header went up */
} proxy;

/* Headers never passed on: hop-by-hop, and what only we may say. */
static const char *const dropped[] = {
    "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization",
    "TE", "Trailer", "Upgrade", "X-Real-IP", "X-Forwarded-For",
    "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded",
};

static void client_input(sa_conn *c);
static void client_drain(sa_conn *c);
static void client_timeout(sa_conn *c);
static void client_closed(sa_conn *c);
static void up_input(sa_conn *c);
static void up_drain(sa_conn *c);
static void up_connected(sa_conn *c, int err);
static void up_closed(sa_conn *c);

static const sa_conn_ops client_ops = {
    .input = client_input,
    .drain = client_drain,
    .timeout = client_timeout,
    .closed = client_closed,
};

static const sa_conn_ops up_ops = {
    .input = up_input,
    .drain = up_drain,
    .connected = up_connected,
    .timeout = client_timeout,
    .closed = up_closed,
};

/* proxy_maybe_free - once both sides are gone */
static void proxy_maybe_free(proxy *p)
{
    if (p->client == NULL && p->up == NULL)
        g_free(p);
}

/* reply - a short error answer to the client, then close */
static void reply(proxy *p, int code, const char *reason)
{
    sa_conn_printf(p->client, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
                   code, reason, strlen(reason) + 1, reason);
    sa_conn_close(p->client, TRUE);
}

/* relay - move what one side read to the other, pausing the reader when full */
static void relay(sa_conn *from, sa_conn *to)
{
    if (to == NULL) {
        sa_conn_consume(from, from->in->len);
        return;
    }
    sa_conn_write(to, from->in->data, from->in->len);
    sa_conn_consume(from, from->in->len);
    if (to->out->len >= SA_OUT_MAX)
        from->paused = 1;
    sa_conn_pump(to);
}

/* keep_header - pass one request header on, unless it is ours to say */
static void keep_header(const char *name, const char *value, gpointer data)
{
    GString *out = data;

    for (gsize i = 0; i < G_N_ELEMENTS(dropped); i++)
        if (g_ascii_strcasecmp(name, dropped[i]) == 0)
            return;
    for (const char *s = value; *s; s++)
        if ((unsigned char) *s < 0x20 && *s != '\t')
            return;
    g_string_append_printf(out, "%s: %s\r\n", name, value);
}

/* header_end - length of the header with its blank line, 0 while incomplete */
static gsize header_end(const guint8 *data, gsize len, gsize *text_len)
{
    for (gsize i = 0; i + 1 < len; i++) {
        if (data[i] != '\n')
            continue;
        if (data[i + 1] == '\n') {
            *text_len = i + 1;
            return i + 2;
        }
        if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n') {
            *text_len = i + 1;
            return i + 3;
        }
    }
    return 0;
}

/* connect_up - a connection to the web UI's socket, the header queued */
static gboolean connect_up(proxy *p, GString *header)
{
    g_autoptr(GError) err = NULL;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};

    if (strlen(sa.opt.gui_proxy) >= sizeof(sun.sun_path))
        return FALSE;
    g_strlcpy(sun.sun_path, sa.opt.gui_proxy, sizeof(sun.sun_path));
    p->up = sa_conn_connect((struct sockaddr *) &sun, sizeof(sun), &up_ops, p, &err);
    if (p->up == NULL) {
        msg_warn("GUI HTTPS: cannot reach the web UI at %s: %s", sa.opt.gui_proxy,
                 err->message);
        return FALSE;
    }
    sa_conn_write(p->up, header->str, header->len);
    sa_conn_timeout(p->up, PROXY_TIMEOUT);
    return TRUE;
}

/* send_header - parse the client's request header, send ours up */
static void send_header(proxy *p)
{
    sa_conn *c = p->client;
    SoupMessageHeaders *h;
    g_autofree char *method = NULL;
    g_autofree char *path = NULL;
    g_autoptr(GString) out = NULL;
    SoupHTTPVersion ver;
    gsize   text_len = 0;
    gsize   end = header_end(c->in->data, c->in->len, &text_len);
    guint   status;

    if (end > SA_REQ_MAX || (end == 0 && c->in->len >= SA_REQ_MAX)) {
        reply(p, 431, "Request Header Fields Too Large");
        return;
    }
    if (end == 0) {
        if (c->eof)
            sa_conn_close(c, FALSE);
        return;
    }
    h = soup.headers_new(SOUP_MESSAGE_HEADERS_REQUEST);
    status = soup.parse_request((const char *) c->in->data, (int) text_len, h, &method, &path,
                                &ver);
    if (status != SOUP_STATUS_OK || path == NULL || path[0] != '/') {
        soup.headers_unref(h);
        reply(p, 400, "Bad Request");
        return;
    }
    out = g_string_new(NULL);
    g_string_append_printf(out, "%s %s HTTP/1.%d\r\n", method, path,
                           ver == SOUP_HTTP_1_0 ? 0 : 1);
    soup.headers_foreach(h, keep_header, out);
    soup.headers_unref(h);
    g_string_append_printf(out, "X-Real-IP: %s\r\nX-Forwarded-Proto: https\r\n"
                           "Connection: close\r\n\r\n", c->peer_ip);
    sa_conn_consume(c, end);
    if (!connect_up(p, out)) {
        reply(p, 502, "Bad Gateway: the web UI does not answer");
        return;
    }
    p->header_done = TRUE;
    sa_conn_timeout(c, PROXY_TIMEOUT);
}

/* client_input - the request header, then the body as it comes */
static void client_input(sa_conn *c)
{
    proxy  *p = c->ctx;

    if (!p->header_done) {
        send_header(p);
        if (!p->header_done)
            return;
    }
    if (c->in->len > 0)
        relay(c, p->up);
}

/* client_drain - the client took the answer so far: read the web UI again */
static void client_drain(sa_conn *c)
{
    proxy  *p = c->ctx;

    if (p->up != NULL && p->up->paused) {
        p->up->paused = 0;
        sa_conn_pump(p->up);
    }
}

/* client_timeout - either side was silent too long */
static void client_timeout(sa_conn *c)
{
    proxy  *p = c->ctx;

    if (p->client != NULL && !p->header_done && p->client->out->len == 0)
        reply(p, 408, "Request Timeout");
    else if (p->client != NULL)
        sa_conn_close(p->client, FALSE);
    if (p->up != NULL)
        sa_conn_close(p->up, FALSE);
}

/*
 * client_closed - the client is gone: so is the web UI side. When there
 * is one, its end frees the proxy (up_closed), perhaps inside this pump:
 * p is not touched after it.
 */
static void client_closed(sa_conn *c)
{
    proxy  *p = c->ctx;
    sa_conn *up = p->up;

    p->client = NULL;
    if (up == NULL) {
        proxy_maybe_free(p);
        return;
    }
    sa_conn_close(up, FALSE);
    sa_conn_pump(up);
}

/* up_input - the answer, passed to the client; EOF: close after it */
static void up_input(sa_conn *c)
{
    proxy  *p = c->ctx;

    if (c->in->len > 0)
        relay(c, p->client);
    if (c->eof && p->client != NULL) {
        sa_conn_close(p->client, TRUE);
        sa_conn_pump(p->client);
    }
}

/* up_drain - the web UI took the body so far: read the client again */
static void up_drain(sa_conn *c)
{
    proxy  *p = c->ctx;

    if (p->client != NULL && p->client->paused) {
        p->client->paused = 0;
        sa_conn_pump(p->client);
    }
}

/* up_connected - the web UI's socket answered, or not */
static void up_connected(sa_conn *c, int err)
{
    proxy  *p = c->ctx;

    if (err == 0)
        return;
    msg_warn("GUI HTTPS: cannot reach the web UI at %s: %s", sa.opt.gui_proxy,
             g_strerror(err));
    if (p->client != NULL) {
        reply(p, 502, "Bad Gateway: the web UI does not answer");
        sa_conn_pump(p->client);
    }
}

/*
 * up_closed - the web UI side is gone. When the client is still there,
 * its end frees the proxy (client_closed), perhaps inside this pump: p
 * is not touched after it.
 */
static void up_closed(sa_conn *c)
{
    proxy  *p = c->ctx;
    sa_conn *client = p->client;

    p->up = NULL;
    if (client == NULL) {
        proxy_maybe_free(p);
        return;
    }
    if (!client->closing) {
        sa_conn_close(client, TRUE);
        sa_conn_pump(client);
    }
}

/* sa_gui_proxy_init - load libsoup (once); FALSE with error when it cannot be */
gboolean sa_gui_proxy_init(GError **error)
{
    static const struct {
        const char *name;
        gsize       offset;
    } syms[] = {
        {"soup_message_headers_new", G_STRUCT_OFFSET(struct soup_fns, headers_new)},
        {"soup_headers_parse_request", G_STRUCT_OFFSET(struct soup_fns, parse_request)},
        {"soup_message_headers_foreach", G_STRUCT_OFFSET(struct soup_fns, headers_foreach)},
        {"soup_message_headers_unref", G_STRUCT_OFFSET(struct soup_fns, headers_unref)},
    };
    GModule *m;

    if (soup.headers_new != NULL)
        return TRUE;
    if ((m = g_module_open(SOUP_LIBRARY, G_MODULE_BIND_LOCAL)) == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "cannot load %s: %s", SOUP_LIBRARY,
                    g_module_error());
        return FALSE;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(syms); i++) {
        gpointer *slot = G_STRUCT_MEMBER_P(&soup, syms[i].offset);

        if (!g_module_symbol(m, syms[i].name, slot) || *slot == NULL) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s: no %s", SOUP_LIBRARY, syms[i].name);
            memset(&soup, 0, sizeof(soup));
            g_module_close(m);
            return FALSE;
        }
    }
    g_module_make_resident(m);
    return TRUE;
}

/*
 * sa_gui_proxy_take - a GUI HTTPS connection whose TLS is up becomes a
 * proxied one (its https.c request state, a plain g_new0, is freed)
 */
void sa_gui_proxy_take(sa_conn *c)
{
    proxy  *p = g_new0(proxy, 1);

    g_free(c->ctx);
    p->client = c;
    c->ctx = p;
    c->ops = &client_ops;
    client_input(c);
}
