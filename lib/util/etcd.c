/*
 * etcd - a client of etcd's v3 JSON gateway (see etcd.h).
 *
 * Two libsoup sessions: one for the synchronous requests, bounded by the
 * timeout, and one without a read timeout for the watches, whose stream
 * may stay silent for as long as nothing changes. A watch answer is one
 * JSON object per line ({"result":{"header":..,"events":[..]}}), read in
 * chunks and cut at each newline. Every answer is bounded (ANSWER_MAX:
 * an answer, or a watch line, that grows past it is an error) and parsed
 * as untrusted JSON: a member of the wrong type is an error, never a
 * guess.
 */
#include <string.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "error.h"
#include "etcd.h"
#include "quote.h"

#define ANSWER_MAX      (16 * 1024 * 1024)      /* bytes of an answer or a watch line */
#define CHUNK           16384

struct seg_etcd {
    char      **endpoints;
    guint       n;
    guint       current;        /* the endpoint that answered last */
    SoupSession *session;       /* requests */
    SoupSession *watch_session; /* watches: no read timeout */
    GTlsCertificate *cert;      /* client certificate, or NULL */
};

typedef enum { OP_PUT, OP_DELETE } txn_op_kind;

typedef struct txn_op {
    txn_op_kind kind;
    char       *key;
    GBytes     *value;
} txn_op;

struct seg_etcd_txn {
    GPtrArray  *keys;           /* compared keys */
    GArray     *revisions;      /* their mod revisions */
    GArray     *ops;
};

struct seg_etcd_watch {
    gint        refs;           /* the caller's, and one per operation in flight */
    gboolean    dead;           /* freed by the caller: no more callbacks */
    gboolean    over;           /* ended was called */
    seg_etcd   *e;
    GCancellable *cancel;
    SoupMessage *msg;
    GInputStream *in;           /* the answer's body */
    GByteArray *buf;            /* read, not yet a whole line */
    seg_etcd_event_fn event;
    seg_etcd_created_fn created;
    seg_etcd_ended_fn ended;
    gpointer    data;
};

/* seg_etcd_check_endpoint - http(s)://HOST[:PORT] */
gboolean seg_etcd_check_endpoint(const char *url, GError **error)
{
    g_autoptr(GUri) uri = NULL;
    g_autofree char *q = seg_quote_value(url ? url : "");
    const char *scheme;

    if (url != NULL)
        uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
    if (uri == NULL || (scheme = g_uri_get_scheme(uri)) == NULL
        || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        || g_uri_get_host(uri) == NULL || *g_uri_get_host(uri) == 0
        || (*g_uri_get_path(uri) != 0 && strcmp(g_uri_get_path(uri), "/") != 0)
        || g_uri_get_query(uri) != NULL || g_uri_get_userinfo(uri) != NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                    "etcd endpoint %s: expected http://HOST:PORT or https://HOST:PORT", q);
        return FALSE;
    }
    return TRUE;
}

/* seg_etcd_new - check the options, make the sessions */
seg_etcd *seg_etcd_new(const seg_etcd_opts *o, GError **error)
{
    g_autoptr(GTlsDatabase) db = NULL;
    seg_etcd *e;
    guint   timeout = o->timeout ? o->timeout : SEG_ETCD_DEFAULT_TIMEOUT;

    if (o->endpoints == NULL || o->endpoints[0] == NULL) {
        g_set_error_literal(error, SEG_ERROR, SEG_ERROR_INVALID, "no etcd endpoint");
        return NULL;
    }
    for (const char *const *p = o->endpoints; *p != NULL; p++)
        if (!seg_etcd_check_endpoint(*p, error))
            return NULL;
    if ((o->cert_file == NULL) != (o->key_file == NULL)) {
        g_set_error_literal(error, SEG_ERROR, SEG_ERROR_INVALID,
                            "an etcd client certificate needs both its certificate "
                            "and its key file");
        return NULL;
    }
    if (o->ca_file != NULL && (db = g_tls_file_database_new(o->ca_file, error)) == NULL) {
        g_prefix_error(error, "etcd CA file %s: ", o->ca_file);
        return NULL;
    }
    e = g_new0(seg_etcd, 1);
    if (o->cert_file != NULL
        && (e->cert = g_tls_certificate_new_from_files(o->cert_file, o->key_file,
                                                       error)) == NULL) {
        g_prefix_error(error, "etcd client certificate %s, key %s: ", o->cert_file,
                       o->key_file);
        g_free(e);
        return NULL;
    }
    e->endpoints = g_strdupv((char **) o->endpoints);
    e->n = g_strv_length(e->endpoints);
    for (guint i = 0; i < e->n; i++)       /* "https://h:p/" -> "https://h:p" */
        if (g_str_has_suffix(e->endpoints[i], "/"))
            e->endpoints[i][strlen(e->endpoints[i]) - 1] = 0;
    e->session = soup_session_new_with_options("timeout", timeout,
                                               "user-agent", "segtls", NULL);
    e->watch_session = soup_session_new_with_options("user-agent", "segtls", NULL);
    /* etcd is reached directly, never through an HTTP proxy of the environment */
    soup_session_set_proxy_resolver(e->session, NULL);
    soup_session_set_proxy_resolver(e->watch_session, NULL);
    if (db != NULL) {
        soup_session_set_tls_database(e->session, db);
        soup_session_set_tls_database(e->watch_session, db);
    }
    return e;
}

/* seg_etcd_free - release the client */
void seg_etcd_free(seg_etcd *e)
{
    if (e == NULL)
        return;
    soup_session_abort(e->session);
    soup_session_abort(e->watch_session);
    g_object_unref(e->session);
    g_object_unref(e->watch_session);
    g_clear_object(&e->cert);
    g_strfreev(e->endpoints);
    g_free(e);
}

/* seg_etcd_endpoint - where requests go first */
const char *seg_etcd_endpoint(const seg_etcd *e)
{
    return e->endpoints[e->current];
}

/* seg_etcd_kv_free - release one key */
void seg_etcd_kv_free(seg_etcd_kv *kv)
{
    if (kv == NULL)
        return;
    g_free(kv->key);
    g_bytes_unref(kv->value);
    g_free(kv);
}

/* take_string - set a string member and free the string */
static void take_string(JsonObject *o, const char *name, char *value)
{
    json_object_set_string_member(o, name, value);
    g_free(value);
}

/* b64 - base64 of bytes */
static char *b64(const void *data, gsize len)
{
    return g_base64_encode(data, len);
}

/* b64_str - base64 of a string */
static char *b64_str(const char *s)
{
    return b64(s, strlen(s));
}

/* range_end - the key after every key that starts with prefix (base64) */
static char *range_end(const char *prefix)
{
    g_autofree char *end = g_strdup(prefix);
    gsize   n = strlen(end);

    while (n > 0 && (guchar) end[n - 1] == 0xff)
        n--;
    if (n == 0)
        return b64("\0", 1);            /* every key */
    end[n - 1] = (char) ((guchar) end[n - 1] + 1);
    return b64(end, n);
}

/* int_member - a 64-bit number that etcd sends as a string (or a number) */
static gboolean int_member(JsonObject *o, const char *name, gint64 *out)
{
    JsonNode *n = o ? json_object_get_member(o, name) : NULL;
    const char *s;
    char   *end;

    *out = 0;
    if (n == NULL)
        return TRUE;                    /* zero values are left out */
    if (!JSON_NODE_HOLDS_VALUE(n))
        return FALSE;
    if (json_node_get_value_type(n) == G_TYPE_INT64) {
        *out = json_node_get_int(n);
        return TRUE;
    }
    if (json_node_get_value_type(n) != G_TYPE_STRING)
        return FALSE;
    s = json_node_get_string(n);
    *out = g_ascii_strtoll(s, &end, 10);
    return *s != 0 && *end == 0;
}

/* object_member - a member that must be an object; NULL when absent */
static JsonObject *object_member(JsonObject *o, const char *name, gboolean *bad)
{
    JsonNode *n = json_object_get_member(o, name);

    if (n == NULL)
        return NULL;
    if (!JSON_NODE_HOLDS_OBJECT(n)) {
        *bad = TRUE;
        return NULL;
    }
    return json_node_get_object(n);
}

/* bad_answer - the error for an answer etcd should not have sent */
static gboolean bad_answer(GError **error, const char *what)
{
    g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                "etcd sent a malformed answer (%s)", what);
    return FALSE;
}

/* parse_kv - {"key":B64,"value":B64,"mod_revision":"N",...} */
static seg_etcd_kv *parse_kv(JsonObject *o, GError **error)
{
    seg_etcd_kv *kv = g_new0(seg_etcd_kv, 1);
    const char *key = json_object_get_string_member_with_default(o, "key", NULL);
    const char *value = json_object_get_string_member_with_default(o, "value", "");
    g_autofree guchar *k = NULL;
    guchar *v;
    gsize   klen, vlen;

    if (key == NULL || !int_member(o, "mod_revision", &kv->mod_revision)
        || !int_member(o, "create_revision", &kv->create_revision)) {
        seg_etcd_kv_free(kv);
        bad_answer(error, "key");
        return NULL;
    }
    k = g_base64_decode(key, &klen);
    v = g_base64_decode(value, &vlen);
    if (memchr(k, 0, klen) != NULL || !g_utf8_validate((char *) k, (gssize) klen, NULL)) {
        g_free(v);
        seg_etcd_kv_free(kv);
        bad_answer(error, "a key that is not text");
        return NULL;
    }
    kv->key = g_strndup((char *) k, klen);
    kv->value = g_bytes_new_take(v, vlen);
    return kv;
}

/* answer_error - etcd's own message of an error answer */
static char *answer_error(GBytes *body, guint status)
{
    g_autoptr(JsonParser) p = json_parser_new();
    gsize   len;
    const char *data = body ? g_bytes_get_data(body, &len) : NULL;
    JsonNode *root;
    const char *msg = NULL;

    if (data != NULL && json_parser_load_from_data(p, data, (gssize) len, NULL)
        && (root = json_parser_get_root(p)) != NULL && JSON_NODE_HOLDS_OBJECT(root))
        msg = json_object_get_string_member_with_default(json_node_get_object(root),
                                                         "error", NULL);
    if (msg == NULL)
        return g_strdup_printf("HTTP status %u", status);
    return g_strescape(msg, NULL);
}

/* seg_etcd_json - an object as compact JSON bytes (a request body, a stored document) */
GBytes *seg_etcd_json(JsonObject *req)
{
    g_autoptr(JsonNode) root = json_node_new(JSON_NODE_OBJECT);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    gsize   len;
    char   *text;

    json_node_set_object(root, req);
    json_generator_set_root(gen, root);
    text = json_generator_to_data(gen, &len);
    return g_bytes_new_take(text, len);
}

/*
 * on_network_event - the TLS connection before its handshake: the client
 * certificate, or none, set on the connection itself. libsoup's own way
 * (an interaction that asks the message when the server wants a
 * certificate) has to run on the main context, which a synchronous
 * request does not iterate: with no certificate to give, the handshake
 * would wait forever.
 */
static void on_network_event(SoupMessage *msg, GSocketClientEvent event,
                             GIOStream *conn, gpointer data)
{
    seg_etcd *e = data;

    if (event != G_SOCKET_CLIENT_TLS_HANDSHAKING || !G_IS_TLS_CONNECTION(conn))
        return;
    g_tls_connection_set_interaction(G_TLS_CONNECTION(conn), NULL);
    if (e->cert != NULL)
        g_tls_connection_set_certificate(G_TLS_CONNECTION(conn), e->cert);
}

/* message_for - a POST of body to endpoint i */
static SoupMessage *message_for(seg_etcd *e, guint i, const char *path, GBytes *body)
{
    g_autofree char *url = g_strconcat(e->endpoints[i], path, NULL);
    SoupMessage *msg = soup_message_new(SOUP_METHOD_POST, url);

    g_signal_connect(msg, "network-event", G_CALLBACK(on_network_event), e);
    soup_message_set_request_body_from_bytes(msg, "application/json", body);
    return msg;
}

/* read_answer - send msg and read its whole answer, at most ANSWER_MAX bytes */
static GBytes *read_answer(seg_etcd *e, SoupMessage *msg, GError **error)
{
    g_autoptr(GInputStream) in = soup_session_send(e->session, msg, NULL, error);
    g_autoptr(GByteArray) buf = NULL;
    guint8  chunk[CHUNK];
    gssize  n;

    if (in == NULL)
        return NULL;
    buf = g_byte_array_new();
    while ((n = g_input_stream_read(in, chunk, sizeof(chunk), NULL, error)) > 0) {
        if (buf->len + (gsize) n > ANSWER_MAX) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                        "an answer larger than %d bytes", ANSWER_MAX);
            return NULL;
        }
        g_byte_array_append(buf, chunk, (guint) n);
    }
    if (n < 0)
        return NULL;
    return g_byte_array_free_to_bytes(g_steal_pointer(&buf));
}

/*
 * call - POST req to path at the endpoints in turn until one answers; the
 * answer object (a JSON object) or NULL with an error
 */
static JsonObject *call(seg_etcd *e, const char *path, JsonObject *req, GError **error)
{
    g_autoptr(GBytes) body = seg_etcd_json(req);
    g_autofree char *last = NULL;

    for (guint tried = 0; tried < e->n; tried++) {
        guint   i = (e->current + tried) % e->n;
        g_autoptr(SoupMessage) msg = message_for(e, i, path, body);
        g_autoptr(GError) err = NULL;
        g_autoptr(GBytes) answer = read_answer(e, msg, &err);
        g_autoptr(JsonParser) p = NULL;
        guint   status = soup_message_get_status(msg);
        JsonNode *root;
        gsize   len;
        const char *data;

        if (answer == NULL || status >= 500) {
            g_free(last);
            last = answer == NULL ? g_strescape(err->message, NULL)
                : answer_error(answer, status);
            /* no request runs but this one: drop its connection, never reuse it */
            soup_session_abort(e->session);
            continue;
        }
        e->current = i;
        if (status != SOUP_STATUS_OK) {
            g_autofree char *why = answer_error(answer, status);

            g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "etcd at %s: %s",
                        e->endpoints[i], why);
            return NULL;
        }
        p = json_parser_new();
        data = g_bytes_get_data(answer, &len);
        if (!json_parser_load_from_data(p, data ? data : "", (gssize) len, NULL)
            || (root = json_parser_get_root(p)) == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
            bad_answer(error, "not a JSON object");
            return NULL;
        }
        return json_object_ref(json_node_get_object(root));
    }
    {
        g_autofree char *all = g_strjoinv(", ", e->endpoints);

        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "cannot reach etcd (%s): %s",
                    all, last ? last : "no endpoint");
    }
    e->current = (e->current + 1) % e->n;
    return NULL;
}

/* header_revision - the store revision of an answer */
static gboolean header_revision(JsonObject *resp, gint64 *revision)
{
    gboolean bad = FALSE;
    JsonObject *h = object_member(resp, "header", &bad);
    gint64  r;

    if (bad || !int_member(h, "revision", &r))
        return FALSE;
    if (revision != NULL)
        *revision = r;
    return TRUE;
}

/* seg_etcd_get - one key or a prefix */
GPtrArray *seg_etcd_get(seg_etcd *e, const char *key, gboolean prefix,
                        gint64 *revision, GError **error)
{
    g_autoptr(JsonObject) req = json_object_new();
    g_autoptr(JsonObject) resp = NULL;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) seg_etcd_kv_free);
    JsonNode *kvs;

    take_string(req, "key", b64_str(key));
    if (prefix)
        take_string(req, "range_end", range_end(key));
    if ((resp = call(e, "/v3/kv/range", req, error)) == NULL)
        return NULL;
    if (!header_revision(resp, revision)) {
        bad_answer(error, "header");
        return NULL;
    }
    kvs = json_object_get_member(resp, "kvs");
    if (kvs != NULL && !JSON_NODE_HOLDS_ARRAY(kvs)) {
        bad_answer(error, "kvs");
        return NULL;
    }
    for (guint i = 0; kvs != NULL && i < json_array_get_length(json_node_get_array(kvs)); i++) {
        JsonNode *n = json_array_get_element(json_node_get_array(kvs), i);
        seg_etcd_kv *kv;

        if (!JSON_NODE_HOLDS_OBJECT(n)) {
            bad_answer(error, "kvs");
            return NULL;
        }
        if ((kv = parse_kv(json_node_get_object(n), error)) == NULL)
            return NULL;
        g_ptr_array_add(out, kv);
    }
    return g_steal_pointer(&out);
}

/* seg_etcd_put - one key */
gboolean seg_etcd_put(seg_etcd *e, const char *key, const void *value, gsize len,
                      gint64 *revision, GError **error)
{
    g_autoptr(JsonObject) req = json_object_new();
    g_autoptr(JsonObject) resp = NULL;

    take_string(req, "key", b64_str(key));
    take_string(req, "value", b64(value, len));
    if ((resp = call(e, "/v3/kv/put", req, error)) == NULL)
        return FALSE;
    if (!header_revision(resp, revision))
        return bad_answer(error, "header");
    return TRUE;
}

/* seg_etcd_delete - one key */
gboolean seg_etcd_delete(seg_etcd *e, const char *key, GError **error)
{
    g_autoptr(JsonObject) req = json_object_new();
    g_autoptr(JsonObject) resp = NULL;

    take_string(req, "key", b64_str(key));
    resp = call(e, "/v3/kv/deleterange", req, error);
    return resp != NULL;
}

/* txn_op_clear - GArray clear function */
static void txn_op_clear(gpointer p)
{
    txn_op *op = p;

    g_free(op->key);
    if (op->value != NULL)
        g_bytes_unref(op->value);
}

/* seg_etcd_txn_new - an empty transaction */
seg_etcd_txn *seg_etcd_txn_new(void)
{
    seg_etcd_txn *t = g_new0(seg_etcd_txn, 1);

    t->keys = g_ptr_array_new_with_free_func(g_free);
    t->revisions = g_array_new(FALSE, FALSE, sizeof(gint64));
    t->ops = g_array_new(FALSE, TRUE, sizeof(txn_op));
    g_array_set_clear_func(t->ops, txn_op_clear);
    return t;
}

/* seg_etcd_txn_free - release */
void seg_etcd_txn_free(seg_etcd_txn *t)
{
    if (t == NULL)
        return;
    g_ptr_array_unref(t->keys);
    g_array_unref(t->revisions);
    g_array_unref(t->ops);
    g_free(t);
}

/* seg_etcd_txn_if_mod - only when key's mod revision is this (0: absent) */
void seg_etcd_txn_if_mod(seg_etcd_txn *t, const char *key, gint64 mod_revision)
{
    g_ptr_array_add(t->keys, g_strdup(key));
    g_array_append_val(t->revisions, mod_revision);
}

/* seg_etcd_txn_put - put key when the comparisons hold */
void seg_etcd_txn_put(seg_etcd_txn *t, const char *key, const void *value, gsize len)
{
    txn_op op = {OP_PUT, g_strdup(key), g_bytes_new(value, len)};

    g_array_append_val(t->ops, op);
}

/* seg_etcd_txn_delete - delete key when the comparisons hold */
void seg_etcd_txn_delete(seg_etcd_txn *t, const char *key)
{
    txn_op op = {OP_DELETE, g_strdup(key), NULL};

    g_array_append_val(t->ops, op);
}

/* seg_etcd_txn_run - send it; *succeeded when the comparisons held */
gboolean seg_etcd_txn_run(seg_etcd *e, seg_etcd_txn *t, gboolean *succeeded,
                          gint64 *revision, GError **error)
{
    g_autoptr(JsonObject) req = json_object_new();
    g_autoptr(JsonObject) resp = NULL;
    JsonArray *cmp = json_array_new();
    JsonArray *ops = json_array_new();
    JsonNode *ok;

    for (guint i = 0; i < t->keys->len; i++) {
        JsonObject *c = json_object_new();
        g_autofree char *rev = g_strdup_printf("%" G_GINT64_FORMAT,
                                               g_array_index(t->revisions, gint64, i));

        take_string(c, "key", b64_str(g_ptr_array_index(t->keys, i)));
        json_object_set_string_member(c, "target", "MOD");
        json_object_set_string_member(c, "result", "EQUAL");
        json_object_set_string_member(c, "mod_revision", rev);
        json_array_add_object_element(cmp, c);
    }
    for (guint i = 0; i < t->ops->len; i++) {
        const txn_op *op = &g_array_index(t->ops, txn_op, i);
        JsonObject *o = json_object_new();
        JsonObject *r = json_object_new();

        take_string(r, "key", b64_str(op->key));
        if (op->kind == OP_PUT) {
            gsize   len;
            const void *data = g_bytes_get_data(op->value, &len);

            take_string(r, "value", b64(data, len));
            json_object_set_object_member(o, "request_put", r);
        } else {
            json_object_set_object_member(o, "request_delete_range", r);
        }
        json_array_add_object_element(ops, o);
    }
    json_object_set_array_member(req, "compare", cmp);
    json_object_set_array_member(req, "success", ops);
    if ((resp = call(e, "/v3/kv/txn", req, error)) == NULL)
        return FALSE;
    if (!header_revision(resp, revision))
        return bad_answer(error, "header");
    ok = json_object_get_member(resp, "succeeded");
    if (ok != NULL && (!JSON_NODE_HOLDS_VALUE(ok)
                       || json_node_get_value_type(ok) != G_TYPE_BOOLEAN))
        return bad_answer(error, "succeeded");
    *succeeded = ok != NULL && json_node_get_boolean(ok);
    return TRUE;
}

/* watch_unref - drop one reference; the last frees */
static void watch_unref(seg_etcd_watch *w)
{
    if (--w->refs > 0)
        return;
    g_clear_object(&w->in);
    if (w->buf != NULL)
        g_byte_array_unref(w->buf);
    g_clear_object(&w->msg);
    g_clear_object(&w->cancel);
    g_free(w);
}

/* watch_end - the stream is over: tell the caller once */
static void watch_end(seg_etcd_watch *w, const GError *error)
{
    if (w->dead || w->over)
        return;
    w->over = TRUE;
    w->e->current = (w->e->current + 1) % w->e->n;  /* the next watch elsewhere */
    w->ended(error, w->data);
}

/* watch_fail - end with "etcd watch at URL: WHY" */
static void watch_fail(seg_etcd_watch *w, const char *why)
{
    g_autofree char *shown = g_strescape(why, NULL);
    g_autoptr(GError) err = g_error_new(SEG_ERROR, SEG_ERROR_IO, "etcd watch at %s: %s",
                                        w->e->endpoints[w->e->current], shown);

    watch_end(w, err);
}

static void watch_read(seg_etcd_watch *w);

/* watch_result - one {"result":{...}} line; FALSE when the watch is over */
static gboolean watch_result(seg_etcd_watch *w, const char *line)
{
    g_autoptr(JsonParser) p = json_parser_new();
    gboolean bad = FALSE;
    JsonObject *o, *r;
    JsonNode *root, *events;
    gint64  rev;

    if (!json_parser_load_from_data(p, line, -1, NULL)
        || (root = json_parser_get_root(p)) == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        watch_fail(w, "a line that is not a JSON object");
        return FALSE;
    }
    o = json_node_get_object(root);
    if ((r = object_member(o, "result", &bad)) == NULL) {
        JsonObject *err = object_member(o, "error", &bad);

        watch_fail(w, err ? json_object_get_string_member_with_default(err, "message",
                                                                    "error")
                   : "an answer without a result");
        return FALSE;
    }
    if (json_object_get_boolean_member_with_default(r, "canceled", FALSE)) {
        watch_fail(w, json_object_get_string_member_with_default(r, "cancel_reason",
                                                              "cancelled by etcd"));
        return FALSE;
    }
    if (json_object_get_boolean_member_with_default(r, "created", FALSE)) {
        if (!header_revision(r, &rev)) {
            watch_fail(w, "a malformed header");
            return FALSE;
        }
        w->created(rev, w->data);
        if (w->dead)
            return FALSE;
    }
    events = json_object_get_member(r, "events");
    if (events != NULL && !JSON_NODE_HOLDS_ARRAY(events)) {
        watch_fail(w, "malformed events");
        return FALSE;
    }
    for (guint i = 0; events != NULL && i < json_array_get_length(json_node_get_array(events)); i++) {
        JsonNode *n = json_array_get_element(json_node_get_array(events), i);
        g_autoptr(GError) err = NULL;
        JsonObject *ev, *kvo;
        seg_etcd_kv *kv;
        const char *type;

        if (!JSON_NODE_HOLDS_OBJECT(n)
            || (kvo = object_member(ev = json_node_get_object(n), "kv", &bad)) == NULL
            || (kv = parse_kv(kvo, &err)) == NULL) {
            watch_fail(w, "a malformed event");
            return FALSE;
        }
        type = json_object_get_string_member_with_default(ev, "type", "PUT");
        w->event(kv, strcmp(type, "DELETE") == 0, w->data);
        seg_etcd_kv_free(kv);
        if (w->dead)
            return FALSE;
    }
    return TRUE;
}

/* watch_lines - every whole line read so far; FALSE when the watch is over */
static gboolean watch_lines(seg_etcd_watch *w)
{
    guint8 *nl;

    while ((nl = memchr(w->buf->data, '\n', w->buf->len)) != NULL) {
        gsize   len = (gsize) (nl - w->buf->data);
        g_autofree char *line = g_strndup((const char *) w->buf->data, len);

        g_byte_array_remove_range(w->buf, 0, (guint) len + 1);
        if (strlen(line) != len || !g_utf8_validate(line, -1, NULL)) {
            watch_fail(w, "a line that is not text");
            return FALSE;
        }
        if (*line != 0 && !watch_result(w, line))
            return FALSE;
    }
    if (w->buf->len > ANSWER_MAX) {
        watch_fail(w, "a line longer than 16 MiB");
        return FALSE;
    }
    return TRUE;
}

/* watch_chunk - a chunk of the stream arrived (or its end) */
static void watch_chunk(GObject *src, GAsyncResult *res, gpointer data)
{
    seg_etcd_watch *w = data;
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) chunk = g_input_stream_read_bytes_finish(G_INPUT_STREAM(src), res,
                                                               &err);
    gsize   len;
    const guint8 *bytes;

    if (w->dead) {
        watch_unref(w);
        return;
    }
    if (chunk == NULL) {
        watch_fail(w, err->message);
    } else if ((bytes = g_bytes_get_data(chunk, &len)) == NULL || len == 0) {
        watch_fail(w, "the stream ended");
    } else {
        g_byte_array_append(w->buf, bytes, (guint) len);
        if (watch_lines(w))
            watch_read(w);
    }
    watch_unref(w);
}

/* watch_read - read the next chunk */
static void watch_read(seg_etcd_watch *w)
{
    w->refs++;
    g_input_stream_read_bytes_async(w->in, CHUNK, G_PRIORITY_DEFAULT, w->cancel,
                                    watch_chunk, w);
}

/* watch_sent - the answer's head arrived: read its body line by line */
static void watch_sent(GObject *src, GAsyncResult *res, gpointer data)
{
    seg_etcd_watch *w = data;
    g_autoptr(GError) err = NULL;
    g_autoptr(GInputStream) body = soup_session_send_finish(SOUP_SESSION(src), res, &err);
    guint   status;

    if (w->dead) {
        watch_unref(w);
        return;
    }
    if (body == NULL) {
        watch_fail(w, err->message);
    } else if ((status = soup_message_get_status(w->msg)) != SOUP_STATUS_OK) {
        g_autofree char *why = g_strdup_printf("HTTP status %u", status);

        watch_fail(w, why);
    } else {
        w->in = g_steal_pointer(&body);
        w->buf = g_byte_array_new();
        watch_read(w);
    }
    watch_unref(w);
}

/* seg_etcd_watch_new - watch every key under prefix from start_revision */
seg_etcd_watch *seg_etcd_watch_new(seg_etcd *e, const char *prefix, gint64 start_revision,
                                   seg_etcd_event_fn event, seg_etcd_created_fn created,
                                   seg_etcd_ended_fn ended, gpointer data)
{
    g_autoptr(JsonObject) req = json_object_new();
    JsonObject *c = json_object_new();
    g_autoptr(GBytes) body = NULL;
    seg_etcd_watch *w = g_new0(seg_etcd_watch, 1);

    take_string(c, "key", b64_str(prefix));
    take_string(c, "range_end", range_end(prefix));
    if (start_revision > 0)
        take_string(c, "start_revision",
                    g_strdup_printf("%" G_GINT64_FORMAT, start_revision));
    json_object_set_object_member(req, "create_request", c);
    body = seg_etcd_json(req);
    w->refs = 2;                        /* the caller's and the send's */
    w->e = e;
    w->event = event;
    w->created = created;
    w->ended = ended;
    w->data = data;
    w->cancel = g_cancellable_new();
    w->msg = message_for(e, e->current, "/v3/watch", body);
    soup_session_send_async(e->watch_session, w->msg, G_PRIORITY_DEFAULT, w->cancel,
                            watch_sent, w);
    return w;
}

/* seg_etcd_watch_free - stop; no callback after this */
void seg_etcd_watch_free(seg_etcd_watch *w)
{
    if (w == NULL)
        return;
    w->dead = TRUE;
    g_cancellable_cancel(w->cancel);
    watch_unref(w);
}
