/*
 * ctl - client side of the segtls-policyd control protocol.
 *
 * One request is one JSON object on one line; the answer is one JSON
 * object on one line (see ctl.h). The client connects with connect(2) so
 * that an unreachable daemon is reported with the plain errno text, then
 * talks through GIO streams. The settings <-> JSON mapping used by both
 * sides lives here too.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>

#include "ctl.h"
#include "error.h"
#include "msg.h"

#define CTL_TIMEOUT     300     /* seconds; commit may apply and probe */

/* seg_ctl_socket_path - --socket value, else $SEGTLS_SOCKET, else default */
const char *seg_ctl_socket_path(const char *option)
{
    const char *env;

    if (option != NULL && *option != 0)
        return option;
    env = g_getenv("SEGTLS_SOCKET");
    if (env != NULL && *env != 0)
        return env;
    return SEG_DEFAULT_SOCKET;
}

/* seg_ctl_read_socket_path - a socket a reader may use */
const char *seg_ctl_read_socket_path(const char *option)
{
    const char *env = g_getenv("SEGTLS_SOCKET");

    if ((option == NULL || *option == 0) && (env == NULL || *env == 0)
        && access(SEG_DEFAULT_SOCKET, W_OK) < 0
        && access(SEG_DEFAULT_READ_SOCKET, W_OK) == 0)
        return SEG_DEFAULT_READ_SOCKET;
    return seg_ctl_socket_path(option);
}

/* ctl_connect - connect(2) to the daemon; -1 with errno set on failure */
static int ctl_connect(const char *path)
{
    struct sockaddr_un sun;
    int     fd;
    int     saved;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
        saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* seg_ctl_call_line - send one request line, return the response line */
char *seg_ctl_call_line(const char *socket_path, const char *line,
                        GError **error)
{
    g_autoptr(GSocket) sock = NULL;
    g_autoptr(GSocketConnection) conn = NULL;
    g_autoptr(GDataInputStream) in = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) werr = NULL;
    GOutputStream *out;
    char   *reply;
    int     fd;

    if ((fd = ctl_connect(socket_path)) < 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO,
                    "cannot reach segtls-policyd at %s: %s",
                    socket_path, g_strerror(errno));
        return NULL;
    }
    if ((sock = g_socket_new_from_fd(fd, &err)) == NULL) {
        close(fd);
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO,
                    "cannot reach segtls-policyd at %s: %s",
                    socket_path, err->message);
        return NULL;
    }
    g_socket_set_timeout(sock, CTL_TIMEOUT);
    conn = g_socket_connection_factory_create_connection(sock);
    out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
    if (!g_output_stream_write_all(out, line, strlen(line), NULL, NULL, &werr)
        || !g_output_stream_write_all(out, "\n", 1, NULL, NULL, &werr))
        msg_debug("send to %s: %s", socket_path, werr->message);
    /* Even when sending failed, the daemon may have said why. */
    in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(conn)));
    g_data_input_stream_set_newline_type(in, G_DATA_STREAM_NEWLINE_TYPE_LF);
    reply = g_data_input_stream_read_line(in, NULL, NULL, &err);
    if (reply == NULL && werr != NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO,
                    "cannot send to segtls-policyd at %s: %s",
                    socket_path, werr->message);
        return NULL;
    }
    if (reply == NULL) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "no answer from segtls-policyd at %s: %s", socket_path,
                    err ? err->message : "connection closed");
        return NULL;
    }
    return reply;
}

/* seg_ctl_call - connect, send one request, read one response */
JsonObject *seg_ctl_call(const char *socket_path, JsonObject *request,
                         GError **error)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    g_autoptr(JsonParser) parser = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *line = NULL;
    g_autofree char *reply = NULL;
    JsonNode *root;

    json_node_set_object(node, request);
    line = json_to_string(node, FALSE);
    if ((reply = seg_ctl_call_line(socket_path, line, error)) == NULL)
        return NULL;
    parser = json_parser_new();
    if (!json_parser_load_from_data(parser, reply, -1, &err)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "bad answer from segtls-policyd: %s", err->message);
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "bad answer from segtls-policyd: not a JSON object");
        return NULL;
    }
    return json_object_ref(json_node_get_object(root));
}

/* seg_ctl_check - TRUE when response has "ok":true, else error = its "error" */
gboolean seg_ctl_check(JsonObject *response, GError **error)
{
    JsonNode *ok = json_object_get_member(response, "ok");
    const char *msg;

    if (ok != NULL && JSON_NODE_HOLDS_VALUE(ok)
        && json_node_get_value_type(ok) == G_TYPE_BOOLEAN
        && json_node_get_boolean(ok))
        return TRUE;
    msg = json_object_get_string_member_with_default(response, "error",
                                                     "request failed");
    g_set_error_literal(error, SEG_ERROR, SEG_ERROR_PROTOCOL, msg);
    return FALSE;
}

/* seg_ctl_request - a new request object {"op":OP} */
JsonObject *seg_ctl_request(const char *op)
{
    JsonObject *req = json_object_new();

    json_object_set_string_member(req, "op", op);
    return req;
}

/* seg_settings_to_json - every key with its canonical value */
JsonObject *seg_settings_to_json(const seg_settings *s)
{
    JsonObject *obj = json_object_new();
    const char *const *key;

    for (key = seg_settings_keys(); *key != NULL; key++) {
        char   *value = seg_settings_get(s, *key);

        json_object_set_string_member(obj, *key, value);
        g_free(value);
    }
    return obj;
}

/* seg_settings_from_json - KEY:"VALUE" members over the defaults */
seg_settings *seg_settings_from_json(JsonObject *obj, GError **error)
{
    g_autoptr(seg_settings) s = seg_settings_new_default();
    JsonObjectIter iter;
    const char *key;
    JsonNode *node;

    json_object_iter_init(&iter, obj);
    while (json_object_iter_next(&iter, &key, &node)) {
        if (!JSON_NODE_HOLDS_VALUE(node)
            || json_node_get_value_type(node) != G_TYPE_STRING) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                        "%s: value must be a string", key);
            return NULL;
        }
        if (!seg_settings_set(s, key, json_node_get_string(node), error))
            return NULL;
    }
    return g_steal_pointer(&s);
}
