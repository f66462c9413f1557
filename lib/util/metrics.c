/*
 * metrics - Prometheus text exposition and its HTTP listener.
 *
 * The registry is two hash tables under one mutex: families by name and
 * series by "name{labels}". The exposition lists the families by name,
 * each with # HELP and # TYPE, then its series sorted. The listener is
 * a GSocketService on a main context of its own thread; each request is
 * read (one line and headers, 8 kB, 5 s at most) and answered in that
 * thread: the exposition is small and built from memory.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "error.h"
#include "metrics.h"
#include "msg.h"
#include "quote.h"

#define REQ_MAX     8192
#define REQ_TIMEOUT 5

typedef struct family {
    char       *name, *type, *help;
} family;

typedef struct series {
    char       *family;         /* name of its family */
    char       *name;           /* the sample name (NAME, NAME_sum, ...) */
    char       *labels;         /* may be "" */
    double      value;
} series;

typedef struct collector {
    void        (*fn)(void *ctx);
    void       *ctx;
} collector;

static GMutex lock;
static GHashTable *families;    /* name -> family */
static GHashTable *all;         /* "name{labels}" -> series */
static GArray *collectors;

/* init - the tables, once (under lock) */
static void init(void)
{
    if (families)
        return;
    families = g_hash_table_new(g_str_hash, g_str_equal);
    all = g_hash_table_new(g_str_hash, g_str_equal);
    collectors = g_array_new(FALSE, FALSE, sizeof(collector));
}

/* seg_metrics_describe - a family */
void seg_metrics_describe(const char *name, const char *type, const char *help)
{
    family *f;

    g_mutex_lock(&lock);
    init();
    if (g_hash_table_lookup(families, name) == NULL) {
        f = g_new0(family, 1);
        f->name = g_strdup(name);
        f->type = g_strdup(type);
        f->help = g_strdup(help);
        g_hash_table_insert(families, f->name, f);
    }
    g_mutex_unlock(&lock);
}

/* escape - a label value: backslash, quote and newline escaped */
static void escape(GString *s, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            g_string_append_c(s, '\\');
        if (*v == '\n')
            g_string_append(s, "\\n");
        else
            g_string_append_c(s, *v);
    }
}

/* seg_metrics_labels - "k1=\"v1\",..." of key, value pairs */
char   *seg_metrics_labels(const char *key, ...)
{
    GString *s = g_string_new(NULL);
    va_list ap;

    va_start(ap, key);
    for (const char *k = key; k; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);

        g_string_append_printf(s, "%s%s=\"", s->len ? "," : "", k);
        escape(s, v ? v : "");
        g_string_append_c(s, '"');
    }
    va_end(ap);
    return g_string_free(s, FALSE);
}

/* family_of - the family of a sample name (NAME, NAME_sum, NAME_count) */
static const char *family_of(const char *name)
{
    static const char *const suffixes[] = {"_sum", "_count"};
    family *f = g_hash_table_lookup(families, name);

    if (f)
        return f->name;
    for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++)
        if (g_str_has_suffix(name, suffixes[i])) {
            g_autofree char *base = g_strndup(name, strlen(name) - strlen(suffixes[i]));

            if ((f = g_hash_table_lookup(families, base)) != NULL)
                return f->name;
        }
    return NULL;
}

/* get - a series, made at 0 (under lock); NULL for an undescribed family */
static series *get(const char *name, const char *labels)
{
    char    buf[256];
    g_autofree char *big = NULL;
    const char *key = buf, *fam;
    int     n = snprintf(buf, sizeof(buf), "%s{%s}", name, labels ? labels : "");
    series *s;

    if (n < 0 || (size_t) n >= sizeof(buf))    /* no allocation for the usual key */
        key = big = g_strdup_printf("%s{%s}", name, labels ? labels : "");
    if ((s = g_hash_table_lookup(all, key)) != NULL || (fam = family_of(name)) == NULL)
        return s;
    s = g_new0(series, 1);
    s->family = g_strdup(fam);
    s->name = g_strdup(name);
    s->labels = g_strdup(labels ? labels : "");
    g_hash_table_insert(all, g_strdup(key), s);
    return s;
}

/* seg_metrics_add - add to a series */
void seg_metrics_add(const char *name, const char *labels, double by)
{
    series *s;

    g_mutex_lock(&lock);
    init();
    if ((s = get(name, labels)) != NULL)
        s->value += by;
    g_mutex_unlock(&lock);
}

/* seg_metrics_set - set a series */
void seg_metrics_set(const char *name, const char *labels, double value)
{
    series *s;

    g_mutex_lock(&lock);
    init();
    if ((s = get(name, labels)) != NULL)
        s->value = value;
    g_mutex_unlock(&lock);
}

/* seg_metrics_replace - the series of sample name become exactly the n given */
void seg_metrics_replace(const char *name, const char *const *labels, const double *values,
                         guint n)
{
    GHashTableIter it;
    gpointer k, v;
    series *s;

    g_mutex_lock(&lock);
    init();
    g_hash_table_iter_init(&it, all);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        s = v;
        if (strcmp(s->name, name) != 0)
            continue;
        g_hash_table_iter_remove(&it);  /* the table owns neither: both freed here */
        g_free(k);
        g_free(s->family);
        g_free(s->name);
        g_free(s->labels);
        g_free(s);
    }
    for (guint i = 0; i < n; i++)
        if ((s = get(name, labels[i])) != NULL)
            s->value = values[i];
    g_mutex_unlock(&lock);
}

/* seg_metrics_collector - fn(ctx) runs before each exposition */
void seg_metrics_collector(void (*fn)(void *ctx), void *ctx)
{
    collector c = {fn, ctx};

    g_mutex_lock(&lock);
    init();
    g_array_append_val(collectors, c);
    g_mutex_unlock(&lock);
}

/* series_cmp - by family, sample name, labels */
static gint series_cmp(gconstpointer a, gconstpointer b)
{
    const series *x = *(series * const *) a, *y = *(series * const *) b;
    int     c = strcmp(x->family, y->family);

    if (c == 0)
        c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->labels, y->labels);
}

/* seg_metrics_render - the exposition text */
char   *seg_metrics_render(void)
{
    GString *out = g_string_new(NULL);
    g_autoptr(GArray) cs = NULL;
    g_autoptr(GPtrArray) list = NULL;
    const char *last = "";

    g_mutex_lock(&lock);
    init();
    cs = g_array_copy(collectors);
    g_mutex_unlock(&lock);
    for (guint i = 0; i < cs->len; i++)
        g_array_index(cs, collector, i).fn(g_array_index(cs, collector, i).ctx);
    g_mutex_lock(&lock);
    list = g_ptr_array_new();
    {
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, all);
        while (g_hash_table_iter_next(&it, NULL, &v))
            g_ptr_array_add(list, v);
    }
    g_ptr_array_sort(list, series_cmp);
    for (guint i = 0; i < list->len; i++) {
        series *s = g_ptr_array_index(list, i);
        char    num[G_ASCII_DTOSTR_BUF_SIZE];

        if (strcmp(s->family, last) != 0) {
            family *f = g_hash_table_lookup(families, s->family);

            g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
                                   f->name, f->type);
            last = s->family;
        }
        g_ascii_dtostr(num, sizeof(num), s->value);
        g_string_append_printf(out, "%s%s%s%s %s\n", s->name, *s->labels ? "{" : "", s->labels,
                               *s->labels ? "}" : "", num);
    }
    g_mutex_unlock(&lock);
    return g_string_free(out, FALSE);
}

/* seg_metrics_check_spec - a UNIX socket path or a loopback address */
gboolean seg_metrics_check_spec(const char *spec, GError **error)
{
    g_autoptr(GInetAddress) a = NULL;
    g_autofree char *quoted = NULL;
    const char *colon;

    if (g_str_has_prefix(spec, "unix:/") && strlen(spec) < 100)
        return TRUE;
    colon = strrchr(spec, ':');
    if (colon) {
        g_autofree char *host = g_strndup(spec, (gsize) (colon - spec));
        guint64 port;

        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
            memmove(host, host + 1, strlen(host));
            host[strlen(host) - 1] = 0;
        }
        a = g_inet_address_new_from_string(host);
        if (a && g_inet_address_get_is_loopback(a)
            && g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &port, NULL))
            return TRUE;
    }
    quoted = seg_quote_value(spec);
    g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                "metrics address %s: want unix:/PATH, 127.0.0.1:PORT or [::1]:PORT", quoted);
    return FALSE;
}

/* answer - read one request, write the exposition or an error */
static gboolean answer(GThreadedSocketService *svc, GSocketConnection *conn, GObject *src,
                       gpointer data)
{
    GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
    GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
    char    req[REQ_MAX + 1];
    gsize   have = 0;
    gssize  n;
    g_autofree char *body = NULL, *head = NULL;
    const char *status = "200 OK";

    g_socket_set_timeout(g_socket_connection_get_socket(conn), REQ_TIMEOUT);
    while (have < REQ_MAX && (n = g_input_stream_read(in, req + have, REQ_MAX - have, NULL, NULL)) > 0) {
        have += (gsize) n;
        req[have] = 0;
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[have] = 0;
    if (!g_str_has_prefix(req, "GET ")) {
        status = "405 Method Not Allowed";
        body = g_strdup("only GET\n");
    } else if (!g_str_has_prefix(req, "GET /metrics ") && !g_str_has_prefix(req, "GET /metrics?")) {
        status = "404 Not Found";
        body = g_strdup("not found: try /metrics\n");
    } else {
        body = seg_metrics_render();
    }
    head = g_strdup_printf("HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, strlen(body));
    if (g_output_stream_write_all(out, head, strlen(head), NULL, NULL, NULL))
        (void) g_output_stream_write_all(out, body, strlen(body), NULL, NULL, NULL);
    (void) g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
    return TRUE;
}

/* serve - the listener's thread */
static gpointer serve(gpointer data)
{
    GMainContext *ctx = data;
    GMainLoop *loop = g_main_loop_new(ctx, FALSE);

    g_main_context_push_thread_default(ctx);
    g_main_loop_run(loop);
    return NULL;
}

/* seg_metrics_listen - serve GET /metrics at spec in a thread of its own */
gboolean seg_metrics_listen(const char *spec, GError **error)
{
    GMainContext *ctx;
    GSocketService *svc;
    g_autoptr(GSocketAddress) addr = NULL;

    if (!seg_metrics_check_spec(spec, error))
        return FALSE;
    ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    svc = g_threaded_socket_service_new(4);
    if (g_str_has_prefix(spec, "unix:")) {
        (void) unlink(spec + 5);
        addr = g_unix_socket_address_new(spec + 5);
    } else {
        const char *colon = strrchr(spec, ':');
        g_autofree char *host = g_strndup(*spec == '[' ? spec + 1 : spec,
                                          (gsize) (colon - spec) - (*spec == '[' ? 2 : 0));
        g_autoptr(GInetAddress) ia = g_inet_address_new_from_string(host);

        addr = g_inet_socket_address_new(ia, (guint16) atoi(colon + 1));
    }
    if (!g_socket_listener_add_address(G_SOCKET_LISTENER(svc), addr, G_SOCKET_TYPE_STREAM,
                                       G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, error)) {
        g_prefix_error(error, "metrics %s: ", spec);
        g_main_context_pop_thread_default(ctx);
        g_object_unref(svc);
        g_main_context_unref(ctx);
        return FALSE;
    }
    if (g_str_has_prefix(spec, "unix:"))
        (void) chmod(spec + 5, 0660);
    g_signal_connect(svc, "run", G_CALLBACK(answer), NULL);
    g_socket_service_start(svc);
    g_main_context_pop_thread_default(ctx);
    g_thread_unref(g_thread_new("metrics", serve, ctx));
    msg_info("metrics on %s", spec);
    return TRUE;
}
