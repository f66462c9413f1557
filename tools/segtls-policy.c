/*
 * segtls-policy - the Postfix policy service of the sender groups.
 *
 * smtpd asks it at MAIL FROM (check_policy_service, which segtls-apply
 * puts into the smtpd_sender_restrictions of every smtpd service it
 * governs) and it answers from the sender-group table segtls-apply
 * writes (sender-groups beside the Postfix tls_config_file): a client in
 * a group with TLS required, plaintext still, gets
 * "action=530 5.7.0 Must issue a STARTTLS command first"; everything
 * else "action=DUNNO" (Postfix goes on with its other restrictions).
 * The table is read again whenever its inode, size or time changes; a
 * table that does not parse keeps the last good one in force and says
 * so. Postfix itself decides what happens when this service cannot be
 * reached: segtls-apply sets smtpd_policy_service_default_action=DUNNO,
 * so mail keeps flowing (see segtls-policy(8)).
 *
 * One main loop serves every connection: reads are asynchronous, a
 * request is parsed line by line (polreq.h: bounded lines and
 * attributes) and answered in order; smtpd keeps the connection for its
 * next request. A broken request closes the connection.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib-unix.h>

#include "destctl.h"
#include "error.h"
#include "msg.h"
#include "polreq.h"
#include "render_check.h"
#include "settings.h"
#include "sigpipe.h"

#define READ_CHUNK      4096
#define LISTEN_BACKLOG  4096

static char *opt_listen;
static char *opt_groups;
static gboolean opt_check;

/* The table in force. */
static seg_destctl *table;
static int default_tls = SEG_TLSMODE_PREFERRED;
static struct stat table_stat;
static guint64 answered;

typedef struct conn {
    GSocketConnection *sc;
    GInputStream *in;
    GOutputStream *out;
    seg_polreq *req;
    GString    *line;           /* the line being read */
    GString    *reply;          /* answers to write */
    char        buf[READ_CHUNK];
} conn;

/* load_table - read the table; FALSE (and the old one kept) when broken */
static gboolean load_table(GError **error)
{
    g_autofree char *text = NULL;
    g_autoptr(GError) err = NULL;
    seg_destctl *dc;
    struct stat st;
    gsize   len;
    int     dflt;

    if (stat(opt_groups, &st) < 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s: %s", opt_groups, g_strerror(errno));
        return FALSE;
    }
    if (!g_file_get_contents(opt_groups, &text, &len, &err)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s", err->message);
        return FALSE;
    }
    if ((dc = seg_destctl_groups_parse(text, len, &dflt, &err)) == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s:%s", opt_groups, err->message);
        return FALSE;
    }
    seg_destctl_free(table);
    table = dc;
    default_tls = dflt;
    table_stat = st;
    return TRUE;
}

/* refresh_table - read the table again when the file changed */
static void refresh_table(void)
{
    g_autoptr(GError) err = NULL;
    struct stat st;

    if (stat(opt_groups, &st) == 0 && st.st_ino == table_stat.st_ino
        && st.st_size == table_stat.st_size
        && st.st_mtim.tv_sec == table_stat.st_mtim.tv_sec
        && st.st_mtim.tv_nsec == table_stat.st_mtim.tv_nsec)
        return;
    if (load_table(&err))
        msg_info("sender groups read again from %s", opt_groups);
    else {
        msg_warn("%s; the table read before stays in force", err->message);
        if (stat(opt_groups, &st) == 0)
            table_stat = st;            /* say it once per change */
    }
}

/* conn_free - close and release a connection */
static void conn_free(conn *c)
{
    g_io_stream_close(G_IO_STREAM(c->sc), NULL, NULL);
    g_object_unref(c->sc);
    seg_polreq_free(c->req);
    g_string_free(c->line, TRUE);
    g_string_free(c->reply, TRUE);
    g_free(c);
}

/* answer - the action of a complete request, appended to the replies */
static void answer(conn *c)
{
    const seg_sender_group *g = NULL;
    const char *action;

    refresh_table();
    action = seg_destctl_policy_action(table, default_tls, c->req, &g);
    if (strcmp(action, "DUNNO") != 0) {
        const char *addr = seg_polreq_get(c->req, "client_address");
        g_autofree char *shown = g_strescape(addr ? addr : "", NULL);

        msg_info("refused %s from %s (sender group %s, TLS required): no STARTTLS",
                 seg_polreq_get(c->req, "protocol_state"), shown,
                 g ? g->name : "none: inbound.tls");
    }
    g_string_append_printf(c->reply, "action=%s\n\n", action);
    answered++;
    seg_polreq_reset(c->req);
}

static void read_more(conn *c);

/* on_written - the replies are out: read the next request */
static void on_written(GObject *src, GAsyncResult *res, gpointer data)
{
    conn   *c = data;
    g_autoptr(GError) err = NULL;

    if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(src), res, NULL, &err)) {
        conn_free(c);
        return;
    }
    g_string_truncate(c->reply, 0);
    read_more(c);
}

/* take_bytes - split what came into lines; FALSE: close the connection */
static gboolean take_bytes(conn *c, const char *p, gsize n)
{
    g_autoptr(GError) err = NULL;

    for (gsize i = 0; i < n; i++) {
        if (p[i] != '\n') {
            if (c->line->len > SEG_POLREQ_MAX_LINE) {
                msg_warn("policy request: line longer than %d bytes; closing",
                         SEG_POLREQ_MAX_LINE);
                return FALSE;
            }
            g_string_append_c(c->line, p[i]);
            continue;
        }
        switch (seg_polreq_line(c->req, c->line->str, c->line->len, &err)) {
        case SEG_POLREQ_ERROR:
            msg_warn("%s; closing", err->message);
            return FALSE;
        case SEG_POLREQ_DONE:
            answer(c);
            break;
        case SEG_POLREQ_MORE:
            break;
        }
        g_string_truncate(c->line, 0);
    }
    return TRUE;
}

/* on_read - bytes came (or the end): parse, answer, go on */
static void on_read(GObject *src, GAsyncResult *res, gpointer data)
{
    conn   *c = data;
    g_autoptr(GError) err = NULL;
    gssize  n = g_input_stream_read_finish(G_INPUT_STREAM(src), res, &err);

    if (n <= 0 || !take_bytes(c, c->buf, (gsize) n)) {
        conn_free(c);
        return;
    }
    if (c->reply->len) {
        g_output_stream_write_all_async(c->out, c->reply->str, c->reply->len,
                                        G_PRIORITY_DEFAULT, NULL, on_written, c);
        return;
    }
    read_more(c);
}

/* read_more - the next bytes of a connection */
static void read_more(conn *c)
{
    g_input_stream_read_async(c->in, c->buf, sizeof(c->buf), G_PRIORITY_DEFAULT,
                              NULL, on_read, c);
}

/* on_incoming - a new connection from smtpd */
static gboolean on_incoming(GSocketService *svc, GSocketConnection *sc,
                            GObject *source, gpointer data)
{
    conn   *c = g_new0(conn, 1);

    c->sc = g_object_ref(sc);
    c->in = g_io_stream_get_input_stream(G_IO_STREAM(sc));
    c->out = g_io_stream_get_output_stream(G_IO_STREAM(sc));
    c->req = seg_polreq_new();
    c->line = g_string_new(NULL);
    c->reply = g_string_new(NULL);
    read_more(c);
    return TRUE;
}

/* listen_address - the socket address of "inet:HOST:PORT" or "unix:/PATH" */
static GSocketAddress *listen_address(const char *endpoint, GError **error)
{
    if (!seg_render_check_policy_service(endpoint, error))
        return NULL;
    if (g_str_has_prefix(endpoint, "unix:")) {
        (void) unlink(endpoint + 5);
        return g_unix_socket_address_new(endpoint + 5);
    }
    {
        const char *hostport = endpoint + 5;
        const char *colon = strrchr(hostport, ':');
        g_autofree char *host = g_strndup(hostport, colon - hostport);
        guint64 port = g_ascii_strtoull(colon + 1, NULL, 10);
        GSocketAddress *a;

        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
            memmove(host, host + 1, strlen(host));
            host[strlen(host) - 1] = 0;
        }
        if (port == 0 || port > 65535
            || (a = g_inet_socket_address_new_from_string(host, (guint) port)) == NULL) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID,
                        "--listen %s: HOST must be an address and PORT 1-65535", endpoint);
            return NULL;
        }
        return a;
    }
}

/* on_signal - SIGTERM or SIGINT: stop */
static gboolean on_signal(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

/* on_hup - SIGHUP: read the table now */
static gboolean on_hup(gpointer unused)
{
    memset(&table_stat, 0, sizeof(table_stat));
    refresh_table();
    return G_SOURCE_CONTINUE;
}

/* raise_files - as many open files as allowed: one per smtpd connection */
static void raise_files(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static const GOptionEntry options[] = {
    {"listen", 0, 0, G_OPTION_ARG_STRING, &opt_listen,
     "Where smtpd connects (default " SEG_RENDER_DEFAULT_POLICY_SERVICE ")",
     "inet:HOST:PORT|unix:PATH"},
    {"groups", 0, 0, G_OPTION_ARG_FILENAME, &opt_groups,
     "The sender-group table segtls-apply writes (default "
     SEGTLS_SYSCONFDIR "/segtls/" SEG_RENDER_GROUPS_FILE ")", "FILE"},
    {"check", 0, 0, G_OPTION_ARG_NONE, &opt_check,
     "Check the table and exit (0: valid)", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

/* main - options, the table, the listener, the loop */
int main(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("");
    g_autoptr(GError) err = NULL;
    g_autoptr(GSocketAddress) addr = NULL;
    g_autoptr(GSocketService) svc = NULL;
    g_autoptr(GMainLoop) loop = NULL;

    msg_init("segtls-policy");
    seg_ignore_sigpipe();
    g_option_context_set_summary(ctx, "Answer Postfix policy requests about the "
                                 "sender groups: plaintext MAIL FROM from a group "
                                 "with TLS required is refused with 530.");
    g_option_context_add_main_entries(ctx, options, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "segtls-policy: %s (try --help)\n", err->message);
        return 2;
    }
    if (argc > 1) {
        fprintf(stderr, "segtls-policy: no arguments expected (try --help)\n");
        return 2;
    }
    if (opt_groups == NULL)
        opt_groups = g_strdup(SEGTLS_SYSCONFDIR "/segtls/" SEG_RENDER_GROUPS_FILE);
    if (opt_listen == NULL)
        opt_listen = g_strdup(SEG_RENDER_DEFAULT_POLICY_SERVICE);
    table = seg_destctl_new();
    if (!load_table(&err)) {
        if (opt_check || !g_error_matches(err, SEG_ERROR, SEG_ERROR_IO)) {
            fprintf(stderr, "segtls-policy: %s\n", err->message);
            return 1;
        }
        msg_warn("%s; no sender groups until it is there", err->message);
        g_clear_error(&err);
    }
    if (opt_check)
        return 0;
    raise_files();
    if ((addr = listen_address(opt_listen, &err)) == NULL) {
        fprintf(stderr, "segtls-policy: %s\n", err->message);
        return 2;
    }
    svc = g_socket_service_new();
    g_socket_listener_set_backlog(G_SOCKET_LISTENER(svc), LISTEN_BACKLOG);
    if (!g_socket_listener_add_address(G_SOCKET_LISTENER(svc), addr, G_SOCKET_TYPE_STREAM,
                                       G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, &err)) {
        fprintf(stderr, "segtls-policy: cannot listen on %s: %s\n", opt_listen,
                err->message);
        return 1;
    }
    g_signal_connect(svc, "incoming", G_CALLBACK(on_incoming), NULL);
    loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGTERM, on_signal, loop);
    g_unix_signal_add(SIGINT, on_signal, loop);
    g_unix_signal_add(SIGHUP, on_hup, NULL);
    g_socket_service_start(svc);
    msg_info("listening on %s, sender groups from %s (%u groups)", opt_listen,
             opt_groups, seg_destctl_groups(table)->len);
    g_main_loop_run(loop);
    g_socket_service_stop(svc);
    msg_info("stopping after %" G_GUINT64_FORMAT " answers", answered);
    if (g_str_has_prefix(opt_listen, "unix:"))
        (void) unlink(opt_listen + 5);
    seg_destctl_free(table);
    g_free(opt_listen);
    g_free(opt_groups);
    return 0;
}
