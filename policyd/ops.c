/*
 * ops - the operations of the control protocol (see lib/policy/ctl.h).
 *
 * One table maps each "op" to its handler. A handler gets the request
 * object, already known to be an object with a string "op", and returns
 * the response object; failures become {"ok":false,"error":"..."} in one
 * place. Handlers validate every member they read: wrong types are
 * refused, never guessed.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "error.h"
#include "msg.h"
#include "policyd.h"
#include "tlsver.h"
#include "usable.h"
#include "warnings.h"

typedef JsonObject *(*op_handler) (policyd *pd, JsonObject *req,
                                   const char *user, GError **error);

/* policyd_error_response - {"ok":false,"error":MESSAGE} */
JsonObject *policyd_error_response(const char *message)
{
    JsonObject *resp = json_object_new();

    json_object_set_boolean_member(resp, "ok", FALSE);
    json_object_set_string_member(resp, "error", message);
    return resp;
}

/* ok_response - {"ok":true} to be completed by the caller */
static JsonObject *ok_response(void)
{
    JsonObject *resp = json_object_new();

    json_object_set_boolean_member(resp, "ok", TRUE);
    return resp;
}

/* policyd_ok_response - {"ok":true}, for apply.c */
JsonObject *policyd_ok_response(void)
{
    return ok_response();
}

static policyd_conn *caller;    /* connection of the request being run */

/* current - pending settings when there are any, else committed */
static const seg_settings *current(policyd *pd)
{
    const seg_settings *p = seg_store_pending(pd->store);

    return p ? p : seg_store_committed(pd->store);
}

/* strings_array - JSON array of the strings of a GPtrArray */
static JsonArray *strings_array(GPtrArray *lines)
{
    JsonArray *arr = json_array_new();
    guint   i;

    for (i = 0; lines != NULL && i < lines->len; i++)
        json_array_add_string_element(arr, g_ptr_array_index(lines, i));
    return arr;
}

/* policyd_strings_array - the same, for apply.c */
JsonArray *policyd_strings_array(GPtrArray *lines)
{
    return strings_array(lines);
}

/*
 * The warnings take real handshakes (tens of milliseconds), and every
 * show asks for them: the last answer is kept while the settings and
 * the certificate files they name (device, inode, size, mtime) are the
 * same, so that a burst of clients costs one computation.
 */
static char *wcache_key;
static GPtrArray *wcache_warnings;
static const char *const cert_keys[] = {"gui.certificate", "inbound.certificate"};

/* warnings_key - the settings as JSON, plus what each certificate file is */
static char *warnings_key(const seg_settings *s)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    GString *key;
    char   *text;

    json_node_take_object(node, seg_settings_to_json(s));
    text = json_to_string(node, FALSE);
    key = g_string_new(text);
    g_free(text);
    for (gsize i = 0; i < G_N_ELEMENTS(cert_keys); i++) {
        g_autofree char *path = seg_settings_get(s, cert_keys[i]);
        struct stat st;

        if (path == NULL || *path == 0)
            continue;
        if (stat(path, &st) < 0)
            g_string_append_printf(key, "\n%s: errno %d", cert_keys[i], errno);
        else
            g_string_append_printf(key, "\n%s: %lu %lu %lld %lld.%09ld", cert_keys[i],
                                   (unsigned long) st.st_dev, (unsigned long) st.st_ino,
                                   (long long) st.st_size, (long long) st.st_mtim.tv_sec,
                                   st.st_mtim.tv_nsec);
    }
    return g_string_free(key, FALSE);
}

/* warnings_array - the usable-cipher warnings of some settings */
static JsonArray *warnings_array(const seg_settings *s)
{
    char   *key = warnings_key(s);

    if (wcache_key == NULL || strcmp(key, wcache_key) != 0) {
        policyd_ops_cleanup();
        wcache_warnings = seg_settings_warnings(s);
        wcache_key = key;
    } else {
        g_free(key);
    }
    return strings_array(wcache_warnings);
}

/* policyd_ops_cleanup - forget the cached warnings */
void policyd_ops_cleanup(void)
{
    g_clear_pointer(&wcache_key, g_free);
    g_clear_pointer(&wcache_warnings, g_ptr_array_unref);
}

/* member_of_type - member NAME when present and of TYPE, else error */
static JsonNode *member_of_type(JsonObject *req, const char *name, GType type,
                                gboolean required, GError **error)
{
    JsonNode *node = json_object_get_member(req, name);

    if (node == NULL) {
        if (required)
            g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                        "missing member \"%s\"", name);
        return NULL;
    }
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != type) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "member \"%s\" must be %s", name,
                    type == G_TYPE_STRING ? "a string" :
                    type == G_TYPE_BOOLEAN ? "a boolean" : "an integer");
        return NULL;
    }
    return node;
}

/* op_show - committed, pending and warnings */
static JsonObject *op_show(policyd *pd, JsonObject *req, const char *user,
                           GError **error)
{
    JsonObject *resp = ok_response();
    const seg_settings *pending = seg_store_pending(pd->store);

    json_object_set_object_member(resp, "committed",
                           seg_settings_to_json(seg_store_committed(pd->store)));
    if (pending)
        json_object_set_object_member(resp, "pending",
                                      seg_settings_to_json(pending));
    else
        json_object_set_null_member(resp, "pending");
    json_object_set_array_member(resp, "warnings", warnings_array(current(pd)));
    return resp;
}

/* op_set - all or nothing: every pair into a copy, then store it */
static JsonObject *op_set(policyd *pd, JsonObject *req, const char *user,
                          GError **error)
{
    JsonNode *node = json_object_get_member(req, "settings");
    g_autoptr(seg_settings) next = NULL;
    JsonObjectIter iter;
    const char *key;
    JsonNode *value;

    if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "member \"settings\" must be an object");
        return NULL;
    }
    next = seg_settings_copy(current(pd));
    json_object_iter_init(&iter, json_node_get_object(node));
    while (json_object_iter_next(&iter, &key, &value)) {
        if (!JSON_NODE_HOLDS_VALUE(value)
            || json_node_get_value_type(value) != G_TYPE_STRING) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                        "%s: value must be a string", key);
            return NULL;
        }
        if (!seg_settings_set(next, key, json_node_get_string(value), error))
            return NULL;
    }
    if (seg_settings_equal(next, seg_store_committed(pd->store))) {
        if (!seg_store_clear_pending(pd->store, NULL, error))
            return NULL;
    } else if (!seg_store_set_pending(pd->store, next, error)) {
        return NULL;
    }
    msg_debug("set by %s", user);
    {
        JsonObject *resp = ok_response();

        json_object_set_array_member(resp, "warnings", warnings_array(next));
        return resp;
    }
}

/*
 * op_commit - pending becomes committed. With an apply configuration the
 * pending settings are applied first (apply.c) and the answer comes once
 * segtls-apply is done: NULL without an error means just that.
 */
static JsonObject *op_commit(policyd *pd, JsonObject *req, const char *user,
                             GError **error)
{
    GError *err = NULL;
    JsonNode *node;
    const char *comment = "";
    gboolean keep = TRUE;
    gboolean nothing = FALSE;
    JsonObject *resp;

    if ((node = member_of_type(req, "comment", G_TYPE_STRING, FALSE, &err)) != NULL)
        comment = json_node_get_string(node);
    if (err == NULL
        && (node = member_of_type(req, "keep_rollback", G_TYPE_BOOLEAN,
                                  FALSE, &err)) != NULL)
        keep = json_node_get_boolean(node);
    if (err != NULL) {
        g_propagate_error(error, err);
        return NULL;
    }
    if (seg_store_pending(pd->store) != NULL && caller != NULL
        && policyd_apply_enabled()) {
        policyd_apply_start(pd, caller, user, comment, keep, error);
        return NULL;
    }
    if (!seg_store_commit(pd->store, user, comment, keep, &nothing, error))
        return NULL;
    if (!nothing)
        msg_info("configuration committed by %s", user);
    resp = ok_response();
    json_object_set_boolean_member(resp, "nothing", nothing);
    json_object_set_array_member(resp, "warnings",
                         warnings_array(seg_store_committed(pd->store)));
    json_object_set_array_member(resp, "notices", json_array_new());
    return resp;
}

/*
 * op_apply - apply the committed settings now (apply.c), proven like a
 * commit; the answer comes once segtls-apply is done
 */
static JsonObject *op_apply(policyd *pd, JsonObject *req, const char *user,
                            GError **error)
{
    if (caller == NULL)
        g_set_error(error, SEG_ERROR, SEG_ERROR_PROTOCOL,
                    "apply needs a connection to answer on");
    else
        policyd_apply_now(pd, caller, user, error);
    return NULL;
}

/* op_clear - drop pending changes */
static JsonObject *op_clear(policyd *pd, JsonObject *req, const char *user,
                            GError **error)
{
    gboolean had_any = FALSE;
    JsonObject *resp;

    if (!seg_store_clear_pending(pd->store, &had_any, error))
        return NULL;
    resp = ok_response();
    json_object_set_boolean_member(resp, "nothing", !had_any);
    return resp;
}

/* op_rollback_list - saved configurations, newest first */
static JsonObject *op_rollback_list(policyd *pd, JsonObject *req,
                                    const char *user, GError **error)
{
    g_autoptr(GPtrArray) list = seg_store_rollback_list(pd->store);
    JsonArray *arr = json_array_new();
    JsonObject *resp;
    guint   i;

    for (i = 0; list != NULL && i < list->len; i++) {
        const seg_rollback_entry *e = g_ptr_array_index(list, i);
        JsonObject *o = json_object_new();

        json_object_set_int_member(o, "id", e->id);
        json_object_set_string_member(o, "time", e->time ? e->time : "");
        json_object_set_string_member(o, "user", e->user ? e->user : "");
        json_object_set_string_member(o, "comment", e->comment ? e->comment : "");
        json_array_add_object_element(arr, o);
    }
    resp = ok_response();
    json_object_set_array_member(resp, "rollbacks", arr);
    return resp;
}

/* op_rollback_restore - a saved configuration becomes pending */
static JsonObject *op_rollback_restore(policyd *pd, JsonObject *req,
                                       const char *user, GError **error)
{
    JsonNode *node = member_of_type(req, "id", G_TYPE_INT64, TRUE, error);
    gint64  id;

    if (node == NULL)
        return NULL;
    id = json_node_get_int(node);
    if (id < 1 || id > G_MAXUINT) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_NOT_FOUND,
                    "no saved configuration %" G_GINT64_FORMAT, id);
        return NULL;
    }
    if (!seg_store_rollback_restore(pd->store, (guint) id, error))
        return NULL;
    msg_info("saved configuration %u restored as pending by %s",
             (guint) id, user);
    return ok_response();
}

/* services_array - per service: committed methods and what is usable */
static JsonArray *services_array(const seg_settings *s)
{
    JsonArray *arr = json_array_new();

    for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
        JsonObject *o = json_object_new();
        g_autofree char *methods = seg_methods_value(s->svc[svc].methods);
        unsigned usable = seg_service_usable(s, (seg_service) svc);
        g_autofree char *uval = usable ? seg_methods_value(usable) : g_strdup("");

        json_object_set_string_member(o, "service", seg_service_key((seg_service) svc));
        json_object_set_string_member(o, "title", seg_service_title((seg_service) svc));
        json_object_set_string_member(o, "configured", methods);
        json_object_set_string_member(o, "usable", uval);
        if (svc != SEG_SVC_GUI)
            json_object_set_string_member(o, "tls", seg_tls_mode_name(s->svc[svc].tls));
        json_array_add_object_element(arr, o);
    }
    return arr;
}

/* op_status - who and where the daemon is, its services, its apply */
static JsonObject *op_status(policyd *pd, JsonObject *req, const char *user,
                             GError **error)
{
    JsonObject *resp = ok_response();

    json_object_set_int_member(resp, "pid", getpid());
    json_object_set_string_member(resp, "config", pd->config_path);
    json_object_set_string_member(resp, "state_dir", pd->state_dir);
    json_object_set_boolean_member(resp, "pending",
                                   seg_store_pending(pd->store) != NULL);
    json_object_set_string_member(resp, "user", user);
    json_object_set_array_member(resp, "services",
                                 services_array(seg_store_committed(pd->store)));
    policyd_apply_status(resp);
    return resp;
}

static const struct op {
    const char *name;
    op_handler  handler;
    gboolean    changes;        /* refused while an apply runs */
} ops[] = {
    {"show", op_show, FALSE},
    {"set", op_set, TRUE},
    {"commit", op_commit, TRUE},
    {"apply", op_apply, TRUE},
    {"clear", op_clear, TRUE},
    {"rollback_list", op_rollback_list, FALSE},
    {"rollback_restore", op_rollback_restore, TRUE},
    {"status", op_status, FALSE},
};

/* policyd_dispatch - run one request, always return a response */
JsonObject *policyd_dispatch(policyd *pd, JsonObject *request,
                             const char *user)
{
    return policyd_dispatch_conn(pd, request, user, NULL);
}

/*
 * policyd_dispatch_conn - run one request from conn; NULL when the
 * answer comes later through policyd_conn_reply() (conn not NULL only)
 */
JsonObject *policyd_dispatch_conn(policyd *pd, JsonObject *request,
                                  const char *user, policyd_conn *conn)
{
    g_autoptr(GError) err = NULL;
    JsonNode *node;
    const char *name;
    JsonObject *resp;
    gsize   i;

    node = member_of_type(request, "op", G_TYPE_STRING, TRUE, &err);
    if (node == NULL)
        return policyd_error_response(err->message);
    name = json_node_get_string(node);
    for (i = 0; i < G_N_ELEMENTS(ops); i++) {
        if (strcmp(ops[i].name, name) != 0)
            continue;
        if (ops[i].changes && policyd_apply_busy())
            return policyd_error_response("an apply is in progress");
        caller = conn;
        resp = ops[i].handler(pd, request, user, &err);
        caller = NULL;
        if (resp == NULL && err == NULL)
            return NULL;                /* deferred */
        if (resp == NULL) {
            msg_debug("%s by %s: %s", name, user, err->message);
            return policyd_error_response(err->message);
        }
        return resp;
    }
    {
        g_autofree char *msg = g_strdup_printf("unknown op \"%s\"", name);

        return policyd_error_response(msg);
    }
}
