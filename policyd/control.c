/*
 * control - the control socket of segtls-policyd.
 *
 * A GSocketService listens on a UNIX stream socket (mode 0660, optional
 * group). Each connection reads newline-delimited JSON requests with
 * asynchronous GIO reads into its own buffer, so a slow or silent client
 * never holds up another one, and so the request size limit holds before
 * a line is complete. Each request gets exactly one response line; a
 * request that is too long gets an error response and the connection is
 * closed. Any request may be answered later (policyd_conn_reply: its
 * analysis runs in a worker thread, a commit runs segtls-apply); the
 * connection reads nothing more until then. The caller's user comes from
 * SO_PEERCRED, which is also checked against the socket file's owner
 * and group (root, the owner and members of the group only): a defence
 * in depth should the file mode be wrong. Its uid and gid go with every
 * request: certificate paths are checked with the caller's rights.
 *
 * A second, read-only socket (--read-socket, its own --read-group) serves
 * the readers: the status pages of segtls-standalone, monitoring, `segtls
 * status`. Its connections are marked read-only and policyd_run() refuses
 * every request that would change something; members of the control
 * socket's group may use it too.
 * Connections are capped below the descriptor limit: at the cap the
 * service stops accepting (callers wait in the backlog) until one closes,
 * instead of GLib retrying a failing accept(2) in a busy loop.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>

#include "ctl.h"
#include "error.h"
#include "msg.h"
#include "policyd.h"
#include "quote.h"

#define READ_CHUNK      4096
#define FD_RESERVE      64      /* descriptors kept for the store, apply, logs */

/* A listening socket: the control socket or the read-only one. */
typedef struct listener {
    GSocketService *service;
    const char *path;
    uid_t       uid;            /* owner of the socket file */
    gid_t       gid;            /* group of the socket file */
    gboolean    readonly;
} listener;

typedef struct conn {
    policyd_conn base;          /* first: deferred answers come through it */
    policyd    *pd;
    listener   *l;
    GSocketConnection *sc;
    GInputStream *in;
    GOutputStream *out;
    GCancellable *cancel;
    GByteArray *buf;            /* bytes read, not yet a full request */
    char       *reply;          /* response being written */
    char       *user;           /* SO_PEERCRED user name */
    gboolean    closing;        /* close once the reply is written */
    gboolean    deferred;       /* the answer comes from policyd_conn_reply */
    guint8      chunk[READ_CHUNK];
} conn;

static GList *conns;            /* open connections, freed at shutdown */
static guint nconns;            /* length of conns */
static guint max_conns;         /* stop accepting at this many */
static gboolean accepting;      /* to stop and restart accepting */
static listener control;        /* the read-write socket */
static listener reader;         /* the read-only socket, service NULL if none */

static void conn_process(conn *c);

/* accept_all - start or stop accepting on every socket */
static void accept_all(gboolean on)
{
    for (listener *l = &control; l != NULL; l = l == &control ? &reader : NULL) {
        if (l->service == NULL)
            continue;
        if (on)
            g_socket_service_start(l->service);
        else
            g_socket_service_stop(l->service);
    }
}

/* conn_free - close and forget one connection */
static void conn_free(conn *c)
{
    conns = g_list_remove(conns, c);
    if (c->deferred)
        policyd_conn_forget(&c->base);
    if (nconns-- == max_conns && accepting) {
        msg_info("control: accepting connections again");
        accept_all(TRUE);
    }
    g_cancellable_cancel(c->cancel);
    g_io_stream_close(G_IO_STREAM(c->sc), NULL, NULL);
    g_object_unref(c->cancel);
    g_object_unref(c->sc);
    g_byte_array_unref(c->buf);
    g_free(c->reply);
    g_free(c->user);
    g_free(c);
}

/* peer_cred - uid and gid of the peer (SO_PEERCRED); FALSE when unknown */
static gboolean peer_cred(GSocketConnection *sc, uid_t *uid, gid_t *gid)
{
    g_autoptr(GCredentials) cred = NULL;
    struct ucred *uc;

    *uid = (uid_t) -1;
    *gid = (gid_t) -1;
    cred = g_socket_get_credentials(g_socket_connection_get_socket(sc), NULL);
    if (cred == NULL
        || (uc = g_credentials_get_native(cred, G_CREDENTIALS_TYPE_LINUX_UCRED)) == NULL)
        return FALSE;
    *uid = uc->uid;
    *gid = uc->gid;
    return TRUE;
}

/* peer_user - user name of a uid, or the number; "unknown" for -1 */
static char *peer_user(uid_t uid)
{
    struct passwd pw, *res = NULL;
    char    pwbuf[4096];

    if (uid == (uid_t) -1)
        return g_strdup("unknown");
    if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL)
        return g_strdup(pw.pw_name);
    return g_strdup_printf("%lu", (unsigned long) uid);
}

/* in_group - does the passwd entry of uid list gid (primary or supplementary) */
static gboolean in_group(uid_t uid, gid_t gid)
{
    struct passwd pw, *res = NULL;
    char    pwbuf[4096];
    gid_t   groups[256];
    int     n = G_N_ELEMENTS(groups);

    if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) != 0 || res == NULL)
        return FALSE;
    if (pw.pw_gid == gid)
        return TRUE;
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
        n = G_N_ELEMENTS(groups);       /* more groups: look at the first ones */
    for (int i = 0; i < n; i++)
        if (groups[i] == gid)
            return TRUE;
    return FALSE;
}

/* group_name - the name of a gid, or its number */
static char *group_name(gid_t gid)
{
    struct group gr, *res = NULL;
    char    grbuf[4096];

    if (getgrgid_r(gid, &gr, grbuf, sizeof(grbuf), &res) == 0 && res != NULL)
        return g_strdup(gr.gr_name);
    return g_strdup_printf("%lu", (unsigned long) gid);
}

/*
 * peer_allowed - root, the socket's owner, or a member of its group; on
 * the read-only socket also the control socket's owner and group
 */
static gboolean peer_allowed(const listener *l, uid_t uid, gid_t gid)
{
    if (uid == (uid_t) -1)
        return FALSE;
    if (uid == 0 || uid == l->uid || gid == l->gid || in_group(uid, l->gid))
        return TRUE;
    return l->readonly && (uid == control.uid || gid == control.gid
                           || in_group(uid, control.gid));
}

/* on_written - a reply went out: go on, or close */
static void on_written(GObject *src, GAsyncResult *res, gpointer data)
{
    g_autoptr(GError) err = NULL;
    conn   *c = data;

    if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(src), res, NULL, &err)) {
        if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            msg_debug("control: write to %s: %s", c->user, err->message);
        if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            conn_free(c);
        return;
    }
    g_clear_pointer(&c->reply, g_free);
    if (c->closing) {
        conn_free(c);
        return;
    }
    conn_process(c);
}

/* conn_reply - send one response object, one line */
static void conn_reply(conn *c, JsonObject *resp)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    g_autofree char *text = NULL;

    json_node_take_object(node, resp);
    text = json_to_string(node, FALSE);
    c->reply = g_strconcat(text, "\n", NULL);
    g_output_stream_write_all_async(c->out, c->reply, strlen(c->reply),
                                    G_PRIORITY_DEFAULT, c->cancel,
                                    on_written, c);
}

/* handle_line - parse one request line and run it */
static JsonObject *handle_line(conn *c, const char *line, gsize len)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) err = NULL;
    JsonNode *root;

    if (memchr(line, 0, len) != NULL)
        return policyd_error_response("request contains a NUL byte");
    if (!g_utf8_validate(line, len, NULL))
        return policyd_error_response("request is not valid UTF-8");
    if (!json_parser_load_from_data(parser, line, len, &err)) {
        g_autofree char *msg = g_strdup_printf("malformed JSON request: %s",
                                               err->message);

        return policyd_error_response(msg);
    }
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
        return policyd_error_response("request is not a JSON object");
    return policyd_dispatch_conn(c->pd, json_node_get_object(root), c->user,
                                 &c->base);
}

/* on_read - more bytes arrived, or the peer went away */
static void on_read(GObject *src, GAsyncResult *res, gpointer data)
{
    g_autoptr(GError) err = NULL;
    conn   *c = data;
    gssize  n;

    n = g_input_stream_read_finish(G_INPUT_STREAM(src), res, &err);
    if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
    if (n <= 0) {
        if (n < 0)
            msg_debug("control: read from %s: %s", c->user, err->message);
        conn_free(c);
        return;
    }
    g_byte_array_append(c->buf, c->chunk, (guint) n);
    conn_process(c);
}

/* conn_process - answer the next buffered request, or read more */
static void conn_process(conn *c)
{
    guint8 *nl = c->buf->len ? memchr(c->buf->data, '\n', c->buf->len) : NULL;
    gsize   len;

    if (nl == NULL) {
        if (c->buf->len > SEG_CTL_MAX_REQUEST) {
            c->closing = TRUE;
            conn_reply(c, policyd_error_response("request too long"));
            return;
        }
        g_input_stream_read_async(c->in, c->chunk, sizeof(c->chunk),
                                  G_PRIORITY_DEFAULT, c->cancel, on_read, c);
        return;
    }
    len = (gsize) (nl - c->buf->data);
    if (len > SEG_CTL_MAX_REQUEST) {
        c->closing = TRUE;
        conn_reply(c, policyd_error_response("request too long"));
        return;
    }
    {
        gsize   used = len;
        JsonObject *resp;

        if (len > 0 && c->buf->data[len - 1] == '\r')
            len--;
        resp = handle_line(c, (const char *) c->buf->data, len);
        g_byte_array_remove_range(c->buf, 0, (guint) used + 1);
        if (resp == NULL)
            c->deferred = TRUE;         /* nothing more is read until then */
        else
            conn_reply(c, resp);
    }
}

/* conn_deferred_reply - the answer of a deferred request */
static void conn_deferred_reply(policyd_conn *base, JsonObject *resp, const GError *error)
{
    conn   *c = (conn *) base;

    c->deferred = FALSE;
    conn_reply(c, resp ? resp : policyd_error_response(error->message));
}

/* on_incoming - a client connected */
static gboolean on_incoming(GSocketService *service, GSocketConnection *sc,
                            GObject *source, gpointer data)
{
    conn   *c = g_new0(conn, 1);
    listener *l = data;

    c->base.reply = conn_deferred_reply;
    c->base.readonly = l->readonly;
    c->l = l;
    c->pd = g_object_get_data(G_OBJECT(service), "policyd");
    c->sc = g_object_ref(sc);
    c->in = g_io_stream_get_input_stream(G_IO_STREAM(sc));
    c->out = g_io_stream_get_output_stream(G_IO_STREAM(sc));
    c->cancel = g_cancellable_new();
    c->buf = g_byte_array_new();
    c->base.has_ids = peer_cred(sc, &c->base.uid, &c->base.gid);
    c->user = peer_user(c->base.uid);
    conns = g_list_prepend(conns, c);
    if (++nconns == max_conns) {
        msg_warn("control: %u connections open; accepting no more until one closes",
                 nconns);
        accept_all(FALSE);
    }
    if (!peer_allowed(l, c->base.uid, c->base.gid)) {
        g_autofree char *group = group_name(l->gid);
        g_autofree char *text = g_strdup_printf(
            "permission denied: user %s is not in group %s", c->user, group);

        msg_warn("control: %s", text);
        c->closing = TRUE;
        conn_reply(c, policyd_error_response(text));
        return TRUE;
    }
    msg_debug("control: connection from %s", c->user);
    conn_process(c);
    return TRUE;
}

/* policyd_probe_socket - refuse a live daemon, remove a stale socket */
gboolean policyd_probe_socket(const char *path, GError **error)
{
    struct sockaddr_un sun;
    struct stat st;
    int     fd;
    int     rc;

    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return TRUE;
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    if (!S_ISSOCK(st.st_mode)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO,
                    "%s exists and is not a socket; not removing it", path);
        return FALSE;
    }
    if (strlen(path) >= sizeof(sun.sun_path)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s: socket path too long",
                    path);
        return FALSE;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "socket: %s",
                    g_strerror(errno));
        return FALSE;
    }
    rc = connect(fd, (struct sockaddr *) &sun, sizeof(sun));
    close(fd);
    if (rc == 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO,
                    "another segtls-policyd answers on %s", path);
        return FALSE;
    }
    if (errno != ECONNREFUSED) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    msg_info("removing stale socket %s", path);
    if (unlink(path) < 0 && errno != ENOENT) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "remove %s: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

/* lookup_group - gid of a group name or number */
static gboolean lookup_group(const char *group, gid_t *gid, GError **error)
{
    struct group *gr = getgrnam(group);
    g_autofree char *q = NULL;
    char   *end;
    unsigned long n;

    if (gr != NULL) {
        *gid = gr->gr_gid;
        return TRUE;
    }
    n = strtoul(group, &end, 10);
    if (*group != 0 && *end == 0) {
        *gid = (gid_t) n;
        return TRUE;
    }
    q = seg_quote_value(group);
    g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "unknown group %s", q);
    return FALSE;
}

/* conn_limit - how many connections the descriptor limit leaves room for */
static guint conn_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return 4096;
    return rl.rlim_cur > 2 * FD_RESERVE ? (guint) (rl.rlim_cur - FD_RESERVE) : FD_RESERVE;
}

/*
 * listen_one - create one socket (its directory with dir_mode when
 * missing, mode 0660, group and owner when given) and serve it
 */
static gboolean listen_one(policyd *pd, listener *l, const char *path,
                           const char *group, uid_t owner, int dir_mode,
                           GError **error)
{
    g_autoptr(GSocketAddress) addr = NULL;
    g_autofree char *dir = g_path_get_dirname(path);
    gid_t   gid = (gid_t) -1;
    gboolean made_dir = FALSE;
    struct stat st;

    if (group != NULL && !lookup_group(group, &gid, error))
        return FALSE;
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        if (g_mkdir_with_parents(dir, dir_mode) < 0) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "create %s: %s", dir,
                        g_strerror(errno));
            return FALSE;
        }
        made_dir = TRUE;
    }
    if (made_dir && (gid != (gid_t) -1 || owner != (uid_t) -1)
        && chown(dir, owner, dir_mode == 0750 ? gid : (gid_t) -1) < 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "chown %s: %s", dir,
                    g_strerror(errno));
        return FALSE;
    }
    l->path = path;
    l->service = g_socket_service_new();
    addr = g_unix_socket_address_new(path);
    if (!g_socket_listener_add_address(G_SOCKET_LISTENER(l->service), addr,
                                       G_SOCKET_TYPE_STREAM,
                                       G_SOCKET_PROTOCOL_DEFAULT,
                                       NULL, NULL, error)) {
        g_clear_object(&l->service);
        return FALSE;
    }
    if (chmod(path, 0660) < 0
        || ((gid != (gid_t) -1 || owner != (uid_t) -1)
            && chown(path, owner, gid) < 0)
        || stat(path, &st) < 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    l->uid = st.st_uid;
    l->gid = st.st_gid;
    g_object_set_data(G_OBJECT(l->service), "policyd", pd);
    g_signal_connect(l->service, "incoming", G_CALLBACK(on_incoming), l);
    return TRUE;
}

/*
 * policyd_listen - create the control socket and, with pd->read_socket_path,
 * the read-only one, and serve them. A directory the daemon creates is
 * 0750 and in the control socket's group, or 0755 when the read-only
 * socket is in it too (its readers are in another group); each socket
 * file is 0660 in its group.
 */
gboolean policyd_listen(policyd *pd, const char *group, const char *read_group,
                        uid_t owner, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(pd->socket_path);
    g_autofree char *rdir = pd->read_socket_path
        ? g_path_get_dirname(pd->read_socket_path) : NULL;
    gboolean shared = rdir != NULL && strcmp(dir, rdir) == 0;

    control.readonly = FALSE;
    reader.readonly = TRUE;
    if (!listen_one(pd, &control, pd->socket_path, group, owner,
                    shared ? 0755 : 0750, error))
        goto fail;
    if (pd->read_socket_path != NULL) {
        if (!policyd_probe_socket(pd->read_socket_path, error)
            || !listen_one(pd, &reader, pd->read_socket_path, read_group, owner,
                           0755, error)) {
            g_prefix_error(error, "%s: ", pd->read_socket_path);
            goto fail;
        }
    }
    pd->service = control.service;
    pd->read_service = reader.service;
    accepting = TRUE;
    max_conns = conn_limit();
    return TRUE;

fail:
    policyd_unlisten(pd);
    return FALSE;
}

/* policyd_unlisten - stop serving, close connections, remove the sockets */
void policyd_unlisten(policyd *pd)
{
    accepting = FALSE;
    while (conns != NULL)
        conn_free(conns->data);
    for (listener *l = &control; l != NULL; l = l == &control ? &reader : NULL) {
        if (l->service == NULL)
            continue;
        g_socket_service_stop(l->service);
        g_socket_listener_close(G_SOCKET_LISTENER(l->service));
        g_clear_object(&l->service);
        if (unlink(l->path) < 0 && errno != ENOENT)
            msg_warn("remove %s: %s", l->path, g_strerror(errno));
    }
    pd->service = NULL;
    pd->read_service = NULL;
}
